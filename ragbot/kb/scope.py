"""Scope: key=value pairs attached to chunks at ingest (`--scope property=oak-street`) and used to
filter retrieval. Validation, CLI parsing and the SQL of the chunk filter live here."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Sequence

from ragbot.errors import InputError

_SCOPE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_scope(scope: Mapping[str, str] | None) -> dict[str, str]:
    """Validate scope keys ([A-Za-z0-9_.-], 1-64 chars) and stringify values; raises InputError."""
    out: dict[str, str] = {}
    for k, v in (scope or {}).items():
        if not _SCOPE_KEY.match(str(k)):
            raise InputError(f"scope key {k!r} is invalid: use letters, digits, '_', '-', '.' (e.g. property=oak-street)")
        if v is None or str(v).strip() == "":
            raise InputError(f"scope {k!r} has an empty value; write it as key=value")
        out[str(k)] = str(v).strip()
    return dict(sorted(out.items()))


def parse_scope_args(items: list[str] | None) -> dict[str, str]:
    """Parse CLI `--scope key=value` items into a dict; raises InputError on a malformed item."""
    scope: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--scope {item!r}: expected key=value, e.g. --scope property=oak-street")
        scope[key.strip()] = value.strip()
    return check_scope(scope)


def check_scope_known(scope: Mapping[str, str], known: Mapping[str, Iterable[str]]) -> None:
    """Raise InputError when a scope value is not among the values the KB holds for its key,
    naming the nearest known values (rapidfuzz), e.g. "no documents in property=oak-stret; did you
    mean oak-street?". `known`: key -> the KB's values for it (ChunkStore.scope_values)."""
    from rapidfuzz import process

    for key, value in scope.items():
        values = sorted(set(known.get(key, ())))
        if value in values:
            continue
        if not values:
            raise InputError(f"no documents have a scope {key!r} (asked for {key}={value}); "
                             "check the key, or ingest documents with --scope {key}=VALUE")
        near = [m[0] for m in process.extract(value, values, limit=3, score_cutoff=60)]
        hint = f"did you mean {' or '.join(near)}?" if near else f"known values: {', '.join(values[:10])}"
        raise InputError(f"no documents in {key}={value}; {hint}")


def chunk_filter_sql(scope: Mapping[str, str] | None, include_unscoped: bool, sources: Sequence[str] | None,
                     source_in: Callable[[list[str]], tuple[str, list[Any]]],
                     key_is: Callable[[str, str, bool], tuple[str, list[Any]]]) -> tuple[str, list[Any]] | None:
    """(SQL after WHERE, parameters) selecting the chunks that `ChunkStore.allowed_ids` allows:
    source among `sources` (when not None) and every key=value of `scope` (a chunk without the
    key passes too when `include_unscoped`); None when nothing is filtered. The SQL store spells
    the two conditions in its dialect: `source_in(sources)` and `key_is(key, value,
    include_unscoped)`, each returning (condition, parameters). Raises InputError for a bad scope."""
    scope = check_scope(scope)
    if not scope and sources is None:
        return None
    conds = [source_in(list(sources))] if sources is not None else []
    conds += [key_is(key, value, include_unscoped) for key, value in scope.items()]
    return " AND ".join(sql for sql, _ in conds), [arg for _, args in conds for arg in args]
