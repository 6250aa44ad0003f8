"""Typed values stated in a sentence: money, percentages, durations, dates and times, counts,
contacts (emails, phones, web addresses, street addresses, units, names), bare numbers.

`mentions(text)` finds them all in one pass, most specific first, so a span is claimed once:
contacts (e-mail, URL, phone, street address, "Suite 200") -> amounts ("$1,450", "BDS$6,700",
"500 dollars", "2.95%", "one month's rent", "no fee") -> dates and times ("May 1, 2025",
"the 5th", "Tuesday", "11:59 p.m.", "noon") -> durations ("thirty (30) days", "24-hour",
"14 consecutive nights") -> counts ("up to two (2) cats", "3 bedrooms") -> bare numbers.
Listing fields written as "Security deposit: 1250", "Bedrooms: 3", "Minimum nights: 2" are typed
by their label. Numbers are parsed by `ragbot.chat.grounding.extract_numbers` (digits with
commas, decimals, number words); "sixty (60)" is read from the digits in brackets.

Canonical forms (`Value.value`, `Value.unit`):
  amount    value "1450" (Decimal text), unit "$" (any dollar), "USD"/"CAD"/"BDS"/..., "EUR",
            "GBP", "%" or "month_rent"/"week_rent"; `per` the rate ("month", "cat", ...).
            "no fee", "free" -> value "0", unit "$".
  duration  unit "day" (minutes, hours, days, nights, weeks -> days), "month" (months, years ->
            months), "business_day"; value the Decimal count in that unit ("48 hours" -> "2").
  date      "2025-05-01", "05-01" (no year), "2006-12" (month), "day:5" (a day of the month),
            "weekday:tuesday", "time:23:59".
  count     value the number, unit the one or two words after it ("cats", "visitor spaces").
  contact   unit "email" | "url" | "phone" (value: the digits) | "address" | "unit" | "name".
  number    a bare number not typed otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ragbot.chat.grounding import extract_numbers

VALUE_KINDS = ("amount", "duration", "date", "count", "contact", "number")


@dataclass(frozen=True)
class Value:
    """One typed value as stated in a text; value / unit / per are canonical forms (module
    docstring)."""

    kind: str  # one of VALUE_KINDS, or "yes_no" (from `ragbot.chat.answer_types.values_of_type`)
    text: str  # the surface as written ("thirty (30) days")
    value: str
    unit: str = ""
    per: str = ""
    qualifier: str = ""  # a bound written before it, lower case ("at least", "up to", "within"), or ""
    start: int = 0  # character span in the text the value was read from
    end: int = 0


_W = (r"zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
      r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand")
_WN = rf"\b(?:{_W})(?:[\s-]+(?:and[\s-]+)?(?:{_W}))*\b"
_DIG = r"(?<![\w.,$])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d,]\d)"
_NUMX = rf"(?:{_DIG}(?:\s*\(\s*\d[\d,.]*\s*\))?)"  # on the shadow text, where number words are digits
_WN_RX = re.compile(_WN, re.IGNORECASE)
_QUAL = (r"(?:at\s+least|at\s+most|up\s+to|no\s+more\s+than|no\s+less\s+than|not\s+more\s+than|not\s+less\s+than|"
         r"more\s+than|less\s+than|fewer\s+than|over|under|a\s+maximum\s+of|a\s+minimum\s+of|maximum\s+of|"
         r"minimum\s+of|within|about|approximately|only)")
_QUAL_BEFORE = re.compile(rf"\b({_QUAL})\s+(?:the\s+|a\s+|an\s+)?$", re.IGNORECASE)
_I = re.IGNORECASE

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\b(?:https?://)?(?:[a-z0-9-]+\.)+(?:com|org|net|example|ca|gov|io|co|us|info|edu)\b(?:/[\w./-]*\w)?", _I)
_PHONE = re.compile(r"(?<![\w$.,-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])?\d{3}[.-]\d{4}(?![\d-])")
_STREET = (r"Street|St\.?|Avenue|Ave\.?|A\s?venue|Road|Rd\.?|Boulevard|Blvd\.?|Drive|Dr\.?|Lane|Ln\.?|Way|Court|"
           r"Ct\.?|Place|Pl\.?|Terrace|Parkway|Highway|Hwy\.?")
_ADDRESS = re.compile(rf"#?\b\d{{1,5}}\s+(?:[A-Z][a-z]+\.?\s+){{1,3}}(?:{_STREET})(?![a-z])"
                      r"(?:,?\s+(?:Suite|Unit|Apt\.?|Apartment)\s+#?[A-Z0-9]{1,5}\b)?")
_UNIT = re.compile(r"\b(?:Suite|Unit|Apt\.?|Apartment|Room)\s+#?(?=[A-Z0-9]*\d)[A-Z0-9]{1,5}\b")

_CUR_CODES = {"US": "USD", "USD": "USD", "C": "CAD", "CA": "CAD", "CAD": "CAD", "BDS": "BDS", "BBD": "BDS",
              "BOS": "BDS", "A": "AUD", "AU": "AUD", "AUD": "AUD", "NZ": "NZD", "HK": "HKD", "S": "SGD"}
_MONEY = re.compile(rf"(?P<code>\b[A-Z]{{1,3}}\s?)?(?P<sym>[$€£])\s?(?P<num>(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?)"
                    r"(?P<mult>\s?(?:k|million)\b)?")
_MONEY_WORD = re.compile(rf"(?P<num>{_NUMX})\s*(?P<word>dollars?|bucks|usd|cad|euros?|pounds sterling)\b", _I)
_PERCENT = re.compile(rf"(?P<num>{_NUMX})\s*(?:%|percent\b|per\s?cent\b)", _I)
_RENT_UNIT = re.compile(rf"(?P<num>{_NUMX}|\ba|\ban)\s+(?P<unit>month|week)(?:['’]s|s['’]?)?\s+rent\b", _I)
_FREE = re.compile(r"(?<![\w-])(?:free\s+of\s+charge|for\s+free|at\s+no\s+(?:extra\s+|additional\s+)?(?:charge|cost)|"
                   r"no\s+(?:extra\s+|additional\s+|processing\s+|application\s+|separate\s+)?(?:fee|charge|cost)|"
                   r"(?<=is\s)free|(?<=are\s)free)(?![\w-])", _I)
_PER = re.compile(r"\s*(?:per\s+|/\s*)(?P<per>[a-z]+)\b|\s+(?:a|an|each|every)\s+(?P<per2>month|week|day|night|year|hour)\b", _I)
_PER_ALIASES = {"mo": "month", "months": "month", "yr": "year", "wk": "week", "nights": "night", "days": "day"}
_LABELLED = re.compile(
    r"(?im)^(?P<label>price|weekly price|monthly price|security deposit|deposit|cleaning fee|extra people fee|rent|"
    r"application fee|pet rent|pet deposit|bedrooms|bathrooms|accommodates|guests included|square feet|"
    r"minimum nights|maximum nights)\s*:\s*\$?(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\b")

_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
           r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_MONTH_NUM = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DATE_MDY = re.compile(rf"\b(?P<mon>{_MONTHS})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?", _I)
_DATE_DMY = re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?(?P<mon>{_MONTHS})\b\.?(?:,?\s+(?P<y>\d{{4}})\b)?", _I)
_DATE_MY = re.compile(rf"\b(?P<mon>{_MONTHS})\.?,?\s+(?P<y>(?:19|20)\d\d)\b", _I)
# a month named alone after a preposition ("published in August"); capitalised, so "in may" is not one
_DATE_MONTH = re.compile(r"\b(?:in|during|by|until|till|each|every|since|from|before|after|through)\s+"
                         r"(?P<mon>January|February|March|April|May|June|July|August|September|October|November|December)\b")
_DATE_ISO = re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d{2})-(?P<d>\d{2})\b")
_DATE_US = re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})\b")
_ORD_WORDS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split())}
_ORD_DIGIT = re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)\b(?!\s*[-‐]?\s*(?:floor|story|storey|place|time|year|grade|"
                        r"edition|payment|bedroom|level|row|unit|consecutive|returned|violation|offen[cs]e|pet|cat|dog))", _I)
_ORD_WORD = re.compile(r"\b(?P<w>(?:twenty[\s-]|thirty[\s-])?(?:" + "|".join(_ORD_WORDS) + r")|thirtieth)\s+"
                       r"(?:day\s+)?of\s+(?:the|each|every|a|any)\s+(?:calendar\s+)?month\b", _I)
_MONTH_HINT = re.compile(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")
_URL_HINT = re.compile(r"(?i)[a-z0-9]\.(?:com|org|net|example|ca|gov|io|co|us|info|edu)\b")
_STREET_HINT = re.compile(r"\b(?:Street|St|Avenue|Ave|venue|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|"
                          r"Terrace|Parkway|Highway|Hwy)\b")
_WEEKDAY = re.compile(r"\b(?P<w>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", _I)
_TIME_AP = re.compile(r"(?<![\d:.])(?P<h>\d{1,2})(?::(?P<m>[0-5]\d))?\s*(?P<ap>[ap])\.?\s?m\b\.?", _I)
_TIME_24 = re.compile(r"(?<![\d:.$])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?![\d:])")
_TIME_WORD = re.compile(r"\b(?P<w>noon|midday|midnight)\b", _I)

_DUR_UNITS = {"minute": ("day", Decimal(1) / 1440), "min": ("day", Decimal(1) / 1440), "hour": ("day", Decimal(1) / 24),
              "hr": ("day", Decimal(1) / 24), "day": ("day", Decimal(1)), "night": ("day", Decimal(1)),
              "week": ("day", Decimal(7)), "month": ("month", Decimal(1)), "year": ("month", Decimal(12)),
              "yr": ("month", Decimal(12))}
_DURATION = re.compile(
    rf"(?P<num>{_NUMX})(?:\s+|\s*-\s*)(?P<adj>(?:consecutive|business|calendar|working|full|additional|more|"
    r"further|clear|banking)\s+)?(?P<unit>minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?|yrs?)\b"
    r"(?!['’]s\s+rent|\s+rent\b|-old)['’]?", _I)
_COUNT = re.compile(rf"(?P<num>{_NUMX})(?:\s+|-)(?P<noun>[a-z][a-z'’-]*)(?:\s(?P<noun2>[a-z][a-z'’-]*))?", _I)
_NOT_NOUNS = frozenset("""of and or to in on at by for from the a an with per p m am pm is are was were be that which
than as if it its percent x times plus minus nor but so st nd rd th""".split())
_NUM_RX = re.compile(_NUMX)
_REF_BEFORE = re.compile(r"\b(?:clause|section|article|paragraph|page|p\.|pp\.|no\.|number|schedule|item|zone|"
                         r"room|suite|unit|apt\.?|level|form|rule)\s*#?\s*$", _I)


def to_decimal(num_text: str) -> Decimal | None:
    """The number in `num_text` ("1,450.00", "sixty", "sixty (60)", "a") as a Decimal, or None.
    Digits are read directly; number words go through `grounding.extract_numbers`."""
    text = num_text.strip()
    if text.lower() in ("a", "an"):
        return Decimal(1)
    bracket = _BRACKET.search(text)
    if bracket:
        text = bracket.group(1)
    if _PLAIN.fullmatch(text):
        return Decimal(text.replace(",", ""))
    vals = []
    for v in extract_numbers(text):
        try:
            vals.append(Decimal(v))
        except InvalidOperation:
            continue  # "$1450", "6%" aliases
    return min(vals) if vals else None


_BRACKET = re.compile(r"\(\s*(\d[\d,.]*?)\s*\)")
_PLAIN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def canon(d: Decimal) -> str:
    """Decimal as plain text without trailing zeros ("1450.00" -> "1450", "1.750" -> "1.75")."""
    text = format(d.normalize(), "f")
    return text


class _Found:
    """Values found so far in one text: the text, its shadow (number words as digits), the
    claimed spans. `add` keeps a value only when its span is still free."""

    def __init__(self, text: str):
        self.text = text
        self.shadow, self.snaps = _shadow(text)
        self.values: list[Value] = []
        self.spans: list[tuple[int, int]] = []

    def add(self, kind: str, start: int, end: int, value: str, unit: str = "", per: str = "") -> bool:
        start = self.snaps.get(start, start)
        if any(start < e and end > s for s, e in self.spans):
            return False
        self.spans.append((start, end))
        surface = " ".join(self.text[start:end].split())
        self.values.append(Value(kind, surface, value, unit, per, _qualifier(self.text, start), start, end))
        return True


def _qualifier(text: str, start: int) -> str:
    m = _QUAL_BEFORE.search(text[max(0, start - 30):start])
    return " ".join(m.group(1).lower().split()) if m else ""


def _shadow(text: str) -> tuple[str, dict[int, int]]:
    """`text` with each number-word phrase replaced by its digits, right-aligned in the same
    width ("sixty (60) days" -> "   60 (60) days"), and a map from the digits' start to the
    phrase's start, so that spans and surfaces stay those of `text`."""
    parts, snaps, last = [], {}, 0
    for m in _WN_RX.finditer(text):
        d = to_decimal(m.group(0))
        digits = canon(d) if d is not None else ""
        if not digits or len(digits) > len(m.group(0)):
            continue
        parts.append(text[last:m.start()] + " " * (len(m.group(0)) - len(digits)) + digits)
        snaps[m.end() - len(digits)] = m.start()
        last = m.end()
    return "".join(parts) + text[last:], snaps


