"""Grounded training examples built from a knowledge base, in exactly the inference prompt format.

Every example is the chat `messages` list that `ragbot.chat.prompts.build_prompt` produces for a
question and the passages retrieved for it (the same system prompt, numbering and budget the bot
uses), plus the assistant reply the bot should give:

- intent "grounded": an FAQ chunk's question, the passages retrieved for it (scope of the FAQ,
  company-wide chunks included, as `ragbot.chat.turn` does), the FAQ chunk forced in when retrieval
  missed it -> the first `max_answer_sentences` sentences of the FAQ answer + " [n]", n being the
  FAQ passage's number in the prompt.
- intent "quote": for lease/document chunks with clause headings ("5. LATE FEE AND RETURNED
  PAYMENTS", "## Parking"), the first complete sentence containing a digit under each heading
  -> a template question ("What does the Oak Street Apartments Residential Lease Agreement say
  about late fee and returned payments?") and the reply `“<sentence>” [n]`, the quote-first
  form of `ragbot.chat.turn.compose_answer`.
- intent "abstain": a question with the passages retrieved for a DIFFERENT question, none of
  them among the `k_related` best hits for the question itself (searched over the whole KB)
  -> `prompts.DONT_KNOW`, the exact reply the system prompt asks for.

With `shuffle_passages` the gold passage is moved to a random position, so the model learns to
find the passage that answers instead of always citing [1]. Records have the fields of
`ragbot data prepare` output: messages, intent, conversation_id, source.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ragbot.chat import prompts
from ragbot.config import PromptConfig
from ragbot.errors import EmptyKnowledgeBaseError, InputError
from ragbot.text import sentences

QUOTE_DOC_TYPES = ("lease", "document")
_HEADING = re.compile(r"^\s*(?:\d{1,2}\.\s+([A-Z][A-Z0-9 ,'&/()\-]{2,80})|#{1,4}\s+(.{3,80}))\s*$")
_DIGIT = re.compile(r"\d")
QUESTION_TEMPLATES = (
    "What does the {doc} say about {topic}?",
    "According to the {doc}, what are the terms on {topic}?",
    "What is the rule on {topic} in the {doc}?",
)


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def faq_pair(chunk) -> tuple[str, str] | None:
    """(question, answer) of an FAQ chunk from its metadata, else parsed from "Q: ...\\nA: ..."
    text; None when neither is there."""
    meta = chunk.metadata or {}
    q, a = meta.get("question"), meta.get("answer")
    if not (q and a):
        m = re.match(r"\s*Q:\s*(.+?)\n\s*A:\s*(.+)\s*$", chunk.text, re.DOTALL)
        if not m:
            return None
        q, a = m.group(1), m.group(2)
    return _norm(q), _norm(a)


def numeric_clauses(text: str) -> list[tuple[str, str]]:
    """(heading, sentence) pairs: for every heading line in `text` (numbered upper-case clause
    titles or Markdown headings), the first complete sentence of the section after it that
    contains a digit, has no blank form field ("___") and ends with . ! or ?; at most one per
    heading. Sentences cut by a chunk boundary are not used (the section must start at a heading
    inside the chunk)."""
    out, heading, body = [], None, []

    def flush():
        if heading is None:
            return
        for s in sentences(" ".join(body)):
            if _DIGIT.search(s) and "__" not in s and s[-1] in ".!?" and 30 <= len(s) <= 400:
                out.append((heading, s))
                return

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            flush()
            heading, body = _norm(m.group(1) or m.group(2)).strip("#: ").lower(), []
        elif heading is not None:
            body.append(line)
    flush()
    return out


def _doc_name(chunk) -> str:
    from ragbot.chat.retrieval import humanize

    title = (chunk.metadata or {}).get("title")
    return _norm(title) if title else humanize(chunk.source)


def _first_sentences(text: str, n: int) -> str:
    parts = sentences(text)
    return " ".join(parts[:n]) if parts else _norm(text)


class _Item(NamedTuple):
    """A question to build an example for, before retrieval."""
    question: str
    gold: Any  # the ragbot.types.Chunk that answers it
    reply: str  # the assistant reply without the " [n]" citation
    intent: str  # "grounded" or "quote"


class _Retrieved(NamedTuple):
    """What was retrieved for an item's question."""
    passages: list  # Chunks for the prompt: top-k hits, gold forced in and (optionally) moved
    related: set[str]  # chunk ids of the question's k_related best hits (scoped and KB-wide)


