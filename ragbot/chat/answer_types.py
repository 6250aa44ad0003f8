"""The type of answer a question expects, and the typed values a text states (rules, no model).

`classify_question(question)` -> AnswerType(kind, cue, negated, alternatives). Kinds:
  "amount"   money, a percentage or "one month's rent"      "How much is the deposit?"
  "duration" a length of time, a notice period, a deadline   "How much notice do I give?"
  "date"     a date, day, weekday or time of day            "When is rent due?"
  "count"    a number of things                             "How many cats can I have?"
  "yes_no"   a yes/no answer                                "Can I have a cat?"
  "contact"  a person, party, phone, e-mail, address        "Who is the landlord?"
  "list"     several items                                  "What utilities are included?"
  "open"     anything else (procedures, explanations)       "Tell me about the lease."

How a question is read, in this order:
 1. Normalise (lower case, straight quotes, "what's" -> "what is"); drop greetings and fillers
    ("Hi, quick question:"). `negated` is True when the question holds a negation ("Can't I...").
 2. Split into sub-questions (sentences, and "..., and what/when ..."); the first one that looks
    like a question decides `kind`; the kinds of the others go to `alternatives`
    ("When is rent due and what is the late fee?" -> date, alternatives ("amount",)).
 3. Drop a leading context phrase ("Under the Ontario agreement, may the landlord ..."), and
    unwrap embedding ("Can you tell me when ...", "Do you know if ...", "I'd like to know ...",
    "Send me the office address" -> a noun phrase).
 4. Rules, first match wins (`cue` names it):
    open_request ("tell me about", "describe", "summarize", "what about", "what does the lease say")
    -> how_much_time ("how much notice/time") duration -> how_long ("how long/soon/quickly/far in
    advance", "how many days/weeks/...") duration -> how_many / number_of count -> how_much
    amount -> cost_verb ("what does it cost", "what do I pay") amount -> embedded_if ("if/whether
    ...") yes_no -> aux (a question opening with is/are/can/do/may/...: yes_no, or "choice" when it
    offers typed alternatives: "Is the deposit $500 or $1,000?" -> amount) -> when ("when", "by
    when", "how often", "how early/late") date with alternative duration (a "when" may be answered
    "within 21 days") -> who contact -> where_contact (where + office/send/mail/pay/address)
    contact -> how_contact ("how do I reach/contact/call") contact -> what_np / which_np (the head
    noun of "what/which <noun phrase>" looked up in NOUN_KINDS, so "what is the late fee" ->
    amount, "what day is trash pickup" -> date, "what is the notice period" -> duration, "which
    suite" -> contact, "what utilities ..." -> list; unknown heads -> open) -> list_verb ("list",
    "name the") list -> where / why / how (procedures) open -> fragment (a bare noun phrase:
    "late fee?", "office hours"; plural list nouns stay open: "pets?") -> default open.

Decided ambiguous cases: "when is rent due?" -> date; "how much notice" -> duration; "how much is
the deposit" -> amount; "is there a late fee" -> yes_no; "what is the late fee" -> amount; "how many
parking spaces" -> count; "can I have a cat" -> yes_no; "who is the landlord" -> contact; "who pays
for electricity" -> contact (a party); "what utilities are included" -> list; "what are the lease
terms" -> open (terms = conditions) but "what is the lease term" -> duration; "what is the
deadline" -> date (alternative duration); "what are the quiet/office hours" -> date; "where is the
laundry room" -> open (a place, not an address); "what is the late fee policy" -> open (the head is
"policy"); "what time ..." -> date; "how often" -> date (alternative duration).

`values_of_type(text, kind)` gives the values of that kind a text states (typed_values.mentions,
plus yes/no polarity and names for contacts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ragbot.chat.grounding import _names
from ragbot.chat.polarity import polarity
from ragbot.chat.typed_values import Value, mentions
from ragbot.errors import InputError

KINDS = ("amount", "duration", "date", "count", "yes_no", "contact", "list", "open")


@dataclass(frozen=True)
class AnswerType:
    """kind: one of KINDS. cue: the rule that fired (module docstring). negated: the question holds
    a negation ("Can't I ...?", "Is parking not included?"). alternatives: kinds of further
    sub-questions of a compound question, without repeats, in order."""

    kind: str
    cue: str
    negated: bool = False
    alternatives: tuple[str, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        """`kind` followed by `alternatives`."""
        return (self.kind,) + self.alternatives


NOUN_KINDS: dict[str, str] = {
    **dict.fromkeys("fee cost price rent deposit charge rate penalty fine amount premium surcharge interest "
                    "percentage payment tax discount refund bill markup commission pricing dues coverage".split(), "amount"),
    **dict.fromkeys("notice period term length lengths duration limit timeframe frame stay turnaround window "
                    "wait".split(), "duration"),
    **dict.fromkeys("date dates day days time times hours hour schedule deadline weekday month year".split(), "date"),
    **dict.fromkeys("footage occupancy capacity count".split(), "count"),
    **dict.fromkeys("phone email e-mail address contact name landlord manager superintendent super owner agent "
                    "website site url fax number person company suite unit office line".split(), "contact"),
    **dict.fromkeys("utilities amenities appliances services items features documents papers rules requirements "
                    "restrictions options methods ways pets animals fees charges costs steps things forms kinds "
                    "types breeds perks facilities".split(), "list"),
}
_ALT_DURATION = ("deadline", "when", "how_often")

_CONTRACTIONS = ((r"\bwhat's\b|\bwhats\b", "what is"), (r"\bwhat're\b", "what are"), (r"\bwho's\b", "who is"),
                 (r"\bwhere's\b", "where is"), (r"\bwhen's\b", "when is"), (r"\bhow's\b", "how is"),
                 (r"\bthere's\b", "there is"), (r"\bit's\b", "it is"))
_FILLER = re.compile(r"^(?:(?:hi|hello|hey|ok|okay|so|and|also|but|um|uh|quick question|one more thing|sorry|"
                     r"excuse me|thanks|thank you|please|yo|good (?:morning|afternoon|evening)|one question)\b[\s,!.:;-]*)+")
_NEG_Q = re.compile(r"\b(?:not|never|cannot)\b|n't\b")
_SENTENCES = re.compile(r"(?<=[?.!])\s+|\?+")
_SUBQ = re.compile(r",?\s+(?:and|or|also|plus|&)\s+(?=(?:what|when|how|who|where|which|is|are|can|do|does|will)\b)")
_CONTEXT = re.compile(r"^(?:under|in|for|at|according to|regarding|about|per|with|as for|re:?|on|from|at)\b[^,?]{0,90},\s*")
_QWORD = re.compile(r"^(?:(?:during|between|at|on|by|in|for|within|from|until|till|to) (?:what|which|whom|how)\b|what|when|how|who|whom|whose|where|which|why|is|are|am|was|were|do|does|did|can|could|may|"
                    r"might|must|shall|should|will|would|have|has|had|isn't|aren't|don't|doesn't|can't|won't)\b")
_WRAP = re.compile(
    r"^(?:(?:can|could|would|will) (?:you|u|someone|anyone) (?:please )?(?:tell|let|show|remind|give|send|confirm|"
    r"explain(?= (?:what|when|how|who|where|which|if|whether)))(?: (?:me|us))?(?: know)?(?: of)? |"
    r"(?:do|does) (?:you|anyone|anybody) (?:happen to )?know |i(?:'d| would) like to know |i(?:'d| would) like |"
    r"i (?:want|need|wanted|needed) to (?:know|ask|find out|check|confirm) |i (?:want|need) |"
    r"i(?:'m| am) (?:wondering|curious|asking)(?: about)? |i was wondering |wondering |"
    r"(?:please )?(?:tell|show|remind|send|give|text|email) (?:me|us)(?: know)? |(?:please )?(?:confirm) |"
    r"(?:any ?one|anybody) know |is it true )")
_OPEN = re.compile(r"^(?:about\b|what about\b|how about\b|(?:tell|talk|teach) (?:me|us)(?: (?:a bit|a little|more|all))? "
                   r"about\b|describe\b|summari[sz]e\b|explain\b|outline\b|overview\b|give (?:me|us) (?:an? )?"
                   r"(?:overview|summary|rundown|breakdown)\b|what (?:are|is) (?:the )?(?:key|main|important|"
                   r"basic) (?:terms|points|things|details)\b|what (?:does|do) (?:the|my|this|your|our|that)\b.{0,60}"
                   r"\b(?:say|cover|contain|state|mention)\b|anything (?:i|we) should know|what should (?:i|we) know\b)")
_RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple((cue, kind, re.compile(rx)) for cue, kind, rx in (
    ("how_much_time", "duration", r"^how much (?:\w+ )?(?:notice|time|warning|lead time|heads[- ]up)\b"),
    ("how_long", "duration", r"^(?:(?:for|in|within|after) )?how (?:long|soon|quickly|fast|far (?:in advance|ahead)|"
                             r"many (?:\w+ )?(?:minutes|hours|days|nights|weeks|months|years)\b)"),
    ("how_many", "count", r"^how many\b|^how much (?:people|pets|cats|dogs|cars)\b"),
    ("number_of", "count", r"^what is (?:the )?(?:max(?:imum)? |min(?:imum)? |total )?(?:number|no\.|count) of\b"),
    ("how_much", "amount", r"^how (?:much|expensive|pricey|costly)\b|^how (?:big|large|high|low|steep) (?:a |an |is |are )?"
                           r"(?:the |my )?(?:\w+ )?(?:deposit|fee|rent|charge|penalty|payment|price|cost)s?\b"),
    ("prep_wh", "date", r"^(?:during|between|at|from|until|till|on|by|in) (?:what|which) (?:\w+ )?"
                        r"(?:hours?|times?|days?|dates?|years?)\b"),
    ("cost_verb", "amount", r"^what\b.{0,40}\b(?:cost|costs)\b|^what (?:do|does|will|would|should) (?:i|we|you|"
                            r"tenants?|residents?|it|they) (?:pay|owe|charge|need to pay|have to pay)\b"),
    ("embedded_if", "yes_no", r"^(?:if|whether)\b"),
    ("list_verb", "list", r"^(?:(?:can|could|would|will) you (?:please )?)?(?:list|name (?:the|all|every))\b"),
))
_AUX = re.compile(r"^(?:is|are|am|was|were|do|does|did|can|could|may|might|must|shall|should|will|would|have|has|"
                  r"had|isn't|aren't|don't|doesn't|can't|cannot|won't|wouldn't|shouldn't|didn't)\b")
_WHEN = re.compile(r"^(?:(?:until|by|since|from) )?(?:when\b|what time\b|at what time\b|how (?:often|early|late)\b)")
_WHO = re.compile(r"^(?:who|whom|whose)\b|^to whom\b")
_WHERE_CONTACT = re.compile(r"^where\b.*\b(?:office|send|mail|deliver|drop(?: off)?|pay in person|reach|contact|"
                            r"address|visit|find you|keys?)\b")
_HOW_CONTACT = re.compile(r"^how (?:do|can|should|would|could) (?:i|we) (?:contact|reach|call|email|e-mail|phone|text|"
                          r"get (?:in touch|hold|a hold))\b")
_WHAT_NP = re.compile(r"^(?P<wh>what|which)(?: (?:is|are|was|were|will be|would be|would|will|could|might|should))? "
                      r"(?P<np>.+)$")
_NP_STOP = frozenset("""is are was were be do does did can could may might must shall should will would has have had
for of in on at to under per with from by about during when if i we you they he she it that which who whom
applies apply charged included offered available allowed permitted required cost costs pay paid needed happen
happens go goes come comes get gets need needs take takes there here after before than as so mean means
pays charges owes the my your our a an be please
""".split())
_DETS = frozenset("the my your our a an any this that its their his her these those".split())


def _normalise(question: str) -> str:
    text = " ".join(question.replace("’", "'").replace("‘", "'").lower().split())
    for rx, repl in _CONTRACTIONS:
        text = re.sub(rx, repl, text)
    return _FILLER.sub("", text).strip()


def _noun_phrase(text: str) -> tuple[list[str], str]:
    """Words of the noun phrase at the start of `text` (determiners skipped) and the word after it."""
    words = [w.strip(",.;:!?\"()") for w in text.split()]
    i = 0
    while i < len(words) and words[i] in _DETS:
        i += 1
    np: list[str] = []
    while i < len(words) and words[i] and (words[i] not in _NP_STOP or (not np and words[i] in _DETS)) and len(np) < 5:
        np.append(re.sub(r"'s$", "", words[i]))
        i += 1
    return np, (words[i] if i < len(words) else "")


def _head_kind(np: list[str], after: str) -> str | None:
    if not np:
        return None
    head = np[-1]
    if head == "number":
        return "count" if after == "of" else "contact"
    if head == "limit" and len(np) > 1 and np[-2] in ("dollar", "spending", "repair", "cost", "money", "weight"):
        return "amount" if np[-2] != "weight" else "open"
    if head in ("terms",):
        return "open"
    if head in ("time", "times") and len(np) > 1 and np[-2] in ("response", "turnaround", "wait", "waiting",
                                                                "processing", "lead", "notice"):
        return "duration"
    return NOUN_KINDS.get(head)


def _wh_np(text: str) -> tuple[str, str] | None:
    m = _WHAT_NP.match(text)
    if not m:
        return None
    np, after = _noun_phrase(m.group("np"))
    kind = _head_kind(np, after)
    if kind is None and re.search(r"\b(?:pays?|paid|charges?|owes?|costs?)\b", text):
        return ("amount", "pay_verb")
    if kind is None:
        return ("open", f"{m.group('wh')}_np")
    if np and np[-1] == "deadline":
        return (kind, "deadline")
    return (kind, f"{m.group('wh')}_np")


def _unwrap(text: str) -> tuple[str, bool]:
    """`text` without a context phrase or an embedding wrapper; True when a wrapper was removed."""
    wrapped = False
    for _ in range(3):
        stripped = _CONTEXT.sub("", text, count=1)
        if stripped != text and _QWORD.match(stripped):
            text = stripped
            continue
        m = _WRAP.match(text)
        if not m:
            break
        text, wrapped = text[m.end():].strip(), True
    return text, wrapped


def _choice(text: str) -> str | None:
    if " or " not in text or re.search(r"\bor not\b", text):
        return None
    kinds = [v.kind for v in mentions(text) if v.kind in ("amount", "duration", "date", "count")]
    return kinds[0] if len(kinds) >= 2 and len(set(kinds)) == 1 else None


def _classify_clause(text: str) -> tuple[str, str]:
    """(kind, cue) of one sub-question (module docstring, step 4)."""
    text, wrapped = _unwrap(text)
    if _OPEN.match(text):
        return ("open", "open_request")
    for cue, kind, rx in _RULES:
        if rx.match(text):
            return (kind, cue)
    if _AUX.match(text):
        choice = _choice(text)
        return (choice, "choice") if choice else ("yes_no", "aux")
    if _WHEN.match(text):
        cue = "how_often" if text.startswith("how") else "what_time" if "what time" in text[:20] else "when"
        return ("date", cue)
    if _WHO.match(text):
        return ("contact", "who")
    if _WHERE_CONTACT.match(text):
        return ("contact", "where_contact")
    if _HOW_CONTACT.match(text):
        return ("contact", "how_contact")
    if (np_kind := _wh_np(text)) is not None:
        return np_kind
    if re.match(r"^(?:list|name (?:the|all|every))\b", text):
        return ("list", "list_verb")
    if re.match(r"^(?:where|why|how|what)\b", text):
        return ("open", "wh_open")
    np, after = _noun_phrase(text)
    kind = _head_kind(np, after) if np and len(text.split()) <= 8 else None
    if kind is not None and (kind != "list" or wrapped):
        return (kind, "fragment")
    return ("open", "default")


def _sub_questions(text: str) -> list[str]:
    parts = [p.strip(" ,;:-") for s in _SENTENCES.split(text) for p in _SUBQ.split(s)]
    parts = [p for p in parts if p]
    asks = [p for p in parts if _QWORD.match(_unwrap(p)[0]) or _WRAP.match(p)]
    return asks or parts or [text]


def classify_question(question: str) -> AnswerType:
    """The AnswerType `question` expects (module docstring). Pure rules, microseconds.

    Raises InputError when `question` is not a string or is empty."""
    if not isinstance(question, str):
        raise InputError(f"question must be a string, got {type(question).__name__}; pass the user's message text")
    text = _normalise(question)
    if not text.strip(" ?!.,"):
        raise InputError("question is empty; pass the user's message text")
    kinds = [_classify_clause(p) for p in _sub_questions(text)]
    kind, cue = kinds[0]
    alternatives = [k for k, _ in kinds[1:] if k not in (kind, "open")]
    if cue in _ALT_DURATION:
        alternatives.insert(0, "duration")
    return AnswerType(kind, cue, bool(_NEG_Q.search(text)), tuple(dict.fromkeys(a for a in alternatives if a != kind)))


_ROLE = re.compile(r"\b(?:landlord|tenant|resident|owner|lessor|lessee|superintendent|manager|agent|subtenant)s?\b", re.I)


_ASKS_YEAR = re.compile(r"\b(?:what|which) year\b", re.I)
_YEAR = re.compile(r"1[89]\d\d|20\d\d")


def values_of_type(text: str, kind: str, question: str = "") -> list[Value]:
    """The values of `kind` that `text` states, in order of position.

    kind: one of KINDS. "amount", "duration", "date", "count": from typed_values.mentions (for a
    question asking "what year", a bare year 1800-2099 is a date too, value "year:1998").
    "contact": e-mails, URLs, phones, street addresses and units, capitalised names (grounding's
    name finder) and parties (Landlord, Tenant, Resident, ...), each once. "yes_no": at most one
    Value whose value is "yes", "no" or "conditional", about the thing `question` asks (all of
    `text` when no question is given). "list", "open": [] (no typed value).
    Raises InputError for an unknown kind or a non-string text."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}")
    if kind in ("list", "open") or not text.strip():
        return []
    if kind == "yes_no":
        pol = polarity(text, question)
        return [Value("yes_no", text.strip(), pol, end=len(text))] if pol else []
    found = [v for v in mentions(text) if v.kind == kind]
    if kind == "date" and _ASKS_YEAR.search(question):  # "founded in 1998" answers "in what year"
        found += [replace(v, kind="date", value=f"year:{v.value}") for v in mentions(text)
                  if v.kind == "number" and _YEAR.fullmatch(v.text)]
    if kind != "contact":
        return sorted(found, key=lambda v: v.start)
    seen = {v.text.lower() for v in found}
    for name in _names(text):
        if name.lower() not in seen and not any(name.lower() in s for s in seen):
            start = text.find(name)
            found.append(Value("contact", name, name.lower(), "name", start=start, end=start + len(name)))
            seen.add(name.lower())
    for m in _ROLE.finditer(text):
        if not any(v.start <= m.start() < v.end for v in found):
            found.append(Value("contact", m.group(0), m.group(0).lower().rstrip("s"), "party", start=m.start(), end=m.end()))
    return sorted(found, key=lambda v: v.start)
