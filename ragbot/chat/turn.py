"""One conversation turn, step by step (called by Bot.ask; see bot.py for the overview).

The gate (gate.py) makes every decision from the signals gathered here; this module only
gathers signals, runs the model when an answer is possible, and composes the reply text:
quote-first (DESIGN.md): the model's short answer, kept only when its numbers and names are
supported by the passages, followed by the quoted supporting sentence(s) with citations.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Mapping

from rapidfuzz import fuzz

from ragbot.chat import prompts
from ragbot.chat.gate import Candidate, GateSignals, decide, precheck
from ragbot.chat.grounding import groundedness
from ragbot.chat.intents import detect_intents
from ragbot.chat.retrieval import (ambiguity, competing, faq_match, group_of, named_groups, rewrite_query, select_quotes,
                        strip_names)
from ragbot.types import Decision, Hit, Reply, Source

_CITE = re.compile(r"\[(\d+)\]")


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _source(h: Hit) -> Source:
    c = h.chunk
    return Source(source=c.source, page=c.page, score=h.score, doc_type=c.doc_type, chunk_id=c.chunk_id)


def match_candidate(answer: str, candidates: list[dict]) -> dict | None:
    """The pending-clarification candidate the user's answer names (rapidfuzz partial_ratio of
    the label against the answer >= 80, best wins), or None."""
    best, best_score = None, 0.0
    text = answer.lower()
    for c in candidates:
        label = c["label"].lower()
        score = max(fuzz.partial_ratio(label, text), fuzz.token_set_ratio(label, text))
        if score > best_score:
            best, best_score = c, score
    return best if best_score >= 80 else None


def run_turn(bot, sid: str, question: str, turns, state: dict, scope: dict, t0: float,
             on_token: Callable[[str], None] | None) -> Reply:
    cfg = bot.config
    timings: dict[str, float] = {}
    intents = detect_intents(question)
    base = dict(intents=intents, scope_given=bool(scope))
    if set(intents) & (set(cfg.gate.handoff_intents) | set(cfg.gate.emergency_intents)):
        return _decide(bot, sid, GateSignals(**base), [], scope, timings, t0)

    history = _history(bot, turns)
    answer_q, query, sources = question, None, None
    pending = state.get("pending")
    if pending:
        chosen = match_candidate(question, pending["candidates"])
        bot.sessions.update_state(sid, pending=None)
        if chosen:
            answer_q = pending["question"]
            query = f"{answer_q} {question}"
            if chosen.get("scope"):
                scope = {**scope, **chosen["scope"]}
                bot.sessions.update_state(sid, scope=scope)
            elif chosen.get("source"):
                sources = [chosen["source"]]
    if query is None:
        query = rewrite_query(question, history)

    t = time.perf_counter()
    k = cfg.retrieval.k_candidates
    hits = bot.kb.search(query, k=k, scope=scope or None, include_unscoped=True, sources=sources)
    named = []
    if sources is None and not scope:
        context = " ".join([query] + [x.content for x in history if x.role == "user"][-2:])
        named = named_groups(context, bot.catalog())
        named_scopes = [g.scope for g in named if g.scope]
        named_sources = [g.source for g in named if g.source]
        narrowed_query = strip_names(query, [g.label for g in named])
        if len(named_scopes) == 1:  # a named property wins over documents named after it
            scope = dict(named_scopes[0])
            hits = bot.kb.search(narrowed_query, k=k, scope=scope, include_unscoped=True)
        elif named_sources and not named_scopes:
            sources = named_sources
            hits = bot.kb.search(narrowed_query, k=k, include_unscoped=True, sources=sources)
        else:
            named = []
    timings["retrieve"] = _ms(t)
    base.update(top_score=hits[0].score if hits else None, scope_given=bool(scope) or bool(named) or sources is not None)
    early = precheck(GateSignals(**base), cfg.gate)  # nothing retrieved, or out of scope: no model call
    if early is not None:
        return _reply(bot, sid, early, None, [], scope, timings, t0)

    narrowed = bool(sources) or bool(named) or any(k in scope for k in _scope_keys(hits))
    gcfg = cfg.gate
    window = bot.ambiguity_window  # set only while ragbot calibrate records: look wider, never stop to clarify
    # up to 8 groups within the margin (the window while recording), so that `competing` filters
    # and caps them the same way live and in calibrate's replay
    pool = [] if narrowed else ambiguity(hits, max(gcfg.ambiguity_margin, window or 0.0), 8)
    competitors: list[Candidate] = []
    relevant = 0
    for grp, h in pool if len(pool) >= 2 else ():
        q = select_quotes(answer_q, [h], bot.kb.embedder, n=1)  # one embedding call per group: stop early
        c = Candidate(label=grp.label, source=h.chunk.source, score=h.score, scope=dict(grp.scope),
                      quote=q[0].text if q else h.chunk.text, quote_score=q[0].score if q else None)
        competitors.append(c)
        relevant += c.quote_score is None or c.quote_score >= gcfg.min_clarify_quote_score
        if window is None and relevant >= gcfg.max_candidates:
            break  # `competing` would take no more than these
    if competitors:
        base["competitors"] = tuple(competitors)
    cands = () if window is not None else competing(competitors, hits[0].score, gcfg.ambiguity_margin,
                                                    gcfg.max_candidates, gcfg.min_clarify_quote_score)
    if cands:
        res = decide(GateSignals(**base, candidates=cands, ambiguous=True), cfg.gate)
        if res.decision == Decision.CLARIFY:
            bot.sessions.update_state(sid, pending={"question": answer_q, "candidates": [
                {"label": c.label, "scope": dict(c.scope), "source": None if c.scope else c.source} for c in cands]})
        hit_of = {id(c): h for c, (_, h) in zip(competitors, pool)}
        return _reply(bot, sid, res, res.clarify_question or prompts.decline_message(), [hit_of[id(c)] for c in cands],
                      scope, timings, t0)

    r = cfg.retrieval
    faq = faq_match(answer_q, hits, bot.kb.embedder, r.faq_min_score, r.faq_min_ratio,
                    scoped=bool(scope)) if r.faq_fast_path else None
    if faq is not None:
        res = decide(GateSignals(**base, faq_match=True, groundedness=1.0, cited=True), cfg.gate)
        answer = str(faq.chunk.metadata.get("answer") or faq.chunk.text)
        return _reply(bot, sid, res, f"{answer} [1]", [faq], scope, timings, t0)

    top_group = group_of(hits[0]).key
    if scope or sources:  # already narrowed: every hit is in scope (or company-wide)
        candidates = hits[: cfg.retrieval.k_prompt]
    else:
        candidates = [h for h in hits if group_of(h).key == top_group or not h.chunk.scope][: cfg.retrieval.k_prompt]
    prompt = prompts.build_prompt(answer_q, [h.chunk for h in candidates], history, cfg.prompt,
                                  bot.generator.count_tokens)
    passages = [candidates[i] for i in prompt.passage_indices]  # passages[n-1] is cited as [n]
    shown = {h.chunk.chunk_id for h in passages}
    pool = passages + [h for h in hits if h.chunk.chunk_id not in shown and (scope or sources or group_of(h).key == top_group)][
        : max(0, cfg.retrieval.k_quote_pool - len(passages))]  # quotes may come from a few more hits
    gen = bot.generator.generate(prompt.messages, max_tokens=cfg.generator.max_tokens,
                                 temperature=cfg.generator.temperature, on_token=on_token)
    timings.update(prefill=gen.prefill_ms, decode=gen.decode_ms, generate=gen.prefill_ms + gen.decode_ms)
    texts = [h.chunk.text for h in passages]
    g = groundedness(gen.text, texts, question=answer_q, known_names=(cfg.prompt.business_name,))
    quotes = select_quotes(answer_q, pool, bot.kb.embedder, n=cfg.retrieval.quotes,
                           ignore_words=[g.label for g in named] + [group_of(h).label for h in pool[:1]])
    text, cited_hits, model_kept = compose_answer(gen.text, g, pool, quotes, cfg)
    signals = GateSignals(**base, mean_logprob=gen.mean_logprob, min_logprob=gen.min_logprob,
                          groundedness=g.score, unsupported_numbers=tuple(g.unsupported_numbers),
                          unsupported_names=tuple(g.unsupported_names),
                          cited=bool(cited_hits), quote_score=max((q.score for q in quotes), default=None),
                          model_answer_kept=model_kept)
    tokens = {"prompt": gen.prompt_tokens, "cached": gen.cached_tokens, "completion": gen.completion_tokens}
    return _decide(bot, sid, signals, cited_hits, scope, timings, t0, text=text, tokens=tokens)


def compose_answer(draft: str, g, passages: list[Hit], quotes, cfg) -> tuple[str, list[Hit], bool]:
    """Quote-first reply text: the model's draft (kept only if grounded: no unsupported numbers
    and groundedness >= gate.min_groundedness), then each quoted sentence with its [n]."""
    draft = trim_draft(draft)
    keep = (bool(draft) and not g.unsupported_numbers and not g.unsupported_names
            and g.score >= cfg.gate.min_groundedness and prompts.DONT_KNOW.lower().rstrip(".") not in draft.lower())
    lines = []
    if keep:
        if not _CITE.search(draft):
            draft += f" [{quotes[0].hit + 1}]" if quotes else " [1]"
        lines.append(draft)
    elif quotes:
        lines.append(f"Here is what {group_of(passages[quotes[0].hit]).label} says:")
    for q in quotes:
        lines.append(f"“{q.text}” [{q.hit + 1}]")
    text = "\n".join(lines)
    used = sorted({int(m) - 1 for m in _CITE.findall(text) if 0 < int(m) <= len(passages)})
    renumber = {i + 1: n + 1 for n, i in enumerate(used)}  # so that [n] is Reply.sources[n-1]
    text = _CITE.sub(lambda m: f"[{renumber[int(m.group(1))]}]" if int(m.group(1)) in renumber else "", text)
    return text, [passages[i] for i in used], keep


_SOURCE_MARK = re.compile(r"\[\d+\]\s*\([^)]*\)")  # "[3] (file.pdf, p. 4)" copied from the prompt
_DRAFT_SENT = re.compile(r"(?<=[.!?])\s+")


def trim_draft(draft: str, max_sentences: int = 2, max_chars: int = 260) -> str:
    """The model's short answer: whitespace folded, copied passage headers removed, cut to the
    first sentences (the 135M model tends to ramble or repeat after them)."""
    text = _SOURCE_MARK.sub("", " ".join(draft.split())).strip()
    out = ""
    for sent in _DRAFT_SENT.split(text)[:max_sentences]:
        if out and len(out) + len(sent) + 1 > max_chars:
            break
        out = f"{out} {sent}".strip()
    return out[:max_chars].rstrip()


def _history(bot, turns):
    from ragbot.chat.conversation import history_window

    c = bot.config.conversation
    return history_window(turns, c.history_turns, c.history_chars)


def _scope_keys(hits: list[Hit]) -> set[str]:
    return {k for h in hits for k in h.chunk.scope}


def _decide(bot, sid, signals: GateSignals, hits: list[Hit], scope: Mapping[str, str], timings: dict, t0: float,
            text: str | None = None, tokens: Mapping[str, int] | None = None) -> Reply:
    res = decide(signals, bot.config.gate)
    if res.decision == Decision.ANSWER and text is None:
        text = prompts.decline_message(bot.config.prompt.business_name)
    return _reply(bot, sid, res, text, hits, scope, timings, t0, tokens)


def _reply(bot, sid, res, text, hits, scope, timings, t0, tokens=None) -> Reply:
    ticket = None
    if res.decision == Decision.HANDOFF:
        text = prompts.handoff_message(res.urgency, res.rule, bot.config.prompt.business_name)
        hits = []
    timings = {**timings, "total": _ms(t0)}
    if res.decision == Decision.HANDOFF:
        ticket = bot._handoff(sid, res.reason, res.urgency or "normal", scope)
    reply = Reply(text=text, decision=res.decision, confidence=res.confidence, reason=res.reason, session_id=sid,
                  sources=tuple(_source(h) for h in hits), signals=_signals_dict(res.signals), ticket=ticket,
                  timings_ms=timings, tokens=dict(tokens or {}), rule=res.rule)
    return bot._finish(sid, reply)


def _signals_dict(signals) -> dict[str, Any]:
    return {k: getattr(signals, k) for k in getattr(signals, "__dataclass_fields__", {})}
