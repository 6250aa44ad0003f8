"""PII scrubbing quality per type on presidio-research's synthetic set
(../shared/corpus/safety/presidio_synth_pii_v2.json), next to how fast it runs.

    python benchmarks/bench_pii.py

The patterns were tuned on the even records ("dev" half); the odd records ("test" half) are held
out. Matching rule and metrics: `ragbot.tune.data.pii.evaluate_pii`. Writes
benchmarks/results/pii.{md,json}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CORPUS, machine, write_result

PRESIDIO = CORPUS / "safety" / "presidio_synth_pii_v2.json"


def main() -> None:
    if not PRESIDIO.is_file():
        sys.exit(f"{PRESIDIO} is missing (../shared/corpus)")
    from ragbot.tune.data.pii import PII_TYPES, evaluate_pii, scrub

    halves = {}
    for half in ("test", "dev"):
        halves[half] = evaluate_pii(PRESIDIO, half=half)
    texts = [r["full_text"] for r in json.loads(PRESIDIO.read_text(encoding="utf-8"))]
    t = time.perf_counter()
    for text in texts:
        scrub(text)
    seconds = time.perf_counter() - t
    data = {"machine": machine(), "records": len(texts), "scrub_seconds": round(seconds, 2),
            "texts_per_s": round(len(texts) / seconds, 1), "halves": halves}

    def cell(r, key):
        return "" if r[key] is None else f"{r[key]:.3f}"
    rows = "\n".join(
        f"| {typ} | {halves['test'][typ]['support']} | {cell(halves['test'][typ], 'precision')} | "
        f"{cell(halves['test'][typ], 'recall')} | {cell(halves['test'][typ], 'char_recall')} | "
        f"{cell(halves['dev'][typ], 'precision')} | {cell(halves['dev'][typ], 'recall')} |" for typ in PII_TYPES)
    md = f"""# PII scrubbing per type (presidio synthetic PII v2)

Machine: {data['machine']}. Produced by `python benchmarks/bench_pii.py`. {len(texts)} records; the
patterns were tuned on the even records (dev half), the odd records (held-out half) were not looked at.
A prediction counts when it overlaps a gold span of the same type; char recall is the share of gold
characters covered (boundary errors). Scrubbing all {len(texts)} texts took {data['scrub_seconds']} s
({data['texts_per_s']} texts/s, one core).

| type | held-out support | held-out precision | held-out recall | held-out char recall | dev precision | dev recall |
|---|---|---|---|---|---|---|
{rows}

PERSON is found from context only (titles such as "Mr.", cues such as "my name is", speaker
labels, capitalised words before verbs such as "said"), without a trained NER model, hence its
recall; every other occurrence of a detected name in the same text is replaced too.
"""
    write_result("pii", md, data)
    print(md)


if __name__ == "__main__":
    main()
