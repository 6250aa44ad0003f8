"""A knowledge base in PostgreSQL with pgvector (`--kb postgresql://...`).

Tables, in one schema per knowledge base (`schema`, default "ragbot"; several KBs can share a
database under different schemas):
    kb_manifest  (id = 1, data jsonb)   format version, generation, embedder {name, dim}, counts, next_id
    files        (path PK, sha256, size, doc_type, scope jsonb, n_documents, ingested_at)
    chunks       (id bigint PK = vector id, chunk_id UNIQUE content hash, text, source, doc_type,
                  page, metadata jsonb, scope jsonb)            GIN index on scope
    chunk_files  (chunk, path) PK                              a chunk shared by files is stored once
    embeddings   (id bigint PK, embedding vector(dim))         HNSW cosine index (kb/pgvector_index.py)

Writes: an ingest's ChangeSet is applied in ONE transaction (files, chunks, links, vectors and
the manifest row together); a process killed mid-ingest leaves the previous state, since
PostgreSQL rolls the open transaction back. Concurrent ingests into the same KB serialise on a
session advisory lock (`pg_advisory_lock`), logged as a warning when a writer has to wait; the
lock is released on commit or when the holder's connection dies. Readers see committed state
only, so several `ragbot serve` workers can read one KB while another machine ingests.

The manifest checks are the directory KB's (KnowledgeBase.reload): the embedder name and
dimension must match, and the format version must be this module's.

The DSN comes from the caller, the config (`kb.dsn`) or RAGBOT_DATABASE_URL; its password is
masked (`mask_dsn`) everywhere it is shown, and never written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from ragbot.config import PostgresConfig  # noqa: F401  (re-exported: kb.postgres settings)
from ragbot.errors import ConfigError, IndexMismatchError, KnowledgeBaseError, missing_dependency
from ragbot.kb.pgvector_index import PgVectorIndex
from ragbot.kb.protocols import AppliedChange, ChangeSet, FileRecord, Generation, SourceEntry
from ragbot.kb.scope import chunk_filter_sql
from ragbot.types import Chunk

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DSN_ENV = "RAGBOT_DATABASE_URL"
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS kb_manifest (id int PRIMARY KEY CHECK (id = 1), data jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path text PRIMARY KEY, sha256 text NOT NULL, size bigint, doc_type text, scope jsonb NOT NULL,
    n_documents int, ingested_at double precision);
CREATE TABLE IF NOT EXISTS chunks (
    id bigint PRIMARY KEY, chunk_id text NOT NULL UNIQUE, text text NOT NULL, source text NOT NULL,
    doc_type text NOT NULL, page int, metadata jsonb NOT NULL, scope jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_scope ON chunks USING gin (scope jsonb_path_ops);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source);
CREATE TABLE IF NOT EXISTS chunk_files (chunk bigint NOT NULL, path text NOT NULL, PRIMARY KEY (chunk, path));
CREATE INDEX IF NOT EXISTS chunk_files_path ON chunk_files (path);
"""
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def mask_dsn(dsn: str) -> str:
    """`dsn` with its password replaced by '***' (URI or key=value form); safe to log."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        if parts.password is None:
            return dsn
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", dsn)


def is_postgres_url(location: str) -> bool:
    """True for postgresql:// and postgres:// URLs (the CLI's `--kb` switch between backends)."""
    return str(location).startswith(("postgresql://", "postgres://"))


def resolve_dsn(dsn: str | None) -> str:
    """`dsn`, else $RAGBOT_DATABASE_URL; raises ConfigError when neither is set."""
    dsn = dsn or os.environ.get(DSN_ENV)
    if not dsn:
        raise ConfigError(f"no PostgreSQL DSN: pass --kb postgresql://USER@HOST/DB, set kb.postgres.dsn, or export {DSN_ENV}")
    return dsn


