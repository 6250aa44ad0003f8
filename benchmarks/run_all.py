"""Run every benchmark, each in its own process, and print the time each took and the total.

    python benchmarks/run_all.py [--only NAME ...]     # `make bench` runs this
    python benchmarks/run_all.py --finetune           # `make bench-finetune`: the two LoRA runs (~40 min)

Results: benchmarks/results/<name>.md / .json / .png (see benchmarks/README.md), and
benchmarks/results/run_all.json with the timings (full runs only, not --only). A failing benchmark is reported and the
others still run; the exit code is 1 when any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# cheap first; bench_ingest_langchain before bench_turn_quality (it fills benchmarks/.cache);
# any other benchmarks/bench_*.py runs after these, in name order
ORDER = ["bench_index", "bench_turn", "bench_ingest", "bench_ingest_langchain", "bench_turn_quality"]
FINETUNE = ["bench_finetune", "bench_finetune_cli"]  # LoRA training: ~12-25 min each on 2 cores, run apart
BENCHMARKS = [n for n in ORDER if (HERE / f"{n}.py").is_file()] + sorted(
    p.stem for p in HERE.glob("bench_*.py") if p.stem not in ORDER + FINETUNE)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="run all benchmarks")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS + FINETUNE, help="run only these")
    ap.add_argument("--finetune", action="store_true", help="run the fine-tuning benchmarks instead")
    args = ap.parse_args(argv)
    names = args.only or (FINETUNE if args.finetune else BENCHMARKS)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=str(HERE.parent))
    timings, failed = {}, []
    t_all = time.perf_counter()
    for name in names:
        print(f"=== {name}", flush=True)
        t = time.perf_counter()
        rc = subprocess.run([sys.executable, str(HERE / f"{name}.py")], env=env, check=False).returncode
        timings[name] = round(time.perf_counter() - t, 1)
        if rc != 0:
            failed.append(name)
        print(f"=== {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {timings[name]:.0f} s", flush=True)
    total = time.perf_counter() - t_all
    if not args.only and not args.finetune:  # the record of a full run is not overwritten by partial ones
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "run_all.json").write_text(json.dumps(
            {"seconds": timings, "total_s": round(total, 1), "failed": failed}, indent=2), encoding="utf-8")
    print("\n".join(f"{n:28s} {s:7.0f} s" for n, s in timings.items()))
    print(f"{'total':28s} {total:7.0f} s ({total / 60:.1f} min){'; FAILED: ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
