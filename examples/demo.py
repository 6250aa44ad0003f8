"""The main job on the bundled example: ingest knowledge/ and run a scripted conversation that
shows all three decisions (answer, clarify then answer, handoff) and a listing search refined by
follow-ups.

    python examples/demo.py [--kb DIR]       # `make demo` runs this; default KB dir: ./kb
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ragbot.bot import Bot  # noqa: E402
from ragbot.chat.events import ReplyEvent, TokenEvent  # noqa: E402
from ragbot.config import BotConfig  # noqa: E402
from ragbot.kb import KnowledgeBase  # noqa: E402

KNOWLEDGE = REPO / "knowledge"
INGESTS = [
    (KNOWLEDGE / "common", {}),
    (KNOWLEDGE / "properties" / "oak-street", {"property": "oak-street"}),
    (KNOWLEDGE / "properties" / "pine-avenue", {"property": "pine-avenue"}),
]
# (who is speaking, message); one session, so the clarifying answer is used by the next turn
SCRIPT = [
    "What are your office hours?",
    "How much is the security deposit?",
    "Pine Avenue",
    "Are dogs allowed at Oak Street Apartments?",
    # listing search over knowledge/common/listings (typed fields, SQL on the chunk store, no model),
    # then follow-ups that refine it (the other conditions are kept) and pick one of the results
    "Do you have a 2-bedroom under $2,600?",
    "what about 3 bedrooms?",
    "tell me more about the first one",
    "There is water pouring through my ceiling and the lights are flickering!",
]


def ingest(kb_dir: Path) -> None:
    config = BotConfig.load(kb_dir)
    if not (kb_dir / "config.json").exists():  # each business keeps its own settings with its KB
        config.prompt.business_name = "Harborview Property Management"
        config.save(kb_dir)
    kb = KnowledgeBase.open(kb_dir, config=config.kb, create=True)
    for folder, scope in INGESTS:
        r = kb.ingest([folder], scope=scope, show_progress=True)
        where = f" (scope {scope})" if scope else ""
        print(f"ingest {folder.relative_to(REPO)}{where}: added {r.added}, updated {r.updated}, "
              f"unchanged {r.unchanged}, skipped {len(r.skipped)}; {r.chunks} chunks in the KB ({r.seconds:.1f} s)")
    for q, scope in [("Can I keep a cat?", {"property": "oak-street"}), ("late fee", None)]:
        hit = kb.search(q, k=1, scope=scope)[0]
        page = f" p.{hit.chunk.page}" if hit.chunk.page else ""
        print(f"search {q!r} scope={scope}: {hit.score:.2f} {hit.chunk.source}{page}")


def converse(kb_dir: Path) -> None:
    bot = Bot.open(kb_dir)
    session = bot.new_session()
    print(f"\n--- conversation (session {session}) ---")
    for message in SCRIPT:
        print(f"\ncustomer: {message}")
        reply = None
        print("bot:\n  > ", end="", flush=True)
        for event in bot.events(message, session=session):  # verified text only, as it becomes final
            if isinstance(event, TokenEvent):
                print(event.text.replace("\n", "\n  > "), end="", flush=True)
            elif isinstance(event, ReplyEvent):
                reply = event.reply
        print()
        srcs = ", ".join(f"{s.source}" + (f" p.{s.page}" if s.page else "") for s in reply.sources) or "-"
        t = reply.timings_ms
        print(f"  [{reply.decision.value.upper()} confidence {reply.confidence:.2f}] {reply.reason}")
        print(f"  sources: {srcs}; {t.get('total', 0):.0f} ms (retrieve {t.get('retrieve', 0):.0f}, "
              f"generate {t.get('generate', 0):.0f})")
        if reply.ticket:
            print(f"  ticket {reply.ticket.ticket_id} ({reply.ticket.urgency}) written to {kb_dir / 'handoffs.jsonl'}")
            bot.release(session)  # a person took it over; the demo hands the session back


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", default=str(REPO / "kb"), help="knowledge-base directory (default ./kb)")
    args = ap.parse_args()
    kb_dir = Path(args.kb)
    t = time.perf_counter()
    ingest(kb_dir)
    converse(kb_dir)
    print(f"\ndone in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
