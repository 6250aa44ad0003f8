"""A prospect's stated preferences, read from their messages by rules (no model), and turned into
default listing constraints for their later searches.

Preference keys (PREFERENCE_KEYS) and values:
  budget: float, dollars (an upper price bound the user stated: "under $1,400", "my budget is 1400")
  bedrooms: float (a lower bound or exact count: "2 bedrooms", "at least 2 beds")
  cats / dogs: int count, or 0 when the count was not said ("I have 2 cats", "my dog", "allows cats")
  city: str, lower-case (a known listing city the user searched in); state: two-letter code, lower-case
  property: str (the property of a listing the user asked to see)
  language: str ("Spanish": "in Spanish please", "I speak Spanish", "hablo español")
  contact_channel: "phone" | "text" | "email" | "whatsapp" ("text me", "call me", "by email")
  contact: str, a phone number or email address the user gave (kept for leasing; scrubbed in logs)

`stated(question, cities)` -> the preferences a message states; `defaults(prefs)` -> the
constraints they imply; `in_mind(prefs, used)` -> "With your 2 cats and $1,400 budget in mind: ".
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ragbot.chat.constraints import Constraint, ListingQuery, parse

PREFERENCE_KEYS = ("budget", "bedrooms", "cats", "dogs", "city", "state", "property", "language",
                   "contact_channel", "contact")
_COUNT = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "my": 0, "our": 0}
_PETS = re.compile(r"\b(?:i|we)(?:\s+(?:have|own|'ve got|have got|got)|'ve|\s+am bringing|\s+will bring)\s+"
                   r"(?P<n>a|an|one|two|three|four|five|\d)?\s*(?:small\s+|little\s+|old\s+|indoor\s+)?"
                   r"(?P<pet>cats?|kittens?|dogs?|pupp(?:y|ies))\b|"
                   r"\b(?P<my>my|our)\s+(?P<n2>one|two|three|four|five|\d)?\s*(?:small\s+|little\s+|old\s+)?"
                   r"(?P<pet2>cats?|kittens?|dogs?|pupp(?:y|ies))\b", re.I)
_LANGUAGES = ("english", "spanish", "french", "german", "portuguese", "italian", "chinese", "mandarin", "cantonese",
              "vietnamese", "korean", "japanese", "arabic", "russian", "polish", "hindi", "tagalog", "somali")
_LANGUAGE = re.compile(r"\b(?:in|speak|speaks|prefer|use|talk)\s+(?P<lang>" + "|".join(_LANGUAGES) + r")\b"
                       r"|\bhablo\s+español\b|\ben\s+español\b", re.I)
_CHANNELS = (("text", r"\b(?:text|sms|message)\s+me\b|\bby\s+(?:text|sms)\b|\btexting\b"),
             ("whatsapp", r"\bwhats\s?app\b"),
             ("email", r"\be-?mail\s+me\b|\b(?:by|via|over)\s+e-?mail\b|\bemail\s+is\s+best\b"),
             ("phone", r"\b(?:call|phone|ring)\s+me\b|\bby\s+phone\b|\bgive\s+me\s+a\s+call\b"))
_FORGET = re.compile(r"\b(?:forget|delete|erase|clear|remove|wipe|reset)\b(?:\s+\w+){0,3}?\s+"
                     r"(?:preferences|prefs|details|data|information|info|what\s+i\s+(?:told|said))\b", re.I)


def is_forget_request(text: str) -> bool:
    """"forget my preferences", "please delete my saved details", "clear what I told you"."""
    return bool(_FORGET.search(text or ""))


def contacts(text: str) -> dict[str, str]:
    """{"phone": ..., "email": ...} found in `text` (ragbot.tune.data.pii detectors); {} if none."""
    from ragbot.tune.data.pii import find_pii

    out: dict[str, str] = {}
    for span in find_pii(text or "", ("EMAIL", "PHONE")):
        key = "email" if span.type == "EMAIL" else "phone"
        out.setdefault(key, text[span.start:span.end].strip())
    return out


def _pets(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in _PETS.finditer(text):
        pet, n = (m.group("pet"), m.group("n")) if m.group("pet") else (m.group("pet2"), m.group("n2"))
        key = "cats" if pet.lower().startswith(("cat", "kit")) else "dogs"
        count = int(n) if n and n.isdigit() else _COUNT.get((n or "").lower(), 0)
        if not count and not pet.lower().endswith(("s", "ies")):
            count = 1  # "my dog", "I have a cat"
        out[key] = max(out.get(key, 0), count)
    return out


def from_query(query: ListingQuery) -> dict[str, Any]:
    """The preferences a question's own constraints state (budget, bedrooms, pets, city, state)."""
    out: dict[str, Any] = {}
    for c in query.constraints:
        if c.field == "price" and c.op in ("<", "<="):
            out["budget"] = float(c.value)
        elif c.field == "bedrooms" and c.op in (">=", "=", ">") and float(c.value) + (c.op == ">") > 0:
            out["bedrooms"] = float(c.value) + (1 if c.op == ">" else 0)  # a studio search states no minimum
        elif c.field in ("cats_allowed", "dogs_allowed") and c.value is True:
            out[c.field.split("_")[0]] = 0
        elif c.field in ("city", "state") and c.op == "=":
            out[c.field] = str(c.value)
    return out


