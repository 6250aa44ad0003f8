"""Curated answer overrides: an approved answer to a question, served verbatim (rule `override`)
before retrieval, like the FAQ fast path (`ragbot.chat.retrieval.faq_match`).

Versioned (table `overrides`): every add, edit, disable or enable writes a new version row
(override_id, version, question, answer, scope, active, author, ts, feedback_id); the highest
version is the current state, older rows are the history (who changed what, when).

Matching (`OverrideStore.match`): the user's question against the questions of the current,
active overrides whose scope the turn is in:
- scope: an override scoped {property: oak-street} answers only turns whose scope holds
  property=oak-street (every key=value of the override's scope); an unscoped override answers
  any turn; an override never answers a turn outside its scope (or an unscoped turn).
- a match needs cosine(question embeddings) >= min_score AND rapidfuzz token_set_ratio of the
  lower-cased questions >= min_ratio (0..100), as the FAQ fast path. A scoped override's
  question and the user's are compared with the scope's name left out ("... at Oak Street").
- among matches, a scoped override wins over an unscoped one, then the higher cosine (ties:
  the older override).
Question embeddings are cached in `override_vectors` as float32 blobs keyed by
(override_id, version, embedder name), and in memory as one (n, dim) matrix per store, rebuilt
when the table changes; a match is one matrix-vector product plus rapidfuzz on the few
candidates above min_score (einsum over the turn's scopes' contiguous rows, not BLAS, whose
threads contend on a busy server).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ragbot.errors import InputError
from ragbot.state.db import StateDB, query_one

DEFAULT_MIN_SCORE = 0.75
DEFAULT_MIN_RATIO = 70.0
MAX_CHARS = 4000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS overrides (
    override_id TEXT NOT NULL, version INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '{}', active INTEGER NOT NULL, author TEXT, ts REAL NOT NULL, feedback_id TEXT,
    PRIMARY KEY (override_id, version));
CREATE TABLE IF NOT EXISTS override_vectors (
    override_id TEXT NOT NULL, version INTEGER NOT NULL, embedder TEXT NOT NULL, dim INTEGER NOT NULL,
    vector BLOB NOT NULL, PRIMARY KEY (override_id, version, embedder));
"""
_CURRENT = ("SELECT o.* FROM overrides o JOIN (SELECT override_id, MAX(version) AS v FROM overrides "
            "GROUP BY override_id) m ON o.override_id = m.override_id AND o.version = m.v")