def _contacts(f: _Found) -> None:
    text = f.text
    for m in _EMAIL.finditer(text) if "@" in text else ():
        f.add("contact", m.start(), m.end(), m.group(0).lower(), "email")
    for m in _URL.finditer(text) if _URL_HINT.search(text) else ():
        f.add("contact", m.start(), m.end(), re.sub(r"^https?://(www\.)?", "", m.group(0).lower()).rstrip("/"), "url")
    for m in _PHONE.finditer(text):
        f.add("contact", m.start(), m.end(), re.sub(r"\D", "", m.group(0)), "phone")
    for m in _ADDRESS.finditer(text) if _STREET_HINT.search(text) else ():
        f.add("contact", m.start(), m.end(), _norm_address(m.group(0)), "address")
    for m in _UNIT.finditer(text):
        f.add("contact", m.start(), m.end(), _norm_address(m.group(0)), "unit")


def _norm_address(text: str) -> str:
    t = " ".join(re.sub(r"[#,.]", " ", text.lower()).split())
    t = re.sub(r"\ba ?venue\b|\bave\b", "avenue", t)
    return re.sub(r"\bst\b", "street", re.sub(r"\bapt\b", "apartment", t))


def _per(text: str, end: int) -> tuple[str, int]:
    m = _PER.match(text, end)
    if not m:
        return "", end
    word = (m.group("per") or m.group("per2")).lower()
    if word in _NOT_NOUNS:
        return "", end
    return _PER_ALIASES.get(word, word.rstrip("s") if len(word) > 3 else word), m.end()


