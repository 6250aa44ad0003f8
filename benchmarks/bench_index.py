"""Vector index: exact flat against approximate HNSW and IVF at 10k, 100k and 1M vectors.

Data: synthetic, 384-d (MiniLM's size), L2-normalised float32, clustered like sentence
embeddings: n/100 random unit centres (about 100 vectors per cluster at every size), each vector
= centre + isotropic Gaussian noise of norm ~1, renormalised (cosine to its centre ~0.7, to
another member ~0.5); queries are fresh draws from the same process, so a query's 10 nearest
neighbours are close competitors inside its cluster (a hard case for approximate indexes).
Ground truth: exact top-10 by NumPy matrix products (independent of faiss).

Indexes: ragbot's FaissIndex kind 'flat' (IndexFlatIP in IndexIDMap2) and kind 'hnsw'
(IndexHNSWFlat, M=32, efConstruction=64, efSearch 128 = ragbot's defaults; also efSearch 32),
and faiss IndexIVFFlat (nlist ~ sqrt(n), nprobe 8 and 32), which ragbot does not offer. HNSW is
built at 10k and 100k only (at 1M its build on 2 cores takes many minutes; the 1M build time is
extrapolated as t(100k) * 10 * log(1M)/log(100k), and measured with --hnsw-1m).

Measured per index: build seconds (add, plus training for IVF), size (faiss.serialize_index
bytes), single-query search latency p50/p95 (ms, one query per call as in a chat turn, k=10),
recall@10 against exact. Also, for flat and HNSW at 10k/100k: a scope-filtered search (10% of
ids allowed, as `KnowledgeBase.search(scope=...)` does) and removing one id (what an
incremental re-ingest of a changed file does).

    python benchmarks/bench_index.py [--sizes 10000 100000 1000000] [--queries 200] [--hnsw-1m]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, pyplot, save_figure, write_result  # noqa: E402

DIM, K = 384, 10
LATENCY_BUDGET_MS = 20.0  # p50 single-query search budget: ~1% of a 2 s chat turn


def make_data(n: int, nq: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors float32 (n, 384), queries float32 (nq, 384)), unit rows (module docstring)."""
    rng = np.random.default_rng(seed)
    nc = max(100, n // 100)
    centres = rng.standard_normal((nc, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(m):
        out = np.empty((m, DIM), dtype=np.float32)
        for s in range(0, m, 100_000):
            e = min(m, s + 100_000)
            x = centres[rng.integers(0, nc, e - s)] + rng.standard_normal((e - s, DIM)).astype(np.float32) / math.sqrt(DIM)
            out[s:e] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out
    return draw(n), draw(nq)


def exact_top(x: np.ndarray, q: np.ndarray, k: int = K) -> np.ndarray:
    out = np.empty((q.shape[0], k), dtype=np.int64)
    for s in range(0, q.shape[0], 50):
        sims = q[s:s + 50] @ x.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[s:s + 50] = np.take_along_axis(part, order, axis=1)
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def single_query_latency(search, q: np.ndarray) -> tuple[float, float, np.ndarray]:
    """p50, p95 ms of one-query calls; the ids found (nq, K)."""
    times, ids = [], []
    search(q[:1])  # warm
    for i in range(q.shape[0]):
        t = time.perf_counter()
        _, found = search(q[i:i + 1])
        times.append((time.perf_counter() - t) * 1000)
        ids.append(found[0])
    return float(np.percentile(times, 50)), float(np.percentile(times, 95)), np.array(ids)


def size_mib(faiss_index) -> float:
    import faiss

    return faiss.serialize_index(faiss_index).nbytes / 2**20


def bench_ragbot(kind: str, x, q, truth, ef_values=(128,)) -> list[dict]:
    from ragbot.kb.index import FaissIndex

    t = time.perf_counter()
    idx = FaissIndex(DIM, kind=kind, use_gpu=False)
    idx.add(x, np.arange(x.shape[0], dtype=np.int64))
    build = time.perf_counter() - t
    mib = size_mib(idx._index)
    rows = []
    for ef in ef_values:
        idx.hnsw_ef_search = ef
        p50, p95, found = single_query_latency(lambda v: idx.search(v, K), q)
        name = kind if kind == "flat" else f"hnsw ef{ef}"
        rows.append({"index": name, "series": name, "n": x.shape[0], "build_s": build,
                     "size_mib": mib, "p50_ms": p50, "p95_ms": p95, "recall_at_10": recall(found, truth)})
    extra = {}
    if x.shape[0] <= 100_000:
        rng = np.random.default_rng(1)
        allowed = rng.choice(x.shape[0], x.shape[0] // 10, replace=False).astype(np.int64)
        t = time.perf_counter()
        for i in range(10):
            idx.search(q[i:i + 1], K, allowed_ids=allowed)
        extra["filtered_ms"] = (time.perf_counter() - t) * 100
        t = time.perf_counter()
        idx.remove(np.array([0], dtype=np.int64))
        extra["remove_one_s"] = time.perf_counter() - t
    for r in rows:
        r.update(extra)
    return rows


def bench_ivf(x, q, truth, nprobes=(8, 32)) -> list[dict]:
    import faiss

    n = x.shape[0]
    nlist = int(2 ** round(math.log2(math.sqrt(n))))
    t = time.perf_counter()
    quant = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quant, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    train = x[np.random.default_rng(2).choice(n, min(n, 64 * nlist), replace=False)]
    ivf.train(train)
    ivf.add(x)
    build = time.perf_counter() - t
    mib = size_mib(ivf)
    rows = []
    for nprobe in nprobes:
        ivf.nprobe = nprobe
        p50, p95, found = single_query_latency(lambda v: ivf.search(v, K), q)
        rows.append({"index": f"ivf{nlist} nprobe{nprobe}", "series": f"ivf nprobe{nprobe}", "n": n, "build_s": build, "size_mib": mib,
                     "p50_ms": p50, "p95_ms": p95, "recall_at_10": recall(found, truth)})
    return rows


def plot(rows: list[dict], hnsw_1m_estimate_s: float | None = None) -> Path:
    plt = pyplot()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.4))
    for kind in sorted({r["series"] for r in rows}):
        rs = sorted([r for r in rows if r["series"] == kind], key=lambda r: r["n"])
        ns = [r["n"] for r in rs]
        a1.plot(ns, [r["p50_ms"] for r in rs], marker="o", label=kind)
        a2.plot(ns, [r["recall_at_10"] for r in rs], marker="o", label=kind)
    builds = {}
    for r in rows:
        builds.setdefault(r["series"].split(" ")[0], {})[r["n"]] = r["build_s"]
    for kind, d in sorted(builds.items()):
        ns = sorted(d)
        line, = a3.plot(ns, [d[n] for n in ns], marker="o", label=kind + (" (nlist ~ sqrt n)" if kind == "ivf" else ""))
        if kind == "hnsw" and hnsw_1m_estimate_s and 1_000_000 not in d and ns:
            a3.plot([ns[-1], 1_000_000], [d[ns[-1]], hnsw_1m_estimate_s], ls="--", marker="o", mfc="none",
                    color=line.get_color(), label="hnsw, 1M extrapolated")
    a1.axhline(LATENCY_BUDGET_MS, color="grey", ls=":", label=f"budget {LATENCY_BUDGET_MS:.0f} ms")
    for ax, title, ylabel in ((a1, "Single-query search latency, p50 (p95 in the table)", "latency (ms, log)"),
                              (a2, "Recall@10 against exact search", "recall@10"),
                              (a3, "Build time (add; + training for IVF)", "seconds (log)")):
        ax.set_xscale("log")
        ax.set_xlabel("vectors in the index (384-d, log)")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    a1.set_yscale("log")
    a3.set_yscale("log")
    a2.set_ylim(0.5, 1.02)
    fig.tight_layout()
    return save_figure(fig, "index")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--hnsw-1m", action="store_true", help="also build HNSW above 100k vectors (slow on 2 cores)")
    args = ap.parse_args(argv)
    rows = []
    for n in sorted(args.sizes):
        x, q = make_data(n, args.queries)
        truth = exact_top(x, q)
        nq = q if n < 1_000_000 else q[: max(50, args.queries // 2)]
        tr = truth[: nq.shape[0]]
        rows += bench_ragbot("flat", x, nq, tr)
        if n <= 100_000 or args.hnsw_1m:
            rows += bench_ragbot("hnsw", x, nq, tr, ef_values=(32, 128))
        rows += bench_ivf(x, nq, tr)
        del x
        print(f"n={n}: done", flush=True)
    # flat latency grows linearly with n: least-squares fit p50 = a * n on the measured sizes (p50, not p95:
    # on a shared machine p95 is mostly other processes' noise)
    flat = [r for r in rows if r["index"] == "flat"]
    a = float(np.sum([r["p50_ms"] * r["n"] for r in flat]) / np.sum([r["n"] ** 2 for r in flat]))
    n_budget = LATENCY_BUDGET_MS / a
    hnsw100 = [r for r in rows if r["index"] == "hnsw ef128" and r["n"] == 100_000]
    est_1m = hnsw100[0]["build_s"] * 10 * math.log(1e6) / math.log(1e5) if hnsw100 else None
    data = {"machine": machine(), "dim": DIM, "k": K, "queries": args.queries, "rows": rows,
            "flat_p50_ms_per_million": a * 1e6, "latency_budget_ms": LATENCY_BUDGET_MS,
            "flat_vectors_at_budget": n_budget, "hnsw_build_1m_estimate_s": est_1m}
    png = plot(rows, est_1m)
    lines = ["| index | n | build s | size MiB | p50 ms | p95 ms | recall@10 | scoped search ms | remove 1 id s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = r.get("filtered_ms")
        rm = r.get("remove_one_s")
        lines.append(f"| {r['index']} | {r['n']:,} | {r['build_s']:.1f} | {r['size_mib']:.0f} | {r['p50_ms']:.2f} | "
                     f"{r['p95_ms']:.2f} | {r['recall_at_10']:.3f} | {'' if f is None else f'{f:.1f}'} | "
                     f"{'' if rm is None else f'{rm:.2f}'} |")
    md = f"""# Vector index: flat against HNSW and IVF

Machine: {data['machine']}. Synthetic clustered 384-d unit vectors; {args.queries} queries (half at
1M for the single-query loops), k = 10; latency is one query per call (a chat turn searches
once), recall@10 against exact NumPy search. flat and hnsw are ragbot's FaissIndex (IndexIDMap2);
IVF is plain faiss IndexIVFFlat for comparison (ragbot does not offer it).

{chr(10).join(lines)}

"scoped search": one search with 10% of the ids allowed (a scope filter): flat uses faiss's
IDSelectorBatch; ragbot's HNSW falls back to exact search over the allowed vectors, which it
reconstructs one by one. "remove 1 id": what re-ingesting a changed file does; ragbot's HNSW
cannot remove in place and rebuilds the whole graph.

Flat search cost fitted over the sizes (least squares through 0): {a * 1e6:.1f} ms p50 per million
vectors, so a {LATENCY_BUDGET_MS:.0f} ms p50 budget is reached at about {n_budget:,.0f} vectors.
HNSW build at 1M, extrapolated from 100k (n log n): {'n/a' if est_1m is None else f'{est_1m:.0f} s'}; with
ragbot's FaissIndex that is also the cost of removing one id (re-ingesting a changed file) at 1M.

![index](index.png)
"""
    write_result("index", md, data)
    print(md)
    print(f"written {png}")
    return data


if __name__ == "__main__":
    main()
