"""Source snapshots: each Postgres source table the selected nodes read, copied once
per invocation into DuckDB, all in one transaction, and read from there by the models.

A connection with ``source_snapshot: run`` (or a source table with
``meta: {pg_snapshot: run}``) makes its plain source tables snapshotted; ``pg_query``
sources never are (their SQL runs on Postgres). The plan (which tables, which
columns, which nodes read them) comes from the manifest and dbt's selection, with no
network I/O, when the first source relation is rendered. The first node that reads
a snapshotted table loads every planned table, on up to ``workers`` DuckDB cursors
at once (``min(threads, 4)``), each in its own DuckDB transaction: on an attached
Postgres that is one REPEATABLE READ transaction per connection, inside which the
postgres extension reads each table through that transaction's own connection (in
ctid ranges of 1,000 pages, one ``COPY ... TO STDOUT`` each). The first cursor exports
its Postgres snapshot and the others import it (``SET TRANSACTION SNAPSHOT``), so
all copies from one connection come from one Postgres snapshot (see
``SourceSnapshots._load``). Other dbt threads wait on the lock instead of loading
twice. The copies are tables of the DuckDB database (schema ``__dbt_pg_snapshot``),
so they obey ``memory_limit`` and spill to its file; they are dropped at the end of the
invocation (``cleanup_connections``) and any left by a killed run are replaced by the
next load.

Mirrors (``meta: {pg_snapshot: mirror, pg_mirror_key: ...}``) persist instead, with
every column, in schema ``__dbt_pg_mirror``: each load fetches the rows changed since
the recorded high-water mark, in the same transaction, and merges them by key (see
``SourceSnapshots._sync_mirror``).

Columns: a table's copy holds the columns whose names occur as words in the code of
the nodes that read it (a superset), plus the source's ``event_time``. Where that
scan cannot be sure (``*`` as a column list, ``COLUMNS(...)``, ``PIVOT``, ``NATURAL``
joins, ``FROM``-first queries, a Jinja call other than ``source``/``ref``/``config``/
``is_incremental``, a custom generic test), every column is copied.
"""

import os
import re
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Dict
from typing import Iterable
from typing import List
from typing import Optional
from typing import Set
from typing import Tuple

from dbt.adapters.duckdb.utils import SourceConfig
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal

logger = AdapterLogger("DuckDBPostgres")

SNAPSHOT_SCHEMA = "__dbt_pg_snapshot"
# at most this many cursors load the snapshots of a run at once (each holds a
# Postgres connection and a DuckDB writer)
SNAPSHOT_WORKERS = 4
# persistent incremental mirrors, and their state table (one row per mirror)
MIRROR_SCHEMA = "__dbt_pg_mirror"
MIRROR_STATE = "__dbt_mirror_state"
# the values of the profile's `source_snapshot` and of a source's `meta.pg_snapshot`
# (which also accepts MIRROR_MODE)
SNAPSHOT_MODES = ("run", "off")
MIRROR_MODE = "mirror"
# dbt commands whose nodes read snapshots; others (compile, show, docs, freshness)
# read the sources directly
SNAPSHOT_COMMANDS = frozenset({"run", "build", "test", "snapshot", "retry"})

# Jinja calls that cannot bring column names into a model's SQL
_SAFE_JINJA_CALLS = frozenset(
    {"source", "ref", "config", "is_incremental", "pg_window_start", "pg_window_end"}
)
# dbt's generic tests whose SQL reads only the columns named in their arguments
_BUILTIN_TESTS = frozenset({"not_null", "unique", "accepted_values", "relationships"})
# node configs that name columns of the node's input
_COLUMN_CONFIGS = ("unique_key", "updated_at", "check_cols", "event_time", "where")

_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*|"((?:[^"]|"")*)"')
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_JINJA_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")
_SQL_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.S)
_TOKEN = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*"|\S')
_ALL_COLUMN_WORDS = frozenset({"columns", "pivot", "unpivot", "natural"})