def connect(dsn: str, schema: str, create_schema: bool = False):
    """A psycopg 3 connection (autocommit; use `conn.transaction()`) whose search_path is
    `schema, public`, with pgvector's types registered when the extension exists.
    Raises KnowledgeBaseError (masked DSN) when the server cannot be reached."""
    try:
        import psycopg
    except ImportError as e:
        raise missing_dependency("psycopg", package="'psycopg[binary]' pgvector") from e
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"schema_name {schema!r} is invalid: use lowercase letters, digits and '_' (e.g. ragbot)")
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10, application_name="ragbot")
    except psycopg.OperationalError as e:
        msg = str(e).replace(dsn, mask_dsn(dsn))
        raise KnowledgeBaseError(f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {msg.strip()[:300]}") from None
    if create_schema:  # serialised: concurrent IF NOT EXISTS DDL can still collide in the catalog
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('ragbot.ddl'))")
            _create_extension(conn, dsn)
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    conn.execute(f"SET search_path TO {schema}, public")
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
        from pgvector.psycopg import register_vector

        register_vector(conn)
    return conn


def _create_extension(conn, dsn: str) -> None:
    import psycopg

    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as e:
        raise KnowledgeBaseError(
            f"the pgvector extension is missing in {mask_dsn(dsn)} and this user may not create it ({e}); "
            "run CREATE EXTENSION vector as the database owner (managed services: enable 'vector')") from None


def _source_in(sources: list[str]) -> tuple[str, list]:
    return "source = ANY(%s)", [sources]


def _scope_key_is(key: str, value: str, or_unscoped: bool) -> tuple[str, list[str]]:
    if or_unscoped:
        return "(scope ->> %s = %s OR NOT scope ? %s)", [key, value, key]
    return "scope @> %s::jsonb", [json.dumps({key: value})]  # served by the GIN index


class PgChunkStore:
    """ChunkStore on the tables above through `conn` (module docstring). Same semantics as
    SQLiteChunkStore: the conformance suite checks both."""

    def __init__(self, conn):
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    def files(self) -> list[FileRecord]:
        rows = self.conn.execute("SELECT path, sha256, size, doc_type, scope, n_documents, ingested_at "
                                 "FROM files ORDER BY path").fetchall()
        return [FileRecord(path=r[0], sha256=r[1], size=r[2], doc_type=r[3], scope=r[4], n_documents=r[5],
                           ingested_at=r[6] or 0.0) for r in rows]

    def counts(self) -> tuple[int, int]:
        row = self.conn.execute("SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM chunks)").fetchone()
        return int(row[0]), int(row[1])

    def chunks_by_ids(self, ids: Sequence[int]) -> dict[int, Chunk]:
        rows = self.conn.execute("SELECT id, chunk_id, text, source, doc_type, page, metadata, scope FROM chunks "
                                 "WHERE id = ANY(%s)", ([int(i) for i in ids],)).fetchall()
        return {int(r[0]): Chunk(chunk_id=r[1], text=r[2], source=r[3], doc_type=r[4], page=r[5], metadata=r[6],
                                 scope=r[7]) for r in rows}

    def known_chunk_ids(self, chunk_ids: Sequence[str]) -> set[str]:
        rows = self.conn.execute("SELECT chunk_id FROM chunks WHERE chunk_id = ANY(%s)", (list(chunk_ids),))
        return {r[0] for r in rows}

    def allowed_ids(self, scope: Mapping[str, str] | None, include_unscoped: bool = False,
                    sources: Sequence[str] | None = None) -> np.ndarray | None:
        where = chunk_filter_sql(scope, include_unscoped, sources, _source_in, _scope_key_is)
        if where is None:
            return None
        row = self.conn.execute(f"SELECT array_agg(id ORDER BY id) FROM chunks WHERE {where[0]}",
                                where[1], prepare=False).fetchone()  # one array, not a row per id
        return np.array(row[0] or [], dtype=np.int64)

    def scope_values(self, key: str) -> list[str]:
        rows = self.conn.execute("SELECT DISTINCT scope ->> %s AS v FROM chunks WHERE scope ? %s ORDER BY v",
                                 (key, key))
        return [r[0] for r in rows]

    def source_catalog(self) -> list[SourceEntry]:
        rows = self.conn.execute("SELECT DISTINCT ON (source, scope) source, doc_type, scope, metadata FROM chunks "
                                 "ORDER BY source, scope, id").fetchall()
        return [SourceEntry(r[0], r[1], r[2], r[3]) for r in rows]

    def apply(self, change: ChangeSet, next_id: int) -> AppliedChange:
        """In the caller's transaction (or its own): drop the links of replaced and removed
        files, insert files and new chunks (ids from next_id), link chunks to files, delete
        orphaned chunks."""
        from psycopg.types.json import Jsonb

        with self.conn.transaction():
            paths = [u.record.path for u in change.upserts] + list(change.removals)
            self.conn.execute("DELETE FROM chunk_files WHERE path = ANY(%s)", (paths,))
            self.conn.execute("DELETE FROM files WHERE path = ANY(%s)", (paths,))
            with self.conn.cursor() as cur:
                cur.executemany("INSERT INTO files (path, sha256, size, doc_type, scope, n_documents, ingested_at) "
                                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                                [(r.path, r.sha256, r.size, r.doc_type, Jsonb(dict(r.scope)), r.n_documents,
                                  r.ingested_at) for r in (u.record for u in change.upserts)])
            wanted = [c.chunk_id for u in change.upserts for c in u.chunks]
            known = dict(self.conn.execute("SELECT chunk_id, id FROM chunks WHERE chunk_id = ANY(%s)",
                                           (wanted,)).fetchall())
            new_rows, links = [], set()
            for up in change.upserts:
                for c in up.chunks:
                    if c.chunk_id not in known:
                        known[c.chunk_id], next_id = next_id, next_id + 1
                        new_rows.append((known[c.chunk_id], c))
                    links.add((known[c.chunk_id], up.record.path))
            self._copy_chunks(new_rows)
            with self.conn.cursor().copy("COPY chunk_files (chunk, path) FROM STDIN") as cp:
                for link in sorted(links):
                    cp.write_row(link)
            orphans = self.conn.execute("DELETE FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_files f "
                                        "WHERE f.chunk = c.id) RETURNING id").fetchall()
        return AppliedChange(tuple(i for i, _ in new_rows), tuple(c.chunk_id for _, c in new_rows),
                             tuple(sorted(int(r[0]) for r in orphans)))

    def _copy_chunks(self, rows: list[tuple[int, Chunk]]) -> None:
        cols = "id, chunk_id, text, source, doc_type, page, metadata, scope"
        with self.conn.cursor().copy(f"COPY chunks ({cols}) FROM STDIN") as cp:
            for cid, c in rows:
                cp.write_row((cid, c.chunk_id, c.text, c.source, c.doc_type, c.page,
                              json.dumps(dict(c.metadata), ensure_ascii=False, default=str),
                              json.dumps(dict(c.scope), sort_keys=True)))


