"""The confidence gate: signals in, Decision + confidence + reason out. Pure and deterministic.

`decide(signals, config)` applies these rules in order; the first that fires decides (its id is
`GateResult.rule`):

 1. emergency intent (regex backstop)                -> HANDOFF, urgency "emergency" (intent_emergency)
 2. the urgency classifier says emergency             -> HANDOFF, urgency "emergency" (urgency_emergency)
 3. human / legal / discrimination / complaint / injection / credentials intent, then a
    maintenance report the classifier rates urgent (urgency_urgent, urgency "urgent")
                                                      -> HANDOFF  (intent_<name>)
 4. a curated override matches the question in its scope -> ANSWER verbatim (override)
    a greeting, thanks, goodbye or "are you a bot?" alone  -> ANSWER with a fixed reply (small_talk)
    a showing request with its contact (chat/listings.py) -> HANDOFF to leasing (showing_request)
    a listing search / follow-up answered from the listings' fields -> ANSWER (listings)
    a question presuming one listing that several fit ("the studio in Tempe")
                                                      -> CLARIFY offering them (listing_choice)
    no retrieval, or top_score < min_retrieval_score and no document was named
                                                      -> HANDOFF  (out_of_scope)
 5. >= 2 clarify candidates (`clarify_candidates`: competitors within ambiguity_margin whose
    quotes state different facts), no scope given    -> CLARIFY naming the candidates (ambiguous)
 6. FAQ fast-path match                               -> ANSWER   (faq)
    broad request about a named document, key terms quoted -> ANSWER (summary)
    (1-6 are `precheck`: they need no generation, so the turn runs them before the model)
 7. nothing generated                                 -> HANDOFF  (no_generation)
 8. the draft verdict (`draft_verdict`): the draft is kept only when the model did not say it
    does not know, its numbers and names are in the passages, the claim check finds no problem,
    and groundedness and the token log-probabilities (when available) clear their floors.
    A dropped draft with no quote to fall back on -> HANDOFF with the verdict's rule
    (dont_know, unsupported_numbers, unsupported_names, draft_check, low_groundedness,
    low_mean_logprob, low_min_logprob)
 9. no quoted sentence states a value of the expected answer type (yes/no, list and open
    questions: speaks of the asked thing), whether or not the draft was kept
                                                      -> HANDOFF  (no_answering_sentence)
10. draft dropped and quote_score < min_quote_score   -> HANDOFF  (low_quote_score)
11. require_citation and nothing cited                -> HANDOFF  (not_cited)
12. answer_score < min_answer_confidence              -> HANDOFF  (low_confidence)
13. otherwise                                         -> ANSWER   (grounded_answer), with
    GateResult.keep_draft saying whether the draft leads the quotes

answer_score (the evidence that an answer from the documents is right, in [0, 1]) is the
weighted mean of the components present, weights from GateConfig renormalised over them:
  retrieval   r = clip((top_score - min_retrieval_score) / (good_retrieval_score - min_retrieval_score), 0, 1)
  grounded    g = groundedness
  fluency     l = exp(mean_logprob)  (geometric-mean probability of the generated tokens)
  quote       q = quote_score        (when the caller selected a supporting quote)
`confidence` is the gate's confidence in the decision it returned:
  ANSWER (generated): answer_score;  ANSWER (FAQ): 0.5 + 0.5 r;
  intent HANDOFF: intent_confidence;  out_of_scope: 0.5 + 0.5 clip((min - top) / |min|, 0, 1)
  (1.0 when nothing was retrieved);  CLARIFY: 0.5 + 0.5 clip(1 - spread / ambiguity_margin, 0, 1)
  with spread the score range of the named candidates;  other HANDOFFs: max(0.5, 1 - answer_score).
All thresholds are initial guesses in GateConfig, to be refitted on a labelled dev set.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from ragbot.config import GateConfig
from ragbot.errors import InputError
from ragbot.chat.prompts import clarify_question
from ragbot.types import Decision


@dataclass(frozen=True)
class Candidate:
    """A competing reading of an ambiguous question, e.g. the same fact in two properties' leases.
    label: what the user would pick ("Oak Street"); source: file name; score: cosine of its best
    hit; scope: the chunk scope it comes from ({"property": "oak"}); quote: its sentence that best
    supports an answer (what `retrieval.facts_differ` compares); quote_score: cosine of the
    question and that sentence (None when no sentence was selected); answers: that sentence states a
    value of the question's expected answer type or speaks of the asked thing
    (`claims.quote_answers`; None: not checked). A competitor whose quote does not answer is no
    reading of the question worth offering."""

    label: str
    source: str
    score: float
    scope: Mapping[str, str] = field(default_factory=dict)
    quote: str = ""
    quote_score: float | None = None
    answers: bool | None = None


@dataclass(frozen=True)
class GateSignals:
    """Everything the gate looks at for one turn. None means "not measured" (e.g. no generation
    ran on the FAQ fast path).

    top_score / second_score: cosine of the best hit / best hit of another source or scope.
    candidates: competing candidates close in score (computed by the caller), best first.
    ambiguous: the caller judged the candidates to differ in the fact asked about.
    competitors: the best hit of every property/document group the caller looked at for
    ambiguity, best first, with quotes (`retrieval.competing` turns them into `candidates` for a
    given ambiguity_margin; recorded so `ragbot calibrate` can replay other margins). Empty when
    the turn was already narrowed to one property or document.
    mean_logprob / min_logprob: from Generation (natural log, <= 0).
    groundedness: Groundedness.score in [0, 1]; unsupported_numbers / _names: from grounding.
    intents: ragbot.chat.intents.detect_intents output. faq_match: an FAQ answers the question
    verbatim. cited: the answer cites a passage. scope_given: the caller passed a scope filter.
    dont_know: the model replied that the passages do not answer.
    quote_score: similarity of the question to the best quoted supporting sentence (quote-first
    replies), None when no quote was selected.
    generated: a model draft was produced (the generation signals describe it).
    draft_problems: why the claim-level check (chat/claims.py) rejects the draft: wrong answer
    type, a value not in the best quote, degenerate text; () = the draft passes.
    quote_answers: the best quote states a value of the question's expected answer type (None:
    not checked, e.g. an open question).
    logprobs_available: False when the generator backend returned no log-probabilities.
    urgency / urgency_score: the urgency classifier's level ("emergency" | "urgent" | "normal")
    and its probability.
    named_document: the user named a document or property the KB holds (alias match); such a
    question is never out of scope on its cosine score alone.
    summary: a broad request about a named document is answered with its quoted key terms.
    override: which curated answer (state/overrides.py) matched the question, or None.
    small_talk: which fixed reply (prompts.small_talk_reply) a greeting, thanks, goodbye or bot
    check got, or None.
    listings: what the listing step answered from the listings' typed fields (chat/listings.py),
    or None. showing: the showing request handed to leasing, or None. listing_choice: why the
    question presumes one listing that several fit ("4 listings fit 0 bedrooms, Tempe, AZ"),
    with the listings to offer in `candidates`; None otherwise. company_faq_score: cosine of the
    best company-wide (unscoped) FAQ hit of an unnarrowed turn: within company_faq_margin of the
    top, the company's own answer holds for every property and the question is not ambiguous.
    top_doc_type: doc_type of the best hit; the gate adds GateConfig.offset_<type> to top_score
    (`effective_top`) so listing rows and PDF clauses are judged on their own scale.
    The gate, not the turn, decides whether the draft is kept (GateResult.keep_draft).
    """

    top_score: float | None = None
    second_score: float | None = None
    candidates: tuple[Candidate, ...] = ()
    ambiguous: bool = False
    competitors: tuple[Candidate, ...] = ()
    mean_logprob: float | None = None
    min_logprob: float | None = None
    groundedness: float | None = None
    unsupported_numbers: tuple[str, ...] = ()
    unsupported_names: tuple[str, ...] = ()
    intents: Mapping[str, str] = field(default_factory=dict)
    faq_match: bool = False
    cited: bool = False
    scope_given: bool = False
    dont_know: bool = False
    quote_score: float | None = None
    generated: bool = False
    draft_problems: tuple[str, ...] = ()
    quote_answers: bool | None = None
    logprobs_available: bool = True
    urgency: str | None = None
    urgency_score: float | None = None
    named_document: bool = False
    summary: bool = False
    top_doc_type: str | None = None
    override: str | None = None
    small_talk: str | None = None
    listings: str | None = None
    showing: str | None = None
    listing_choice: str | None = None
    company_faq_score: float | None = None

    def __post_init__(self):
        for name in ("top_score", "second_score", "mean_logprob", "min_logprob", "groundedness", "quote_score"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or math.isnan(v)):
                raise InputError(f"GateSignals.{name} must be a number or None, got {v!r}")
        if self.groundedness is not None and not 0.0 <= self.groundedness <= 1.0:
            raise InputError(f"GateSignals.groundedness must be in [0, 1], got {self.groundedness}")
        for name in ("mean_logprob", "min_logprob"):
            v = getattr(self, name)
            if v is not None and v > 1e-6:
                raise InputError(f"GateSignals.{name} is a natural log-probability and must be <= 0, got {v}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["intents"] = dict(self.intents)
        d["candidates"] = [{**asdict(c), "scope": dict(c.scope)} for c in self.candidates]
        d["competitors"] = [{**asdict(c), "scope": dict(c.scope)} for c in self.competitors]
        d["unsupported_numbers"] = list(self.unsupported_numbers)
        d["unsupported_names"] = list(self.unsupported_names)
        if d["min_logprob"] is not None and math.isinf(d["min_logprob"]):
            d["min_logprob"] = None  # JSON has no -inf (empty generation)
        return d


@dataclass(frozen=True)
class GateResult:
    """The gate's decision on one turn and why."""

    decision: Decision
    confidence: float  # in [0, 1]: confidence in the decision (module docstring)
    reason: str  # human-readable; names the rule and the values
    rule: str  # short id, e.g. "grounded_answer", "ambiguous"
    signals: GateSignals  # the input
    urgency: str | None = None  # "emergency" | "urgent" | "normal" for HANDOFF, else None
    clarify_question: str | None = None  # for CLARIFY
    answer_score: float | None = None  # evidence for answering, in [0, 1]; None when nothing was measured
    keep_draft: bool = False  # ANSWER only: the draft leads the quotes
    candidates: tuple[Candidate, ...] = ()  # CLARIFY: the options offered

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "confidence": round(self.confidence, 4), "reason": self.reason,
                "rule": self.rule, "urgency": self.urgency, "clarify_question": self.clarify_question,
                "answer_score": None if self.answer_score is None else round(self.answer_score, 4),
                "keep_draft": self.keep_draft,
                "signals": self.signals.to_dict()}


