"""Small shared helpers, one copy each: atomic file writes, optional imports with an install
hint, strict JSON Lines reading (eval files, fine-tuning data; ingest and `ragbot data prepare`
skip bad rows instead: ragbot.kb.ingest._io, ragbot.tune.data.io)."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

from ragbot.errors import InputError, missing_dependency


def fsync_dir(folder: Path) -> None:
    """fsync a directory so a rename in it survives a crash (no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], mode: int = 0o644) -> None:
    """Write `path` atomically: `write(tmp_path)` fills a temp file in the same folder, which is
    fsynced, given `mode` (mkstemp creates 0600) and renamed over `path` (os.replace). On any
    error the temp file is removed and `path` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        fsync_file(Path(tmp))
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """`atomic_write` of UTF-8 text."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def optional_import(module: str, extra: str | None = None, package: str | None = None):
    """Import an optional dependency, or raise MissingDependencyError with the install command
    (`pip install 'ragbot[extra]'` or `pip install package`)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise missing_dependency(module, extra=extra, package=package) from e


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
