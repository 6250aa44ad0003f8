"""Cleaning steps of `ragbot data prepare`: normalise, filter by length, exact and near
deduplication, balancing by intent, and a split stratified by intent and grouped by conversation.

Placeholders. Two families are kept apart on purpose:
- `<EMAIL>`, `<PHONE>`, `<CARD>`, `<SSN>`, `<IBAN>`, `<ADDRESS>`, `<PERSON>`: PII removed by
  `ragbot.tune.data.pii`; never produced from source text.
- `{{Slot Name}}`: business-specific template slots that come with the source data (Bitext's
  `{{Website Name}}`, `{{Customer Support Phone Number}}`, ...). They are KEPT, in one canonical
  form: inner whitespace collapsed (`{{ Website  Name }}` -> `{{Website Name}}`) and Bitext's
  occasional single-bracket variant of a title-case slot (`[Customer Support Phone Number]`)
  rewritten to `{{Customer Support Phone Number}}`. A model fine-tuned on them learns to emit
  a slot instead of inventing a phone number or URL; the serving side fills or strips them.
Lower-case or one-letter brackets (`[response time]`, `[X]`) are left as they are.

Every function is pure: it returns new lists and never mutates its input.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Iterable, Sequence

from ragbot.tune.data.io import Example

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_SLOT = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_BRACKET_SLOT = re.compile(r"(?<!\[)\[((?:[A-Z][A-Za-z]+)(?: (?:[A-Z][A-Za-z]+|of|to|and|or|for|&))*)\](?![\](])")


def normalise_text(text: str) -> str:
    """NFC, drop control and zero-width characters, unify newlines, collapse runs of spaces and
    tabs to one space, strip line ends, at most one blank line in a row, canonical `{{Slot}}`
    placeholders (see module docstring), strip the ends."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = _SLOT.sub(lambda m: "{{" + " ".join(m.group(1).split()) + "}}", text)
    text = _BRACKET_SLOT.sub(lambda m: "{{" + m.group(1) + "}}" if len(m.group(1)) >= 3 else m.group(0), text)
    return text.strip()


def normalise_example(ex: Example) -> Example:
    """The example with every message content passed through `normalise_text`."""
    return replace(ex, messages=tuple({"role": m["role"], "content": normalise_text(m["content"])}
                                      for m in ex.messages))


def filter_length(examples: Iterable[Example], min_chars: int, max_chars: int) -> tuple[list[Example], Counter]:
    """Keep examples whose user and assistant messages are all non-empty and at least
    `min_chars` long and whose user+assistant text totals at most `max_chars` characters.

    Returns (kept, dropped) with dropped counting reasons "empty", "too_short", "too_long".
    """
    kept, dropped = [], Counter()
    for ex in examples:
        lengths = [len(m["content"]) for m in ex.messages if m["role"] in ("user", "assistant")]
        if not lengths or min(lengths) == 0:
            dropped["empty"] += 1
        elif min(lengths) < min_chars:
            dropped["too_short"] += 1
        elif sum(lengths) > max_chars:
            dropped["too_long"] += 1
        else:
            kept.append(ex)
    return kept, dropped


def _key(ex: Example) -> str:
    parts = (f"{m['role']}\x1f{' '.join(m['content'].casefold().split())}" for m in ex.messages)
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()


def dedup_exact(examples: Iterable[Example]) -> tuple[list[Example], int]:
    """Drop examples whose messages (role + case-folded, whitespace-collapsed content) equal an
    earlier example's. Intent is not part of the key. Returns (kept in order, number dropped)."""
    seen, kept, dropped = set(), [], 0
    for ex in examples:
        k = _key(ex)
        if k in seen:
            dropped += 1
        else:
            seen.add(k)
            kept.append(ex)
    return kept, dropped