def _money(f: _Found) -> None:
    for m in _MONEY.finditer(f.text):
        d = to_decimal(m.group("num"))
        if d is None:
            continue
        if m.group("mult"):
            d *= 1000 if m.group("mult").strip().lower() == "k" else 1_000_000
        code = (m.group("code") or "").strip()
        unit = {"€": "EUR", "£": "GBP"}.get(m.group("sym")) or _CUR_CODES.get(code, "$")
        start = m.start("sym") if code and code not in _CUR_CODES else m.start()
        per, end = _per(f.text, m.end())
        f.add("amount", start, end, canon(d), unit, per)


def _amounts(f: _Found) -> None:
    _money(f)
    for m in _MONEY_WORD.finditer(f.shadow):
        d, word = to_decimal(m.group("num")), m.group("word").lower()
        unit = {"usd": "USD", "cad": "CAD"}.get(word, "EUR" if word.startswith("euro") else "GBP" if word.startswith("pound") else "$")
        if d is not None:
            per, end = _per(f.text, m.end())
            f.add("amount", m.start(), end, canon(d), unit, per)
    for m in _PERCENT.finditer(f.shadow):
        if (d := to_decimal(m.group("num"))) is not None:
            f.add("amount", m.start(), m.end(), canon(d), "%")
    for m in _RENT_UNIT.finditer(f.shadow):
        if (d := to_decimal(m.group("num"))) is not None:
            f.add("amount", m.start(), m.end(), canon(d), f"{m.group('unit').lower()}_rent")
    for m in _FREE.finditer(f.text):
        f.add("amount", m.start(), m.end(), "0", "$")


