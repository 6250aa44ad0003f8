"""Yes/no polarity of a text about the thing a yes/no question asks (model-free rules).

`polarity(text, question)` returns "yes", "no", "conditional" or None (unsure):

1. A text that opens with "Yes" / "No" (FAQ answers: "No. Only Harborview may change locks")
   takes that answer, unless it is qualified ("Yes, with written consent" -> "conditional").
2. Otherwise the text is cut into clauses (sentences; ";"; ", and/but/which ..."; " but "), a
   leading "If/When/Unless ..." clause is dropped ("If rent is not received ..., a late fee is
   charged" speaks about the fee, not about "not received"). A clause is *about the asked thing*
   when it holds one of the question's topic words (content words other than the predicate:
   "Can I keep a dog?" -> {"dog"}; loose stems, so "smoking" meets "smoke-free").
3. Each topical clause votes:
   - "conditional": "without (written) consent/permission/approval", "only with/if/after",
     "unless", "subject to", "with ... consent";
   - "no": a strong negative ("prohibited", "forbidden", "banned", "not accepted", "smoke-free",
     "never"), "no <up to 3 words> <topic>" ("There is no guest parking"), or a negated verb
     ("not", "may not", "cannot", "shall not", ...) followed within 3 words by a predicate cue or a
     topic word ("Dogs are not permitted", "Cash is not accepted");
   - "yes": a predicate cue of the question's family and no negation: permission (allowed,
     permitted, may, can, accepted, welcome), requirement (required, must, shall, need),
     inclusion (included, includes, provided, furnished), existence (there is/are, charged,
     available, offered, or a stated amount/number);
   - no vote when unsure (a clause with "only X may" restricts someone else; no cue at all).
   The votes must agree: any conditional -> "conditional"; yes and no together -> None.
"""

from __future__ import annotations

import re

_STOP = frozenset("""a an the i me my we our us you your it its is are am was were be been being do does did can could
may might must shall should will would have has had there here this that these those to of in on at for by with
from about as and or if any some what which who when where how why allowed permitted permit allow ok okay fine
possible let lets get keep bring use put include included includes come comes with provide provided require
required need needs have got also still too really just please anyone someone tenant tenants resident residents
renter renters apartment unit home place building property lease leases leased leasing rental landlord go going want
able else
""".split())
_LEAD = re.compile(r"^\W*(?:a\s*:\s*)?(yes|no|yep|nope)\s*(?:[.,!;:—–-]|$)", re.I)
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?])\s+|;\s*|,\s*(?=(?:and|but|or|while|whereas|which|so|though|although)\b)|\s+but\s+", re.I)
_SUBORDINATE = re.compile(r"^\W*(?:if|when|whenever|unless|once|until|before|after|although|though|in case)\b[^,]*,\s*", re.I)
_COND = re.compile(
    r"\b(?:unless|subject\s+to|provided\s+that|only\s+(?:if|with|after|when|upon|by)|except\s+(?:with|if|when)|"
    r"without\s+(?:\S+\s+){0,4}?(?:consent|permission|approval|authori[sz]ation|agreement)|"
    r"with\s+(?:\S+\s+){0,4}?(?:consent|permission|approval|authori[sz]ation)|case[\s-]by[\s-]case|depends\s+on)\b", re.I)
_ONLY_OTHER = re.compile(r"^\W*only\s+(?!if|with|after|when)\w+", re.I)
_STRONG_NEG = re.compile(r"\b(?:prohibited|forbidden|banned|disallowed|not\s+accepted|never|"
                         r"not\s+(?:be\s+)?(?:allowed|permitted|included|accepted|available|offered|provided|required))\b"
                         r"|\w+-free\b", re.I)
_NEG_VERB = re.compile(r"\b(?:not|cannot|can't|won't|don't|doesn't|isn't|aren't|mustn't|shan't|shouldn't|never|nor)\b"
                       r"((?:\s+\S+){1,3})", re.I)
_NO_TOPIC = re.compile(r"\b(?:no|none\s+of)\s+((?:\S+\s+){0,3}\S+)", re.I)
_FAMILY_CUES = {
    "permission": r"allowed|permitted|may|can|accepted|accepts?|welcome[ds]?|allows?|permits?|ok|okay|fine",
    "requirement": r"required|requires?|must|shall|needs?|mandatory|has\s+to|have\s+to|obligated",
    "inclusion": r"included|includes?|provided|provides?|furnished|covered|comes?\s+with|free|landlord\s+pays\s+for",
    "existence": r"there\s+(?:is|are)|charged|charges?|applies|apply|available|offered|offers?|has|have|provided|costs?",
}
_FAMILY_RX = {k: re.compile(rf"\b(?:{v})\b", re.I) for k, v in _FAMILY_CUES.items()}
_ANY_CUE = re.compile("|".join(rf"\b(?:{v})\b" for v in _FAMILY_CUES.values()), re.I)
_VALUE_HINT = re.compile(r"[$€£]\s?\d|\d+\s*%|\b\d+\s+\w+")
_WORD = re.compile(r"[a-z][a-z'’-]*")