def _clip(x: float) -> float:
    return 0.0 if x != x else max(0.0, min(1.0, x))


def effective_top(signals: GateSignals, config: GateConfig) -> float | None:
    """top_score plus the offset of the best hit's doc type (offset_listing, offset_lease,
    offset_document; FAQ pairs 0): scores normalised per doc type."""
    if signals.top_score is None:
        return None
    t = signals.top_doc_type
    off = {"listing": config.offset_listing, "lease": config.offset_lease, "document": config.offset_document,
           "marketing": config.offset_document}.get(t or "", 0.0)
    return signals.top_score + off


def retrieval_component(top_score: float | None, config: GateConfig) -> float:
    """r in [0, 1]: linear from min_retrieval_score (0) to good_retrieval_score (1)."""
    if top_score is None:
        return 0.0
    span = config.good_retrieval_score - config.min_retrieval_score
    if span <= 0:
        return 1.0 if top_score >= config.min_retrieval_score else 0.0
    return _clip((top_score - config.min_retrieval_score) / span)


def answer_score(signals: GateSignals, config: GateConfig, keep_draft: bool | None = None) -> float | None:
    """Weighted mean of the retrieval, groundedness, exp(mean_logprob) and quote components
    present (module docstring); None when none is present or all present weights are zero.
    For a quote-only reply (keep_draft False after a generation) groundedness counts as 1.0 (the
    quotes are verbatim passage text) and the unseen draft's log-probs are left out."""
    quote_only = signals.generated and keep_draft is False
    parts = []
    if signals.top_score is not None:
        parts.append((config.weight_retrieval, retrieval_component(effective_top(signals, config), config)))
    if quote_only:
        parts.append((config.weight_groundedness, 1.0))
    elif signals.groundedness is not None:
        parts.append((config.weight_groundedness, _clip(signals.groundedness)))
    if signals.mean_logprob is not None and not quote_only and signals.logprobs_available:
        parts.append((config.weight_logprob, _clip(math.exp(min(0.0, signals.mean_logprob)))))
    if signals.quote_score is not None:
        parts.append((config.weight_quote, _clip(signals.quote_score)))
    total = sum(w for w, _ in parts)
    if not parts or total <= 0:
        return None
    return _clip(sum(w * v for w, v in parts) / total)


