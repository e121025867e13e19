"""DuckDB's cache of the attached Postgres catalogs: when to clear it, and how a
statement survives another thread's clear.

The postgres extension caches each attached catalog's schemas, tables and columns,
one cache per catalog shared by every thread. ``CALL pg_clear_cache()`` empties it;
the next statement that binds a name reloads it. The adapter clears it after its
own DDL (the writes call it after ``postgres_execute`` DDL) and around catalog
changes (:class:`CatalogCacheGuard`). A clear has one side effect the extension
does not guard against: a statement of another thread that binds a name of the
attached catalog while the cache is being emptied and reloaded can be told the
table or schema does not exist ('Table with name "s.t" does not exist because
schema "s" does not exist'), though it exists throughout. :class:`RetryingCursor`
runs such a statement once more after the clear.
"""

import re
import threading
import time
from contextlib import contextmanager
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Optional
from typing import Tuple

import duckdb
from dbt.adapters.events.logging import AdapterLogger

logger = AdapterLogger("DuckDBPostgres")

# Statements after which the adapter treats the Postgres catalog as changed: DDL sent
# with postgres_execute is followed by pg_clear_cache in the writes (writes/checks.sql).
CHANGES_CATALOG = re.compile(r"\bpg_clear_cache\s*\(", re.IGNORECASE)

# DuckDB's binder errors for a missing name (raised before anything executes).
_NAME_MISSING = re.compile(
    r"Catalog Error: (Table|View|Schema|Table Function|Catalog) with name .* does not exist"
)

# How long after a clear a "does not exist" may still be the clear's doing, in
# seconds: the reload that follows a clear runs inside the next binders' statements.
_RECENT_CLEAR_S = 2.0


