"""Claim-level checks of a model draft against the quoted sentence (issue 9, deliverables 1, 6).

`check_draft(question, draft, quote, answer_type)` keeps a draft only when ALL hold:
 1. it states a value of the expected answer type (or of one of its alternatives; a contact that
    only repeats the question's words, "The tenant is Tenant.", or names the business when the
    quote does not, is no value); for "yes_no"
    a polarity about the asked thing; for "list" / "open" most of its content words (>= 0.75)
    occur in the quote or the question;
 2. each of its numbers and names occurs, with the same unit, in the quote (not merely somewhere
    in the passages): "30 days" is not licensed by "$30", "$500" is by "500 dollars"; numbers the
    user wrote do not count ("Is it $500?"); and at least half of its content words occur in the
    quote or the question (a sentence about something else does not ride on a right number);
 3. it is not degenerate: empty; a word or phrase repeated 3+ times; a preamble ("The answer
    is:", "Answer:", "According to the passage"); a copied passage header ("[2] (lease.pdf,
    p. 3)"); list numbering ("1." at a line start); the question echoed or a question back;
    "I don't know"-style text;
 and, for yes/no questions, the draft's polarity equals the quote's (ragbot.chat.polarity).

Reasons are "code: detail" strings; the codes: empty, preamble, passage_header, list_numbering,
repetition, echo, dont_know, no_value, low_coverage, not_in_quote, unit_mismatch,
name_not_in_quote, polarity_unknown, polarity_mismatch.

`direct_lead(question, answer_type, quote)`: a short deterministic answer read from the quote
when the draft is dropped ("No.", "$150.", "At least 30 days.", "On the 1st of each month.",
"Up to 2 cats.", "555-0199."), or None when unsure (two different values, a conditional clause,
a negated or compound question).
`quote_answers(question, answer_type, quote)`: whether the quote states a value of the expected
type at all (an amount question whose best quote names no money must not be answered with it).
All three are pure and take well under a millisecond for a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from rapidfuzz import fuzz, process

from ragbot.chat import leads
from ragbot.chat.answer_types import AnswerType, classify_question, values_of_type
from ragbot.chat.grounding import _STOP, _names, extract_numbers, strip_citations
from ragbot.chat.polarity import _WORD as _TOPIC_WORD
from ragbot.chat.polarity import _mentions_topic, _with_members, polarity, topic_words
from ragbot.chat.polarity import _stem as _topic_stem
from ragbot.chat.typed_values import Value, mentions
from ragbot.errors import InputError
from ragbot.text import STOPWORDS


@dataclass(frozen=True)
class DraftCheck:
    """keep: the draft may go out above the quote. reasons: why not ("code: detail", module
    docstring), empty when kept. values: the typed values the draft states (typed_values.Value),
    with its yes/no polarity first for yes/no questions."""

    keep: bool
    reasons: tuple[str, ...] = ()
    values: tuple[Value, ...] = ()


_PREAMBLE = re.compile(
    r"^\W*(?:(?:the\s+)?(?:answer|response|reply)(?:\s+(?:to|for)\s+(?:the|this|your)\s+question)?(?:\s+is)?\s*:|"
    r"answer\s*:|[aq]\s*:|assistant\s*:|bot\s*:|the\s+passages?\b|"
    r"(?:according\s+to|based\s+on|from|in)\s+(?:the\s+)?(?:passages?|context|documents?|texts?|sources?|"
    r"information(?:\s+provided)?|provided\s+\w+)\b|passage\s*\[?\d|sure\s*[,!.]|certainly\s*[,!.]|as\s+an\s+ai\b)", re.I)
_HEADER = re.compile(r"\[\s*\d+\s*\]\s*\(|\(\s*[\w .#-]+\.(?:pdf|csv|md|txt|html?|jsonl?|docx?)\b[^)]*\)|"
                     r"\bsource\s*:|^\s*passage\s+\d|\(\s*p\.\s*\d+\s*\)", re.I | re.M)
_NUMBERING = re.compile(r"(?m)^\s*(?:\d{1,2}[.)]|[-*•])\s+\S")
_DONT_KNOW = re.compile(r"\b(?:i\s+(?:don't|do\s+not)\s+know|i(?:'m|\s+am)\s+not\s+sure|(?:cannot|can't|unable\s+to)\s+"
                        r"(?:find|answer|determine|tell)|no\s+information|(?:is|are)\s+not\s+(?:mentioned|stated|specified)|"
                        r"(?:doesn't|does\s+not|do\s+not|don't)\s+(?:say|mention|specify|state))\b", re.I)
_TOKEN = re.compile(r"[a-z0-9$][a-z0-9$,.'’-]*", re.I)
_GENERIC_NAMES = frozenset("""landlord tenant tenants resident residents lease agreement premises owner management office
clause section article summary yes no the a an rent notice deposit monday tuesday wednesday thursday friday
saturday sunday january february march april may june july august september october november december
""".split())
_ROLE_KINDS = ("amount", "duration", "date", "count", "contact")


def _text_of(quote: str | Sequence[str]) -> str:
    if isinstance(quote, str):
        return quote
    if isinstance(quote, Sequence) and all(isinstance(q, str) for q in quote):
        return " ".join(quote)
    raise InputError("quote must be a string or a sequence of strings (the quoted sentences)")


def _resolve(question: str, answer_type: AnswerType | None) -> AnswerType:
    if not isinstance(question, str):
        raise InputError(f"question must be a string, got {type(question).__name__}")
    if answer_type is None:
        return classify_question(question)
    if not isinstance(answer_type, AnswerType):
        raise InputError("answer_type must be an AnswerType from classify_question, or None")
    return answer_type


def _words(text: str) -> list[str]:
    return [t.lower().strip(".,'’-") for t in _TOKEN.findall(text)]


def degenerate(draft: str, question: str = "") -> tuple[str, ...]:
    """Reasons why `draft` is not a usable sentence at all (rule 3 of the module docstring);
    () when none. Checked on the raw draft, before citations are stripped."""
    text = (draft or "").strip()
    if not re.search(r"[A-Za-z0-9]", text):
        return ("empty: no words",)
    out = []
    if _PREAMBLE.search(text):
        out.append("preamble: " + text[:30])
    if _HEADER.search(text):
        out.append("passage_header: " + _HEADER.search(text).group(0))
    if _NUMBERING.search(text):
        out.append("list_numbering: " + _NUMBERING.search(text).group(0).strip())
    if rep := _repeated(_words(text)):
        out.append("repetition: " + rep)
    if _DONT_KNOW.search(text):
        out.append("dont_know: " + _DONT_KNOW.search(text).group(0))
    plain = " ".join(_words(strip_citations(text)))
    answered = re.match(r"\W*(?:yes|no)\b", text, re.I)
    if question and ((not answered and fuzz.ratio(plain, " ".join(_words(question))) >= 85) or text.rstrip().endswith("?")):
        out.append("echo: the draft repeats or asks a question")
    return tuple(out)


def _repeated(words: list[str]) -> str:
    for i in range(len(words) - 2):
        if words[i] == words[i + 1] == words[i + 2]:
            return f"'{words[i]}' three times in a row"
    counts: dict[str, int] = {}
    for w in words:
        if w not in _STOP and len(w) > 2 and not w[0].isdigit():
            counts[w] = counts.get(w, 0) + 1
    if (worst := max(counts.items(), key=lambda kv: kv[1], default=("", 0)))[1] >= 3:
        return f"'{worst[0]}' {worst[1]} times"
    for n in (2, 3, 4):
        grams: dict[tuple[str, ...], int] = {}
        for i in range(len(words) - n + 1):
            g = tuple(words[i:i + n])
            grams[g] = grams.get(g, 0) + 1
            if grams[g] >= 3:
                return f"'{' '.join(g)}' {grams[g]} times"
    return ""


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s", "'s", "’s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _content(text: str) -> list[str]:
    return [w for w in _words(strip_citations(text)) if w not in _STOP and len(w) > 1 and not re.match(r"[\d$]", w)]


def coverage(draft: str, support: str) -> float:
    """Share of the draft's content words (stopwords and numbers left out) that occur in
    `support` by loose stem (plural, -ed, -ing) or rapidfuzz ratio >= 85; 1.0 with no content."""
    words = _content(draft)
    if not words:
        return 1.0
    vocab = {_stem(w) for w in _words(support)}
    choices = sorted(vocab)
    hits = sum(1 for w in words if _stem(w) in vocab or (len(w) >= 5 and process.extractOne(
        _stem(w), choices, scorer=fuzz.ratio, score_cutoff=85) is not None))
    return hits / len(words)


def _phone_match(a: str, b: str) -> bool:
    return len(a) >= 7 and len(b) >= 7 and (a.endswith(b) or b.endswith(a))


def value_matches(d: Value, q: Value) -> bool:
    """Whether the quote's value `q` states the draft's value `d`: same kind, same canonical value
    and a compatible unit ("$" matches any dollar currency; rates must agree when both have one;
    count nouns must share a stem when both have one; dates may omit the year)."""
    if d.kind != q.kind:
        return False
    if d.kind == "amount":
        dollar = {"$", "USD", "CAD", "BDS", "AUD", "NZD", "HKD", "SGD"}
        same_unit = d.unit == q.unit or ("$" in (d.unit, q.unit) and {d.unit, q.unit} <= dollar)
        return d.value == q.value and same_unit and (not d.per or not q.per or d.per == q.per)
    if d.kind == "date":
        return d.value == q.value or (q.value.endswith("-" + d.value) and not d.value.startswith(("day:", "time:", "weekday:")))
    if d.kind == "count":
        du, qu = {_stem(w) for w in d.unit.split()}, {_stem(w) for w in q.unit.split()}
        return d.value == q.value and (not du or not qu or bool(du & qu))
    if d.kind == "contact":
        if d.unit == "phone" or q.unit == "phone":
            return d.unit == q.unit and _phone_match(d.value, q.value)
        return d.value == q.value or (d.unit == q.unit and (d.value in q.value or q.value in d.value))
    return d.value == q.value and d.unit == q.unit


def _check_values(draft_values: list[Value], quote: str) -> list[str]:
    quote_values = mentions(quote)
    quote_numbers = extract_numbers(quote)
    out = []
    for d in draft_values:
        if d.kind == "number":
            if d.value not in quote_numbers:
                out.append(f"not_in_quote: {d.text}")
            continue
        if any(value_matches(d, q) for q in quote_values):
            continue
        if d.kind == "contact" and d.unit in ("address", "unit") and d.value in " ".join(_words(quote)):
            continue
        nums = {v for v in extract_numbers(d.text) if v[:1].isdigit()}
        other = d.kind != "contact" and bool(nums & quote_numbers)
        out.append(f"unit_mismatch: {d.text} ({d.kind})" if other else f"not_in_quote: {d.text} ({d.kind})")
    return out


def _check_names(draft: str, quote: str, question: str, known_names: Sequence[str]) -> list[str]:
    space = " ".join([quote, question, *known_names]).lower()
    words = set(_words(space))
    out = []
    for name in dict.fromkeys(_names(draft)):
        parts = [w.lower().strip(".'’,") for w in name.split()]
        if all(p in _GENERIC_NAMES for p in parts) or name.lower() in space or all(p in words for p in parts):
            continue
        out.append(f"name_not_in_quote: {name}")
    return out


_WANTS = ((re.compile(r"\b(?:number|phone|call|text|dial|fax)\b"), {"phone"}),
          (re.compile(r"\be-?mail\b"), {"email"}), (re.compile(r"\b(?:website|web site|url|online|portal)\b"), {"url"}),
          (re.compile(r"^\W*where\b|(?<!mail\s)\baddress\b|\b(?:mail|send)\b"), {"address", "unit", "url"}))


def wanted_values(question: str, kind: str, text: str) -> list[Value]:
    """The values of `kind` in `text` that can answer `question`: for contacts the units it asks
    for (a phone for "what number", an address for "where"; a bare party such as "Landlord" only
    for "who pays/does ..."), for counts those whose noun the question names ("how many cats")."""
    found = values_of_type(text, kind, question)
    q = question.lower()
    if kind == "contact":
        units = set().union(*[u for rx, u in _WANTS if rx.search(q)])
        party_ok = bool(re.match(r"\W*(?:who|whom)\b", q)) and not re.match(r"\W*(?:who|whom)\s+(?:is|are|was)\b", q)
        return [v for v in found if (v.unit in units if units and not q.lstrip().startswith("who")
                                     else v.unit != "party" or party_ok)]
    if kind == "count" and (m := _COUNT_NOUN.search(q)):
        noun = {_stem(w) for w in m.group(1).split() if w not in _STOP}
        if noun & _TIME_NOUNS:  # "how many nights" is answered by a duration ("Minimum nights: 5")
            return found + values_of_type(text, "duration", question)
        if noun & _OCCURRENCE_NOUNS:  # "how many times" is answered by "two attempts", "three tries"
            return found
        if noun & _PEOPLE_NOUNS:  # "how many people can it sleep?" is answered by "Accommodates: 5"
            noun = noun | _PEOPLE_NOUNS
        # the counted noun may follow an adjective ("33 non-reserved parking spaces") or label it
        # ("Accommodates: 5")
        return [v for v in found if noun & {_stem(w) for w in v.unit.split() + _words(text[v.end:v.end + 30])[:3]
                                            + _words(text[max(0, v.start - 20):v.start])[-2:]}]
    return found


_PEOPLE_NOUNS = frozenset({"people", "person", "guest", "occupant", "adult", "accommodat", "accommodate", "sleep"})


_TIME_NOUNS = frozenset({"night", "day", "week", "month", "year", "hour", "minute"})
_OCCURRENCE_NOUNS = frozenset({"time", "tim", "attempt", "try", "tri", "occasion"})  # _stem("times") == "tim"
_COUNT_NOUN = re.compile(r"\b(?:how many|number of)\s+((?:[a-z-]+\s+){0,1}[a-z-]+)")


def _says_nothing(v: Value, question: str, quote: str, known_names: Sequence[str]) -> bool:
    """A contact value that answers nothing: it only repeats the question's words ("The tenant on
    the lease is Tenant.") or is a known name (the business) that the quote does not state."""
    words = set(_words(v.text))
    if words and words <= set(_words(question)):
        return True
    text = v.text.lower()
    return text not in quote.lower() and any(text in n.lower() or n.lower() in text for n in known_names if n)