def stated(question: str, cities: Iterable[str] = ()) -> dict[str, Any]:
    """Every preference `question` states (module docstring); {} when none. Never raises for text."""
    text = question or ""
    out = from_query(parse(text, None, cities))
    out.update(_pets(text))
    lang = _LANGUAGE.search(text)
    if lang:
        out["language"] = (lang.group("lang") or "spanish").capitalize()
    for channel, rx in _CHANNELS:
        if re.search(rx, text, re.I):
            out["contact_channel"] = channel
            break
    found = contacts(text)
    if found:
        out["contact"] = found.get("phone") or found.get("email")
        out.setdefault("contact_channel", "phone" if "phone" in found else "email")
    return out


def merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`new` over `old`; a pet count of 0 ("allows cats") keeps a known count ("my 2 cats")."""
    out = dict(old)
    for k, v in new.items():
        if k in ("cats", "dogs") and v == 0 and old.get(k):
            continue
        out[k] = v
    return out


def defaults(prefs: Mapping[str, Any], known_cities: Iterable[str] = ()) -> tuple[Constraint, ...]:
    """The listing constraints saved preferences imply (a city only when listings are in it)."""
    out = []
    if prefs.get("bedrooms") is not None:
        out.append(Constraint("bedrooms", ">=", float(prefs["bedrooms"])))
    if prefs.get("budget") is not None:
        out.append(Constraint("price", "<=", float(prefs["budget"])))
    for pet in ("cats", "dogs"):
        if prefs.get(pet) is not None:
            out.append(Constraint(f"{pet}_allowed", "=", True))
    cities = {c.lower() for c in known_cities}
    if prefs.get("city") and str(prefs["city"]).lower() in cities:
        out.append(Constraint("city", "=", str(prefs["city"]).lower()))
    return tuple(out)


def _num(v: float) -> str:
    return f"{float(v):,.0f}"


def in_mind(prefs: Mapping[str, Any], used: Iterable[str]) -> str:
    """"With your 2 cats and $1,400 budget in mind: " naming the saved preferences behind the
    constraints on the fields `used` (canonical listing fields); "" when none."""
    used = set(used)
    parts = []
    for pet in ("cats", "dogs"):
        if f"{pet}_allowed" in used and prefs.get(pet) is not None:
            n = int(prefs[pet])
            parts.append(f"{n} {pet}" if n > 1 else pet[:-1] if n == 1 else pet)
    if "price" in used and prefs.get("budget") is not None:
        parts.append(f"${_num(prefs['budget'])} budget")
    if "bedrooms" in used and prefs.get("bedrooms") is not None:
        parts.append(f"{_num(prefs['bedrooms'])}+ bedrooms")
    if "city" in used and prefs.get("city"):
        parts.append(f"search in {str(prefs['city']).title()}")
    if not parts:
        return ""
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"With your {joined} in mind (saved from before; say \"forget my preferences\" to clear them): "


def labels(prefs: Mapping[str, Any]) -> list[str]:
    """Short names of saved preferences for messages ("budget $1,400", "2 cats"); no contact value."""
    out = []
    for k in PREFERENCE_KEYS:
        v = prefs.get(k)
        if v is None:
            continue
        if k == "budget":
            out.append(f"budget ${_num(v)}")
        elif k in ("cats", "dogs"):
            out.append(f"{int(v)} {k}" if v else k)
        elif k == "contact":
            out.append("your contact details")
        else:
            out.append(f"{k.replace('_', ' ')} {v if not isinstance(v, float) else _num(v)}")
    return out


def remember(users, user_id: str, question: str, listing_state: Mapping[str, Any] | None, cities: Iterable[str] = (),
             session_id: str | None = None, message_id: str | None = None) -> None:
    """After a turn of a known user (users: state/users.UserStore): "forget my preferences"
    (listing_state["forget"]) clears them; else the preferences the message states are stored
    with it, plus the property of a listing the user asked to see."""
    state = listing_state or {}
    if state.get("forget"):
        users.forget(user_id)
        return
    values = stated(question, cities)
    prop = ((state.get("showing_request") or {}).get("listing") or {}).get("fields", {}).get("property")
    if prop:
        values["property"] = str(prop)
    if values:
        merged = merge(users.values(user_id), values)
        users.update(user_id, {k: merged[k] for k in values}, question, session_id, message_id)