def _date_value(mon: str, day: str | None, year: str | None) -> str | None:
    month = _MONTH_NUM.get(mon.lower()[:3])
    if month is None or (day is not None and not 1 <= int(day) <= 31):
        return None
    parts = ([year] if year else []) + [f"{month:02d}"] + ([f"{int(day):02d}"] if day else [])
    return "-".join(parts)


def _time_value(h: int, m: int, ap: str | None) -> str | None:
    if ap:
        if not 1 <= h <= 12:
            return None
        h = (h % 12) + (12 if ap.lower() == "p" else 0)
    return f"time:{h:02d}:{m:02d}" if h < 24 else None


def _dates(f: _Found) -> None:
    text = f.text
    months = bool(_MONTH_HINT.search(text))
    for rx in (_DATE_MDY, _DATE_DMY) if months else ():
        for m in rx.finditer(text):
            if m.group("mon").lower() == "may" and text[m.start("mon")] == "m":
                continue  # the verb "may"
            if (v := _date_value(m.group("mon"), m.group("d"), m.group("y"))) is not None:
                f.add("date", m.start(), m.end(), v)
    for m in _DATE_MY.finditer(text) if months else ():
        if not (m.group("mon").lower() == "may" and text[m.start()] == "m"):
            f.add("date", m.start(), m.end(), _date_value(m.group("mon"), None, m.group("y")) or "")
    for m in _DATE_MONTH.finditer(text):
        f.add("date", m.start("mon"), m.end(), f"month:{_MONTH_NUM[m.group('mon').lower()[:3]]:02d}")
    for m in _DATE_ISO.finditer(text):
        f.add("date", m.start(), m.end(), f"{m.group('y')}-{m.group('m')}-{m.group('d')}")
    for m in _DATE_US.finditer(text):
        y = m.group("y") if len(m.group("y")) == 4 else "20" + m.group("y")
        f.add("date", m.start(), m.end(), f"{y}-{int(m.group('m')):02d}-{int(m.group('d')):02d}")
    _times(f)
    for m in _ORD_WORD.finditer(text) if "month" in text.lower() else ():
        words = re.split(r"[\s-]+", m.group("w").lower())
        day = sum({"twenty": 20, "thirty": 30}.get(w, 0) for w in words[:-1]) + _ORD_WORDS.get(words[-1], 30)
        f.add("date", m.start(), m.start("w") + len(m.group("w")), f"day:{day}")
    for m in _ORD_DIGIT.finditer(text):
        if 1 <= int(m.group("d")) <= 31:
            f.add("date", m.start(), m.end(), f"day:{int(m.group('d'))}")
    for m in _WEEKDAY.finditer(text):
        f.add("date", m.start(), m.end(), f"weekday:{m.group('w').lower()}")