def _typed_reasons(question: str, draft: str, quote: str, at: AnswerType,
                   known_names: Sequence[str] = ()) -> tuple[list[str], list[Value]]:
    """Rule 1 and the yes/no polarity rule; returns (reasons, the draft's typed values)."""
    reasons: list[str] = []
    typed = [v for k in at.kinds if k in _ROLE_KINDS for v in wanted_values(question, k, draft)
             if not (v.kind == "contact" and _says_nothing(v, question, quote, known_names))]
    if at.kind == "yes_no":
        mine, theirs = polarity(draft, question, assume_topical=True), polarity(quote, question)
        if mine is None:
            reasons.append("no_value: the draft says neither yes nor no")
        elif theirs is None:
            reasons.append(f"polarity_unknown: the quote is not clearly yes or no (draft: {mine})")
        elif mine != theirs:
            reasons.append(f"polarity_mismatch: draft {mine}, quote {theirs}")
        else:
            typed.insert(0, Value("yes_no", draft.strip(), mine, end=len(draft)))
    elif at.kind in ("list", "open") and not typed:
        if coverage(draft, quote + " " + question) < 0.75:
            reasons.append("low_coverage: most of the draft's words are not in the quote")
    elif not typed:
        reasons.append(f"no_value: the draft states no {' or '.join(k for k in at.kinds if k in _ROLE_KINDS)}")
    return reasons, typed