class OverrideNotFoundError(InputError, KeyError):
    """An override_id was given that the override store does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown override"


@dataclass(frozen=True)
class Override:
    """One version of an override. scope: key=value pairs ({} = company-wide); active: False
    once disabled; author: who wrote this version; ts: Unix seconds; feedback_id: the feedback
    whose correction it was approved from, or None."""

    override_id: str
    version: int
    question: str
    answer: str
    scope: Mapping[str, str] = field(default_factory=dict)
    active: bool = True
    author: str | None = None
    ts: float = 0.0
    feedback_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"override_id": self.override_id, "version": self.version, "question": self.question,
                "answer": self.answer, "scope": dict(self.scope), "active": self.active, "author": self.author,
                "ts": self.ts, "feedback_id": self.feedback_id}


@dataclass(frozen=True)
class OverrideMatch:
    """A matched override: its id and version, the answer to reply with verbatim, the cosine
    `score` in [-1, 1] and the rapidfuzz `ratio` in [0, 100] of the two questions."""

    override_id: str
    version: int
    answer: str
    score: float
    ratio: float


def _override(row) -> Override:
    return Override(override_id=row["override_id"], version=int(row["version"]), question=row["question"],
                    answer=row["answer"], scope=json.loads(row["scope"]), active=bool(row["active"]),
                    author=row["author"], ts=float(row["ts"]), feedback_id=row["feedback_id"])


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"override field {name!r} must be non-empty text, got {value!r}")
    value = " ".join(value.split())
    if len(value) > MAX_CHARS:
        raise InputError(f"override field {name!r} has {len(value)} characters, more than {MAX_CHARS}; shorten it")
    return value


def _scope(scope: Mapping[str, str] | None) -> dict[str, str]:
    from ragbot.kb.scope import check_scope

    return dict(sorted(check_scope(scope).items()))


def _in_scope(override_scope: Mapping[str, str], turn_scope: Mapping[str, str]) -> bool:
    return all(turn_scope.get(k) == v for k, v in override_scope.items())


def _strip_scope(text: str, scope: Mapping[str, str]) -> str:
    if not scope:
        return text
    from ragbot.chat.retrieval import humanize, strip_names

    return strip_names(text, [humanize(v) for v in scope.values()])


@dataclass(frozen=True)
class _Matrix:
    """The in-memory match index for one embedder: the current active overrides grouped by
    scope (each group a contiguous row range, so a turn multiplies only its scopes' rows, without
    copies), their stripped questions, a (n, dim) float32 matrix, and `age`: each row's position
    in creation order (ties go to the older override)."""

    key: tuple
    items: tuple[Override, ...]
    questions: tuple[str, ...]
    vectors: np.ndarray
    age: np.ndarray
    groups: tuple[tuple[Mapping[str, str], int, int], ...]


class OverrideStore:
    """Versioned overrides in a StateDB, with a cached embedding matrix for `match`.

    min_score / min_ratio: default match thresholds (cosine, rapidfuzz 0..100), calibratable
    like the FAQ fast path's `faq_min_score` / `faq_min_ratio`."""

    def __init__(self, db: StateDB, min_score: float = DEFAULT_MIN_SCORE, min_ratio: float = DEFAULT_MIN_RATIO):
        self.db = db
        self.min_score = float(min_score)
        self.min_ratio = float(min_ratio)
        self._matrices: dict[str, _Matrix] = {}
        db.executescript(_SCHEMA)

    # ------------------------------------------------------------------ writing
    def add(self, question: str, answer: str, scope: Mapping[str, str] | None = None, author: str | None = None,
            feedback_id: str | None = None) -> Override:
        """A new active override (version 1). Raises InputError for empty or oversized text or
        a malformed scope (field named)."""
        ov = Override(uuid.uuid4().hex[:12], 1, _text(question, "question"), _text(answer, "answer"), _scope(scope),
                      True, author, time.time(), feedback_id)
        self._write(ov)
        return ov

    def approve(self, feedback, turnlog, scope: Mapping[str, str] | None = None, author: str | None = None,
                question: str | None = None) -> Override:
        """Turn a feedback correction into an override: the question of the rated reply (from
        `turnlog`, already PII-scrubbed; or `question`) answered by the correction. scope: the
        override's scope (default: the turn's scope). Raises InputError when the feedback has
        no correction."""
        if not feedback.correction:
            raise InputError(f"feedback {feedback.feedback_id} has no correction to approve; add one with "
                             "'ragbot feedback add MESSAGE_ID --down --correction \"...\"' or use 'overrides add'")
        turn = turnlog.get(feedback.message_id)
        return self.add(question or turn.question, feedback.correction,
                        turn.scope if scope is None else scope, author=author, feedback_id=feedback.feedback_id)

    def edit(self, override_id: str, question: str | None = None, answer: str | None = None,
             scope: Mapping[str, str] | None = None, author: str | None = None) -> Override:
        """A new version with the given fields changed (None keeps a field)."""
        cur = self.get(override_id)
        ov = Override(override_id, cur.version + 1, _text(question, "question") if question is not None else cur.question,
                      _text(answer, "answer") if answer is not None else cur.answer,
                      _scope(scope) if scope is not None else dict(cur.scope), cur.active, author, time.time(),
                      cur.feedback_id)
        self._write(ov)
        return ov

    def set_active(self, override_id: str, active: bool, author: str | None = None) -> Override:
        """Disable (active=False) or re-enable an override, as a new version."""
        cur = self.get(override_id)
        ov = Override(override_id, cur.version + 1, cur.question, cur.answer, dict(cur.scope), bool(active), author,
                      time.time(), cur.feedback_id)
        self._write(ov)
        return ov

    def disable(self, override_id: str, author: str | None = None) -> Override:
        return self.set_active(override_id, False, author)

    def _write(self, ov: Override) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (ov.override_id, ov.version, ov.question, ov.answer, json.dumps(dict(ov.scope)),
                          int(ov.active), ov.author, ov.ts, ov.feedback_id))

    # ------------------------------------------------------------------ reading
    def get(self, override_id: str, version: int | None = None) -> Override:
        """The current (or the given) version; raises OverrideNotFoundError."""
        if version is None:
            sql, args = "SELECT * FROM overrides WHERE override_id = ? ORDER BY version DESC LIMIT 1", (override_id,)
        else:
            sql, args = "SELECT * FROM overrides WHERE override_id = ? AND version = ?", (override_id, version)
        return _override(query_one(self.db, sql, args, OverrideNotFoundError(
            f"unknown override {override_id!r}" + (f" version {version}" if version else "")
            + "; list them with 'ragbot overrides list'")))

    def history(self, override_id: str) -> list[Override]:
        """Every version, oldest first."""
        rows = self.db.query("SELECT * FROM overrides WHERE override_id = ? ORDER BY version", (override_id,))
        if not rows:
            raise OverrideNotFoundError(f"unknown override {override_id!r}; list them with 'ragbot overrides list'")
        return [_override(r) for r in rows]

    def list(self, include_disabled: bool = False) -> list[Override]:
        """Current versions (active only unless include_disabled), oldest first."""
        rows = self.db.query(_CURRENT + ("" if include_disabled else " WHERE o.active = 1") + " ORDER BY o.ts, o.override_id")
        return [_override(r) for r in rows]

    def _generation(self) -> tuple:
        r = self.db.query("SELECT COUNT(*), MAX(rowid) FROM overrides")[0]
        return tuple(r)

    # ------------------------------------------------------------------ matching
    def matrix(self, embedder) -> _Matrix:
        """The match index for `embedder`, rebuilt when the table changed; missing question
        embeddings are computed in one batch and cached in `override_vectors`."""
        key = self._generation()
        cached = self._matrices.get(embedder.name)
        if cached is not None and cached.key == key:
            return cached
        by_scope: dict[str, list[int]] = {}
        listed = self.list()  # creation order
        for i, o in enumerate(listed):
            by_scope.setdefault(json.dumps(dict(o.scope), sort_keys=True), []).append(i)
        order = [i for rows in by_scope.values() for i in rows]
        items = tuple(listed[i] for i in order)
        questions = tuple(_strip_scope(o.question, o.scope) for o in items)
        groups, start = [], 0
        for k, rows in by_scope.items():
            groups.append((json.loads(k), start, start + len(rows)))
            start += len(rows)
        m = _Matrix(key, items, questions, self._vectors(items, questions, embedder),
                    np.asarray(order, dtype=np.int64), tuple(groups))
        self._matrices[embedder.name] = m
        return m

    def _vectors(self, items, questions, embedder) -> np.ndarray:
        rows = self.db.query("SELECT override_id, version, dim, vector FROM override_vectors WHERE embedder = ?",
                             (embedder.name,))
        have = {(r["override_id"], r["version"]): np.frombuffer(r["vector"], dtype=np.float32) for r in rows
                if r["dim"] == embedder.dim}
        missing = [i for i, o in enumerate(items) if (o.override_id, o.version) not in have]
        if missing:
            new = np.asarray(embedder.embed_documents([questions[i] for i in missing]), dtype=np.float32)
            with self.db.transaction() as conn:
                conn.executemany("INSERT OR REPLACE INTO override_vectors VALUES (?, ?, ?, ?, ?)",
                                 [(items[i].override_id, items[i].version, embedder.name, embedder.dim, v.tobytes())
                                  for i, v in zip(missing, new)])
            for i, v in zip(missing, new):
                have[(items[i].override_id, items[i].version)] = v
        if not items:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.ascontiguousarray(np.stack([have[(o.override_id, o.version)] for o in items]), dtype=np.float32)

    def match(self, question: str, scope: Mapping[str, str] | None, embedder, min_score: float | None = None,
              min_ratio: float | None = None) -> OverrideMatch | None:
        """The override answering `question` in the turn's `scope`, or None (rules in the module
        docstring). embedder: any Embedder (unit float32 vectors). Thresholds default to the
        store's. Raises InputError for an empty question."""
        from rapidfuzz import fuzz

        if not isinstance(question, str) or not question.strip():
            raise InputError("the question to match against overrides is empty")
        ms = self.min_score if min_score is None else float(min_score)
        mr = self.min_ratio if min_ratio is None else float(min_ratio)
        m = self.matrix(embedder)
        turn_scope = dict(scope or {})
        groups = [(bool(sc), a, b) for sc, a, b in m.groups if _in_scope(sc, turn_scope)]
        if not groups:
            return None
        stripped = _strip_scope(question, turn_scope)
        texts = list(dict.fromkeys([question, stripped]))
        qv = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
        for want_scoped in (True, False):  # a scoped match wins over any unscoped one
            rows, sims = [], []
            for is_scoped, a, b in groups:
                if is_scoped == want_scoped:
                    # the question with the scope's name left out for scoped rows, as asked for the others;
                    # einsum, not BLAS: a multithreaded gemv on a busy machine is 10x slower than this loop
                    s = np.einsum("ij,j->i", m.vectors[a:b], qv[-1] if is_scoped else qv[0])
                    hit = np.nonzero(s >= ms)[0]
                    rows.append(hit + a)
                    sims.append(s[hit])
            if not rows or not sum(len(r) for r in rows):
                continue
            rows, sims = np.concatenate(rows), np.concatenate(sims)
            user_q = (stripped if want_scoped else question).lower()
            for j in np.lexsort((m.age[rows], -sims)):  # best cosine first, then the older: the first pass wins
                i = int(rows[j])
                ratio = fuzz.token_set_ratio(user_q, m.questions[i].lower())
                if ratio >= mr:
                    o = m.items[i]
                    return OverrideMatch(o.override_id, o.version, o.answer, float(sims[j]), float(ratio))
        return None


__all__ = ["DEFAULT_MIN_RATIO", "DEFAULT_MIN_SCORE", "Override", "OverrideMatch", "OverrideNotFoundError",
           "OverrideStore"]
