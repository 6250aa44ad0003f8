"""Groundedness of a generated answer in the retrieved passages (a confidence-gate signal).

Numbers and names first (DESIGN.md): every number, amount, percentage or time in the answer
must appear in some passage, compared by value ("$1,450" == "1450" == "1,450.00",
"60" == "sixty", "5:00 pm" == "5 p.m." == "17:00"); every capitalised name must appear in a
passage (or in the question / known names, e.g. the business name). Citation markers "[1]" and
page references "p. 3" are not checked. The score is the share of the answer's content words
(stopwords removed; numbers weigh double) found in the passages, exactly or by rapidfuzz
ratio >= 80 (plurals, inflections, typos).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterable, Sequence

from rapidfuzz import fuzz, process

from ragbot.text import STOPWORDS, sentences

_STOP = STOPWORDS

_NUM_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_UNITS = (r"(?:days?|weeks?|months?|years?|hours?|minutes?|percent|dollars?|bedrooms?|bathrooms?|units?|times?|"
          r"pets?|cats?|dogs?|persons?|people|occupants?|cars?|spaces?|nights?|floors?|keys?)")

_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]")  # [1], [2, 3], [1-3]
_PAGE_REF = re.compile(r"\b(?:p|pp|pg|page)\.?\s*\d+(?:\s*[-–]\s*\d+)?\b", re.IGNORECASE)  # p. 2, pp. 3-4
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\s*([ap]\.?\s?m\.?)?", re.IGNORECASE)  # 10:30, 9:00 p.m.
# 1,450, 2.5, the 5th, 9 a.m. (groups: the digits, the decimals, a.m./p.m.)
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:st|nd|rd|th)?(\s*[ap]\.?\s?m\.?(?![a-z]))?", re.IGNORECASE)
# thirty, twenty-five, one hundred and fifty
_WORDNUM = re.compile(
    r"\b(?:(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|million)(?:[\s-]+(?:and[\s-]+)?)?)+\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.:]*")  # words and digit runs ("1,450.00", "10:30")
# capitalised runs that may be names: "Oak Street Apartments", "Bank of America"
_CAP_RUN = re.compile(r"\b[A-Z][\w'’&.-]*(?:\s+(?:of|de|la|the|and|&)?\s*[A-Z][\w'’&.-]*)*")
_NOT_NAMES = frozenset("i i'm i've i'll i'd ai ok okay yes no please thanks thank hello hi dear the a an this that "
                       "these those your our my it its if you we they he she there here q a: note".split())


@dataclass(frozen=True)
class SentenceSupport:
    """Support of one answer sentence.

    overlap: share of its content-token weight found in the passages, in [0, 1].
    partial_ratio: best rapidfuzz partial_ratio against any passage, scaled to [0, 1].
    best_passage: index of the passage with the best partial_ratio, -1 when there are none.
    unsupported: content tokens (and numbers) found in no passage.
    """

    sentence: str
    overlap: float
    partial_ratio: float
    best_passage: int
    unsupported: tuple[str, ...] = ()


@dataclass(frozen=True)
class Groundedness:
    """score: share of the answer's content (weighted tokens) supported by the passages, in [0, 1];
    0.0 for an answer with no content words (nothing could be verified).
    unsupported_numbers / unsupported_names: as written in the answer, in order of appearance.
    sentence_support: one entry per answer sentence (citation markers removed).
    best_passage: index of the passage that alone covers the most answer content (-1 if none);
    best_passage_coverage: that passage's share of the answer's content weight, in [0, 1]."""

    score: float
    unsupported_numbers: tuple[str, ...] = ()
    unsupported_names: tuple[str, ...] = ()
    sentence_support: tuple[SentenceSupport, ...] = ()
    best_passage: int = -1
    best_passage_coverage: float = 0.0

    @property
    def facts_supported(self) -> bool:
        """True when every number and name of the answer appears in the passages."""
        return not self.unsupported_numbers and not self.unsupported_names


def citations(answer: str) -> tuple[int, ...]:
    """Passage numbers cited as [n] / [n, m] / [n-m] in `answer`, in order, without repeats."""
    out: list[int] = []
    for m in _CITATION.finditer(answer or ""):
        inner = m.group(0)[1:-1]
        for part in re.split(r"[,;]", inner):
            bounds = [int(x) for x in re.findall(r"\d+", part)]
            rng = range(bounds[0], bounds[-1] + 1) if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < 20 else bounds
            out.extend(n for n in rng if n not in out)
    return tuple(out)


def strip_citations(text: str) -> str:
    """`text` without [n] markers and page references ("p. 3")."""
    text = " ".join(_PAGE_REF.sub(" ", _CITATION.sub(" ", text or "")).split())
    return re.sub(r"\s+([.,;:!?])", r"\1", text)


def _surface(text: str) -> str:
    """A number as written, without a sentence-final period after "pm"/"am"."""
    return re.sub(r"(?<!\.)([ap]m)\.$", r"\1", text.strip(), flags=re.IGNORECASE)


def _canon(value: Decimal) -> str:
    return format(value.normalize(), "f")


_PCT_AFTER = re.compile(r"\s*(?:%|percent\b|per\s+cent\b)", re.IGNORECASE)
_CUR_AFTER = re.compile(r"\s*(?:dollars?|usd|cad|bucks)\b", re.IGNORECASE)


def _typed(values: set[str], before: str, after: str, answer_side: bool) -> frozenset[str]:
    """Add unit-typed aliases: "$1000" for currency, "6%" for percentages. On the answer side
    a typed number must match a typed value ("$1" is not licensed by "1 month")."""
    currency = before.rstrip().endswith("$") or bool(_CUR_AFTER.match(after))
    percent = bool(_PCT_AFTER.match(after))
    typed = {("$" + v) for v in values} if currency else {(v + "%") for v in values} if percent else set()
    if answer_side and typed:
        return frozenset(typed)
    return frozenset(values | typed)


def _word_value(phrase: str) -> int | None:
    total, current, seen = 0, 0, False
    for w in re.split(r"[\s-]+", phrase.lower()):
        if w in ("", "and"):
            continue
        if w in _NUM_WORDS:
            current += _NUM_WORDS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALES:
            current = max(current, 1) * _SCALES[w]
            if _SCALES[w] > 100:
                total, current = total + current, 0
        else:
            return None
        seen = True
    return total + current if seen else None


def _numbers(text: str, answer_side: bool) -> list[tuple[str, frozenset[str]]]:
    """(surface form, accepted canonical values) for each number in `text`.

    Passage side lists every alias a value can be written as (9:00 -> {"9:00", "9"},
    5 p.m. -> {"5", "17"}, $1,000 -> {"1000", "$1000"}); answer side gives the values any one
    of which must be present in the passages."""
    text = strip_citations(text)
    found: list[tuple[str, frozenset[str]]] = []
    spans: list[tuple[int, int]] = []
    for m in _TIME.finditer(text):
        h, mins, ampm = int(m.group(1)), m.group(2), m.group(3)
        vals = {f"{h}:{mins}"}
        if mins == "00":
            vals.add(str(h))
        if ampm and ampm.lower().startswith("p") and h < 12:
            vals |= {f"{h + 12}:{mins}"} | ({str(h + 12)} if mins == "00" else set())
        found.append((_surface(m.group(0)), frozenset(vals)))
        spans.append(m.span())
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        try:
            value = Decimal(m.group(1).replace(",", "") + (m.group(2) or ""))
        except InvalidOperation:
            continue
        vals = {_canon(value)}
        if m.group(3) and m.group(3).strip().lower().startswith("p") and value < 12:
            vals.add(_canon(value + 12))
        surface = _surface(text[max(0, m.start() - 1): m.end()] if text[max(0, m.start() - 1)] == "$" else m.group(0))
        found.append((surface, _typed(vals, text[: m.start()], text[m.end():], answer_side)))
    for m in _WORDNUM.finditer(text):
        phrase = m.group(0).strip(" -")
        value = _word_value(phrase)
        if value is None:
            continue
        end = m.start() + len(m.group(0).rstrip(" -"))
        if answer_side and phrase.lower() in ("one", "zero") and not re.match(rf"[\s-]+{_UNITS}\b", text[end:], re.IGNORECASE):
            continue  # "one of the offices" is not a figure to check
        found.append((phrase, _typed({str(value)}, text[: m.start()], text[end:], answer_side)))
    return found


def extract_numbers(text: str) -> set[str]:
    """Canonical values of every number, amount, percentage and time in `text`
    ("$1,450.00" -> "1450", "sixty" -> "60", "5 p.m." -> {"5", "17"})."""
    return {v for _, vals in _numbers(text, answer_side=False) for v in vals}


def _names(text: str) -> list[str]:
    out = []
    for sent in sentences(strip_citations(text)):
        for m in _CAP_RUN.finditer(sent):
            words = m.group(0).rstrip(".'’").split()
            while words and words[0].lower() in _NOT_NAMES:
                words = words[1:]
            if not words:
                continue
            at_start = sent[: m.start()].strip(" \"'(") == ""
            if len(words) == 1 and (at_start and words[0] == m.group(0).split()[0]):
                continue  # a lone capitalised word opening a sentence
            if len(words) == 1 and (words[0].lower() in _NOT_NAMES or words[0].isdigit()):
                continue
            out.append(" ".join(words))
    return out


def _tokens(text: str) -> list[str]:
    return [w.lower().strip("'’-.,:") for w in _WORD.findall(text)]


class _Support:
    """Number values and content vocabulary of one text (a passage, or all passages joined)."""

    def __init__(self, text: str):
        self.values = extract_numbers(text)
        self.vocab = {t for t in _tokens(text) if t and t not in _STOP}
        self.vocab_list = sorted(self.vocab)

    def has_token(self, tok: str) -> bool:
        return tok in self.vocab or (len(tok) >= 4 and bool(self.vocab_list) and process.extractOne(
            tok, self.vocab_list, scorer=fuzz.ratio, score_cutoff=80) is not None)


def _content(sentence: str) -> list[tuple[str, float, frozenset[str] | None]]:
    """(surface, weight, number values or None for a word) for each content item of a sentence."""
    nums = _numbers(sentence, answer_side=True)
    number_set = {v for _, vals in nums for v in vals}
    items: list[tuple[str, float, frozenset[str] | None]] = [(surface, 2.0, vals) for surface, vals in nums]
    for tok in _tokens(sentence):
        if tok and tok not in _STOP and not tok[0].isdigit() and tok not in number_set and _word_value(tok) is None:
            items.append((tok, 1.0, None))
    return items


def _covered(item: tuple[str, float, frozenset[str] | None], support: _Support) -> bool:
    surface, _, vals = item
    return bool(vals & support.values) if vals is not None else support.has_token(surface)


def groundedness(answer: str, passages: Sequence[str], *, question: str | None = None,
                 known_names: Iterable[str] = ()) -> Groundedness:
    """Measure how much of `answer` the `passages` support (see module docstring).

    question: names the user wrote count as supported (numbers do not: "Is it $500?" must not
        license "$500" when the lease says $1,000).
    known_names: names always allowed (business name, assistant name).
    Also reports the single passage covering most of the answer (`best_passage`,
    `best_passage_coverage`), which a caller can cite when the model wrote no [n] marker.
    Cost: O(answer tokens x passage vocabulary) rapidfuzz comparisons; a few ms for a short
    answer over a few passages.
    """
    passages = [p for p in passages if isinstance(p, str)]
    joined = "\n".join(passages)
    union = _Support(joined)
    singles = [_Support(p) for p in passages]
    name_space = (joined + "\n" + (question or "") + "\n" + "\n".join(known_names)).lower()
    name_words = set(_tokens(name_space))

    unsupported_numbers = tuple(surface for surface, vals in _numbers(answer or "", answer_side=True)
                                if not (vals & union.values))
    unsupported_names = tuple(dict.fromkeys(
        n for n in _names(answer or "")
        if n.lower() not in name_space and not all(w.lower().strip(".'’") in name_words for w in n.split())))

    answer_sentences = sentences(strip_citations(answer or ""))
    per_sentence, total_w, supported_w = [], 0.0, 0.0
    per_passage_w = [0.0] * len(passages)
    low_passages = [p.lower() for p in passages]
    for sent in answer_sentences:
        items = _content(sent)
        weight = sum(w for _, w, _ in items)
        hits = [_covered(it, union) for it in items]
        supported = sum(it[1] for it, ok in zip(items, hits) if ok)
        for j, sup in enumerate(singles):
            per_passage_w[j] += sum(it[1] for it, ok in zip(items, hits) if ok and _covered(it, sup))
        ratios = [fuzz.partial_ratio(sent.lower(), p) / 100.0 for p in low_passages]
        best = max(range(len(ratios)), key=ratios.__getitem__) if ratios else -1
        per_sentence.append(SentenceSupport(
            sentence=sent, overlap=supported / weight if weight else 0.0,
            partial_ratio=ratios[best] if ratios else 0.0, best_passage=best,
            unsupported=tuple(it[0] for it, ok in zip(items, hits) if not ok)))
        total_w += weight
        supported_w += supported
    best_p = max(range(len(passages)), key=per_passage_w.__getitem__) if passages and total_w else -1
    return Groundedness(
        score=max(0.0, min(1.0, supported_w / total_w)) if total_w else 0.0,
        unsupported_numbers=unsupported_numbers, unsupported_names=unsupported_names,
        sentence_support=tuple(per_sentence), best_passage=best_p,
        best_passage_coverage=per_passage_w[best_p] / total_w if best_p >= 0 else 0.0)