def check_draft(question: str, draft: str, quote: str | Sequence[str], answer_type: AnswerType | None = None,
                *, known_names: Sequence[str] = ()) -> DraftCheck:
    """Keep or drop the model's `draft` (module docstring).

    question: the user's question. draft: the model's short answer (citation markers allowed).
    quote: the quoted sentence that best matches the question (or several, as a sequence).
    answer_type: from classify_question(question); computed when None.
    known_names: names always allowed (business name, assistant name).
    Returns DraftCheck(keep, reasons, values). Raises InputError for non-string inputs."""
    at = _resolve(question, answer_type)
    if not isinstance(draft, str):
        raise InputError(f"draft must be a string, got {type(draft).__name__}")
    quote_text = _text_of(quote)
    reasons = list(degenerate(draft, question))
    if reasons and reasons[0].startswith("empty"):
        return DraftCheck(False, tuple(reasons))
    body = strip_citations(draft)
    typed_reasons, typed = _typed_reasons(question, body, quote_text, at, known_names)
    reasons += typed_reasons
    reasons += _check_values([v for v in mentions(body)], quote_text)
    reasons += _check_names(body, quote_text, question, known_names)
    if at.kind not in ("list", "open") and len(_content(body)) >= 3 and coverage(body, quote_text + " " + question) < 0.5:
        reasons.append("low_coverage: the draft talks about things the quote does not")
    return DraftCheck(not reasons, tuple(reasons), tuple(typed))



