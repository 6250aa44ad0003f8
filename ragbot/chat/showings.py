"""Showing requests: "I'd like to see it on Saturday" becomes a handoff ticket for the leasing team
(gate rule showing_request) carrying the listing, the prospect's preferences, the stated
availability and the contact. Rules only; no model.

    is_showing_request("Can I tour the second one Saturday morning?")  -> True
    availability("Can I tour the second one Saturday morning?")        -> "Saturday morning"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ragbot.types import HandoffTicket

_NOT_A_HOME = r"(?!\s+(?:the\s+|a\s+|your\s+)?(?:\w+\s+)?(?:lease|price|rent|deposit|policy|polic(?:y|ies)|fees?|document|pdf|" \
              r"contract|list|menu|rules|terms|photos?|pictures?|floor\s*plans?|manager|someone|person)\b)"
_SHOWING = re.compile(
    r"\b(?:like|love|want|wanna|can\s+(?:i|we)|could\s+(?:i|we)|may\s+(?:i|we)|able|possible|come\s+and|"
    r"go\s+and|let\s+me|i'?d|we'?d)\s+(?:to\s+)?(?:see|view|tour|visit|look\s+at|check\s+out|walk\s+through)\b"
    + _NOT_A_HOME + r"|"
    r"\b(?:schedule|book|arrange|set\s+up|request|get)\s+(?:a\s+|an\s+)?(?:showing|viewing|tour|visit|walk-?through|"
    r"appointment)\b|"
    r"\b(?:showing|viewing|tour|walk-?through)\s+(?:of\s+(?:it|this|that|the)|on|this|next|tomorrow|today)\b", re.I)
_DAY = (r"(?:mon|tues|wednes|thurs|fri|satur|sun)days?|today|tonight|tomorrow|(?:this|next)\s+(?:week(?:end)?|"
        r"month)|weekend|weekdays?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}"
        r"(?:st|nd|rd|th)?|\d{1,2}/\d{1,2}(?:/\d{2,4})?")
_TIME = (r"\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|noon|(?:in\s+the\s+)?(?:morning|afternoon|evening)|"
         r"after\s+(?:work|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)|before\s+\d{1,2}(?::\d{2})?\s*(?:am|pm)?")
_WHEN = re.compile(rf"\b(?:(?:on|this|next|any)\s+)?(?:{_DAY})(?:\s*,?\s*(?:at\s+|around\s+|between\s+|from\s+)?"
                   rf"(?:{_TIME})(?:\s*(?:-|to|and|or)\s*(?:{_TIME}|\d{{1,2}}))?)?|"
                   rf"\b(?:at|around|after|before)\s+(?:{_TIME})|\b(?:{_TIME})", re.I)


def is_showing_request(text: str) -> bool:
    """The message asks to see, tour or visit a home (not a document: "see the lease" is no showing)."""
    return bool(_SHOWING.search(text or ""))


def availability(text: str) -> str | None:
    """The days and times the message states ("Saturday morning", "tomorrow at 5pm"), joined by
    "; ", or None when it states none."""
    found = [" ".join(m.group(0).split()) for m in _WHEN.finditer(text or "")]
    found = [re.sub(r"^(?:on|any)\s+", "", f, flags=re.I) for f in found if f.strip()]
    return "; ".join(dict.fromkeys(found)) or None


@dataclass(frozen=True)
class ShowingTicket(HandoffTicket):
    """A HandoffTicket (rule "showing_request") for the leasing team, with `showing`:
    {"listing": {"source": "file#id", "title": str, "fields": {...}}, "availability": str | None,
     "contact": {"phone"|"email": str, "channel": str | None}, "preferences": {...}}.
    The contact is here for the person who calls back; the turn log and the server log scrub it."""

    showing: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["showing"] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self.showing.items()}
        return d


def ticket_summary(showing: Mapping[str, Any]) -> str:
    """One line for the inbox: "showing request: <title> (<source>); when: Saturday; contact: ..."."""
    listing = showing.get("listing") or {}
    contact = showing.get("contact") or {}
    who = contact.get("phone") or contact.get("email") or "none given"
    channel = f" (prefers {contact['channel']})" if contact.get("channel") else ""
    return (f"showing request: {listing.get('title', 'a listing')} ({listing.get('source', '?')}); when: "
            f"{showing.get('availability') or 'not stated'}; contact: {who}{channel}")
