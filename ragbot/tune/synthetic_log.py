"""A realistic synthetic turn log, for tests, benchmarks and the report screenshot.

Sessions of 1-5 turns over `days` days, with a decision mix that improves over time, lognormal
latencies per kind of turn, cited sources, thumbs on a share of the answers, and:
- planted knowledge gaps: GAP_TOPICS, five things the Harborview KB lacks (guest parking
  permits, bike storage, package lockers, EV charging, moving-day elevator booking), asked in
  many phrasings and handed off as out of scope (rule out_of_scope or dont_know);
- a planted badly-answered topic (DOWN_TOPIC, holiday office hours): answered, then rated down
  as outdated, some with a correction;
- planted PII in questions and corrections: e-mail addresses, phone numbers, Luhn-valid card
  numbers and "my name is ..." names, listed in `SyntheticLog.pii` so tests can check that none
  of it survives into the report or the exports.

Deterministic for a given seed. `populate(db, ...)` writes a log into a StateDB's turn log and
feedback store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping

from ragbot.state.feedback import Feedback, FeedbackStore
from ragbot.state.turnlog import TurnLog, TurnRecord

END_TS = 1793491200.0  # 2026-11-01 00:00 UTC: fixed, so a seed always gives the same log

GAP_TOPICS: Mapping[str, tuple[str, ...]] = {
    "guest parking permits": (
        "How do I get a parking permit for my guests?", "Where can my visitors park overnight?",
        "Do guests need a parking pass?", "Can my girlfriend park in the lot when she visits?",
        "Is there guest parking and do I need a permit?", "How long can a visitor's car stay in the lot?",
        "Where do I pick up a temporary guest parking permit?", "My friend is visiting, where should he park?",
        "Are visitor parking passes free?", "Can guests park in my assigned spot?"),
    "bike storage": (
        "Is there a bike room in the building?", "Where can I store my bicycle?",
        "Can I keep my bike on the balcony?", "Do you have secure bike storage?",
        "Is there a bike rack near the entrance?", "Can I bring my e-bike inside the apartment?",
        "Where do residents lock their bikes?", "Is bicycle storage included in the rent?",
        "How do I get a key to the bike storage room?", "Are there bike lockers I can rent?"),
    "package lockers": (
        "Do you have package lockers?", "Where are my packages delivered?",
        "How do I get the code for the parcel locker?", "Can Amazon leave packages in the lobby?",
        "Who receives deliveries when I'm not home?", "My package says delivered but I can't find it, where do parcels go?",
        "Is there a mailroom for large packages?", "How long are parcels kept in the package room?",
        "Can I get grocery deliveries left at the front desk?", "Are the package lockers refrigerated?"),
    "EV charging": (
        "Is there an EV charger in the garage?", "Can I charge my electric car at the building?",
        "Do you have Tesla chargers?", "How much does it cost to use the electric vehicle charging station?",
        "Can I install a charger for my EV in my parking spot?", "Where are the EV charging stations?",
        "Is there a plug for electric cars in the parking lot?", "Can I reserve the car charging spot?",
        "Are there any level 2 chargers on site?", "Is charging an electric vehicle included with parking?"),
    "moving day elevator booking": (
        "How do I reserve the elevator for moving in?", "Can I book the freight elevator on Saturday?",
        "Do I need to schedule my move with the building?", "Is there a fee to reserve the service elevator?",
        "What are the allowed hours for moving furniture in?", "Who do I contact to pad the elevator for my move?",
        "Can the movers use the loading dock?", "How far in advance should I book the elevator for move-out?",
        "Is there a moving day reservation form?", "Can I move in on a Sunday using the elevator?"),
}
DOWN_TOPIC = "holiday office hours"
DOWN_QUESTIONS = (
    "Is the leasing office open on public holidays?", "What are the office hours over Christmas?",
    "Is the office open on Thanksgiving?", "When does the leasing office close for the holidays?",
    "Can I drop off my rent check on New Year's Day?", "Are you open on Labor Day?")
DOWN_ANSWER = "The leasing office is open Monday to Friday, 9 am to 5 pm. [1]"
DOWN_CORRECTION = ("The leasing office is closed on public holidays and reopens the next business day at 9 am; "
                   "the after-hours line is {phone}.")
KNOWN_TOPICS: Mapping[str, tuple[tuple[str, ...], str, str]] = {  # questions, answer, source
    "rent due": (("When is rent due?", "What day is the rent due each month?", "When do I have to pay rent?"),
                 "Rent is due on the 1st of each month. [1]", "harborview_faq.csv"),
    "deposit": (("How much is the security deposit?", "What is the deposit for Oak Street?"),
                "The security deposit is one month's rent, $1,450 for Oak Street. [1]", "oak_street_lease.pdf"),
    "pets": (("Can I have a cat?", "Are dogs allowed?", "What is the pet policy?"),
             "Cats and dogs under 40 lbs are allowed with a $300 pet deposit. [1]", "harborview_faq.csv"),
    "late fee": (("What is the late fee?", "What happens if I pay rent late?"),
                 "A late fee of $50 applies after the 5th of the month. [1]", "oak_street_lease.pdf"),
    "maintenance": (("How do I request a repair?", "My sink is leaking, how do I file a maintenance request?"),
                    "Submit a maintenance request in the resident portal; urgent issues are handled within 24 hours. [1]",
                    "harborview_faq.csv"),
    "laundry": (("Is there laundry in the building?", "Where is the laundry room?"),
                "Each floor has a laundry room open 7 am to 10 pm. [1]", "pine_avenue_faq.md"),
}
HUMAN = ("Can I talk to a real person?", "I want to speak to the manager.", "Please connect me with an agent.")
EMERGENCY = ("There is water flooding my kitchen!", "I smell gas in the hallway.")
AMBIGUOUS = ("How much is the deposit?", "What time is quiet hours?")
SHOULD_HANDOFF = ("My neighbour threatened me, what does the lease say?", "I am being discriminated against by staff.")
FIRST = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan")
LAST = ("Johnson", "Garcia", "Okafor", "Nguyen", "Schmidt", "Rossi", "Kowalski", "Tanaka", "Dubois", "Silva")
SCOPES = ({"property": "oak-street"}, {"property": "pine-avenue"}, {})
SOURCES_OOS = ("harborview_faq.csv", "marketing.md")


@dataclass(frozen=True)
class SyntheticLog:
    """records: the turns (raw, PII included); feedback: thumbs and corrections on them;
    topics: message_id -> planted topic (GAP_TOPICS keys, DOWN_TOPIC, a KNOWN_TOPICS key or a
    kind: "human", "emergency", "ambiguous", "should_handoff"); pii: every planted PII string."""

    records: tuple[TurnRecord, ...]
    feedback: tuple[Feedback, ...]
    topics: Mapping[str, str]
    pii: tuple[str, ...]


def luhn_card(rng: random.Random) -> str:
    """A 16-digit Visa-like card number passing the Luhn checksum, grouped 4-4-4-4."""
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):  # positions of the final check digit's neighbours
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 == 0 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i:i + 4] for i in range(0, 16, 4))


def _pii(rng: random.Random) -> tuple[str, str]:
    """(sentence carrying PII, the PII value)."""
    kind = rng.randrange(4)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if kind == 0:
        v = f"{first.lower()}.{last.lower()}{rng.randrange(100)}@example.com"
        return f"My email is {v}.", v
    if kind == 1:
        v = f"({rng.randrange(201, 989)}) 555-{rng.randrange(100, 10000):04d}"
        return f"Call me at {v}.", v
    if kind == 2:
        v = luhn_card(rng)
        return f"I paid with card {v} last week.", v
    v = f"{first} {last}"
    return f"My name is {v}.", v


def _turn(rng, kind: str, topic: str, question: str) -> dict:
    """decision, rule, reply, sources, latency for one kind of turn."""
    if kind == "gap":
        rule = "out_of_scope" if rng.random() < 0.7 else "dont_know"
        return dict(decision="handoff", rule=rule, reply="I can't answer that from our documents; a person from "
                    "Harborview will follow up.", sources=(), latency=rng.lognormvariate(4.0, 0.4) if rule ==
                    "out_of_scope" else rng.lognormvariate(7.8, 0.3), confidence=0.8)
    if kind in ("human", "emergency"):
        return dict(decision="handoff", rule=f"intent_{kind}", reply="I've passed this to a person at Harborview.",
                    sources=(), latency=rng.lognormvariate(3.5, 0.3), confidence=0.95)
    if kind == "ambiguous":
        return dict(decision="clarify", rule="ambiguous", reply="Which property is this about: Oak Street or "
                    "Pine Avenue?", sources=(), latency=rng.lognormvariate(5.5, 0.3), confidence=0.7)
    if kind == "down":
        src = {"source": "harborview_faq.csv", "page": None, "score": 0.71, "doc_type": "faq", "chunk_id": "c-office"}
        return dict(decision="answer", rule="faq", reply=DOWN_ANSWER, sources=(src,),
                    latency=rng.lognormvariate(4.2, 0.3), confidence=0.82)
    if kind == "should_handoff":
        src = {"source": "oak_street_lease.pdf", "page": 4, "score": 0.52, "doc_type": "lease", "chunk_id": "c-quiet"}
        return dict(decision="answer", rule="grounded_answer", reply="Tenants must respect quiet enjoyment. [1]",
                    sources=(src,), latency=rng.lognormvariate(7.9, 0.3), confidence=0.61)
    _, answer, source = KNOWN_TOPICS[topic]
    faq = source.endswith((".csv", ".md"))
    src = {"source": source, "page": None if faq else 3, "score": round(rng.uniform(0.6, 0.9), 3),
           "doc_type": "faq" if faq else "lease", "chunk_id": f"c-{topic.replace(' ', '-')}"}
    return dict(decision="answer", rule="faq" if faq else "grounded_answer", reply=answer, sources=(src,),
                latency=rng.lognormvariate(4.2, 0.3) if faq else rng.lognormvariate(7.9, 0.35),
                confidence=round(rng.uniform(0.65, 0.95), 3))


def _pick(rng: random.Random, progress: float) -> tuple[str, str, str]:
    """(kind, topic, question) for one turn; gaps get rarer as `progress` (0..1) grows."""
    x = rng.random()
    gap_share = 0.22 - 0.1 * progress
    if x < gap_share:
        topic = rng.choice(sorted(GAP_TOPICS))
        return "gap", topic, rng.choice(GAP_TOPICS[topic])
    if x < gap_share + 0.05:
        return "down", DOWN_TOPIC, rng.choice(DOWN_QUESTIONS)
    if x < gap_share + 0.09:
        return "human", "human", rng.choice(HUMAN)
    if x < gap_share + 0.10:
        return "emergency", "emergency", rng.choice(EMERGENCY)
    if x < gap_share + 0.15:
        return "ambiguous", "ambiguous", rng.choice(AMBIGUOUS)
    if x < gap_share + 0.17:
        return "should_handoff", "should_handoff", rng.choice(SHOULD_HANDOFF)
    topic = rng.choice(sorted(KNOWN_TOPICS))
    return "known", topic, rng.choice(KNOWN_TOPICS[topic][0])


_PREFIX = ("", "", "", "Hi, ", "Hello! ", "Quick question: ", "Hey, ", "Good morning. ")


def _feedback(rng, rec: TurnRecord, kind: str, pii: list[str]) -> Feedback | None:
    fid = f"f{rec.message_id}"
    if kind == "down" and rng.random() < 0.6:
        correction = None
        if rng.random() < 0.5:
            phone = f"614-555-{rng.randrange(100, 10000):04d}"
            pii.append(phone)
            correction = DOWN_CORRECTION.format(phone=phone)
        return Feedback(fid, rec.message_id, "down", "outdated", correction, "agent-ana", rec.ts + 60)
    if kind == "should_handoff" and rng.random() < 0.7:
        return Feedback(fid, rec.message_id, "down", "should_handoff", None, rec.user_id, rec.ts + 30)
    if kind == "known" and rng.random() < 0.2:
        up = rng.random() < 0.85
        return Feedback(fid, rec.message_id, "up" if up else "down", None if up else rng.choice(("incomplete", "other")),
                        None, rec.user_id, rec.ts + 20)
    return None


def generate(n_turns: int = 600, days: int = 28, seed: int = 13, end_ts: float = END_TS,
             pii_share: float = 0.08) -> SyntheticLog:
    """A synthetic log of `n_turns` turns spread over `days` days ending at `end_ts` (Unix
    seconds); `pii_share` of the questions carry planted PII. Deterministic per seed."""
    rng = random.Random(seed)
    records, feedback, topics, pii = [], [], {}, []
    start = end_ts - days * 86400.0
    n_session = 0
    while len(records) < n_turns:
        n_session += 1
        sid, uid = f"s{n_session:06d}", f"u{rng.randrange(max(10, n_turns // 6)):05d}"
        t = start + rng.random() * (days * 86400.0 - 600)
        scope = dict(rng.choice(SCOPES))
        for _ in range(min(rng.randint(1, 5), n_turns - len(records))):
            progress = (t - start) / (days * 86400.0)
            kind, topic, question = _pick(rng, progress)
            question = rng.choice(_PREFIX) + question
            if rng.random() < pii_share:
                sentence, value = _pii(rng)
                question = f"{question} {sentence}" if rng.random() < 0.5 else f"{sentence} {question}"
                pii.append(value)
            spec = _turn(rng, kind, topic, question)
            mid = f"m{len(records):07d}"
            rec = TurnRecord(message_id=mid, session_id=sid, user_id=uid, ts=t, question=question,
                             reply=spec["reply"], decision=spec["decision"], rule=spec["rule"],
                             reason=f"rule {spec['rule']}", confidence=spec["confidence"],
                             latency_ms=round(spec["latency"], 1), sources=spec["sources"], scope=scope)
            records.append(rec)
            topics[mid] = topic
            fb = _feedback(rng, rec, kind, pii)
            if fb is not None:
                feedback.append(fb)
            t += rng.uniform(15, 120)
    return SyntheticLog(tuple(records), tuple(feedback), topics, tuple(dict.fromkeys(pii)))


def populate(turnlog: TurnLog, feedback: FeedbackStore, log: SyntheticLog, scrub: bool = True) -> None:
    """Write `log` into the stores (text scrubbed of PII on the way in unless scrub=False)."""
    turnlog.record_many(log.records, scrub=scrub)
    feedback.add_many(log.feedback, check=False)


__all__ = ["DOWN_TOPIC", "END_TS", "GAP_TOPICS", "KNOWN_TOPICS", "SyntheticLog", "generate", "luhn_card", "populate"]
