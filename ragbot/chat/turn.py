"""One conversation turn: the steps (chat/steps.py) in order, the gate twice (a precheck before the
model, the decision after it), and the reply text composed from what the gate decided.

    outcome = run_turn(ctx, TurnRequest(question, scope, history, pending, focus), emit)

`emit` receives the turn's verified events (chat/events.py) as they become final: the sources,
then the reply text in pieces, then the decision. The model's raw draft is never emitted: the
gate may drop it. The caller (Bot) stores the turn, creates the ticket and emits the ReplyEvent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from ragbot.chat import prompts
from ragbot.chat.events import DecisionEvent, SourcesEvent, TokenEvent
from ragbot.chat.gate import GateResult, decide, precheck
from ragbot.chat.retrieval import group_of
from ragbot.chat.steps import (Draft, Retrieval, TurnContext, TurnRequest, Understanding,
                               Verification, disambiguate, fast_path, gate_signals, generate, listing_search, override,
                               retrieve, small_talk, summary, understand,
                               verify)
from ragbot.types import Decision, Hit, Source

_CITE = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class TurnOutcome:
    """What a turn produced. text: the reply (for HANDOFF the handoff message); hits: the cited
    hits, [n] = hits[n-1]; pending: the clarification to remember (or None); focus: the
    property/document this answer came from (or None); timings_ms / tokens as in Reply."""

    result: GateResult
    text: str
    hits: tuple[Hit, ...] = ()
    scope: Mapping[str, str] = field(default_factory=dict)
    pending: Mapping[str, Any] | None = None
    focus: Mapping[str, Any] | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    tokens: Mapping[str, int] = field(default_factory=dict)
    listing: Mapping[str, Any] | None = None  # the session's new listing state (chat/listings.py), or None
    evidence: tuple[Hit, ...] = ()  # the top retrieved hits, for the person who takes a handoff


def source_of(h: Hit) -> Source:
    c = h.chunk
    return Source(source=c.source, page=c.page, score=h.score, doc_type=c.doc_type, chunk_id=c.chunk_id)


def run_turn(ctx: TurnContext, req: TurnRequest, emit: Callable[[Any], None] | None = None) -> TurnOutcome:
    """Run the steps and the gate for one message (module docstring)."""
    emit = emit or (lambda event: None)
    u = understand(ctx, req)
    curated = override(ctx, u) or small_talk(ctx, u)
    if curated is not None:  # before retrieval; intents and emergencies still win in the gate
        return _finish(ctx, emit, precheck(gate_signals(ctx, u, fast=curated), ctx.config.gate), u, None, (),
                       text=curated.text)
    found = listing_search(ctx, u, req)
    if found is not None and found.kind == "listing_focus":  # the one listing asked about: answer from it
        u = replace(u, sources=tuple(h.chunk.source for h in found.hits), named=tuple(map(group_of, found.hits)))
        found = None
    if found is not None:  # a listing search, follow-up or showing request: no retrieval, no model
        return _listing_finish(ctx, emit, precheck(gate_signals(ctx, u, fast=found), ctx.config.gate), u, found)
    r = retrieve(ctx, u)
    dis = disambiguate(ctx, u, r)
    fast = fast_path(ctx, u, r) or summary(ctx, u, r)
    pre = precheck(gate_signals(ctx, u, r, dis, fast), ctx.config.gate)  # gate, first time: no model needed?
    if pre is not None:
        if pre.rule in ("faq", "summary"):
            return _finish(ctx, emit, pre, u, r, fast.hits, text=fast.text)
        return _finish(ctx, emit, pre, u, r, tuple(dis.hits[c.label] for c in pre.candidates))
    d = generate(ctx, u, r)
    v = verify(ctx, u, d)
    result = decide(gate_signals(ctx, u, r, dis, None, d, v), ctx.config.gate)  # gate, second time
    text, cited = compose_answer(result, d, v) if result.decision is Decision.ANSWER else ("", ())
    gen = d.generation
    tokens = {"prompt": gen.prompt_tokens, "cached": gen.cached_tokens, "completion": gen.completion_tokens}
    return _finish(ctx, emit, result, u, r, cited, text=text, timings=d.ms, tokens=tokens)


def compose_answer(result: GateResult, d: Draft, v: Verification) -> tuple[str, tuple[Hit, ...]]:
    """Quote-first reply text: the lead (the draft when the gate kept it; else a deterministic
    direct answer from the best quote, or a heading naming the quote's own source), then each
    quoted sentence with its [n]; citations renumbered so that [n] is the n-th cited hit."""
    pool, quotes = d.pool, d.quotes
    lines = []
    if result.keep_draft and v.draft:
        lines.append(v.draft if _CITE.search(v.draft) else f"{v.draft} [{quotes[0].hit + 1 if quotes else 1}]")
    elif quotes:
        label = group_of(pool[quotes[0].hit]).label
        lines.append(f"{v.lead} {prompts.quote_heading(label)}" if v.lead else prompts.quote_heading(label))
    for q in quotes:
        lines.append(f"“{q.text}” [{q.hit + 1}]")
    text = "\n".join(lines)
    used = sorted({int(m) - 1 for m in _CITE.findall(text) if 0 < int(m) <= len(pool)})
    renumber = {i + 1: n + 1 for n, i in enumerate(used)}
    text = _CITE.sub(lambda m: f"[{renumber[int(m.group(1))]}]" if int(m.group(1)) in renumber else "", text)
    return text, tuple(pool[i] for i in used)


def _finish(ctx: TurnContext, emit, result: GateResult, u: Understanding, r: Retrieval | None, hits: tuple,
            text: str = "", timings: Mapping[str, float] | None = None, tokens=None) -> TurnOutcome:
    name = ctx.config.prompt.business_name
    if result.decision is Decision.HANDOFF and result.rule != "showing_request":  # that one says what was passed on
        text, hits = prompts.handoff_message(result.urgency, result.rule, name), ()
    elif result.decision is Decision.CLARIFY:
        text = result.clarify_question or prompts.decline_message(name)
    pending = _pending(u, result) if result.decision is Decision.CLARIFY else None
    focus = _focus(r) if result.decision is Decision.ANSWER and r is not None else None
    if hits:
        emit(SourcesEvent(tuple(source_of(h) for h in hits)))
    for piece in re.findall(r"\S+\s*", text):
        emit(TokenEvent(piece))
    emit(DecisionEvent(result.decision, result.rule, result.confidence, result.reason))
    times = {"retrieve": r.ms if r else 0.0, **(timings or {})}
    return TurnOutcome(result, text, tuple(hits), dict(r.scope if r else u.scope), pending, focus, times,
                       dict(tokens or {}), evidence=tuple(r.hits[:3]) if r else ())


def _listing_finish(ctx: TurnContext, emit, pre: GateResult, u: Understanding, found) -> TurnOutcome:
    """A listing turn's outcome; its listing state is kept only when the gate took the listing
    answer (an intent or an emergency still wins)."""
    ours = pre.rule in ("listings", "showing_request", "listing_choice")
    o = _finish(ctx, emit, pre, u, None, found.hits if ours else (), text=found.text if ours else "")
    return replace(o, listing=found.state) if ours else o


def _pending(u: Understanding, result: GateResult) -> dict:
    return {"question": u.question, "candidates": [
        {"label": c.label, "scope": dict(c.scope), "source": None if c.scope else c.source} for c in result.candidates]}


def _focus(r: Retrieval) -> dict | None:
    if r.scope:
        return {"scope": dict(r.scope)}
    if r.sources:
        return {"sources": list(r.sources)}
    best = max(r.hits, key=lambda h: h.score) if r.hits else None
    if best is not None and best.chunk.scope:
        return {"scope": dict(best.chunk.scope)}
    return None


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