def snapshot_workers(threads: int, cpus: Optional[int] = None) -> int:
    """How many cursors load the snapshots of a run at once: dbt's ``threads``, at
    most SNAPSHOT_WORKERS and at most the machine's CPUs (at least 2 of them).

    Each loading cursor keeps a Postgres backend and a DuckDB thread busy; on a
    2-core machine (TPC-H SF 1, all 8 tables) 2 cursors loaded in 72-79 s where 4
    took 111-118 s and one 93-118 s.

    Args:
        threads: dbt's threads of the invocation.
        cpus: CPUs of this machine (default ``os.cpu_count()``).
    """
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(threads, SNAPSHOT_WORKERS, max(2, cpus)))


def snapshot_mode(
    value: Any, label: str, modes: Tuple[str, ...] = SNAPSHOT_MODES
) -> Tuple[str, str]:
    """(mode, problem): ``value`` as one of ``modes`` (None and false mean 'off', true
    'run'), and '' or a message naming ``label``, the bad value and the valid ones."""
    # YAML 1.1 (dbt's loader) reads an unquoted `off` as false and `on` as true
    if value is None or value is False:
        return "off", ""
    if value is True:
        return "run", ""
    text = str(value).strip().lower()
    if text in modes:
        return text, ""
    mirror = f", '{MIRROR_MODE}' to keep a local mirror" if MIRROR_MODE in modes else ""
    return "off", (
        f"{label} must be one of {', '.join(modes)}, got {value!r}; use 'run' to "
        f"read the source once per run from one snapshot, 'off' to read it directly{mirror}"
    )


def _words(text: str) -> Set[str]:
    """Lower-cased identifier-like words of ``text`` (quoted identifiers unquoted)."""
    found = set()
    for match in _WORD.finditer(text):
        quoted = match.group(1)
        found.add((quoted.replace('""', '"') if quoted is not None else match.group(0)).lower())
    return found


def _reads_all_columns(raw_code: str) -> bool:
    """Whether ``raw_code`` (a model's SQL with Jinja) may read columns it does not
    name: a Jinja call outside the safe list, or a star, COLUMNS, PIVOT, NATURAL join
    or FROM-first query in the SQL (comments and string literals ignored)."""
    for block in _JINJA.findall(raw_code):
        if block.startswith("{#"):
            continue
        for name in _JINJA_CALL.findall(block):
            if name not in _SAFE_JINJA_CALLS:
                return True
        if "**" in block:
            return True
    sql = _JINJA.sub(lambda m: " _dbt_jinja " if m.group(0).startswith("{{") else " ", raw_code)
    tokens = [t.lower() for t in _TOKEN.findall(_SQL_NOISE.sub(" ", sql))]
    if "select" not in tokens:
        return True
    for i, token in enumerate(tokens):
        before = tokens[i - 1] if i > 0 else ""
        if token in _ALL_COLUMN_WORDS:
            return True
        if token == "from" and before in ("", "(", ";"):
            return True
        if token != "*":
            continue
        if before in (",", ".", "select", "distinct", "all"):
            return True
        if before == "(" and (i < 2 or tokens[i - 2] != "count"):
            return True
    return False


def _node_words(node: Any) -> Optional[Set[str]]:
    """The words naming columns ``node`` may read, or None when it may read any."""
    words: Set[str] = set()
    config = getattr(node, "config", None)
    for key in _COLUMN_CONFIGS:
        value = getattr(config, key, None) if config is not None else None
        if value is not None:
            words |= _words(str(value))
    test = getattr(node, "test_metadata", None)
    if test is not None:
        if test.namespace is not None or test.name not in _BUILTIN_TESTS:
            return None
        return words | _words(str(test.kwargs))
    raw_code = str(getattr(node, "raw_code", "") or "")
    if _reads_all_columns(raw_code):
        return None
    return words | _words(raw_code)