def grounded_examples(kb, *, prompt_config: PromptConfig | None = None,
                      count_tokens: Callable[[str], int] | None = None, k: int = 3, k_related: int = 10,
                      abstain_ratio: float = 0.5, quote_doc_types: Sequence[str] = QUOTE_DOC_TYPES,
                      max_answer_sentences: int = 2, shuffle_passages: bool = True, seed: int = 13,
                      show_progress: bool = False) -> list[dict]:
    """Build grounded / quote / abstain chat examples from every chunk of `kb`
    (ragbot.kb.KnowledgeBase). See the module docstring for what each kind contains.

    prompt_config: the PromptConfig the bot uses (a KB's BotConfig.prompt); default PromptConfig().
    count_tokens: the generator's token counter (budgeting as at inference); default: the bundled
        GGUF's tokenizer through LlamaCppGenerator.
    k: passages per prompt (RetrievalConfig.k_prompt). k_related: hits of a question that an
        abstain example's passages must avoid. abstain_ratio: abstain examples per answerable one.
    Examples whose gold passage is dropped or truncated by the token budget are left out.
    Returns a list of {"messages", "intent", "conversation_id", "source"} dicts, seeded order.
    Raises EmptyKnowledgeBaseError when the KB holds no chunks, InputError for bad arguments.
    """
    if k < 1 or k_related < k:
        raise InputError(f"need k >= 1 and k_related >= k, got k={k}, k_related={k_related}")
    if abstain_ratio < 0 or max_answer_sentences < 1:
        raise InputError("abstain_ratio must be >= 0 and max_answer_sentences >= 1")
    if kb.index is None or len(kb) == 0:
        raise EmptyKnowledgeBaseError(f"the knowledge base at {kb.root} is empty; ingest documents first")
    pc = prompt_config or PromptConfig()
    if count_tokens is None:
        from ragbot.config import GeneratorConfig
        from ragbot.generators.llama import LlamaCppGenerator

        count_tokens = LlamaCppGenerator(GeneratorConfig()).count_tokens
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    items = _items(kb, quote_doc_types, max_answer_sentences, rng)
    answerable, retrieved = [], []  # retrieved[i]: what was retrieved for items[i]
    for item in tqdm(items, desc="grounded examples", unit="q", disable=not show_progress):
        retrieved.append(_retrieve(kb, item, k, k_related, shuffle_passages, rng))
        record = _answerable(item, retrieved[-1].passages, pc, count_tokens)
        if record is not None:
            answerable.append(record)
    abstain = _abstain(items, retrieved, round(abstain_ratio * len(answerable)), pc, count_tokens, rng)
    out = answerable + abstain
    rng.shuffle(out)
    return out


def _items(kb, quote_doc_types: Sequence[str], max_answer_sentences: int, rng: random.Random) -> list[_Item]:
    """FAQ ("grounded") and clause ("quote") items from every chunk, in chunk-id order; a quote
    item's question template is drawn from `rng`."""
    chunks = kb.chunks_by_ids(kb.index.ids().tolist())
    items = []
    for _, c in sorted(chunks.items()):
        if c.doc_type == "faq":
            pair = faq_pair(c)
            if pair:
                items.append(_Item(pair[0], c, _first_sentences(pair[1], max_answer_sentences), "grounded"))
        elif c.doc_type in quote_doc_types:
            for topic, sent in numeric_clauses(c.text):
                q = rng.choice(QUESTION_TEMPLATES).format(doc=_doc_name(c), topic=topic)
                items.append(_Item(q, c, f"“{sent}”", "quote"))
    return items