def direct_lead(question: str, answer_type: AnswerType | None, quote: str | Sequence[str]) -> str | None:
    """A short answer read from the quote, to lead the reply when the draft is dropped: "Yes." /
    "No." for a yes/no question meeting a clearly affirmative / negated clause about the asked
    thing; the one amount, duration, date (or date range), count, phone or e-mail the quote
    states, with its bound ("At least 30 days."). None when unsure: no such value, two different
    ones, a conditional clause, a negated question ("Isn't parking included?"), or a compound
    question. Raises InputError for non-string inputs."""
    at = _resolve(question, answer_type)
    text = _text_of(quote)
    if not text.strip() or (at.alternatives and at.cue not in ("when", "deadline", "how_often", "what_time")):
        return None
    if at.kind == "yes_no":
        pol = None if at.negated else polarity(text, question)
        return {"yes": "Yes.", "no": "No."}.get(pol or "")
    for kind in at.kinds:
        if kind == "contact" and not _ASKS_NUMBER.search(question):
            return None  # "who is ..." wants a name, which a lead would have to guess
        found = values_of_type(text, kind, question)
        if kind == "duration" and _HOW_OFTEN.search(question):  # "three years" is a term, not how often
            every = [(v, m) for v in found if (m := _EVERY_BEFORE.search(text[max(0, v.start - 12):v.start]))]
            lead = leads.lead_for(kind, [v for v, _ in every], text, question) if every else None
            return f"{every[0][1].group(0).strip().capitalize()} {lead[0].lower()}{lead[1:]}" if lead else None
        if found:
            return leads.lead_for(kind, found, text, question)
    return None


