"""Shared reading helpers for the loaders: checked byte reads, text decoding with a fallback,
case-insensitive field lookup, and table records from CSV/TSV, JSON and JSONL files.

Every failure a user can fix is raised as `IngestError(path, reason)`; the ingest skips the file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ragbot.errors import IngestError

log = logging.getLogger(__name__)

TABLE_EXTENSIONS = frozenset({".csv", ".tsv", ".json", ".jsonl"})
_DELIMITERS = (",", ";", "\t", "|")
# Cell values that mean "no value" in real exports (UCI writes the string "null").
_EMPTY_VALUES = frozenset({"", "null", "nan"})


def read_bytes(path: Path) -> bytes:
    """The file's bytes. Raises IngestError: missing file, a folder, unreadable, or size 0 ("empty file")."""
    if not path.exists():
        raise IngestError(str(path), "file not found")
    if path.is_dir():
        raise IngestError(str(path), "is a folder, not a file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(str(path), f"cannot read the file: {e.strerror or e}") from e
    if not data:
        raise IngestError(str(path), "empty file")
    return data


def decode_text(data: bytes, path: Path) -> str:
    """Decode as UTF-8 (a BOM is dropped); on failure try cp1252, then latin-1 (which always
    succeeds), logging a warning naming the encoding used. NUL bytes are removed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        for enc in ("cp1252", "latin-1"):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            log.warning("%s is not UTF-8 (byte %d: %s); decoded as %s, check accented characters",
                        path, e.start, e.reason, enc)
            break
    return text.replace("\x00", "")


def read_text(path: Path) -> str:
    """read_bytes + decode_text; raises IngestError("empty file") when only whitespace remains."""
    text = decode_text(read_bytes(path), path)
    if not text.strip():
        raise IngestError(str(path), "empty file")
    return text


def clean_value(value: Any) -> str | None:
    """A cell as a stripped string, or None when it is empty or a "null"/"nan" placeholder."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        s = json.dumps(value, ensure_ascii=False) if value else ""
    else:
        s = str(value).strip()
    return None if s.lower() in _EMPTY_VALUES else s


def find_field(keys: Iterable[str], aliases: Sequence[str]) -> str | None:
    """The first key matching an alias (case- and surrounding-space-insensitive), in alias order."""
    by_lower: dict[str, str] = {}
    for k in keys:
        by_lower.setdefault(str(k).strip().lower(), k)
    for alias in aliases:
        if alias.strip().lower() in by_lower:
            return by_lower[alias.strip().lower()]
    return None


@dataclass
class Records:
    """Rows of a table file. rows: (1-based record number, {column: value}); for CSV the number
    counts data rows after the header, for JSONL it is the line number, for JSON the list position.
    skipped: malformed rows left out (wrong field count, invalid JSON line, not an object)."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    skipped: int = 0


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most columns on the header line (robust to multi-line quoted
    fields further down, which confuse csv.Sniffer)."""
    first = next(iter(text.splitlines()), "")
    best, best_n = ",", 1
    for d in _DELIMITERS:
        try:
            n = len(next(csv.reader([first], delimiter=d)))
        except (csv.Error, StopIteration):
            continue
        if n > best_n:
            best, best_n = d, n
    return best


def read_csv_records(path: Path, text: str) -> Records:
    """Parse CSV/TSV text (delimiter from the header line). Rows with a field count different
    from the header's are skipped, counted and logged; blank lines are ignored.
    Raises IngestError when there is no header or the CSV cannot be parsed."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = Records()
    try:
        header = next((r for r in reader if any(c.strip() for c in r)), None)
        if header is None:
            raise IngestError(str(path), "empty file")
        out.fields = [h.strip() for h in header]
        n = 0
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            n += 1
            if len(row) != len(header):
                out.skipped += 1
                log.warning("%s: data row %d (line %d) has %d fields, the header has %d; row skipped",
                            path, n, reader.line_num, len(row), len(header))
                continue
            out.rows.append((n, dict(zip(out.fields, row))))
    except csv.Error as e:
        raise IngestError(str(path), f"malformed CSV near line {reader.line_num}: {e}") from e
    return out


def _pick_list(obj: dict, prefer: Callable[[list[str]], bool] | None) -> list | None:
    lists = [v for v in obj.values() if isinstance(v, list) and any(isinstance(x, dict) for x in v)]
    if len(lists) > 1 and prefer is not None:
        lists = [v for v in lists if prefer(_keys_of(v))] or lists
    return lists[0] if lists else None


def _keys_of(items: list) -> list[str]:
    keys: dict[str, None] = {}
    for x in items[:50]:
        if isinstance(x, dict):
            keys.update(dict.fromkeys(map(str, x)))
    return list(keys)


def read_json_records(path: Path, text: str, prefer: Callable[[list[str]], bool] | None = None) -> Records:
    """Records of a JSON file: a list of objects, an object holding such a list (e.g.
    {"faqs": [...]}; with several lists the first for which `prefer(keys)` is true), or one
    object. Raises IngestError for invalid JSON or when no list of objects is found."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise IngestError(str(path), f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from e
    if isinstance(data, dict):
        items = _pick_list(data, prefer)
        if items is None:
            items = [data] if prefer is not None and prefer(list(map(str, data))) else None
        if items is None:
            raise IngestError(str(path), "JSON object holds no list of records; expected a list of objects "
                                         "or an object like {\"items\": [{...}, ...]}")
    elif isinstance(data, list):
        items = data
    else:
        raise IngestError(str(path), f"JSON holds a {type(data).__name__}; expected a list of objects")
    out = Records(fields=_keys_of(items))
    for i, item in enumerate(items, 1):
        if isinstance(item, dict):
            out.rows.append((i, {str(k): v for k, v in item.items()}))
        else:
            out.skipped += 1
            log.warning("%s: item %d is a %s, not an object; skipped", path, i, type(item).__name__)
    return out


def read_jsonl_records(path: Path, text: str) -> Records:
    """Records of a JSON Lines file, numbered by line; invalid lines are skipped and logged."""
    out = Records()
    keys: dict[str, None] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            out.skipped += 1
            log.warning("%s: line %d is not valid JSON (%s); skipped", path, lineno, e.msg)
            continue
        if not isinstance(item, dict):
            out.skipped += 1
            log.warning("%s: line %d is not a JSON object; skipped", path, lineno)
            continue
        keys.update(dict.fromkeys(map(str, item)))
        out.rows.append((lineno, {str(k): v for k, v in item.items()}))
    out.fields = list(keys)
    return out


def read_records(path: Path, prefer: Callable[[list[str]], bool] | None = None) -> Records:
    """Records of a .csv/.tsv/.json/.jsonl file (see the readers above). Raises IngestError for an
    empty or unparsable file."""
    text = read_text(path)
    ext = path.suffix.lower()
    if ext == ".json":
        return read_json_records(path, text, prefer)
    if ext == ".jsonl":
        return read_jsonl_records(path, text)
    return read_csv_records(path, text)


def peek_fields(path: Path, prefer: Callable[[list[str]], bool] | None = None) -> list[str]:
    """Column names of a table file without parsing all of a CSV (its header line only).
    Returns [] when the file cannot be read; the loader reports the real problem later."""
    try:
        if path.suffix.lower() in (".csv", ".tsv"):
            with open(path, "rb") as f:
                head = f.read(1 << 16).decode("utf-8", errors="replace").lstrip("\ufeff")
            first = next((line for line in head.splitlines() if line.strip()), "")
            return read_csv_records(path, first).fields if first else []
        return read_records(path, prefer).fields
    except (IngestError, OSError):
        return []
