"""Strict JSON Lines reading shared by the eval-file loader and the fine-tuning data reader.
(Ingest and `ragbot data prepare` skip bad rows instead: ragbot.kb.ingest._io, ragbot.tune.data.io.)"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from ragbot.errors import InputError


def iter_jsonl_objects(path: str | os.PathLike, what: str = "JSONL file") -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON Lines file, 1-based.
    Raises InputError "<path>: <what> not found", "<path>:<n>: not valid JSON (...)" or
    "<path>:<n>: not a JSON object"."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{n}: not valid JSON ({e})") from e
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{n}: not a JSON object (one object per line)")
            yield n, obj