def _times(f: _Found) -> None:
    for m in _TIME_AP.finditer(f.text):
        if (v := _time_value(int(m.group("h")), int(m.group("m") or 0), m.group("ap"))) is not None:
            f.add("date", m.start(), m.end(), v)
    for m in _TIME_24.finditer(f.text):
        f.add("date", m.start(), m.end(), f"time:{int(m.group('h')):02d}:{m.group('m')}")
    for m in _TIME_WORD.finditer(f.text):
        f.add("date", m.start(), m.end(), "time:00:00" if m.group("w").lower() == "midnight" else "time:12:00")


def _durations(f: _Found) -> None:
    for m in _DURATION.finditer(f.shadow):
        d = to_decimal(m.group("num"))
        if d is None:
            continue
        word = m.group("unit").lower().rstrip("s")
        unit, factor = _DUR_UNITS[word]
        if (m.group("adj") or "").strip().lower() in ("business", "working", "banking") and word == "day":
            unit = "business_day"
        f.add("duration", m.start(), m.end(), canon(d * factor), unit)


def _labelled(f: _Found) -> None:
    for m in _LABELLED.finditer(f.text):
        label, d = m.group("label").lower(), to_decimal(m.group("num"))
        if d is None:
            continue
        a, b = m.start("num"), m.end("num")
        if label in ("bedrooms", "bathrooms", "accommodates", "guests included", "square feet"):
            f.add("count", a, b, canon(d), {"accommodates": "guests", "guests included": "guests"}.get(label, label))
        elif label.endswith("nights"):
            f.add("duration", a, b, canon(d), "day")
        else:
            f.add("amount", a, b, canon(d), "$")


def _counts(f: _Found) -> None:
    for m in _COUNT.finditer(f.shadow):
        noun = m.group("noun").lower().strip("'’-")
        if noun in _NOT_NOUNS or _REF_BEFORE.search(f.text[max(0, m.start() - 12):m.start()]):
            continue
        d = to_decimal(m.group("num"))
        if d is None:
            continue
        noun2 = (m.group("noun2") or "").lower()
        unit = f"{noun} {noun2}" if noun2 and noun2 not in _NOT_NOUNS and noun2.endswith("s") else noun
        f.add("count", m.start(), m.end("noun2") if unit != noun else m.end("noun"), canon(d), unit)


def _numbers(f: _Found) -> None:
    for m in _NUM_RX.finditer(f.shadow):
        if (d := to_decimal(m.group(0))) is not None:
            f.add("number", m.start(), m.end(), canon(d))


def mentions(text: str) -> list[Value]:
    """Every typed value stated in `text`, in order of position (see the module docstring).

    text: any string (a sentence, a draft, a quote); None or "" gives []. Pure regex work,
    well under a millisecond for a sentence."""
    if not text:
        return []
    found = _Found(text)
    for step in (_contacts, _amounts, _dates, _durations, _labelled, _counts, _numbers):
        step(found)
    return sorted(found.values, key=lambda v: v.start)
