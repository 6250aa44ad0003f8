"""FAQ loaders: question/answer pairs from CSV/TSV, JSON, JSONL and Markdown (or HTML) headings.

One Document per pair: doc_type "faq", text "Q: <question>\\nA: <answer>", source = file name,
metadata {"question", "answer", "row" (1-based), other non-empty columns}. Question and answer
columns are found by the aliases in LoaderConfig (case-insensitive, first alias that matches).
Rows lacking a question or an answer are skipped and logged; a file with no valid pair raises
IngestError.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from ragbot.config import LoaderConfig
from ragbot.errors import IngestError
from ragbot.types import Document
from ragbot.kb.ingest._io import Records, clean_value, find_field, read_records, read_text

log = logging.getLogger(__name__)

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def faq_text(question: str, answer: str) -> str:
    """The indexed text of an FAQ pair."""
    return f"Q: {question}\nA: {answer}"


def has_faq_fields(keys: list[str], config: LoaderConfig) -> bool:
    """True when `keys` holds both a question and an answer field (distinct columns)."""
    q = find_field(keys, config.faq_question_fields)
    a = find_field(keys, config.faq_answer_fields)
    return q is not None and a is not None and q != a


def _faq_columns(path: Path, recs: Records, config: LoaderConfig) -> tuple[str, str]:
    q = find_field(recs.fields, config.faq_question_fields)
    a = find_field([f for f in recs.fields if f != q], config.faq_answer_fields)
    if q is None or a is None:
        missing = " and ".join(n for n, c in (("question", q), ("answer", a)) if c is None)
        found = ", ".join(repr(f) for f in recs.fields[:30]) or "none"
        raise IngestError(str(path), (
            f"no {missing} column; columns found: {found}; accepted question names: "
            f"{', '.join(config.faq_question_fields)}; answer names: {', '.join(config.faq_answer_fields)} "
            "(rename a column or set loaders.faq_question_fields / faq_answer_fields)"))
    return q, a


def load_faq_table(path: Path, config: LoaderConfig) -> list[Document]:
    """FAQ pairs from a .csv/.tsv/.json/.jsonl file.

    Raises IngestError: empty or unparsable file, no question/answer columns (naming the columns
    found and the accepted aliases), or no row with both a question and an answer.
    """
    recs = read_records(path, prefer=lambda keys: has_faq_fields(keys, config))
    if not recs.rows:
        raise IngestError(str(path), "no data rows" + (f" ({recs.skipped} malformed rows skipped)" if recs.skipped else ""))
    q_col, a_col = _faq_columns(path, recs, config)
    docs: list[Document] = []
    bad = 0
    for n, row in recs.rows:
        # JSON/JSONL records may spell the key differently from the first records
        q_key = q_col if q_col in row else find_field(row, config.faq_question_fields)
        a_key = a_col if a_col in row else find_field([k for k in row if k != q_key], config.faq_answer_fields)
        question = clean_value(row.get(q_key)) if q_key else None
        answer = clean_value(row.get(a_key)) if a_key else None
        if not question or not answer:
            bad += 1
            log.warning("%s row %d: no %s; row skipped", path.name, n, "question" if not question else "answer")
            continue
        meta: dict[str, Any] = {"question": question, "answer": answer, "row": n}
        for k, v in row.items():
            if k in (q_key, a_key) or not str(k).strip() or k in meta:
                continue
            if isinstance(v, (dict, list)) and v:
                meta[k] = v
            elif (s := clean_value(v)) is not None:
                meta[k] = v if isinstance(v, (int, float, bool)) else s
        docs.append(Document(faq_text(question, answer), path.name, "faq", str(path.resolve()), None, meta))
    if not docs:
        raise IngestError(str(path), f"no row has both a question ({q_col!r}) and an answer ({a_col!r}); "
                                     f"{bad} rows without one")
    if bad or recs.skipped:
        log.warning("%s: %d FAQ pairs loaded, %d rows without question/answer and %d malformed rows skipped",
                    path.name, len(docs), bad, recs.skipped)
    return docs


def split_heading_pairs(text: str) -> list[tuple[str, str, str | None]]:
    """(question, answer, section) triples from Markdown text whose headings are questions.

    Questions are the headings ending with '?'; when no heading ends with '?', every heading is
    a question. The answer is the text after the heading up to the next heading of the same or
    a higher level, or the next question heading. `section` is the nearest non-question heading
    above (e.g. "Parking"), or None. Headings inside fenced code blocks are ignored.
    """
    headings: list[tuple[int, int, str]] = []  # (line index, level, text)
    lines = text.splitlines()
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else _HEADING.match(line)
        if m and m.group(2).strip():
            headings.append((i, len(m.group(1)), m.group(2).strip()))
    any_q = any(h[2].endswith("?") for h in headings)
    pairs: list[tuple[str, str, str | None]] = []
    section: str | None = None
    for j, (i, level, title) in enumerate(headings):
        if any_q and not title.endswith("?"):
            section = title
            continue
        end = len(lines)
        for i2, level2, title2 in headings[j + 1:]:
            if level2 <= level or (any_q and title2.endswith("?")):
                end = i2
                break
        answer = "\n".join(lines[i + 1:end]).strip()
        answer = re.sub(r"\n{3,}", "\n\n", answer)
        pairs.append((title, answer, section))
    return pairs


def faq_documents_from_headings(path: Path, text: str) -> list[Document]:
    """FAQ Documents from Markdown-style text (see split_heading_pairs); metadata "row" is the
    1-based pair number. Raises IngestError when no heading with an answer is found."""
    docs: list[Document] = []
    empty = 0
    for question, answer, section in split_heading_pairs(text):
        if not answer:
            empty += 1
            log.warning("%s: question %r has no answer text; skipped", path.name, question)
            continue
        meta: dict[str, Any] = {"question": question, "answer": answer, "row": len(docs) + 1}
        if section:
            meta["section"] = section
        docs.append(Document(faq_text(question, answer), path.name, "faq", str(path.resolve()), None, meta))
    if not docs:
        raise IngestError(str(path), "no FAQ pairs found: expected headings as questions (e.g. '## How do I pay "
                                     "rent?') each followed by its answer; or ingest it with --type document")
    return docs


def load_faq_markdown(path: Path) -> list[Document]:
    """FAQ pairs from a Markdown file whose headings are questions. Raises IngestError (empty file,
    no pairs)."""
    return faq_documents_from_headings(path, read_text(path))