def _result(decision, confidence, reason, rule, signals, score, urgency=None, question=None, keep_draft=False,
            candidates=()) -> GateResult:
    if decision is Decision.HANDOFF and urgency is None:
        urgency = "normal"
    return GateResult(decision=decision, confidence=_clip(confidence), reason=reason, rule=rule, signals=signals,
                      urgency=urgency, clarify_question=question, answer_score=score,
                      keep_draft=keep_draft and decision is Decision.ANSWER, candidates=tuple(candidates))


def _clarify_options(candidates, config: GateConfig) -> tuple[list[Candidate], str]:
    seen, picked = set(), []
    for c in sorted(candidates, key=lambda c: -c.score):
        key = c.label.strip().lower()
        if key and key not in seen:
            seen.add(key)
            picked.append(c)
    picked = picked[: config.max_candidates]
    keys = [set(c.scope) for c in picked]
    common = set.intersection(*keys) if keys else set()
    varying = sorted(k for k in common if len({c.scope[k] for c in picked}) > 1)
    return picked, (varying[0].replace("_", " ") if varying else "one")


def clarify_candidates(signals: GateSignals, config: GateConfig) -> tuple[Candidate, ...]:
    """The candidates a clarifying question offers: explicit `signals.candidates` when the caller
    judged the question ambiguous, else `retrieval.competing` over the recorded competitors with
    this config's margin, floor and cap (so a replay with another margin decides the same way a
    live turn would). () when a scope or document narrowed the turn, or when a company-wide FAQ
    hit is within company_faq_margin of the top (its answer holds for every property)."""
    from ragbot.chat.retrieval import competing

    if signals.scope_given or signals.top_score is None:
        return ()
    if signals.ambiguous and signals.candidates:
        return tuple(signals.candidates)
    if signals.company_faq_score is not None and signals.company_faq_score >= signals.top_score - config.company_faq_margin:
        return ()
    return competing(signals.competitors, signals.top_score, config.ambiguity_margin, config.max_candidates,
                     config.min_clarify_quote_score)


