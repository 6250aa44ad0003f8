"""Short leads written from one typed value of a quote ("$150.", "At least 30 days.", "On the 1st
of each month.", "Up to 2 cats."), used by `ragbot.chat.claims.direct_lead`.

`lead_for(kind, values, quote, question)` returns None unless the quote states exactly one
distinct value of the kind (after keeping, for counts and amounts, those whose noun the question
names when it names one), or, for dates, exactly two joined as a range ("10 p.m. to 7 a.m.").
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Sequence

from ragbot.chat.polarity import _stem, topic_words
from ragbot.chat.typed_values import _WN_RX, Value, canon, to_decimal

_RANGE_JOIN = re.compile(r"^\s*(?:to|through|thru|until|till|and|-|–|—)\s*$", re.I)
_PREP_BEFORE = re.compile(r"\b(on|in|during|by|before|after|from|until|every|each|starting|beginning|between)\s+(the\s+)?$", re.I)
_MONTH_AFTER = re.compile(r"^\s*(?:day\s+)?of\s+(?:each|every|the|a)\s+(?:calendar\s+)?month\b", re.I)


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip(" ,;:")
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else text


def _digits(surface: str) -> str:
    """"thirty (30) days" -> "30 days", "sixty days" -> "60 days", "30-day" -> "30 days"."""
    text = re.sub(r"[A-Za-z][A-Za-z\s-]*?\s*\((\d[\d,.]*)\)", r"\1", surface)
    text = _WN_RX.sub(lambda m: canon(d) if (d := to_decimal(m.group(0))) is not None else m.group(0), text)
    text = re.sub(r"(\d+)-(day|week|month|year|hour|night|minute)\b",
                  lambda m: f"{m.group(1)} {m.group(2)}{'' if m.group(1) == '1' else 's'}", text)
    return re.sub(r"['’]$", "", text.strip())


def _money(v: Value) -> str:
    if v.value == "0":
        return v.text
    d = Decimal(v.value)
    num = f"{d:,.2f}" if d != d.to_integral_value() else f"{int(d):,}"
    if v.unit == "%":
        return f"{v.value}%"
    if v.unit.endswith("_rent"):
        return _digits(v.text)
    prefix = {"$": "$", "USD": "US$", "EUR": "€", "GBP": "£"}.get(v.unit, f"{v.unit}$")
    return f"{prefix}{num}" + (f" per {v.per}" if v.per else "")


def _key(v: Value) -> tuple[str, str, str]:
    return (v.value, v.unit, v.per)


def _relevant(kind: str, values: Sequence[Value], question: str) -> list[Value]:
    """Counts and amounts whose noun or rate the question names, when it names any."""
    if kind not in ("count", "amount"):
        return list(values)
    topic = topic_words(question)
    named = [v for v in values if topic & {_stem(w) for w in (v.unit + " " + v.per).split()}]
    return named or list(values)


def _date_lead(values: Sequence[Value], quote: str) -> str | None:
    distinct = {v.value for v in values}
    if len(distinct) == 2 and len(values) == 2 and _RANGE_JOIN.match(quote[values[0].end:values[1].start]):
        a, b = values
        prep = _PREP_BEFORE.search(quote[max(0, a.start - 20):a.start])
        return _sentence((prep.group(0) if prep else "") + quote[a.start:b.end])
    if len(distinct) != 1:
        return None
    v = values[0]
    prep = _PREP_BEFORE.search(quote[max(0, v.start - 20):v.start])
    tail = _MONTH_AFTER.match(quote[v.end:])
    head = prep.group(0) if prep else ("the " if v.value.startswith("day:") else "")
    return _sentence(head + quote[v.start:v.end] + (tail.group(0) if tail else ""))


def lead_for(kind: str, values: Sequence[Value], quote: str, question: str) -> str | None:
    """The lead for `kind` from the quote's `values` of that kind (module docstring), or None."""
    values = _relevant(kind, values, question)
    if kind == "date":
        return _date_lead(values, quote)
    if kind == "contact":
        values = [v for v in values if v.unit in ("phone", "email", "url")]
    if len({_key(v) for v in values}) != 1:
        return None
    v = values[0]
    if kind == "amount":
        body = _money(v)
    elif kind == "duration":
        body = _digits(v.text)
    elif kind == "count":
        body = f"{v.value} {v.unit}".strip()
    else:
        body = v.text
    return _sentence((v.qualifier + " " if v.qualifier and kind != "contact" else "") + body)