def dedup_near(examples: Sequence[Example], ratio: float, block: int = 256,
               show_progress: bool = False) -> tuple[list[Example], list[tuple[str, str, float]]]:
    """Drop near-duplicates within each intent.

    Two examples of the same intent are near-duplicates when rapidfuzz `fuzz.ratio` of their
    user+assistant text (processed by `rapidfuzz.utils.default_process`: lower-cased,
    non-alphanumerics removed) is >= `ratio` (0..100). Scanning in input order, each kept
    example removes its later near-duplicates (a removed example removes nothing). Scores come
    from `process.cdist` in blocks of `block` rows (float32, block x group size memory).
    Returns (kept in input order, [(kept source, dropped source, score)]).
    """
    import numpy as np
    from rapidfuzz import fuzz, process, utils
    from tqdm.auto import tqdm

    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[ex.intent].append(i)
    removed: set[int] = set()
    pairs: list[tuple[str, str, float]] = []
    bar = tqdm(total=len(examples), desc="near-duplicates", unit="ex", disable=not show_progress)
    for idx in groups.values():
        texts = [utils.default_process(examples[i].text()) for i in idx]
        for b0 in range(0, len(idx), block):
            scores = process.cdist(texts[b0:b0 + block], texts, scorer=fuzz.ratio, score_cutoff=ratio,
                                   dtype=np.float32, workers=1)
            for r in range(scores.shape[0]):
                i = b0 + r
                if idx[i] in removed:
                    continue
                for j in np.nonzero(scores[r, i + 1:] >= ratio)[0] + i + 1:
                    if idx[j] not in removed:
                        removed.add(idx[j])
                        pairs.append((examples[idx[i]].source, examples[idx[j]].source, round(float(scores[r, j]), 2)))
            bar.update(scores.shape[0])
    bar.close()
    return [ex for i, ex in enumerate(examples) if i not in removed], pairs


def balance(examples: Sequence[Example], cap_per_class: int | None, seed: int) -> list[Example]:
    """Keep at most `cap_per_class` examples per intent (None is a class of its own), chosen by
    a `random.Random(seed)` sample; input order is kept. cap None returns all examples."""
    if cap_per_class is None:
        return list(examples)
    if cap_per_class < 1:
        raise ValueError(f"cap_per_class must be >= 1 or None, not {cap_per_class}")
    rng = random.Random(seed)
    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[ex.intent].append(i)
    keep: set[int] = set()
    for intent in sorted(groups, key=lambda k: (k is not None, k or "")):
        idx = groups[intent]
        keep.update(idx if len(idx) <= cap_per_class else rng.sample(idx, cap_per_class))
    return [ex for i, ex in enumerate(examples) if i in keep]


def split(examples: Sequence[Example], fractions: Sequence[float] = (0.8, 0.1, 0.1),
          seed: int = 13) -> tuple[list[Example], ...]:
    """Split into len(fractions) parts, stratified by intent and grouped by conversation_id.

    All examples of a conversation go to one part (the conversation's stratum is its most
    common intent). Within each stratum, conversations are shuffled by `random.Random(seed)`
    and each goes to the part furthest below its target (fraction x stratum size, in examples);
    parts with fraction 0 get nothing. Small strata therefore fill train first. Returns one list
    per fraction, each in input order. Raises ValueError for negative fractions or a sum != 1.
    """
    fractions = tuple(float(f) for f in fractions)
    if not fractions or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions {fractions} must be non-negative and sum to 1")
    convs: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        convs[ex.conversation_id].append(i)
    strata: dict[str, list[str]] = defaultdict(list)
    for cid, idx in convs.items():
        counts = Counter(examples[i].intent or "" for i in idx)
        top = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        strata[top].append(cid)
    rng = random.Random(seed)
    part_of: dict[int, int] = {}
    for intent in sorted(strata):
        cids = strata[intent]
        rng.shuffle(cids)
        total = sum(len(convs[c]) for c in cids)
        filled = [0] * len(fractions)
        for cid in cids:
            k = max((k for k, f in enumerate(fractions) if f > 0),
                    key=lambda k: (fractions[k] * total - filled[k], -k))
            filled[k] += len(convs[cid])
            for i in convs[cid]:
                part_of[i] = k
    return tuple([ex for i, ex in enumerate(examples) if part_of[i] == k] for k in range(len(fractions)))