@dataclass(frozen=True)
class MirrorConfig:
    """``meta.pg_mirror_key`` (list), ``pg_mirror_updated_at`` (default the source's
    ``loaded_at_field``) and ``pg_mirror_deletes`` of a mirrored source table."""

    key: Tuple[str, ...]
    updated_at: str
    deletes: bool


def mirror_config(source: Any, config: Any) -> Tuple[Optional[MirrorConfig], List[str]]:
    """The mirror config of a source with ``meta.pg_snapshot: mirror``, or None and
    the problems (each naming the key and the fix)."""
    label = f"source '{source.source_name}.{source.name}'"
    problems = []
    key = config.get("pg_mirror_key")
    keys = [key] if isinstance(key, str) else list(key or []) if isinstance(key, list) else []
    if not keys or not all(isinstance(k, str) and k for k in keys):
        problems.append(
            f"{label}: pg_snapshot: mirror needs meta.pg_mirror_key (a column name or a list "
            f"of them, the source's primary key), got {key!r}"
        )
    updated_at = config.get("pg_mirror_updated_at") or getattr(source, "loaded_at_field", None)
    if not isinstance(updated_at, str) or not updated_at:
        problems.append(
            f"{label}: pg_snapshot: mirror needs a change-tracking column: set "
            "meta.pg_mirror_updated_at (or the source's loaded_at_field) to a column that "
            "every insert and update sets to the current time"
        )
    deletes = config.get("pg_mirror_deletes", False)
    if not isinstance(deletes, bool):
        problems.append(f"{label}: meta.pg_mirror_deletes must be true or false, got {deletes!r}")
    if problems:
        return None, problems
    return MirrorConfig(tuple(keys), str(updated_at), bool(deletes)), []


@dataclass
class SnapshotTable:
    """One snapshotted source table: where it is in Postgres, its local copy, and the
    words that name the columns to copy (None: every column)."""

    source_id: str
    connection: str
    schema: str
    identifier: str
    words: Optional[Set[str]] = field(default_factory=set)
    # a persistent mirror: key columns, change-tracking column, whether a key diff
    # removes rows deleted at the source (None: a copy for this run only)
    mirror: Optional["MirrorConfig"] = None

    @property
    def local_identifier(self) -> str:
        """The copy's table name: ``<connection>.<schema>.<table>`` (one quoted name)."""
        return f"{self.connection}.{self.schema}.{self.identifier}"


@dataclass
class SnapshotPlan:
    """What this invocation snapshots: tables by source unique_id, the nodes that read
    them (directly or through ephemeral models), and per-source config problems."""

    tables: Dict[str, SnapshotTable] = field(default_factory=dict)
    readers: Set[str] = field(default_factory=set)
    problems: Dict[str, str] = field(default_factory=dict)


def source_snapshot_wanted(
    source: Any, connection_modes: Dict[str, str]
) -> Tuple[str, Optional[MirrorConfig], str]:
    """(mode, mirror config, problem) for a source definition: ``meta.pg_snapshot``
    of the source or table ('run' | 'off' | 'mirror'), else the connection's
    ``source_snapshot``. Always 'off' for a ``pg_query``, plugin or external source,
    or one not on a postgres connection."""
    config = SourceConfig.create_from_source(source)
    if any(key in config for key in ("pg_query", "plugin", "external_location")):
        return "off", None, ""
    database = getattr(source, "database", None)
    if database not in connection_modes:
        return "off", None, ""
    if "pg_snapshot" in config:
        label = f"source '{source.source_name}.{source.name}': meta.pg_snapshot"
        mode, problem = snapshot_mode(config["pg_snapshot"], label, (*SNAPSHOT_MODES, MIRROR_MODE))
        if mode == MIRROR_MODE:
            mirror, problems = mirror_config(source, config)
            return ("off" if problems else mode), mirror, "; ".join(problems)
        return mode, None, problem
    return connection_modes[database], None, ""