_HOW_OFTEN = re.compile(r"\bhow often\b|\bhow frequently\b", re.I)
_EVERY_BEFORE = re.compile(r"\b(?:every|each|once(?: a| an| every)?)\s+(?:other\s+)?$", re.I)


_ASKS_NUMBER = re.compile(r"\b(?:number|phone|call|text|dial|e-?mail|website|web site|url|portal|reach|contact)\b", re.I)


def quote_answers(question: str, answer_type: AnswerType | None, quote: str | Sequence[str],
                  ignore_words: Sequence[str] = (), *, name_the_sum: bool = True) -> bool:
    """Whether `quote` can answer `question` at all: it states a value of the expected kind (or
    of an alternative); for contacts a name, phone, e-mail or address (a bare "Landlord" only
    answers "who pays/does ..." questions); for yes/no, list and open questions it speaks about
    the asked thing (shares a topic word; the words of `ignore_words`, e.g. the named document's
    or property's label, are not the asked thing). A named person's contact ("George Yearwood's
    phone") needs their name in the quote, a discount or special of a named kind ("a military
    discount") that kind in the quote or its document's label. For amounts, durations, dates,
    counts and contacts one quoted sentence must state the value and everything the question
    puts on it (`_states_asked_value`: a named fee or hours kind, a named sum unless
    name_the_sum is False, the asked thing for durations and dates); name_the_sum=False is for
    competing properties (one whose pet clause names only a deposit still makes "how much is pet
    rent?" ambiguous). Raises InputError for non-string inputs."""
    at = _resolve(question, answer_type)
    text = _text_of(quote)
    if not text.strip():
        return False
    topic = _with_members(topic_words(question) - topic_words(" ".join(ignore_words)))
    for kind in at.kinds:
        if kind == "contact" and not _owner_named(question, text):
            continue  # "George Yearwood's phone number" is not the office's number
        if (offer := offer_kind(question)) and not _names_offer(offer, text, ignore_words):
            continue  # "a military discount" is not answered by the winter special's discount
        if kind in _ROLE_KINDS:
            parts = [quote] if isinstance(quote, str) else list(quote)
            if any(_states_asked_value(question, kind, p, topic, name_the_sum) for p in parts):
                return True
        elif not topic or _mentions_topic(_A_C.sub("air conditioning", text), topic) or (
                kind == "list" and len(_LIST_SEP.findall(text)) >= 2):
            return True
        elif kind == "yes_no" and _EXCLUSIVE_PERMISSION.search(text):  # "Only cats are allowed" answers "dogs?"
            return True
    return False


