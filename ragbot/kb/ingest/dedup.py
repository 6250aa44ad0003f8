"""Near-duplicate FAQ questions (rapidfuzz), reported at ingest so an editor can merge them."""

from __future__ import annotations

from typing import Sequence

from ragbot.types import Document

_BLOCK = 512  # query rows per cdist call: bounds memory to _BLOCK x n float32 scores


def faq_label(doc: Document) -> str:
    """"<source> row <n>" when the FAQ document has metadata["row"], else its source."""
    row = doc.metadata.get("row")
    return f"{doc.source} row {row}" if row is not None else doc.source


def _question(doc: Document) -> str:
    q = doc.metadata.get("question")
    if isinstance(q, str) and q.strip():
        return q
    first = doc.text.split("\n", 1)[0]
    return first[3:] if first.startswith("Q: ") else first


def find_near_duplicate_faqs(docs: Sequence[Document], ratio: float) -> list[tuple[str, str, float]]:
    """Pairs of FAQ documents (doc_type "faq"; others are ignored) whose questions score at least
    `ratio` (0-100) with rapidfuzz `fuzz.token_set_ratio` after `utils.default_process`
    (lower-case, punctuation stripped).

    Returns [(label_a, label_b, score)], label as faq_label() ("faqs.csv row 3"), a before b in
    input order, score rounded to 0.1, sorted by score descending. A document is never paired
    with itself (same source, row and question). Note token_set_ratio scores 100 when one
    question's words are a subset of the other's ("Are pets allowed?" / "Are pets allowed in the
    building?"): such pairs are reported too, as candidates to review, not errors.
    Cost: rapidfuzz.process.cdist (C++, all cores) over the n(n-1)/2 pairs, in blocks of 512
    rows against the rows after them: about 0.5-1 us per pair per core, e.g. 3,000 FAQs in
    2-3 s and 4,500 in about 6 s on one busy core; memory 512 x n float32.
    """
    import numpy as np
    from rapidfuzz import fuzz, process, utils

    faqs = [d for d in docs if d.doc_type == "faq"]
    if len(faqs) < 2:
        return []
    questions = [utils.default_process(_question(d)) for d in faqs]
    labels = [faq_label(d) for d in faqs]
    keys = [(d.source, d.metadata.get("row"), d.text) for d in faqs]
    found: list[tuple[str, str, float]] = []
    for start in range(0, len(faqs), _BLOCK):  # upper triangle only: each block against the rows from it on
        block = questions[start:start + _BLOCK]
        scores = process.cdist(block, questions[start:], scorer=fuzz.token_set_ratio, score_cutoff=ratio,
                               dtype=np.float32, workers=-1)
        rows, cols = np.nonzero(scores >= max(ratio, 1e-9))
        for r, c in zip(rows.tolist(), cols.tolist()):
            i, j = start + r, start + c
            if j <= i or keys[i] == keys[j] or not questions[i] or not questions[j]:
                continue
            found.append((labels[i], labels[j], round(float(scores[r, c]), 1)))
    found.sort(key=lambda t: (-t[2], t[0], t[1]))
    return found
