"""Shared helpers for the benchmarks: paths, machine description, peak memory, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
RESULTS = REPO / "benchmarks" / "results"
LEASES = CORPUS / "leases"
COLUMBUS = CORPUS / "listings" / "insideairbnb_columbus_oh_2018-07_listings.csv"
DEV_QA = SHARED / "eval" / "dev_qa.jsonl"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}, no GPU used"


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(code: str, *args: str) -> dict:
    """Run `code` in a fresh Python process (so peak memory is its own) and parse the JSON it
    prints on its last stdout line."""
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_result(name: str, markdown: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    path = RESULTS / f"{name}.md"
    path.write_text(markdown, encoding="utf-8")
    return path


CACHE = REPO / "benchmarks" / ".cache"  # gitignored: KBs and stores reused between runs


def corpus_kb_dir(embedder=None) -> Path:
    """A ragbot KB of the leases + Columbus listings under benchmarks/.cache/kb-corpus, built on
    first use and brought up to date incrementally (seconds when nothing changed)."""
    from ragbot.kb import KnowledgeBase

    path = CACHE / "kb-corpus"
    kb = KnowledgeBase.open(path, create=True, embedder=embedder)
    kb.ingest([LEASES, COLUMBUS], show_progress=False)
    kb.close()
    return path


def save_figure(fig, name: str) -> Path:
    """Write a matplotlib figure to benchmarks/results/<name>.png and close it."""
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def pyplot():
    """matplotlib.pyplot with the Agg backend and readable font sizes."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10})
    return plt
