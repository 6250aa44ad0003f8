"""PII scrubbing for fine-tuning data: regular expressions plus checksums, no model, no network.

`scrub(text)` replaces each detected span by a typed placeholder: <EMAIL>, <PHONE>, <CARD>,
<SSN>, <IBAN>, <ADDRESS>, <PERSON>. Detection per type:

- EMAIL: RFC-5322-ish local@domain.tld.
- CARD: 12-19 digits, contiguous or grouped 4-4-4-x / 4-6-5, that pass the Luhn checksum
  (ISO/IEC 7812-1); a run preceded by "order/invoice/tracking/id/#..." and no card word is an
  identifier, not a card.
- IBAN: country code, 2 check digits, 11-30 alphanumerics, that pass ISO 13616 mod-97 == 1.
- SSN: ddd-dd-dddd (or spaced) with the SSA's never-issued areas (000, 666, 900-999), group 00
  and serial 0000 rejected; 9 bare digits only right after "SSN"/"social security".
- PHONE: 7-15 digits in groups split by space, dot, dash or parentheses, optional +/00 country
  code and extension; dates, year ranges and identifier-like bare runs are rejected.
- ADDRESS: number + street words + USPS suffix ("12 Oak Street"), European street words with a
  house number ("Vesterskovvej 79", "Via Roma 131"), military and P.O. boxes, "the corner of X
  and Y", and capitalised words after a cue ("my address is", "lives at", "send it to");
  each extended by apt/suite/unit and by city / state / country / zip parts.
- PERSON: only where a cue makes it detectable: titles (Mr./Mrs./Ms./Dr. ...), "my name is",
  "I'm", "this is", "Dear", "Hi", sign-offs ("Regards,\\nJane"), "Name:" fields, dialogue
  speakers (`Anna: "..."`), the first line of a letterhead or signature block; every other
  occurrence of a detected name (or of its parts) in the same text is replaced too. Names
  without such a cue are missed (measured recall below).

Overlaps: checksum-validated types (EMAIL, CARD, IBAN, SSN) win; among the others the longer
span wins. Quality is measured by `evaluate_pii` (see that function for the matching rule).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterable

from ragbot.errors import IngestError
from ragbot.tune.data import _pii_patterns as P

PII_TYPES = ("EMAIL", "PHONE", "CARD", "SSN", "IBAN", "ADDRESS", "PERSON")
_VALIDATED = frozenset({"EMAIL", "CARD", "IBAN", "SSN"})
# presidio-research entity types -> ours (the other presidio types are not scrubbed)
PRESIDIO_TYPES = MappingProxyType({
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD", "US_SSN": "SSN",
    "IBAN_CODE": "IBAN", "STREET_ADDRESS": "ADDRESS", "PERSON": "PERSON"})


@dataclass(frozen=True)
class Span:
    """One PII occurrence. start/end: character offsets into the ORIGINAL text (end exclusive)."""

    type: str
    start: int
    end: int
    value: str


def luhn_valid(number: str) -> bool:
    """True when the digits of `number` (other characters ignored) pass the Luhn checksum."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """True when `iban` (spaces ignored, any case) is 15-34 characters and passes mod-97 == 1."""
    s = iban.replace(" ", "").upper()
    if not (15 <= len(s) <= 34 and s[:2].isalpha() and s[2:4].isdigit() and s.isalnum()):
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _is_identifier(text: str, start: int) -> bool:
    before = text[max(0, start - 40):start]
    return bool(P.ID_CONTEXT.search(before)) and not P.CARD_CONTEXT.search(before[-25:])


# ------------------------------------------------------------------------------- detectors
def _emails(text):
    for m in P.EMAIL.finditer(text):
        yield "EMAIL", m.start(), m.end()


def _ibans(text):
    for m in P.IBAN.finditer(text):
        if iban_valid(m.group()):
            yield "IBAN", m.start(), m.end()


def _cards(text):
    for m in P.CARD.finditer(text):
        if luhn_valid(m.group()) and not _is_identifier(text, m.start()):
            yield "CARD", m.start(), m.end()


def _ssns(text):
    for m in P.SSN.finditer(text):
        if _ssn_valid(m.group(1), m.group(3), m.group(4)):
            yield "SSN", m.start(), m.end()
    for m in P.SSN_CUE.finditer(text):
        d = m.group(1)
        if _ssn_valid(d[:3], d[3:5], d[5:]):
            yield "SSN", m.start(1), m.end(1)


def _phones(text):
    blocked = [(m.start(), m.end()) for m in P.NOT_PHONE.finditer(text)]
    for m in P.PHONE.finditer(text):
        if any(m.start() < e and s < m.end() for s, e in blocked):
            continue
        s = m.group()
        core = re.split(r"\s?(?:x|ext\.?)\s?\d", s)[0]
        digits = sum(c.isdigit() for c in core)
        groups = [g for g in re.split(r"[ .\-()]+", core.lstrip("+")) if g]
        if not 7 <= digits <= 15 or P.DATE_LIKE.match(core) or P.ZIP_LIKE.match(core) or "  " in core:
            continue
        if len(groups) == 1:  # a bare run: 10-11 digits (national) or an explicit country code
            if not (s.startswith("+") or (10 <= digits <= 11 and not s.startswith("000"))) \
                    or _is_identifier(text, m.start()):
                continue
        elif max(len(g) for g in groups) < 2 or len(groups) > 6:
            continue
        elif sum(len(g) == 1 for g in groups) > 1 and not (s.startswith("+") or "(" in s):
            continue
        yield "PHONE", m.start(), m.end()


def _extend_address(text: str, end: int, lower: bool) -> int:
    m = P.ADDR_UNIT.match(text, end)
    if m:
        end = m.end()
    tail = P.ADDR_TAIL[1 if lower else 0]
    for _ in range(5):
        m = tail.match(text, end) or P.ADDR_UNIT.match(text, end)
        if not m:
            break
        end = m.end()
    m = P.ADDR_TAIL_SAMELINE.match(text, end)
    if m and not lower:
        end = m.end()
    m = P.ADDR_TAIL_BLANK.match(text, end)
    return m.end() if m else end


def _addresses(text):
    lower = not any(c.isupper() for c in text)
    cores = []
    for rx in (P.ADDR_US[1 if lower else 0], P.ADDR_EU, P.ADDR_MIL, P.ADDR_CORNER) + (() if lower else (P.ADDR_NNN,)):
        cores += [(m.start(), m.end()) for m in rx.finditer(text)]
    for m in P.ADDR_PREFIX.finditer(text):
        if m.group("lead") or m.group("no"):
            cores.append((m.start(), m.end()))
    body = P.ADDR_CUE_BODY[1 if lower else 0]
    for m in P.ADDR_CUE.finditer(text):
        b = body.match(text, m.end())
        if b and any(c.isdigit() for c in b.group()):
            cores.append((b.start(), b.end()))
    for start, end in cores:
        end = _extend_address(text, end, lower)
        while end > start and text[end - 1] in " \t\n,;:>":
            end -= 1
        if end - start >= 4:
            yield "ADDRESS", start, end


def _name_at(text: str, pos: int, lower: bool) -> tuple[int, int] | None:
    m = P.NAME_RE.match(text, pos) or (P.NAME_LOWER.match(text, pos) if lower else None)
    if not m:
        return None
    tokens = list(re.finditer(r"\S+", m.group()))
    if tokens[-1].group().lower() in P.ORG_WORDS:
        return None
    for i, t in enumerate(tokens):  # cut at the first word that is not part of a name
        if t.group().lower().strip(".'’") in P.NOT_NAMES:
            tokens = tokens[:i]
            break
    if not tokens:
        return None
    end = pos + tokens[-1].end()
    for suffix in ("'s", "’s", "'", "’"):
        if tokens[-1].group().endswith(suffix):
            end -= len(suffix)
            break
    return (pos, end) if end - pos >= 2 else None


def _letterhead(text: str, lower: bool):
    lines = text.split("\n")
    if len(lines) < 3:
        return
    offset = 0
    for line in lines:
        stripped = line.lstrip(" \t>?")
        if stripped.strip():
            pos = offset + len(line) - len(stripped)
            words = stripped.split()
            if 2 <= len(words) <= 4 and not any(ch.isdigit() or ch in ":@,/" for ch in stripped):
                span = _name_at(text, pos, lower)
                if span and span[1] - pos >= len(stripped.rstrip()) - 1:
                    yield span
            return
        offset += len(line) + 1


def _persons(text):
    lower = not any(c.isupper() for c in text)
    found = []
    for rx in (P.TITLE, P.NAME_CUE_STRONG, P.NAME_CUE, P.SPEAKER):
        for m in rx.finditer(text):
            pos = m.end() if rx is not P.SPEAKER else m.start("name")
            span = _name_at(text, pos, lower and rx in (P.TITLE, P.NAME_CUE_STRONG))
            if span:
                found.append(span)
    for m in P.NAME_BEFORE_VERB.finditer(text):
        words = text[max(0, m.start() - 60):m.start()].split()
        for n in (3, 2, 1):  # the longest run of capitalised words right before the verb
            if len(words) >= n:
                pos = m.start() - len(" ".join(words[-n:]))
                span = _name_at(text, pos, lower)
                if span and span[1] == m.start():
                    found.append(span)
                    break
    found += list(_letterhead(text, lower))
    for _, start, _ in _addresses(text):  # a name line right above a postal address
        nl = text.rfind("\n", 0, start)
        if nl < 0 or text[nl + 1:start].strip(" \t>?"):
            continue
        line_start = text.rfind("\n", 0, nl) + 1
        seg = text[line_start:nl]
        pos = line_start + (seg.rfind(":") + 1)
        pos += len(text[pos:nl]) - len(text[pos:nl].lstrip(" \t>?"))
        name = text[pos:nl].rstrip()
        if 2 <= len(name.split()) <= 4 and not any(c.isdigit() for c in name) and not any(s < pos for s, _ in found):
            span = _name_at(text, pos, lower)
            if span and span[1] >= pos + len(name) - 1:
                found.append(span)
    # every other occurrence of a detected name, or of one of its parts, in the same text
    parts = {text[s:e] for s, e in found}
    parts |= {w for s, e in found for w in text[s:e].split() if len(w) >= 3 and w.lower() not in P.NOT_NAMES
              and not w.endswith(".")}
    for part in sorted(parts, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w]){re.escape(part)}(?![\w])", text):
            found.append((m.start(), m.end()))
    for start, end in found:
        yield "PERSON", start, end


_DETECTORS = MappingProxyType({"EMAIL": _emails, "IBAN": _ibans, "CARD": _cards, "SSN": _ssns,
                               "PHONE": _phones, "ADDRESS": _addresses, "PERSON": _persons})


def find_pii(text: str, types: Iterable[str] = PII_TYPES) -> list[Span]:
    """Detect PII in `text`. Returns non-overlapping Spans sorted by start offset.

    types: subset of PII_TYPES to look for. Raises ValueError for an unknown type.
    """
    types = tuple(types)
    unknown = set(types) - set(PII_TYPES)
    if unknown:
        raise ValueError(f"unknown PII type(s) {sorted(unknown)}; use some of {PII_TYPES}")
    cands = [c for t in types for c in _DETECTORS[t](text)]
    cands.sort(key=lambda c: (c[0] not in _VALIDATED, -(c[2] - c[1]), c[1]))
    taken: list[tuple[int, int]] = []
    spans = []
    for typ, start, end in cands:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        spans.append(Span(typ, start, end, text[start:end]))
    return sorted(spans, key=lambda s: s.start)


def scrub(text: str, types: Iterable[str] = PII_TYPES) -> tuple[str, list[Span]]:
    """Replace PII by typed placeholders ("<EMAIL>", "<PHONE>", ...).

    Returns (scrubbed_text, spans); span offsets refer to the input `text`, not the output.
    """
    spans = find_pii(text, types)
    out, pos = [], 0
    for s in spans:
        out.append(text[pos:s.start])
        out.append(f"<{s.type}>")
        pos = s.end
    out.append(text[pos:])
    return "".join(out), spans


def evaluate_pii(path: str | Path, half: str = "test", types: Iterable[str] = PII_TYPES) -> dict[str, dict[str, float]]:
    """Per-type precision / recall of `find_pii` on presidio-research's synthetic PII set.

    path: presidio_synth_pii_v2.json (a list of {"full_text", "spans": [{"entity_type",
    "start_position", "end_position"}]}); entity types map to ours by PRESIDIO_TYPES.
    half: "dev" (even record indices: the half the patterns were tuned on), "test" (odd
    indices: held out) or "all".
    Matching rule (span overlap, per type): a predicted span is a true positive when it shares
    at least one character with a gold span of the same type; a gold span is recalled when at
    least one predicted span of the same type overlaps it. precision = matched predictions /
    predictions, recall = recalled gold spans / gold spans (support). A prediction overlapping
    only a gold span of an unmapped type (ORGANIZATION, GPE, ZIP_CODE...) counts as false.
    char_recall is the stricter share of gold characters covered by same-type predictions (it
    shows boundary errors that overlap matching forgives).
    Returns {type: {"precision", "recall", "support", "predicted", "char_recall"}}; ratios are
    None where there is nothing to divide by. Raises IngestError when the file is unreadable.
    """
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
        _ = [(r["full_text"], r["spans"]) for r in records]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IngestError(str(path), f"not a presidio synthetic PII file ({e})") from e
    if half not in ("dev", "test", "all"):
        raise ValueError(f"half must be 'dev', 'test' or 'all', not {half!r}")
    types = tuple(types)
    stats = {t: {"tp_pred": 0, "pred": 0, "recalled": 0, "gold": 0, "chars": 0, "chars_hit": 0} for t in types}
    for i, rec in enumerate(records):
        if (half == "dev" and i % 2) or (half == "test" and not i % 2):
            continue
        gold = [(PRESIDIO_TYPES[s["entity_type"]], s["start_position"], s["end_position"])
                for s in rec["spans"] if PRESIDIO_TYPES.get(s["entity_type"]) in types]
        pred = find_pii(rec["full_text"], types)
        for t in types:
            g = [(s, e) for typ, s, e in gold if typ == t]
            p = [(s.start, s.end) for s in pred if s.type == t]
            st = stats[t]
            st["gold"] += len(g)
            st["pred"] += len(p)
            st["recalled"] += sum(any(ps < ge and gs < pe for ps, pe in p) for gs, ge in g)
            st["tp_pred"] += sum(any(ps < ge and gs < pe for gs, ge in g) for ps, pe in p)
            covered = {i for ps, pe in p for i in range(ps, pe)}
            gold_chars = {i for gs, ge in g for i in range(gs, ge)}
            st["chars"] += len(gold_chars)
            st["chars_hit"] += len(gold_chars & covered)
    return {t: {"precision": round(st["tp_pred"] / st["pred"], 4) if st["pred"] else None,
                "recall": round(st["recalled"] / st["gold"], 4) if st["gold"] else None,
                "support": st["gold"], "predicted": st["pred"],
                "char_recall": round(st["chars_hit"] / st["chars"], 4) if st["chars"] else None}
            for t, st in stats.items()}
