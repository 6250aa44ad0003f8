"""Ingest throughput: ragbot's ingest (chunks/s) against the raw embedder's throughput on the
same chunks, and first against repeated (unchanged) ingest time. One run, same machine.

    python benchmarks/bench_ingest.py            # writes benchmarks/results/ingest.{md,json}
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import COLUMBUS, LEASES, machine, write_result  # noqa: E402


def main() -> dict:
    from ragbot.kb import KnowledgeBase

    tmp = Path(tempfile.mkdtemp(prefix="ragbot-bench-"))
    try:
        kb = KnowledgeBase.open(tmp / "kb", create=True)
        kb.embedder.warm_up()  # model load is not ingest throughput
        paths = [LEASES, COLUMBUS]
        t = time.perf_counter()
        first = kb.ingest(paths)
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        second = kb.ingest(paths)
        t_second = time.perf_counter() - t
        texts = [c.text for c in kb.chunks_by_ids(kb.index.ids().tolist()).values()]
        t = time.perf_counter()
        kb.embedder.embed_documents(texts)
        t_raw = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = first.chunks
    data = {
        "machine": machine(),
        "chunks": n,
        "files": first.added,
        "first_ingest_s": round(t_first, 2),
        "ingest_chunks_per_s": round(n / t_first, 1),
        "raw_embed_s": round(t_raw, 2),
        "raw_embed_chunks_per_s": round(len(texts) / t_raw, 1),
        "ingest_vs_raw": round((n / t_first) / (len(texts) / t_raw), 3),
        "repeat_ingest_s": round(t_second, 3),
        "repeat_unchanged_files": second.unchanged,
        "repeat_vs_first": round(t_second / t_first, 4),
    }
    md = f"""# Ingest throughput

Machine: {data['machine']}. Corpus: ../shared/corpus/leases (4 PDFs) + Columbus listings (1,013 rows);
{n} chunks from {first.added} files. Embedder: bundled all-MiniLM-L6-v2 (loaded before timing).

| measure | value |
|---|---|
| ragbot first ingest (load, chunk, embed, index, atomic save) | {t_first:.1f} s = **{n / t_first:.0f} chunks/s** |
| raw embedder on the same chunk texts (`embed_documents`) | {t_raw:.1f} s = {len(texts) / t_raw:.0f} chunks/s |
| ingest / raw throughput | {data['ingest_vs_raw']:.2f} |
| repeated ingest, all files unchanged | {t_second:.2f} s ({data['repeat_vs_first'] * 100:.1f}% of first) |
"""
    path = write_result("ingest", md, data)
    print(md)
    print(f"written {path}")
    return data


if __name__ == "__main__":
    main()