def _intent_rule(signals: GateSignals, config: GateConfig, score) -> GateResult | None:
    intents = dict(signals.intents)

    def also(skip: str) -> str:
        extra = ", ".join(f"{k} ({v!r})" for k, v in intents.items() if k != skip)
        return f"; also {extra}" if extra else ""
    for name in config.emergency_intents:
        if name in intents:
            return _result(Decision.HANDOFF, config.intent_confidence,
                           f"rule intent_{name}: the message matches {name} ({intents[name]!r}){also(name)}",
                           f"intent_{name}", signals, score, urgency="emergency")
    if signals.urgency == "emergency":
        p = signals.urgency_score if signals.urgency_score is not None else config.intent_confidence
        return _result(Decision.HANDOFF, p, f"rule urgency_emergency: the urgency classifier rates the message an "
                                            f"emergency (p={p:.2f})", "urgency_emergency", signals, score,
                       urgency="emergency")
    for name in config.handoff_intents:
        if name in intents:
            return _result(Decision.HANDOFF, config.intent_confidence,
                           f"rule intent_{name}: the message matches {name} ({intents[name]!r}){also(name)}",
                           f"intent_{name}", signals, score, urgency="urgent" if signals.urgency == "urgent" else None)
    if signals.urgency == "urgent":
        p = signals.urgency_score if signals.urgency_score is not None else config.intent_confidence
        return _result(Decision.HANDOFF, p, f"rule urgency_urgent: a maintenance report the urgency classifier rates "
                                            f"urgent (p={p:.2f}); a person follows up today", "urgency_urgent", signals,
                       score, urgency="urgent")
    return None