def mirror_identifier(source: Any) -> Optional[str]:
    """The local identifier (``<connection>.<schema>.<table>``) of ``source``'s mirror
    when its ``meta.pg_snapshot`` is a valid 'mirror' (whatever the connection's
    ``source_snapshot``), else None. No network I/O; whether ``database`` is a postgres
    connection is for the caller to check."""
    database = str(getattr(source, "database", None))
    mode, mirror, _ = source_snapshot_wanted(source, {database: "off"})
    if mode != MIRROR_MODE or mirror is None:
        return None
    return f"{database}.{source.schema}.{source.identifier}"


def build_plan(
    manifest: Any, selected: Iterable[str], connection_modes: Dict[str, str], empty: bool = False
) -> SnapshotPlan:
    """The snapshot plan of the selected nodes (no network I/O).

    Args:
        manifest: dbt's Manifest (``nodes``, ``sources``).
        selected: unique_ids of the selected nodes (dbt's ``selected_resources``).
        connection_modes: postgres connection name -> its ``source_snapshot``.
        empty: ``--empty``: mirrors are neither read nor refreshed; their readers get
            a copy of this run (without rows) like other snapshotted sources.
    """
    plan = SnapshotPlan()
    nodes = getattr(manifest, "nodes", {}) or {}
    sources = getattr(manifest, "sources", {}) or {}

    def source_deps(node: Any, seen: Set[str]) -> List[Tuple[str, Any]]:
        """(source id, node reading it) for ``node`` and the ephemeral models it
        reads, whose SQL is compiled into its own."""
        found = []
        for dep in node.depends_on.nodes:
            if dep in sources:
                found.append((dep, node))
            elif dep in nodes and dep not in seen:
                upstream = nodes[dep]
                if getattr(upstream.config, "materialized", None) == "ephemeral":
                    seen.add(dep)
                    found.extend(source_deps(upstream, seen))
        return found

    for unique_id in selected:
        node = nodes.get(unique_id)
        if node is None or not hasattr(node, "depends_on"):
            continue
        for source_id, reader in source_deps(node, set()):
            source = sources[source_id]
            mode, mirror, problem = source_snapshot_wanted(source, connection_modes)
            if problem:
                plan.problems[source_id] = problem
            if mode == "off":
                continue
            table = plan.tables.get(source_id)
            if table is None:
                table = SnapshotTable(
                    source_id, str(source.database), str(source.schema), str(source.identifier)
                )
                if mirror is not None and not empty:
                    table.mirror = mirror
                    table.words = None  # a mirror keeps every column
                plan.tables[source_id] = table
                event_time = getattr(source.config, "event_time", None)
                if event_time:
                    table.words = (table.words or set()) | _words(str(event_time))
            plan.readers.add(unique_id)
            words = _node_words(reader)
            if words is None or table.words is None:
                table.words = None
            else:
                table.words |= words
    return plan