def question_family(question: str) -> str:
    """The predicate family of a yes/no question: "requirement", "inclusion", "existence" or
    "permission" (the default: "Can I ...", "Are dogs allowed?")."""
    q = question.lower()
    if re.search(r"\b(?:required|require|need|needs|must|have\s+to|has\s+to|mandatory|necessary|obligat\w*)\b", q):
        return "requirement"
    if re.search(r"\b(?:include|included|includes|come\s+with|comes\s+with|provided|provide|furnished|covered)\b", q):
        return "inclusion"
    if re.search(r"^\W*(?:is|are)\s+there\b|\b(?:do|does)\s+(?:you|it|they|the\s+\w+)\s+(?:have|offer|charge)\b|"
                 r"\bavailable\b|\bcharged?\b|\bis\s+(?:a|an)\s+\w+\s+fee\b", q):
        return "existence"
    return "permission"


def _stem(word: str) -> str:
    w = word.lower().strip("'’-")
    for suffix in ("'s", "’s", "ing", "ies", "es", "ed", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def topic_words(question: str) -> frozenset[str]:
    """Stems of the content words of `question` that name the asked thing (stopwords and the
    predicate words such as "allowed", "included", "required" removed)."""
    words = {w.strip("'’-") for w in _WORD.findall(question.lower())}
    return frozenset(_stem(w) for w in words if w and w not in _STOP and len(w) > 1)


def _mentions_topic(clause: str, topic: frozenset[str]) -> bool:
    for w in _WORD.findall(clause.lower()):
        for part in w.split("-"):
            s = _stem(part)
            if any(s == t or (len(t) >= 4 and (s.startswith(t[:-1]) or t.startswith(s[:-1]) and len(s) >= 4))
                   for t in topic):
                return True
    return False


_FIELD_NONE = re.compile(r"\b(?:allowed|permitted|included|accepted)\s*:\s*(?:none|no|false|not allowed|n/?a)\s*$", re.I)


def _clause_vote(clause: str, topic: frozenset[str], family: str) -> str | None:
    if _COND.search(clause):
        return "conditional"
    if _FIELD_NONE.search(clause):  # a listing field: "Pets allowed: None"
        return "no"
    if _STRONG_NEG.search(clause):
        return "no"
    for m in _NO_TOPIC.finditer(clause):
        if _mentions_topic(m.group(1), topic) or _ANY_CUE.search(m.group(1)):
            return "no"
    for m in _NEG_VERB.finditer(clause):
        if _ANY_CUE.search(m.group(1)) or _mentions_topic(m.group(1), topic):
            return "no"
    if _ONLY_OTHER.search(clause):
        return None
    if _FAMILY_RX[family].search(clause) or (family == "existence" and _VALUE_HINT.search(clause)):
        return "yes"
    return None


def clauses(text: str) -> list[str]:
    """`text` cut into clauses, leading "If/When/Unless ...," parts dropped (module docstring)."""
    out = []
    for part in _CLAUSE_SPLIT.split(text or ""):
        part = _SUBORDINATE.sub("", part.strip())
        if part and not re.match(r"^\W*(?:if|when|unless)\b", part, re.I):
            out.append(part)
    return out


# category words of property questions and the words a clause answers them with ("and pets?" ->
# "Only cats are allowed"); stems as polarity.topic_words makes them
_MEMBERS = {
    "pet": ("cat", "dog", "animal", "bird", "fish", "reptile"),
    "animal": ("cat", "dog", "pet", "bird", "fish"),
    "dog": ("pet", "animal"),  # "Pets allowed: None" answers "does it allow dogs?"
    "cat": ("pet", "animal"),
    "utility": ("water", "heat", "electric", "electricity", "gas", "sewer", "trash", "internet"),
    "appliance": ("washer", "dryer", "dishwasher", "refrigerator", "stove", "oven", "microwave"),
    "condition": ("cooling", "cooler"),
    "vehicle": ("car", "parking", "garage", "bike", "bicycle", "motorcycle"),
}


def _with_members(topic: frozenset[str]) -> frozenset[str]:
    return topic.union(*(_MEMBERS.get(t, ()) for t in topic)) if topic else topic


def polarity(text: str, question: str, family: str | None = None, *, assume_topical: bool = False) -> str | None:
    """"yes" | "no" | "conditional" | None: what `text` says about the thing `question` asks.

    text: a quote or a draft answer. question: the user's yes/no question (its topic words and
    predicate family are used; `family` overrides the latter). assume_topical: when no clause
    names the asked thing, let every clause vote (for a draft, which answers the question by
    construction: "Only with written consent." for "Can I sublet?"). Rules in the module docstring."""
    if not text or not text.strip():
        return None
    family = family or question_family(question)
    lead = _LEAD.match(text)
    if lead:
        if _COND.search(text):
            return "conditional"
        return "yes" if lead.group(1).lower() in ("yes", "yep") else "no"
    topic = topic_words(question)
    parts = clauses(text)
    topical = [c for c in parts if not topic or _mentions_topic(c, topic)]
    if not topical:  # "Pets allowed: None" speaks of the dogs asked about through their category
        wider = _with_members(topic)
        topical = [c for c in parts if _mentions_topic(c, wider)]
    votes = {_clause_vote(c, topic, family) for c in (topical or (parts if assume_topical else []))}
    votes.discard(None)
    if "conditional" in votes:
        return "conditional"
    return votes.pop() if len(votes) == 1 else None