def _states_asked_value(question: str, kind: str, sentence: str, topic: frozenset[str], name_the_sum: bool) -> bool:
    """Whether one quoted sentence states a value of `kind` that answers `question`: a fee or
    hours of a named kind name that kind ("the pet deposit" is not answered by the security
    deposit's amount, "the gym hours" not by the quiet hours), a named sum names that sum
    (`_names_money_noun`, when name_the_sum), and a duration or date comes with a word of the
    asked thing (`_VALUE_WORDS` aside: "within two weeks" of unpaid rent does not say when the
    deposit comes back). All on the same sentence, not spread over several quotes."""
    qualifier, hours = fee_kind(question), hours_kind(question)
    if kind == "amount" and qualifier and not _names_word(sentence, qualifier):
        return False
    if kind == "amount" and name_the_sum and not _names_money_noun(question, sentence):
        return False
    if hours and not _names_word(sentence, hours):
        return False
    if (period := _PERIOD.search(question)) and not re.search(_PERIOD_WORDS[next(g for g in period.groups() if g).lower()],
                                                              sentence, re.I):
        return False  # "the weekly price" is not answered by a nightly "Price: $100.00"
    about = frozenset(t for t in topic if t not in _VALUE_WORDS)
    if about and (kind in ("duration", "date") or (kind == "count" and _counts_time(question))) \
            and not _about(sentence, about):
        return False
    return bool(wanted_values(question, kind, sentence))


_PERIOD = re.compile(r"\b(weekly|yearly|annual|annually)\b|\bper (week|year)\b|\ba (week|year)\b", re.I)
_PERIOD_WORDS = {"weekly": r"\bweek", "week": r"\bweek", "yearly": r"\b(?:year|annual)", "annual": r"\b(?:year|annual)",
                 "annually": r"\b(?:year|annual)", "year": r"\b(?:year|annual)"}


def _counts_time(question: str) -> bool:
    """"How many years ..." counts a duration (wanted_values reads durations for it)."""
    m = _COUNT_NOUN.search(question.lower())
    return bool(m and {_stem(w) for w in m.group(1).split()} & _TIME_NOUNS)


def _about(sentence: str, about: frozenset[str]) -> bool:
    """Whether the sentence names one of the asked things: a hyphenated one as a whole
    ("check-out" is not named by "check-in"), others as `_mentions_topic` matches them."""
    flat = " " + re.sub(r"[-‐–]", " ", sentence.lower()) + " "
    plain = frozenset(t for t in about if "-" not in t)
    return any(f" {t.replace('-', ' ')}" in flat or f" {t.replace('-', '')}" in flat for t in about if "-" in t) \
        or bool(plain and _mentions_topic(sentence, plain))


def _names_word(text: str, stem: str) -> bool:
    """Whether a word of `text` (or a part of a hyphenated one) has exactly this stem: "late" is
    not named by "later", "pet" is by "pets" and "pet-friendly"."""
    return any(stem in (_topic_stem(part), _stem(part)) for w in _TOPIC_WORD.findall(text.lower())
               for part in w.split("-"))


# words of how a value question asks, and its verbs, not the thing it asks about ("what lease
# lengths can I choose from?" names no thing beyond them)
_VALUE_WORDS = topic_words("""much many long often soon late early days day weeks week months
month years year hours hour minutes time times date dates number amount total minimum maximum exact exactly
approximately about per after before within until length lengths term terms period duration
choose pick select offer offered available get give take make sign start begin end""")


_OWNER = re.compile(r"\b((?:[A-Z][a-z]+\s+)+[A-Z][a-z]+)['’]s\b")


def _owner_named(question: str, text: str) -> bool:
    """False when the question asks for the contact of a named person ("George Yearwood's phone
    number") and `text` does not name them (their last name, case-insensitive)."""
    m = _OWNER.search(question)
    return m is None or m.group(1).split()[-1].lower() in text.lower()