class CatalogCacheGuard:
    """When to clear DuckDB's cache of the attached Postgres catalogs, and which
    clears are in progress.

    A DuckDB transaction reloads a missing cache entry under its own Postgres
    snapshot (REPEATABLE READ, taken at its first Postgres access). So a model that
    began before another thread committed an ALTER TABLE or a table swap can, after
    the writer cleared the cache, reload the old columns; every later reader then
    binds them (`Referenced column "x" not found`, or a COPY of a column that is
    gone). Clearing at every BEGIN would avoid that but costs a catalog reload per
    transaction (measured: 2.5 ms -> 13 ms for one table, 37 ms for a query over
    all catalogs with 30 schemas), and every clear can make a concurrent binder see
    a name as missing (see the module docstring), so the guard clears only around
    catalog changes:

    - a transaction that changed the catalog clears at its end (COMMIT or
      ROLLBACK) and starts a new generation;
    - a transaction that began in an older generation clears at its end (it
      may have reloaded stale entries).
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._generation = 0
        # id(connection) -> [generation at BEGIN, whether it changed the catalog]
        self._open: Dict[int, List[Any]] = {}
        self._clears_started = 0
        self._clearing = 0
        self._last_clear_end = float("-inf")

    def began(self, key: int) -> None:
        """Record a BEGIN on connection ``key``."""
        with self._lock:
            self._open[key] = [self._generation, False]

    def changed(self, key: int) -> None:
        """Record that the open transaction of ``key`` changed the catalog."""
        with self._lock:
            entry = self._open.setdefault(key, [self._generation, False])
            entry[1] = True

    def changed_outside_transaction(self) -> bool:
        """A catalog change committed on its own: a new generation; returns True
        (clear now) when another transaction is open."""
        with self._lock:
            self._generation += 1
            return bool(self._open)

    def ended(self, key: int) -> bool:
        """Record the COMMIT or ROLLBACK of ``key``; returns whether to clear now."""
        with self._lock:
            entry = self._open.pop(key, None)
            if entry is None:
                return False
            if entry[1]:
                self._generation += 1
                return True
            return bool(entry[0] < self._generation)

    # --- clears in progress -------------------------------------------------------

    @contextmanager
    def clearing(self) -> Iterator[None]:
        """Wrap a statement that clears the cache (``CALL pg_clear_cache()``)."""
        with self._lock:
            self._clears_started += 1
            self._clearing += 1
        try:
            yield
        finally:
            with self._lock:
                self._clearing -= 1
                self._last_clear_end = time.monotonic()
                self._lock.notify_all()

    def clears_started(self) -> int:
        """How many clears have started so far (compare before and after a statement)."""
        with self._lock:
            return self._clears_started

    def clear_overlapped(self, before: int) -> bool:
        """Whether a clear ran during a statement that began when
        :meth:`clears_started` returned ``before``, or ended shortly before it.
        Waits for clears in progress to end (at most 10 s) before returning."""
        with self._lock:
            self._lock.wait_for(lambda: self._clearing == 0, timeout=10.0)
            return (
                self._clears_started != before
                or time.monotonic() - self._last_clear_end < _RECENT_CLEAR_S
            )


CATALOG_CACHE = CatalogCacheGuard()


# base-36 digits of the tags of work-table names
_TAG_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# a tag has at most this many characters: `<t>__dbt_stage` + 2 is as long as the
# longest fixed suffix (`__dbt_columns`), which the identifier checks count
TAG_LENGTH = 2


class WorkTableNames:
    """Names for the work tables a write creates inside Postgres and loads through
    DuckDB's attached catalog (``<target>__dbt_stage``, ``__dbt_batch``, ``__dbt_tmp``),
    chosen so that DuckDB's cache cannot hold an older table of that name.

    Binding a name the cache lacks makes the postgres extension load that one
    table (a catalog query restricted to the schema and name; duckdb-postgres
    PR #165), while a name it holds binds the cached columns, stale once the
    table was dropped. The cache only learns a work table's name from this
    process's own loads: a work table lives inside its write's transaction (created
    and dropped or renamed before COMMIT), so no other transaction's catalog load
    sees it. The first work table of a name in this process therefore takes the
    plain name, later ones a base-36 tag (``__dbt_stage1`` ... ``__dbt_stagezz``),
    and none needs ``pg_clear_cache()``, whose reload of every schema of the
    catalog costs milliseconds per table in Postgres. When the tags of a name run
    out, the plain name comes back with ``clear=True``: the caller clears the
    cache, after which every name is new again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: Dict[Tuple[str, str, str], int] = {}

    def take(self, database: str, schema: str, name: str) -> Tuple[str, bool]:
        """A name for a new work table ``name`` of ``database.schema``:
        ``(name with a tag or not, whether the caller must clear the cache)``."""
        key = (database, schema, name)
        with self._lock:
            n = self._used.get(key, 0)
            if n >= len(_TAG_DIGITS) ** TAG_LENGTH:
                self._used[key] = 1
                return name, True
            self._used[key] = n + 1
        if n == 0:
            return name, False
        tag = ""
        while n:
            n, digit = divmod(n, len(_TAG_DIGITS))
            tag = _TAG_DIGITS[digit] + tag
        return name + tag, False


WORK_TABLES = WorkTableNames()


class RetryingCursor:
    """A DuckDB cursor whose ``execute`` runs once more a single statement that failed
    to bind a name while another thread cleared the catalog cache, and records its
    own clears with :data:`CATALOG_CACHE`.

    Safe to rerun: a binder error is raised before the statement executes, and it
    leaves DuckDB's transaction open and intact (unlike an execution error), so the
    retry continues the same transaction. A script of several statements is not
    rerun (its first statements have run). Every other attribute is the cursor's.
    """

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def execute(self, sql: str, bindings: Optional[Any] = None) -> Any:
        """``cursor.execute(sql[, bindings])``; raises what the cursor raises."""
        args = (sql,) if bindings is None else (sql, bindings)
        if CHANGES_CATALOG.search(sql):
            with CATALOG_CACHE.clearing():
                return self._cursor.execute(*args)
        before = CATALOG_CACHE.clears_started()
        try:
            return self._cursor.execute(*args)
        except duckdb.CatalogException as e:
            if not (
                _NAME_MISSING.search(str(e))
                and CATALOG_CACHE.clear_overlapped(before)
                and len(self._cursor.extract_statements(sql)) == 1
            ):
                raise
            logger.debug(f"retrying a statement that bound during a catalog cache clear: {e}")
        return self._cursor.execute(*args)