def _retrieve(kb, item: _Item, k: int, k_related: int, shuffle_passages: bool, rng: random.Random) -> _Retrieved:
    """The item's top-k passages (its scope plus company-wide chunks), the gold chunk put in the
    last place when retrieval missed it, then (shuffle_passages) swapped to a random position."""
    gold = item.gold
    hits = kb.search(item.question, k=k_related, scope=dict(gold.scope) or None, include_unscoped=True)
    related = {h.chunk.chunk_id for h in hits}
    related |= {h.chunk.chunk_id for h in kb.search(item.question, k=k_related)}
    passages = [h.chunk for h in hits[:k]]
    ids = [p.chunk_id for p in passages]
    if gold.chunk_id in ids:
        pos = ids.index(gold.chunk_id)
    else:
        pos = len(passages) - 1 if len(passages) == k else len(passages)
        passages[pos:pos + 1] = [gold]
    if shuffle_passages and len(passages) > 1:
        new = rng.randrange(len(passages))
        passages[pos], passages[new] = passages[new], passages[pos]
    return _Retrieved(passages, related)


def _answerable(item: _Item, passages: list, pc: PromptConfig, count_tokens: Callable[[str], int]) -> dict | None:
    """The answer example citing the gold passage's number; None when the token budget dropped
    or truncated the gold passage."""
    prompt = prompts.build_prompt(item.question, passages, [], pc, count_tokens)
    shown = [p.chunk_id for p in prompt.passages]
    if item.gold.chunk_id not in shown:
        return None
    n = shown.index(item.gold.chunk_id) + 1
    if prompt.passage_indices[n - 1] in prompt.truncated:
        return None
    return _record(prompt.messages, f"{item.reply} [{n}]", item.intent, item.gold, item.question)


def _abstain(items: list[_Item], retrieved: list[_Retrieved], n_abstain: int, pc: PromptConfig,
             count_tokens: Callable[[str], int], rng: random.Random) -> list[dict]:
    """Up to `n_abstain` DONT_KNOW examples, items taken in a seeded order (at most one each)."""
    abstain = []
    order = list(range(len(items)))
    rng.shuffle(order)
    for i in order:
        if len(abstain) >= n_abstain:
            break
        record = _abstain_one(i, items, retrieved, pc, count_tokens, rng)
        if record is not None:
            abstain.append(record)
    return abstain


def _abstain_one(i: int, items: list[_Item], retrieved: list[_Retrieved], pc: PromptConfig,
                 count_tokens: Callable[[str], int], rng: random.Random) -> dict | None:
    """items[i]'s question with the passages of the first of 50 seeded other items whose passages
    avoid its related chunks (and its gold one); None when no such donor yields a prompt."""
    question, gold = items[i].question, items[i].gold
    related = retrieved[i].related | {gold.chunk_id}
    donors = [j for j in range(len(items)) if j != i]
    rng.shuffle(donors)
    for j in donors[:50]:
        passages = retrieved[j].passages
        if any(p.chunk_id in related for p in passages):
            continue
        prompt = prompts.build_prompt(question, passages, [], pc, count_tokens)
        if prompt.passages:
            return _record(prompt.messages, prompts.DONT_KNOW, "abstain", gold, question)
    return None


def _record(messages: list[dict], reply: str, intent: str, gold, question: str) -> dict:
    import hashlib

    key = hashlib.sha256(f"{intent}\x00{gold.chunk_id}\x00{question}".encode()).hexdigest()[:16]
    return {"messages": [dict(m) for m in messages] + [{"role": "assistant", "content": reply}],
            "intent": intent, "conversation_id": f"kb:{key}", "source": gold.source}


def write_jsonl(examples: Iterable[dict], path: str | Path) -> Path:
    """Write examples as JSONL (one object a line, UTF-8) atomically; returns the path."""
    from ragbot.util import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples))
    return path


def count_by_intent(examples: Iterable[dict]) -> dict[str, int]:
    """{intent: number of examples}, sorted by intent."""
    from collections import Counter

    c = Counter(str(e.get("intent")) for e in examples)
    return dict(sorted(c.items()))


__all__ = ["QUESTION_TEMPLATES", "count_by_intent", "faq_pair", "grounded_examples", "numeric_clauses",
           "sentences", "write_jsonl"]
