"""PgVectorIndex: the VectorIndex protocol on a PostgreSQL table with pgvector (>= 0.8).

Table `embeddings (id bigint PRIMARY KEY, embedding vector(dim))` in the connection's schema
(search_path), with an HNSW index on cosine distance (`vector_cosine_ops`). Scores are cosine
similarities `1 - (embedding <=> q)`, equal to inner products for the L2-normalised vectors
ragbot stores, as float32.

Filtered search (`allowed_ids`, from a scope or source filter) must still return k hits when k
allowed vectors exist. Two plans, chosen by the size of the allowed set:
- at most `exact_scan_max` ids: an exact scan (primary-key lookups of the allowed rows, distance
  computed for each, sorted), which is exact and fast for small scopes;
- more: the HNSW index with pgvector 0.8's iterative scan (`hnsw.iterative_scan =
  relaxed_order`), which keeps walking the graph until k rows pass the filter; results are
  re-sorted here (relaxed order), and when the scan stops early (hnsw.max_scan_tuples) with fewer
  than k hits, the exact scan runs instead.
benchmarks/bench_backends.py measures both plans; the default threshold comes from it (docs/deploy.md).
"""

from __future__ import annotations

import numpy as np

from ragbot.errors import InputError
from ragbot.kb.index.base import check_ids, check_vectors

TABLE = "embeddings"
HNSW_INDEX = "embeddings_hnsw"
BULK_MIN = 5_000  # adding this many vectors to an empty table builds HNSW once, after loading


