"""Trust on documents nobody tuned on: the previous release and this one, side by side, in one run.

    .venv/bin/python benchmarks/bench_trust.py [--old-tree ../orig] [--only old|new]

For each code version (the previous release checked out with `git worktree add ../orig 450d505`,
run through PYTHONPATH; and this tree) it builds the eval KBs from scratch and runs `ragbot eval`:
- eval/trust_qa.jsonl (eval/README.md: 232 cases over the corpus and knowledge/, split by document
  group into tune / heldout) on the KB eval/build_kb.py builds;
- ../shared/eval/dev_qa.jsonl on the corpus leases + Columbus listings KB.
Metrics are recomputed here from the per-case results, per split: decision accuracy, fact recall
on answered cases, handoff recall, emergency recall (cases with expected_urgency "emergency"
handed off with urgency "emergency"), p50 turn latency, and the wrong-lead rate: answered
replies whose first line is a model sentence (not a verbatim quote heading, a summary heading or
a deterministic lead followed by the quote) that states none of the case's must_include facts, or
a must_not_include item. Writes benchmarks/results/trust.md and trust.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CACHE = REPO / "benchmarks" / ".cache" / "trust"
RESULTS = REPO / "benchmarks" / "results"
# held-out cases whose replies were read while code was changed (eval/README.md, contamination log):
# the held-out split is also reported without them, as "heldout_unread"
READ_HELDOUT = frozenset({"uci-clarify-seattle-1br", "uci-clarify-austin-2br-pets", "uci-clarify-dc-studio",
                          "uci-clarify-houston-pets", "uci-flint-price", "pine-deposit-2br", "gen-inj-fake-system"})
QUOTE_LEAD = re.compile(r"^(Here is what .* says:|Here are the key terms of .*)$|Here is what .* says:$")


def _env(tree: Path | None) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def _run(args: list[str], tree: Path | None, out: Path | None = None) -> float:
    t = time.perf_counter()
    with open(out, "w") if out else open(os.devnull, "w") as f:
        subprocess.run(args, env=_env(tree), stdout=f, check=True, cwd=tree or REPO)  # cwd leads sys.path
    return time.perf_counter() - t


def build(version: str, tree: Path | None, sets: list[str], trust_kb: Path | None = None) -> dict[str, Path]:
    """The trust KB (eval/build_kb.py; or `trust_kb`, already built by this version) and the
    dev_qa KB (corpus leases + Columbus listings), for the sets asked for."""
    trust, dev = trust_kb or CACHE / f"{version}-trust-kb", CACHE / f"{version}-dev-kb"
    if "trust" in sets and not (trust / "manifest.json").exists():
        _run([sys.executable, str(REPO / "eval" / "build_kb.py"), str(trust)], tree)
    if "dev" in sets and not (dev / "manifest.json").exists():
        corpus = SHARED / "corpus"
        _run([sys.executable, "-m", "ragbot.cli", "ingest", str(corpus / "leases"),
              str(corpus / "listings" / "insideairbnb_columbus_oh_2018-07_listings.csv"), "--kb", str(dev), "--json"],
             tree)
    return {"trust": trust, "dev": dev}


def evaluate(version: str, tree: Path | None, kbs: dict[str, Path], sets: list[str], split: str | None) -> dict:
    """`ragbot eval --json` of each set; trust_qa limited to `split` (a filtered copy of the file,
    since the previous release has no --split)."""
    out = {}
    trust_file = REPO / "eval" / "trust_qa.jsonl"
    if split:
        rows = [line for line in trust_file.read_text().splitlines() if line.strip() and json.loads(line).get("split") == split]
        trust_file = CACHE / f"trust_qa-{split}.jsonl"
        trust_file.write_text("\n".join(rows) + "\n")
    for name, file, key in (("trust", trust_file, "trust"), ("dev_qa", SHARED / "eval" / "dev_qa.jsonl", "dev")):
        if key not in sets:
            continue
        dest = CACHE / f"{version}-{name}.json"
        _run([sys.executable, "-m", "ragbot.cli", "eval", str(file), "--kb", str(kbs[key]), "--json"], tree, dest)
        out[name] = json.loads(dest.read_text())
    return out


def _present(item: str, text: str) -> bool:
    t = " ".join(text.lower().split())
    return any(" ".join(a.lower().split()) in t for a in item.split("|") if a.strip())


def wrong_lead(case: dict, result: dict) -> bool | None:
    """None when the reply is not an answer or its first line is not a model sentence."""
    if result["predicted"] != "answer":
        return None
    first = result["text"].split("\n")[0].strip()
    if first.startswith("“") or QUOTE_LEAD.search(first) or "Here is what" in first or first.startswith("Here are the"):
        return None
    if result.get("rule") == "faq":
        return None
    bad = any(_present(i, first) for i in case.get("must_not_include", []))
    missing = bool(case.get("must_include")) and not any(_present(i, first) for i in case["must_include"])
    return bad or missing


def summarize(cases: list[dict], results: list[dict]) -> dict:
    n = len(results)
    ok = [r for r in results if r["expected"] == r["predicted"]]
    answered_ok = [(c, r) for c, r in zip(cases, results) if r["expected"] == "answer" == r["predicted"]]
    facts = sum(len(c.get("must_include", [])) for c, _ in answered_ok)
    found = sum(sum(_present(i, r["text"]) for i in c.get("must_include", [])) for c, r in answered_ok)
    exp_h = [r for r in results if r["expected"] == "handoff"]
    em = [(c, r) for c, r in zip(cases, results) if c.get("expected_urgency") == "emergency"]
    leads = [w for w in (wrong_lead(c, r) for c, r in zip(cases, results)) if w is not None]
    answered = sum(r["predicted"] == "answer" for r in results)
    lat = [r["latency_ms"] for r in results]
    return {"cases": n, "decision_accuracy": len(ok) / n if n else None,
            "fact_recall": found / facts if facts else None,
            "handoff_recall": sum(r["predicted"] == "handoff" for r in exp_h) / len(exp_h) if exp_h else None,
            "emergency_recall": sum(r.get("urgency") == "emergency" or "emergency" in r.get("rule", "")
                                    for _, r in em) / len(em) if em else None,
            "answered": answered, "model_leads": len(leads),
            "no_wrong_model_sentence": 1 - sum(leads) / answered if answered else None,
            "latency_p50_ms": float(np.percentile(lat, 50)) if lat else None}


def by_split(cases: list[dict], result: dict) -> dict[str, dict]:
    res = result["cases"]
    by_id = {c["id"]: c for c in cases}
    pairs = [(by_id[r["id"]], r) for r in res]
    out = {"all": summarize([c for c, _ in pairs], [r for _, r in pairs])}
    for split in sorted({c.get("split", "") for c, _ in pairs} - {""}):
        sel = [(c, r) for c, r in pairs if c.get("split") == split]
        out[split] = summarize([c for c, _ in sel], [r for _, r in sel])
    unread = [(c, r) for c, r in pairs if c.get("split") == "heldout" and c["id"] not in READ_HELDOUT]
    if unread and len(unread) < sum(c.get("split") == "heldout" for c, _ in pairs):
        out["heldout_unread"] = summarize([c for c, _ in unread], [r for _, r in unread])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-tree", default=str(REPO.parent / "orig"), help="worktree of the previous release")
    ap.add_argument("--only", choices=["old", "new"], default=None)
    ap.add_argument("--sets", default="trust,dev", help="comma list of trust (eval/trust_qa.jsonl) and dev (dev_qa)")
    ap.add_argument("--split", default=None, help="only this split of trust_qa (e.g. heldout)")
    ap.add_argument("--trust-kb", default=None, help="reuse this trust KB (built by the version measured)")
    args = ap.parse_args()
    sets = args.sets.split(",")
    CACHE.mkdir(parents=True, exist_ok=True)
    versions = {"old": Path(args.old_tree), "new": None}
    trust_cases = [json.loads(line) for line in (REPO / "eval" / "trust_qa.jsonl").read_text().splitlines() if line.strip()]
    dev_cases = [json.loads(line) for line in (SHARED / "eval" / "dev_qa.jsonl").read_text().splitlines() if line.strip()]
    report = json.loads((RESULTS / "trust.json").read_text()) if (RESULTS / "trust.json").exists() else {}
    for version, tree in versions.items():
        if args.only and version != args.only:
            continue
        t = time.perf_counter()
        kbs = build(version, tree, sets, Path(args.trust_kb) if args.trust_kb and version == "new" else None)
        res = evaluate(version, tree, kbs, sets, args.split)
        entry = report.setdefault(version, {})
        if "trust" in res:
            entry["trust_qa"] = by_split(trust_cases, res["trust"])
        if "dev_qa" in res:
            entry["dev_qa"] = by_split(dev_cases, res["dev_qa"])
        entry["seconds"] = round(time.perf_counter() - t, 1)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "trust.json").write_text(json.dumps(report, indent=2))
    write_markdown(report)


def write_markdown(report: dict) -> None:
    rows = ["| set | split | version | cases | decision accuracy | fact recall | handoff recall | emergency recall | "
            "answered without a wrong model sentence | p50 turn ms |", "|" + "---|" * 10]
    for set_name, split in (("trust_qa", "heldout"), ("trust_qa", "heldout_unread"), ("trust_qa", "tune"),
                            ("dev_qa", "all")):
        for version in ("old", "new"):
            m = report.get(version, {}).get(set_name, {}).get(split)
            if not m:
                continue
            f = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
            rows.append(f"| {set_name} | {split} | {version} | {m['cases']} | {f(m['decision_accuracy'])} | "
                        f"{f(m['fact_recall'])} | {f(m['handoff_recall'])} | {f(m['emergency_recall'])} | "
                        f"{f(m['no_wrong_model_sentence'])} | {m['latency_p50_ms']:.0f} |")
    (RESULTS / "trust.md").write_text("# Trust: previous release (old) vs this tree (new)\n\n"
                                      "Each version's rows come from its own last run (`--only old|new`; "
                                      "trust.json has the seconds of each). heldout_unread: the held-out split "
                                      "without the cases read while tuning (eval/README.md).\n\n"
                                      + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
