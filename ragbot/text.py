"""Text helpers shared by quotes, groundedness, claim checks, gap clustering and fine-tuning data,
so training examples and live replies split text the same way.

- `sentences(text)`: sentences of prose (model drafts, answers, FAQ answers): split after . ! ?
  before a capital, digit, quote or bracket.
- `split_sentences(text, lines_are_units)`: the quotable sentences of a passage (PDF text keeps
  its line wraps, listings and FAQ pairs are one field a line), cleaned of PDF artifacts, whole
  sentences only; a bullet list is one unit with the sentence that introduces it.
- `clean_pdf_text(text)`: hyphenation across line breaks, ligatures, stray whitespace.
- `words(text)`, `STOPWORDS`: lower-case word tokens and the stop list of the content checks.
"""

from __future__ import annotations

import re
import unicodedata

STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers him his how
i if in into is it its itself just may me might more most must my no nor not now of off on once only or other our
ours out over own per please same shall she should so some such than that the their theirs them then there these
they this those through to too under until up upon very was we were what when where which while who whom why will
with would you your yours yes okay ok also however therefore thus unless within without via etc according
pm a.m p.m dollar dollars percent cent usd
""".split())

_WORD = re.compile(r"[a-z0-9]+")
_PROSE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(\[])")
_PASSAGE_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9(\"'“])|\s+•\s*|\n\s*\n+")
_LIGATURES = {"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st", "\u00ad": ""}
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*([a-z])")
_SENTENCE_END = re.compile(r"[.!?:;)\"'”]$")
MAX_SENTENCE_CHARS = 600


def words(text: str) -> list[str]:
    """Lower-case alphanumeric tokens."""
    return _WORD.findall(text.lower())


def sentences(text: str) -> list[str]:
    """Sentences of prose, whitespace folded, empty ones dropped."""
    return [s for s in (" ".join(x.split()) for x in _PROSE_SPLIT.split(" ".join(str(text).split()))) if s]


def clean_pdf_text(text: str) -> str:
    """PDF extraction debris removed: ligatures expanded (ﬁ -> fi), soft hyphens dropped, words
    hyphenated across a line break joined ("manage-\\nment" -> "management"), NFKC normalised."""
    for k, v in _LIGATURES.items():
        text = text.replace(k, v)
    return unicodedata.normalize("NFKC", _HYPHEN_BREAK.sub(r"\1\2", text))


_PAGE_MARK = re.compile(r"^(?:-\s*\d{1,3}\s*-|\d{1,3}\s*/\s*\d{1,3}|page\s+\d{1,3}(?:\s+of\s+\d{1,3})?)\s+", re.I)


def _whole(sentence: str) -> bool:
    """A quotable sentence starts like one (capital, digit, quote, bracket, currency) and ends
    like one; fragments left by chunk boundaries ("th", "Street parking is") do not, nor does
    one that continues a sentence from the page before after the page number ("- 2 - within
    twenty-one days of ...")."""
    sentence = _PAGE_MARK.sub("", sentence) or sentence
    first = sentence[0]
    starts = first.isupper() or first.isdigit() or first in "\"'“($§•-"
    return starts and bool(_SENTENCE_END.search(sentence))


# a listing's or form's "Label: value" line ("Bedrooms: 3" is short but a whole answer); group 1 is the label
FIELD_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z /-]{1,30}):\s*\S")
_LABELLED = re.compile(r"^[^:\n]{1,40}:\s")  # "Price: ", "A: ", "House rules: ": a line that starts a unit
_INLINE_LIST = re.compile(r"(?:^|[\s:])1\.\s+\S.*?\s2\.\s+\S")  # "House rules: 1. Love & Kindness 2. Check in ..."
_LIST_NUMBER = re.compile(r"(?<=[\s:])(\d{1,2})\.\s+(?=[A-Z])")
_KEEP = "\x01"


def _unwrapped_lines(text: str) -> list[str]:
    """The lines of a field-per-line passage with hard wraps undone: a line that starts no field
    ("superintendent, Luis Ortega, ... phone" under "A: Submit a request ... on-site") continues
    the line before it when that line ends without sentence punctuation (FAQ answers in
    Markdown are wrapped at ~100 characters; listing fields each start with "Label: ")."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if out and out[-1] and line and not _LABELLED.match(line) and not _SENTENCE_END.search(out[-1]):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def _keep_list_numbers(line: str) -> str:
    """An inline numbered list ("1. Love & Kindness 2. Check in after 3pm") is one unit: its
    "N. " markers are not sentence ends."""
    return _LIST_NUMBER.sub(lambda m: m.group(1) + "." + _KEEP, line) if _INLINE_LIST.search(line) else line


def split_sentences(text: str, lines_are_units: bool = False) -> list[str]:
    """Quotable sentences of a passage, each at most MAX_SENTENCE_CHARS characters. PDF text keeps
    its line wraps, so single newlines are joined (after `clean_pdf_text`) and only whole
    sentences are kept; with `lines_are_units` (listings, FAQ pairs: one field a line) every line
    is a unit of its own."""
    if lines_are_units:
        units = [" ".join(s.replace(_KEEP, " ").split()) for part in _unwrapped_lines(text)
                 for s in _PASSAGE_SPLIT.split(_keep_list_numbers(part))]
        return [u[:MAX_SENTENCE_CHARS] for u in units if len(u) >= 12 or FIELD_LINE.match(u)]
    out: list[str] = []
    for prose, items in _list_blocks(clean_pdf_text(text)):
        units = [_without_stray_tail(u) for u in (" ".join(s.split()) for s in _PASSAGE_SPLIT.split(prose)) if u]
        out += [u for u in units if 25 <= len(u) <= MAX_SENTENCE_CHARS and _whole(u)]
        if not items:
            continue
        lead = out.pop() if out and units and out[-1] == units[-1] and units[-1].endswith(":") else None
        listed = " ".join(f"• {i}" for i in items)
        if lead and len(lead) + len(listed) < MAX_SENTENCE_CHARS:  # "... notice periods: • 14 days ... • 2 months ..."
            out.append(f"{lead} {listed}")
        else:
            out += ([lead] if lead else []) + [f"• {i}" for i in items if 12 <= len(i) <= MAX_SENTENCE_CHARS]
    return out


_STRAY_TAIL = re.compile(r"^(.+[.!?])\s+[^.!?\s]{1,12}$")


def _without_stray_tail(unit: str) -> str:
    """A sentence followed by a few stray characters to the chunk's end ("... described in
    Section 6. th", the first letters of the next page) without them; other units unchanged."""
    m = _STRAY_TAIL.match(unit)
    return m.group(1) if m and not _whole(unit) else unit


_BULLET = re.compile(r"^\s*[•●▪◦‣\uf0b7]\s*")


def _list_blocks(text: str) -> list[tuple[str, list[str]]]:
    """PDF text as (prose, bullet items after it) pairs. A bullet item runs from its bullet to the
    next bullet or to the first line that starts with anything but a lower-case letter (a wrapped
    item continues in lower case; "If the tenant ..." after the last item is prose again), so an
    item needs no sentence punctuation to be quotable ("• 2 months for landlord's use of property")."""
    blocks: list[tuple[list[str], list[str]]] = [([], [])]
    for line in text.split("\n"):
        prose, items = blocks[-1]
        if _BULLET.match(line):
            items.append(_BULLET.sub("", line))
        elif items and line.strip()[:1].islower():
            items[-1] += " " + line.strip()
        elif items:
            blocks.append(([line], []))
        else:
            prose.append(line)
    return [("\n".join(p), [" ".join(i.split()) for i in items if i.strip()]) for p, items in blocks]