class SourceSnapshots:
    """The snapshots of one invocation: planned on first use, loaded once, dropped at
    the end. Thread-safe; one per adapter (see ``DuckDBPostgresAdapter``)."""

    def __init__(
        self,
        database: str,
        command: Optional[str],
        empty: bool,
        full_refresh: bool = False,
        workers: int = 1,
    ) -> None:
        """Args:
        database: the DuckDB catalog holding the copies.
        command: dbt's command (``args.which``); only SNAPSHOT_COMMANDS snapshot.
        empty: ``--empty``: the copies are loaded without rows.
        full_refresh: ``--full-refresh``: mirrors are copied again in full.
        workers: how many tables load at once (DuckDB cursors, each with its own
            Postgres connection, all on one snapshot; 1 loads them one by one).
        """
        self.database = database
        self.enabled = command in SNAPSHOT_COMMANDS
        self.empty = empty
        self.full_refresh = full_refresh
        self.workers = max(1, int(workers))
        self._plan: Optional[SnapshotPlan] = None
        self._plan_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._loaded = False
        # a load started (its copies, even a failed load's, are dropped at the end)
        self._attempted = False
        self._load_error: Optional[DbtRuntimeError] = None

    def plan(self, manifest: Any, selected: Iterable[str], modes: Dict[str, str]) -> SnapshotPlan:
        """The plan, built once from ``manifest`` and ``selected`` (see build_plan)."""
        with self._plan_lock:
            if self._plan is None:
                plan = (
                    build_plan(manifest, selected, modes, self.empty)
                    if self.enabled
                    else SnapshotPlan()
                )
                if plan.tables:
                    names = ", ".join(sorted(t.local_identifier for t in plan.tables.values()))
                    logger.debug(f"Source snapshots of this run: {names}")
                self._plan = plan
            return self._plan

    @property
    def loaded(self) -> bool:
        """Whether the copies of this run are loaded."""
        return self._loaded

    def local_name(self, table: SnapshotTable) -> str:
        """The rendered name of ``table``'s copy: ``"<db>"."__dbt_pg_snapshot"."<c.s.t>"``
        (``__dbt_pg_mirror`` for a mirror)."""
        schema = MIRROR_SCHEMA if table.mirror is not None else SNAPSHOT_SCHEMA
        return ".".join(
            quote_identifier(p) for p in (self.database, schema, table.local_identifier)
        )

    def _qualified(self, schema: str, name: str) -> str:
        return ".".join(quote_identifier(p) for p in (self.database, schema, name))

    def ensure_loaded(self, node_id: str, cursor_factory: Any) -> None:
        """Load every planned copy if ``node_id`` reads one and they are not loaded yet.

        The first caller loads, others wait on the lock; a failed load fails every
        node that reads a snapshot with the same error.

        Raises:
            DbtRuntimeError: the load failed (naming the tables and DuckDB's error).

        Args:
            node_id: the unique_id of the node about to run.
            cursor_factory: returns (cursor, close function) on the DuckDB database;
                called once per loading cursor (up to ``workers``).
        """
        plan = self._plan
        if plan is None or node_id not in plan.readers:
            return
        with self._load_lock:
            if self._load_error is not None:
                raise self._load_error
            if self._loaded:
                return
            tables = list(plan.tables.values())
            self._attempted = True
            start = time.perf_counter()
            try:
                self._load(cursor_factory, tables)
                self._loaded = True
            except Exception as e:
                names = ", ".join(t.local_identifier for t in tables)
                self._load_error = DbtRuntimeError(
                    f"Loading the source snapshots of this run ({names}) failed: {e}. "
                    "Fix the source, or read it directly with meta: {pg_snapshot: off}."
                )
                raise self._load_error from None
            logger.debug(
                f"Source snapshots loaded: {len(tables)} table(s) in "
                f"{time.perf_counter() - start:.2f} s"
            )

    def _prepare(self, cursor: Any, mirrors: bool) -> None:
        """Replace the copies' schema (one left by a killed run included) and create
        the mirrors' schema and state table if ``mirrors``: one committed transaction
        before the load, so that every loading transaction sees them."""
        cursor.execute("begin transaction")
        try:
            schema = self._qualified_schema(SNAPSHOT_SCHEMA)
            cursor.execute(f"drop schema if exists {schema} cascade")
            cursor.execute(f"create schema {schema}")
            if mirrors:
                mirror_schema = self._qualified_schema(MIRROR_SCHEMA)
                cursor.execute(f"create schema if not exists {mirror_schema}")
                cursor.execute(
                    f"create table if not exists {self._qualified(MIRROR_SCHEMA, MIRROR_STATE)} "
                    "(mirror varchar primary key, columns varchar, high_water_mark varchar, "
                    "synced_at timestamptz, full_sync_at timestamptz)"
                )
            cursor.execute("commit")
        except BaseException:
            _rollback(cursor)
            raise

    def _load(self, cursor_factory: Any, tables: List[SnapshotTable]) -> None:
        """Load ``tables`` on up to ``workers`` DuckDB cursors at once, all from one
        Postgres snapshot per connection.

        The first cursor's transaction (REPEATABLE READ on each attached Postgres)
        exports its snapshot (``pg_export_snapshot()``) and stays open until the
        load ends; every other cursor's Postgres transaction starts with
        ``SET TRANSACTION SNAPSHOT '<id>'`` (PostgreSQL docs, "SET TRANSACTION":
        it must be the transaction's first statement, and the exporting
        transaction must still be open), so all of them read the same snapshot.
        Inside a DuckDB transaction the extension reads each table with one COPY
        on the transaction's own connection; the cursors take the tables largest
        first (Postgres ``relpages``). Each cursor commits its own copies, so one
        mirror's table and state row change together; a failure rolls back every
        cursor's transaction and fails the load.

        A single large table is not split: in ctid ranges over several importing
        transactions (``postgres_query`` with a TID range filter) it loaded no
        faster than one COPY on a 2-core machine (TPC-H SF 1 lineitem).

        Raises:
            Exception: DuckDB's or Postgres' error of the first table that failed.
        """
        cursors: List[Tuple[Any, Any]] = []
        try:
            cursors.append(cursor_factory())
            main = cursors[0][0]
            self._prepare(main, any(t.mirror is not None for t in tables))
            main.execute("begin transaction")
            connections = sorted({t.connection for t in tables})
            snapshot_ids = {}
            pages: Dict[Tuple[str, str, str], int] = {}
            for connection in connections:
                snapshot_ids[connection] = self._export_snapshot(main, connection)
                pages.update(self._table_pages(main, connection, tables))
            queue = sorted(
                tables,
                key=lambda t: -pages.get((t.connection, t.schema, t.identifier), 0),
            )
            workers = max(1, min(self.workers, len(queue)))
            for _ in range(workers - 1):
                cursor, close = cursor_factory()
                cursors.append((cursor, close))
                cursor.execute("begin transaction")
                for connection, snapshot_id in snapshot_ids.items():
                    sql = f"set transaction snapshot {quote_literal(snapshot_id)}"
                    cursor.execute(
                        f"call postgres_execute({quote_literal(connection)}, {quote_literal(sql)})"
                    )
            self._run_queue([c for c, _ in cursors], queue)
            # the importers first: the exported snapshot lives until `main` ends
            for cursor, _ in cursors[1:]:
                cursor.execute("commit")
            main.execute("commit")
        except BaseException:
            for cursor, _ in cursors:
                _rollback(cursor)
            raise
        finally:
            for _, close in cursors:
                close()

    def _export_snapshot(self, cursor: Any, connection: str) -> str:
        """The id of the snapshot of ``cursor``'s transaction on ``connection``."""
        sql = "select pg_export_snapshot()"
        row = cursor.execute(
            f"select * from postgres_query({quote_literal(connection)}, {quote_literal(sql)})"
        ).fetchone()
        return str(row[0])

    def _table_pages(
        self, cursor: Any, connection: str, tables: List[SnapshotTable]
    ) -> Dict[Tuple[str, str, str], int]:
        """(connection, schema, table) -> Postgres ``relpages`` of the tables of
        ``connection`` (the catalog's size estimate, for the order of the load)."""
        pairs = [(t.schema, t.identifier) for t in tables if t.connection == connection]
        values = ", ".join(f"({quote_literal(s)}, {quote_literal(i)})" for s, i in pairs)
        sql = (
            "select n.nspname::text, c.relname::text, c.relpages::bigint from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            f"where (n.nspname::text, c.relname::text) in ({values})"
        )
        found = cursor.execute(
            f"select * from postgres_query({quote_literal(connection)}, {quote_literal(sql)})"
        ).fetchall()
        return {(connection, str(r[0]), str(r[1])): int(r[2] or 0) for r in found}

    def _run_queue(self, cursors: List[Any], queue: List[SnapshotTable]) -> None:
        """Load the tables of ``queue`` in order, each cursor taking the next one when
        it is free (one Python thread per cursor; DuckDB releases the GIL while a
        statement runs). The first error stops the others after their current
        table and is raised."""
        lock = threading.Lock()
        pending = list(queue)
        errors: List[BaseException] = []

        def work(cursor: Any) -> None:
            while True:
                with lock:
                    if errors or not pending:
                        return
                    table = pending.pop(0)
                try:
                    self._load_table(cursor, table)
                except BaseException as e:
                    with lock:
                        errors.append(e)
                    return

        threads = [
            threading.Thread(target=work, args=(c,), name=f"pg-snapshot-{i}", daemon=True)
            for i, c in enumerate(cursors[1:], start=1)
        ]
        for thread in threads:
            thread.start()
        work(cursors[0])
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _load_table(self, cursor: Any, table: SnapshotTable) -> None:
        """Copy one table (or sync one mirror) in ``cursor``'s open transaction."""
        source = ".".join(
            quote_identifier(p) for p in (table.connection, table.schema, table.identifier)
        )
        if table.mirror is not None:
            self._sync_mirror(cursor, table, table.mirror, source)
            return
        names = [str(r[0]) for r in cursor.execute(f"describe {source}").fetchall()]
        if table.words is not None:
            used = [n for n in names if n.lower() in table.words]
            # a reader that names no column (count(*)) still needs the rows
            names = used or names[:1]
        select = ", ".join(quote_identifier(n) for n in names)
        where = " where false" if self.empty else ""
        cursor.execute(
            f"create table {self.local_name(table)} as select {select} from {source}{where}"
        )
        logger.debug(f"Source snapshot {table.local_identifier}: columns {select}")

    def _qualified_schema(self, schema: str) -> str:
        return f"{quote_identifier(self.database)}.{quote_identifier(schema)}"

    def _sync_mirror(
        self, cursor: Any, table: SnapshotTable, mirror: MirrorConfig, source: str
    ) -> None:
        """Bring the mirror of ``table`` up to this run's snapshot: a full copy when
        there is none, its columns or types changed at the source, or on
        ``--full-refresh``; else the rows whose change-tracking column is at or after
        the high-water mark, fetched by one query inside Postgres and merged by key
        (and, with ``deletes``, rows whose key is gone at the source removed). Runs
        inside the load transaction."""
        described = cursor.execute(f"describe {source}").fetchall()
        signature = ", ".join(f"{r[0]} {r[1]}" for r in described)
        names = [str(r[0]) for r in described]
        missing = [c for c in (*mirror.key, mirror.updated_at) if c not in names]
        if missing:
            raise DbtRuntimeError(
                f"mirror of {table.local_identifier}: column(s) {', '.join(missing)} of "
                "meta.pg_mirror_key / pg_mirror_updated_at are not columns of the source"
            )
        local = self.local_name(table)
        state_table = self._qualified(MIRROR_SCHEMA, MIRROR_STATE)
        state = cursor.execute(
            f"select columns, high_water_mark from {state_table} where mirror = ?",
            [table.local_identifier],
        ).fetchone()
        updated_at = quote_identifier(mirror.updated_at)
        full = self.full_refresh or state is None or state[0] != signature or state[1] is None
        if full:
            cursor.execute(f"create or replace table {local} as select * from {source}")
        else:
            delta = self._qualified(MIRROR_SCHEMA, f"{table.local_identifier}.__dbt_delta")
            # one query inside Postgres, in this transaction (its snapshot): the
            # attached scan would split the table into ctid ranges of 1,000 pages,
            # each filtered by the change-tracking column, and Postgres would fetch
            # the changed rows once per range through the column's index (60,000
            # changed rows of TPC-H SF 1 lineitem read 6,001,332 rows in 100 ranges)
            changed = (
                f"select * from {quote_identifier(table.schema)}."
                f"{quote_identifier(table.identifier)} "
                f"where {updated_at} >= {quote_literal(state[1])}"
            )
            cursor.execute(
                f"create or replace table {delta} as select * from postgres_query("
                f"{quote_literal(table.connection)}, {quote_literal(changed)})"
            )
            keys = " and ".join(
                f"m.{quote_identifier(k)} = d.{quote_identifier(k)}" for k in mirror.key
            )
            cursor.execute(f"delete from {local} m using {delta} d where {keys}")
            cursor.execute(f"insert into {local} select * from {delta}")
            cursor.execute(f"drop table {delta}")
            if mirror.deletes:
                # a key diff: every key of the source crosses the network
                gone = " and ".join(
                    f"s.{quote_identifier(k)} = m.{quote_identifier(k)}" for k in mirror.key
                )
                cursor.execute(
                    f"delete from {local} m where not exists "
                    f"(select 1 from {source} s where {gone})"
                )
        high = cursor.execute(f"select max({updated_at})::varchar from {local}").fetchone()[0]
        cursor.execute(
            f"insert or replace into {state_table} values (?, ?, ?, now(), case when ? "
            f"then now() else (select full_sync_at from {state_table} where mirror = ?) end)",
            [table.local_identifier, signature, high, full, table.local_identifier],
        )
        logger.debug(f"Mirror {table.local_identifier}: {'full copy' if full else 'changes'}")

    def drop(self, cursor_factory: Any) -> None:
        """Drop the copies (at the end of the invocation) if any were loaded."""
        with self._load_lock:
            if not self._attempted:
                return
            self._loaded = False
            self._attempted = False
            cursor, close = cursor_factory()
            try:
                cursor.execute(
                    f"drop schema if exists {quote_identifier(self.database)}."
                    f"{quote_identifier(SNAPSHOT_SCHEMA)} cascade"
                )
            finally:
                close()