def precheck(signals: GateSignals, config: GateConfig) -> GateResult | None:
    """Rules 1-5 (intents and urgency, out of scope, clarify, FAQ), which need no generation: call
    before generating to skip the model when they fire. None means "generate, then call decide"."""
    score = answer_score(signals, config)
    fired = _intent_rule(signals, config, score)
    if fired is not None:
        return fired
    if signals.override:
        return _result(Decision.ANSWER, 0.95, f"rule override: {signals.override}", "override", signals, score)
    if signals.small_talk:
        return _result(Decision.ANSWER, 0.95, f"rule small_talk: {signals.small_talk}", "small_talk", signals, score)
    if signals.showing:
        return _result(Decision.HANDOFF, 0.95, f"rule showing_request: {signals.showing}", "showing_request", signals,
                       score)
    if signals.listings:
        return _result(Decision.ANSWER, 0.9, f"rule listings: {signals.listings}", "listings", signals, score)
    if signals.listing_choice and len(signals.candidates) >= 2:
        picked = signals.candidates[: config.max_candidates]
        return _result(Decision.CLARIFY, 0.9, f"rule listing_choice: {signals.listing_choice}", "listing_choice",
                       signals, score, question=clarify_question([c.label for c in picked], "listing"),
                       candidates=picked)
    top = effective_top(signals, config)
    if top is None or (top < config.min_retrieval_score and not signals.named_document):
        if top is None:
            conf, why = 1.0, "nothing was retrieved"
        else:
            conf = 0.5 + 0.5 * _clip((config.min_retrieval_score - top) / max(abs(config.min_retrieval_score), 1e-6))
            why = f"top retrieval score {top:.3f} < min_retrieval_score {config.min_retrieval_score:.3f}"
        return _result(Decision.HANDOFF, conf, f"rule out_of_scope: {why}", "out_of_scope", signals, score)
    picked, what = _clarify_options(clarify_candidates(signals, config), config)
    if len(picked) >= 2:
        spread = max(c.score for c in picked) - min(c.score for c in picked)
        conf = 0.5 + 0.5 * _clip(1.0 - spread / config.ambiguity_margin)
        names = ", ".join(f"{c.label} ({c.source}, {c.score:.3f})" for c in picked)
        return _result(Decision.CLARIFY, conf,
                       f"rule ambiguous: {len(picked)} candidates within {spread:.3f} of each other and no "
                       f"scope given: {names}", "ambiguous", signals, score,
                       question=clarify_question([c.label for c in picked], what), candidates=picked)
    if signals.faq_match:
        r = retrieval_component(top, config)
        return _result(Decision.ANSWER, 0.5 + 0.5 * r,
                       f"rule faq: an FAQ answers the question (top retrieval score {top:.3f})", "faq", signals, score)
    if signals.summary:
        return _result(Decision.ANSWER, 0.5 + 0.5 * retrieval_component(top, config),
                       "rule summary: a broad request about a named document, answered with its quoted key terms",
                       "summary", signals, score)
    return None


