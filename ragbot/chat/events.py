"""The typed events of one turn, as `Bot.events` yields them (and `ragbot chat`, the HTTP
server's SSE and the web widget consume them).

Order: zero or more `SourcesEvent` / `TokenEvent`, then exactly one `DecisionEvent`, then exactly
one `ReplyEvent` (always last). Every `TokenEvent.text` is verified text that appears in the final
`Reply.text`: the model's raw draft is never streamed, because the gate may drop it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ragbot.types import Decision, Reply, Source


@dataclass(frozen=True)
class TokenEvent:
    """A piece of verified reply text (str), in the order it appears in the final reply."""

    text: str


@dataclass(frozen=True)
class SourcesEvent:
    """The sources the reply will cite, numbered as `[n]` = sources[n-1]."""

    sources: tuple[Source, ...]


@dataclass(frozen=True)
class DecisionEvent:
    """The gate's decision: decision, rule id, confidence in [0, 1], human-readable reason."""

    decision: Decision
    rule: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class ReplyEvent:
    """The final Reply of the turn (always the last event)."""

    reply: Reply


TurnEvent = Union[TokenEvent, SourcesEvent, DecisionEvent, ReplyEvent]