def _rollback(cursor: Any) -> None:
    """Roll back ``cursor``'s transaction if one is open (errors are logged only)."""
    try:
        cursor.execute("rollback")
    except Exception as e:
        logger.debug(f"Ignoring error rolling back a source snapshot load: {e}")


_ACTIVE: Optional[Tuple[SourceSnapshots, Any, Any]] = None
_ACTIVE_LOCK = threading.Lock()


def activate(snapshots: SourceSnapshots, manifest: Any, modes: Any) -> None:
    """Make ``snapshots`` the invocation's (source relations consult it when rendered).

    Args:
        manifest: a function returning dbt's Manifest, or None before it is loaded.
        modes: a function returning postgres connection name -> ``source_snapshot``.
    """
    global _ACTIVE
    with _ACTIVE_LOCK:
        _ACTIVE = (snapshots, manifest, modes)


def local_name_for(source: Any) -> Tuple[Optional[str], str]:
    """(rendered name of the copy, problem) for a source resolved at run time: the
    copy's name when this invocation snapshots it, else None; the problem is a
    ``meta.pg_snapshot`` config error for this source, or ''."""
    active = _ACTIVE
    if active is None:
        return None, ""
    snapshots, manifest_fn, modes_fn = active
    if not snapshots.enabled:
        return None, ""
    manifest = manifest_fn()
    if manifest is None:
        return None, ""
    try:
        from dbt import selected_resources
    except ImportError:  # dbt-core not installed: nothing is selected
        return None, ""
    plan = snapshots.plan(manifest, selected_resources.SELECTED_RESOURCES, modes_fn())
    # dbt runs nodes on worker threads; on the main thread (on-run-start hooks, before
    # any node has loaded the copies) a source is read directly
    if threading.current_thread() is threading.main_thread() and not snapshots.loaded:
        return None, ""
    unique_id = getattr(source, "unique_id", None)
    problem = plan.problems.get(str(unique_id), "")
    table = plan.tables.get(str(unique_id))
    return (snapshots.local_name(table) if table is not None else None), problem