def draft_verdict(signals: GateSignals, config: GateConfig) -> tuple[bool, str, str]:
    """Whether the model's draft may go out above the quotes: (keep, rule, why). The draft is
    dropped when the model said it does not know, when a number or name is in no passage, when
    the claim-level check (draft_problems) rejects it, or when groundedness or the token
    log-probabilities (when the backend gives them) are under their floors."""
    s = signals
    checks = [
        (s.dont_know, "dont_know", "the model said the passages do not answer the question"),
        (config.block_unsupported_numbers and bool(s.unsupported_numbers), "unsupported_numbers",
         f"the draft states {', '.join(map(repr, s.unsupported_numbers))}, found in no passage"),
        (config.block_unsupported_names and bool(s.unsupported_names), "unsupported_names",
         f"the draft names {', '.join(map(repr, s.unsupported_names))}, found in no passage"),
        (bool(s.draft_problems), "draft_check", f"the draft fails the claim check: {'; '.join(s.draft_problems)}"),
        (s.groundedness is not None and s.groundedness < config.min_groundedness, "low_groundedness",
         f"groundedness {s.groundedness or 0:.2f} < min_groundedness {config.min_groundedness:.2f}"),
        (s.logprobs_available and s.mean_logprob is not None and s.mean_logprob < config.min_mean_logprob,
         "low_mean_logprob", f"mean token log-prob {s.mean_logprob or 0:.2f} < min_mean_logprob "
                             f"{config.min_mean_logprob:.2f}"),
        (s.logprobs_available and s.min_logprob is not None and s.min_logprob < config.min_token_logprob,
         "low_min_logprob", f"least likely token log-prob {s.min_logprob or 0:.2f} < min_token_logprob "
                            f"{config.min_token_logprob:.2f}"),
    ]
    for failed, rule, why in checks:
        if failed:
            return False, rule, why
    return True, "", ""


def decide(signals: GateSignals, config: GateConfig | None = None) -> GateResult:
    """Apply the gate rules (module docstring) and return the first that fires.
    Pure: no I/O, no state; the same signals and config always give the same result."""
    config = config or GateConfig()
    early = precheck(signals, config)
    if early is not None:
        return early
    if not signals.generated:
        return _result(Decision.HANDOFF, 0.5, "rule no_generation: no FAQ matched and no generated answer was "
                                              "given to check", "no_generation", signals, answer_score(signals, config))
    keep, drop_rule, drop_why = draft_verdict(signals, config)
    score = answer_score(signals, config, keep)
    low = max(0.5, 1.0 - (score or 0.0))

    def handoff(rule: str, why: str) -> GateResult:
        return _result(Decision.HANDOFF, low, f"rule {rule}: {why}", rule, signals, score)

    has_quote = signals.quote_score is not None
    if not keep and not has_quote:
        return handoff(drop_rule, drop_why)
    if signals.quote_answers is False:
        return handoff("no_answering_sentence", "no quoted sentence states a value of the expected answer type "
                       "or speaks of the asked thing" + (f", and the draft was dropped ({drop_rule})" if drop_rule
                                                         else ", so the draft has no support to go out with"))
    if not keep and signals.quote_score < config.min_quote_score:
        return handoff("low_quote_score", f"the draft was dropped ({drop_rule}) and the best quote's similarity "
                                          f"{signals.quote_score:.2f} < min_quote_score {config.min_quote_score:.2f}")
    if config.require_citation and not (signals.cited or has_quote):
        return handoff("not_cited", "the answer cites no passage")
    if score is None or score < config.min_answer_confidence:
        shown = "n/a" if score is None else f"{score:.2f}"
        return handoff("low_confidence", f"answer score {shown} < min_answer_confidence {config.min_answer_confidence:.2f}")
    return _result(Decision.ANSWER, score, _answer_reason(signals, score, keep, drop_rule), "grounded_answer",
                   signals, score, keep_draft=keep)


def _answer_reason(signals: GateSignals, score: float, keep: bool, drop_rule: str) -> str:
    parts = [f"retrieval {signals.top_score:.3f}"]
    if keep and signals.groundedness is not None:
        parts.append(f"groundedness {signals.groundedness:.2f}")
    if keep and signals.mean_logprob is not None and signals.logprobs_available:
        parts.append(f"mean log-prob {signals.mean_logprob:.2f}")
    if signals.quote_score is not None:
        parts.append(f"quote {signals.quote_score:.2f}")
    how = "draft kept" if keep else f"quotes only, draft dropped ({drop_rule})"
    note = "" if signals.logprobs_available else "; log-probabilities unavailable from the generator backend, " \
                                                  "so the log-prob rules were skipped"
    return f"rule grounded_answer: answer score {score:.2f} ({', '.join(parts)}; {how}){note}"