_FEE_KIND = re.compile(r"\b(pet|late|cleaning|application|parking|storage|admin|administrative|key|"
                       r"lockout|holding|amenity|guest|renewal|transfer|cancellation|processing|smoking|"
                       r"termination|locker|laundry|utility|water|trash|internet)\s+(?:\w+\s+)?"
                       r"(?:deposit|fee|fees|charge|charges|cost|costs|penalty|fine|rent|rate)\b", re.I)


_MONEY_NOUN = re.compile(r"\b(deposit|rent|penalty|fine|interest|commission|refund)s?\b", re.I)
_MONEY_NOUN_NAMES = {  # what a quote may call the asked sum (listing rows give rent as a price per month)
    "deposit": frozenset({"deposit"}), "rent": frozenset({"rent", "price", "month", "monthly"}),
    "penalty": frozenset({"penalty", "fee", "charge"}), "fine": frozenset({"fine", "fee", "charge", "penalty"}),
    "interest": frozenset({"interest"}), "commission": frozenset({"commission"}),
    "refund": frozenset({"refund", "return", "returned"})}


def _names_money_noun(question: str, text: str) -> bool:
    """False when an amount question names the sum it asks for ("what security deposit ...",
    "how much is the late penalty") and `text` calls no sum by that noun or a synonym
    (`_MONEY_NOUN_NAMES`): an amount of another kind of payment does not answer it."""
    m = _MONEY_NOUN.search(question)
    return m is None or _mentions_topic(text, _MONEY_NOUN_NAMES[m.group(1).lower()])


_HOURS_KIND = re.compile(r"\b([a-z]+)\s+hours\b", re.I)
_NOT_A_KIND = frozenset({"what", "which", "the", "are", "your", "its", "their", "many", "business", "opening", "open",
                         "working", "normal", "regular", "usual", "those", "these", "any", "of", "in", "during"})


def hours_kind(question: str) -> str | None:
    """The kind word of the hours a question asks about ("gym" in "what are the gym hours?",
    "quiet" in "when are quiet hours?"), which an answering quote must name too; None for plain
    opening hours ("what are your hours?", "business hours")."""
    m = _HOURS_KIND.search(question)
    if m is None or m.group(1).lower() in _NOT_A_KIND:
        return None
    return _stem(m.group(1).lower())


def fee_kind(question: str) -> str | None:
    """The kind word of a fee the question asks about ("pet" in "what is the pet deposit?",
    "late" in "the late payment charge"), which an answering quote must name too; None when the
    question names no such kind. A security or damage deposit is what a bare "deposit" means, so
    neither is a kind here."""
    m = _FEE_KIND.search(question)
    return _stem(m.group(1).lower()) if m else None


_OFFER_KIND = re.compile(r"\b([a-z][a-z-]{2,})\s+(?:discount|rebate|promotion|promo|coupon|special|deal)s?\b", re.I)
_NOT_AN_OFFER_KIND = frozenset({"any", "the", "your", "our", "rent", "some", "special", "current", "other"})


def offer_kind(question: str) -> str | None:
    """The kind word of a discount or special a question asks about ("military" in "Do you offer
    a military discount?"), which an answering quote must name too; None for a bare "discount"."""
    m = _OFFER_KIND.search(question)
    word = m.group(1).lower() if m else None
    return word if word and word not in _NOT_AN_OFFER_KIND and word not in STOPWORDS else None


def _names_offer(offer: str, text: str, ignore_words: Sequence[str]) -> bool:
    """Whether the quote or the document it comes from (its label among `ignore_words`) names
    the offer kind, hyphens read as spaces ("move-in" in "Winter Move In Special")."""
    flat = " ".join([text, *ignore_words]).lower().replace("-", " ")
    return offer.replace("-", " ") in flat


_A_C = re.compile(r"\bA/C\b", re.I)  # listings write "air conditioning" as "A/C"
_EXCLUSIVE_PERMISSION = re.compile(r"\bonly\b[^.;]{0,60}\b(?:allowed|permitted|accepted|may)\b", re.I)


_LIST_SEP = re.compile(r",|;|\band\b|\bor\b")