class PostgresStorage:
    """The `Storage` protocol on PostgreSQL (module docstring): `commit` is one transaction,
    `write_lock` a session advisory lock, `load` a reader connection shared by the store and
    the index of the returned Generation (closed with `Generation.store.close()`)."""

    def __init__(self, dsn: str | None = None, config: PostgresConfig | None = None):
        self.config = config or PostgresConfig()
        self.dsn = resolve_dsn(dsn or self.config.dsn)
        self.schema = self.config.schema_name
        self.location = f"{mask_dsn(self.dsn)} (schema {self.schema})"

    def _connect(self, create_schema: bool = False):
        return connect(self.dsn, self.schema, create_schema=create_schema)

    def _index(self, conn, dim: int, reader: bool = False) -> PgVectorIndex:
        c = self.config
        count = "SELECT (data -> 'counts' ->> 'chunks')::bigint FROM kb_manifest WHERE id = 1" if reader else None
        return PgVectorIndex(conn, dim, hnsw_m=c.hnsw_m, ef_construction=c.hnsw_ef_construction,
                             ef_search=c.hnsw_ef_search, exact_scan_max=c.exact_scan_max,
                             max_scan_tuples=c.max_scan_tuples, count_sql=count, build_memory_mb=c.build_memory_mb)

    @staticmethod
    def _read_manifest(conn, lock: bool = False) -> dict | None:
        if conn.execute("SELECT to_regclass('kb_manifest')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT data FROM kb_manifest WHERE id = 1" + (" FOR UPDATE" if lock else "")).fetchone()
        return None if row is None else dict(row[0])

    def exists(self) -> bool:
        with contextlib.closing(self._connect()) as conn:
            return self._read_manifest(conn) is not None

    @staticmethod
    def current_generation(store: PgChunkStore) -> int | None:
        """The generation number committed now, read through a loaded generation's store (one
        small query): a worker compares it with its `manifest["generation"]` and reloads when
        another process has ingested since (caches built per generation, such as BM25, go stale)."""
        row = store.conn.execute("SELECT (data ->> 'generation')::bigint FROM kb_manifest WHERE id = 1").fetchone()
        return None if row is None else int(row[0])

    def load(self) -> Generation:
        """The committed state. Raises KnowledgeBaseError when the schema holds no KB,
        IndexMismatchError for another format version."""
        conn = self._connect()
        try:
            m = self._read_manifest(conn)
            if m is None:
                raise KnowledgeBaseError(f"no knowledge base in {self.location}; create one with: "
                                         f"ragbot ingest PATH --kb {mask_dsn(self.dsn)}")
            if m.get("format_version") != FORMAT_VERSION:
                raise IndexMismatchError(f"{self.location} holds KB format version {m.get('format_version')}, this "
                                         f"ragbot reads {FORMAT_VERSION}; re-ingest into another schema")
            return Generation(PgChunkStore(conn), self._index(conn, int(m["embedder"]["dim"]), reader=True), m)
        except BaseException:
            conn.close()
            raise

    def commit(self, current: Generation | None, change: ChangeSet, manifest: Mapping[str, Any],
               new_index: Callable[..., Any] | None = None) -> Generation:
        """Apply `change` and the new manifest in one transaction (new_index is unused: the
        vectors live in pgvector). Raises IndexMismatchError when the stored KB has another
        dimension."""
        from ragbot.kb.storage import apply_change

        dim = int(manifest["embedder"]["dim"])
        with contextlib.closing(self._connect(create_schema=True)) as conn:
            with conn.transaction():
                conn.execute(SCHEMA_SQL)
                index = self._index(conn, dim)
                stored_dim = index.table_dim()
                if stored_dim is not None and stored_dim != dim:
                    raise IndexMismatchError(f"{self.location} stores {stored_dim}-dim vectors, the embedder gives "
                                             f"{dim}; use the same embedder or another schema")
                index.create()
                old = self._read_manifest(conn, lock=True)
                before = Generation(None, None, old) if old else None  # type: ignore[arg-type]
                m = apply_change(before, PgChunkStore(conn), index, change, manifest)
                m["index"] = {"kind": PgVectorIndex.kind}
                conn.execute("ANALYZE chunks, chunk_files, embeddings")  # fresh statistics for the planner
                from psycopg.types.json import Jsonb

                conn.execute("INSERT INTO kb_manifest (id, data) VALUES (1, %s) "
                             "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data", (Jsonb(m),))
        if current is not None:
            current.store.close()
        return self.load()

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Session advisory lock on this KB's schema: a second ingest waits (and logs that it
        does); released on exit, or by PostgreSQL when the holder's connection dies."""
        with contextlib.closing(self._connect()) as conn:
            key = f"ragbot.kb:{self.schema}"
            if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]:
                log.warning("another ingest into %s holds its advisory lock; waiting for it to finish", self.location)
                conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))

    def drop(self) -> None:
        """Delete this KB (its schema and every table in it). Irreversible."""
        with contextlib.closing(self._connect()) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def open_postgres_kb(dsn: str | None = None, config=None, embedder=None, postgres: PostgresConfig | None = None,
                     create: bool = False):
    """A KnowledgeBase stored in PostgreSQL (`--kb postgresql://...`). config: KBConfig (the
    embedder, chunking, loaders); postgres: schema and index settings. Raises KnowledgeBaseError
    when the schema holds no KB and `create` is False, or the server is unreachable."""
    from ragbot.kb.knowledge_base import KnowledgeBase

    storage = PostgresStorage(dsn, postgres)
    kb = KnowledgeBase(storage, config=config, embedder=embedder)
    if storage.exists():
        kb.reload()
    elif not create:
        raise KnowledgeBaseError(f"no knowledge base in {storage.location}; create one with: "
                                 f"ragbot ingest PATH --kb {mask_dsn(storage.dsn)}")
    return kb