class PgVectorIndex:
    """VectorIndex over the `embeddings` table reachable through `conn` (a psycopg 3 connection
    whose search_path names the KB's schema). Writes run in the caller's transaction when there
    is one (ragbot.kb.postgres commits store and index together).

    hnsw_m / ef_construction: graph degree and build beam (pgvector defaults 16 / 64).
    ef_search: search beam (>= k); exact_scan_max: largest allowed-id set searched exactly.
    """

    kind = "pgvector-hnsw"

    def __init__(self, conn, dim: int, hnsw_m: int = 16, ef_construction: int = 64, ef_search: int = 100,
                 exact_scan_max: int = 100_000, max_scan_tuples: int = 20_000, count_sql: str | None = None,
                 build_memory_mb: int = 1024):
        self.conn = conn
        self.build_memory_mb = int(build_memory_mb)
        self._dim = int(dim)
        self.hnsw_m, self.ef_construction = int(hnsw_m), int(ef_construction)
        self.ef_search, self.exact_scan_max, self.max_scan_tuples = int(ef_search), int(exact_scan_max), int(max_scan_tuples)
        self.count_sql = count_sql or f"SELECT count(*) FROM {TABLE}"
        self._session_set = False

    def _session(self) -> None:
        """Search settings, once per connection (one statement per search afterwards; with
        PgBouncer use session pooling). relaxed_order only changes filtered queries."""
        if not self._session_set:
            self.conn.execute(f"SET hnsw.ef_search = {self.ef_search}")
            self.conn.execute("SET hnsw.iterative_scan = relaxed_order")
            self.conn.execute(f"SET hnsw.max_scan_tuples = {self.max_scan_tuples}")
            self._session_set = True

    # ---------------------------------------------------------------- schema
    def create(self) -> "PgVectorIndex":
        """Create the table and its HNSW index when missing (needs the vector extension)."""
        with self.conn.transaction():
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigint PRIMARY KEY, "
                              f"embedding vector({self._dim}) NOT NULL)")
            self._create_hnsw()
        return self

    def _create_hnsw(self) -> None:
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON {TABLE} USING hnsw (embedding vector_cosine_ops) "
                          f"WITH (m = {self.hnsw_m}, ef_construction = {self.ef_construction})")

    def table_dim(self) -> int | None:
        """The vector(dim) of the existing table, None when there is no table."""
        row = self.conn.execute(
            "SELECT a.atttypmod FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attname = 'embedding'",
            (TABLE,)).fetchone()
        return None if row is None else int(row[0])

    # ---------------------------------------------------------------- protocol
    @property
    def dim(self) -> int:
        return self._dim

    @property
    def ntotal(self) -> int:
        """Vectors stored: count(*), or `count_sql` (readers of a KB use the manifest's count,
        written in the same transaction as the vectors, instead of scanning the table)."""
        return int(self.conn.execute(self.count_sql).fetchone()[0] or 0)

    def ids(self) -> np.ndarray:
        """int64 (ntotal,) ids, ascending (ragbot assigns ids in insertion order)."""
        rows = self.conn.execute(f"SELECT id FROM {TABLE} ORDER BY id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """float32 (len(ids), dim): the stored vectors of `ids`, in that order (InputError for
        an unknown id)."""
        want = [int(i) for i in np.asarray(ids, dtype=np.int64).reshape(-1)]
        rows = dict(self.conn.execute(f"SELECT id, embedding FROM {TABLE} WHERE id = ANY(%s)", (want,),
                                      prepare=False).fetchall())
        missing = [i for i in want if i not in rows]
        if missing:
            raise InputError(f"id {missing[0]} is not in the index")
        out = np.empty((len(want), self._dim), dtype=np.float32)
        for n, i in enumerate(want):
            v = rows[i]
            out[n] = v.to_numpy() if hasattr(v, "to_numpy") else v  # pgvector.Vector or ndarray
        return out

    def save(self, path) -> None:
        """Nothing to write: the index lives in PostgreSQL and is durable on commit."""

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """vectors float32 (n, dim); ids int64 (n,), unique and not already present (InputError).
        Loaded with binary COPY; a bulk load into an empty table drops and rebuilds HNSW once."""
        v = check_vectors(vectors, self._dim)
        i = check_ids(ids, v.shape[0])
        if len(i) == 0:
            return
        with self.conn.transaction():
            clash = self.conn.execute(f"SELECT id FROM {TABLE} WHERE id = ANY(%s) LIMIT 3", (i.tolist(),)).fetchall()
            if clash:
                raise InputError(f"ids {[r[0] for r in clash]} are already in the index; remove them first")
            bulk = len(i) >= BULK_MIN and not self.conn.execute(f"SELECT EXISTS (SELECT 1 FROM {TABLE})").fetchone()[0]
            if bulk:
                self.conn.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
            with self.conn.cursor().copy(f"COPY {TABLE} (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as cp:
                cp.set_types(["int8", "vector"])
                for row_id, vec in zip(i.tolist(), v):
                    cp.write_row((row_id, vec))
            if bulk:
                self.conn.execute(f"SET LOCAL maintenance_work_mem = '{self.build_memory_mb}MB'")
                self._create_hnsw()

    def remove(self, ids: np.ndarray) -> int:
        """Removes the given int64 ids; returns how many were present."""
        arr = np.asarray(ids, dtype=np.int64).reshape(-1).tolist()
        if not arr:
            return 0
        with self.conn.transaction():
            return int(self.conn.execute(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", (arr,)).rowcount)

    def search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """queries float32 (n, dim) -> (scores float32 (n, k), ids int64 (n, k)), best first;
        missing results are id -1 with score -inf. See the module docstring for the plans."""
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        q = check_vectors(queries, self._dim, "queries")
        scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        out = np.full((q.shape[0], k), -1, dtype=np.int64)
        allowed = None if allowed_ids is None else np.unique(np.asarray(allowed_ids, dtype=np.int64)).tolist()
        if allowed is not None and not allowed:
            return scores, out
        for row, vec in enumerate(q):
            hits = self._search_one(vec, k, allowed)
            for j, (hid, dist) in enumerate(hits):
                out[row, j], scores[row, j] = hid, 1.0 - dist
        return scores, out

    def _search_one(self, q: np.ndarray, k: int, allowed: list[int] | None) -> list[tuple[int, float]]:
        if allowed is not None and len(allowed) <= self.exact_scan_max:
            return self.exact_search(q, k, allowed)
        self._session()
        args = {"q": q, "k": k, "ids": allowed}
        if allowed is None and k <= self.ef_search:
            rows = self.conn.execute(f"SELECT id, embedding <=> %(q)s AS d FROM {TABLE} ORDER BY embedding <=> %(q)s "
                                     "LIMIT %(k)s", args).fetchall()
        else:
            with self.conn.transaction():
                self.conn.execute(f"SET LOCAL hnsw.ef_search = {max(k, self.ef_search)}")
                self.conn.execute("SET LOCAL enable_seqscan = off")  # HNSW, not a scan and sort of every row
                where = "" if allowed is None else "WHERE (id + 0) = ANY(%(ids)s) "  # + 0: not the primary key
                rows = self.conn.execute(f"SELECT id, embedding <=> %(q)s AS d FROM {TABLE} {where}"
                                         "ORDER BY embedding <=> %(q)s LIMIT %(k)s", args, prepare=False).fetchall()
        if allowed is not None and len(rows) < min(k, len(allowed)):
            return self.exact_search(q, k, allowed)  # the iterative scan stopped early (max_scan_tuples)
        return sorted(((int(i), float(d)) for i, d in rows), key=lambda t: (t[1], t[0]))

    def exact_search(self, q: np.ndarray, k: int, allowed: list[int] | None) -> list[tuple[int, float]]:
        """Exact top-k by cosine distance over `allowed` ids (all rows when None), bypassing
        HNSW: `+ 0` makes the ORDER BY an expression the index cannot serve. Never a prepared
        statement: a generic plan cannot see how few ids there are and scans every row."""
        where = "" if allowed is None else "WHERE id = ANY(%(ids)s) "
        rows = self.conn.execute(f"SELECT id, embedding <=> %(q)s AS d FROM {TABLE} {where}"
                                 "ORDER BY (embedding <=> %(q)s) + 0, id LIMIT %(k)s",
                                 {"q": q, "k": k, "ids": allowed}, prepare=False).fetchall()
        return [(int(i), float(d)) for i, d in rows]
