"""Load conversation data for fine-tuning into `Example`s.

Accepted files (chosen by extension):
- `.csv`: one instruction/response pair per row. Columns are matched case-insensitively:
  instruction | prompt | question | input | query  -> the user turn,
  response | output | answer | completion          -> the assistant turn,
  intent | label | category | topic                -> the class (first present wins, so a file
                                                       with both `intent` and `category` uses intent),
  conversation_id                                  -> optional grouping key (rows sharing it are
                                                       kept in the same split).
  Other columns (Bitext's entity_type, tags, ...) are ignored.
- `.jsonl`: one JSON object per line, either a pair with the same field names as above, or a
  multi-turn chat `{"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}`
  (OpenAI style) with optional `intent`/`label`/`category`/`topic` and `conversation_id`/`id`.

`source` is "<file name>:<n>": n is the 1-based data row for CSV (the header is not counted; a
quoted field may span several physical lines) and the 1-based line number for JSONL.
Rows that cannot be used (no user or assistant text, bad JSON, bad roles) are skipped and
reported in `LoadResult.skipped`, or raise IngestError naming file and row when `strict=True`.
Text is loaded as it is; normalisation happens in `ragbot.tune.data.clean`.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ragbot.errors import IngestError

USER_FIELDS = ("instruction", "prompt", "question", "input", "query")
ASSISTANT_FIELDS = ("response", "output", "answer", "completion")
INTENT_FIELDS = ("intent", "label", "category", "topic")
CONVERSATION_FIELDS = ("conversation_id",)
ROLES = ("system", "user", "assistant")
SUFFIXES = (".csv", ".jsonl")


@dataclass(frozen=True)
class Example:
    """One training conversation.

    conversation_id: grouping key; examples sharing it never land in different splits.
    messages: tuple of {"role": "system"|"user"|"assistant", "content": str} dicts, in order;
        at least one user and one assistant message. Treat the dicts as read-only.
    intent: the class used for balancing and stratification, or None.
    source: "<file name>:<row or line>" the example came from.
    """

    conversation_id: str
    messages: tuple[dict[str, str], ...] = field(hash=False)
    intent: str | None
    source: str

    def text(self, roles: Iterable[str] = ("user", "assistant")) -> str:
        """The contents of the messages with the given roles, joined by newlines."""
        roles = tuple(roles)
        return "\n".join(m["content"] for m in self.messages if m["role"] in roles)

    def to_dict(self) -> dict[str, Any]:
        """The JSONL record written by `prepare`: messages, intent, conversation_id, source."""
        return {"messages": [dict(m) for m in self.messages], "intent": self.intent,
                "conversation_id": self.conversation_id, "source": self.source}


@dataclass(frozen=True)
class SkippedRow:
    source: str
    reason: str


@dataclass
class LoadResult:
    """examples: loaded in file order; skipped: rows not loaded, with the reason."""

    examples: list[Example] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)


class _BadRow(ValueError):
    pass


def _pick(row: Mapping[str, Any], names: Iterable[str]) -> Any:
    for name in names:
        if name in row and row[name] not in (None, ""):
            return row[name]
    return None


def _as_text(value: Any, what: str) -> str:
    if value is None:
        raise _BadRow(f"no {what} text")
    if not isinstance(value, (str, int, float)):
        raise _BadRow(f"{what} is a {type(value).__name__}, not text")
    text = str(value)
    if not text.strip():
        raise _BadRow(f"empty {what} text")
    return text


def _intent(row: Mapping[str, Any]) -> str | None:
    value = _pick(row, INTENT_FIELDS)
    return str(value).strip() or None if value is not None else None


def _pair(row: Mapping[str, Any], source: str, default_id: str) -> Example:
    user = _as_text(_pick(row, USER_FIELDS), f"user ({'|'.join(USER_FIELDS)})")
    assistant = _as_text(_pick(row, ASSISTANT_FIELDS), f"assistant ({'|'.join(ASSISTANT_FIELDS)})")
    conv = _pick(row, CONVERSATION_FIELDS)
    return Example(str(conv) if conv is not None else default_id,
                   ({"role": "user", "content": user}, {"role": "assistant", "content": assistant}),
                   _intent(row), source)


def _chat(obj: Mapping[str, Any], source: str, default_id: str) -> Example:
    msgs = obj["messages"]
    if not isinstance(msgs, list) or not msgs:
        raise _BadRow("'messages' must be a non-empty list")
    out = []
    for i, m in enumerate(msgs):
        if not isinstance(m, Mapping):
            raise _BadRow(f"messages[{i}] is not an object")
        role = m.get("role")
        if role not in ROLES:
            raise _BadRow(f"messages[{i}].role is {role!r}; use one of {ROLES}")
        out.append({"role": role, "content": _as_text(m.get("content"), f"messages[{i}].content")})
    roles = {m["role"] for m in out}
    if not {"user", "assistant"} <= roles:
        raise _BadRow("a conversation needs at least one user and one assistant message")
    conv = _pick(obj, CONVERSATION_FIELDS + ("id",))
    return Example(str(conv) if conv is not None else default_id, tuple(out), _intent(obj), source)


def _normalise_keys(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in row.items() if k is not None}


def _iter_csv(path: Path) -> Iterator[tuple[str, str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if not any(h in header for h in USER_FIELDS) or not any(h in header for h in ASSISTANT_FIELDS):
            raise IngestError(str(path), f"CSV header {header} has no user column ({'|'.join(USER_FIELDS)}) "
                                         f"or no assistant column ({'|'.join(ASSISTANT_FIELDS)}); rename the columns")
        for n, row in enumerate(reader, start=1):
            if None in row:  # more fields than the header names
                yield f"{path.name}:{n}", f"{path.name}:{n}", _BadRow(f"{len(row[None])} more field(s) than the header")
                continue
            yield f"{path.name}:{n}", f"{path.name}:{n}", _normalise_keys(row)


def _iter_jsonl(path: Path) -> Iterator[tuple[str, str, Any]]:
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield f"{path.name}:{n}", f"{path.name}:{n}", _BadRow(f"invalid JSON ({e.msg} at column {e.colno})")
                continue
            if not isinstance(obj, dict):
                yield f"{path.name}:{n}", f"{path.name}:{n}", _BadRow("a line must be a JSON object")
                continue
            yield f"{path.name}:{n}", f"{path.name}:{n}", _normalise_keys(obj)


def load_file(path: str | Path, strict: bool = False) -> LoadResult:
    """Load one .csv or .jsonl file (formats in the module docstring).

    strict: raise IngestError("<file>:<row>", reason) on the first unusable row instead of
    skipping it. Raises IngestError for a missing/unreadable file, an unknown extension or a
    CSV without user/assistant columns.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise IngestError(str(path), f"unsupported file type {path.suffix!r}; use one of {SUFFIXES}")
    if not path.is_file():
        raise IngestError(str(path), "file not found")
    rows = _iter_csv(path) if path.suffix.lower() == ".csv" else _iter_jsonl(path)
    result = LoadResult()
    try:
        for source, default_id, row in rows:
            try:
                if isinstance(row, _BadRow):
                    raise row
                ex = _chat(row, source, default_id) if "messages" in row else _pair(row, source, default_id)
            except _BadRow as e:
                if strict:
                    raise IngestError(source, f"{e}; fix the row or load without strict to skip it") from None
                result.skipped.append(SkippedRow(source, str(e)))
                continue
            result.examples.append(ex)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise IngestError(str(path), f"cannot read the file ({e}); it must be UTF-8 text") from e
    return result


def load_examples(paths: Iterable[str | Path], strict: bool = False) -> LoadResult:
    """Load several files (each as `load_file`); folders are expanded to their .csv/.jsonl files
    (sorted). Raises IngestError when no path is given or a folder holds no such file."""
    result = LoadResult()
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file())
            if not found:
                raise IngestError(str(p), f"folder holds no {'/'.join(SUFFIXES)} file")
            files += found
        else:
            files.append(p)
    if not files:
        raise IngestError("<inputs>", "no input file given")
    for f in files:
        r = load_file(f, strict=strict)
        result.examples += r.examples
        result.skipped += r.skipped
    return result
