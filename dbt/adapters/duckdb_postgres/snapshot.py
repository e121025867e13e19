"""Source snapshots: each Postgres source table the selected nodes read, copied once
per invocation into DuckDB, all in one transaction, and read from there by the models.

A connection with ``source_snapshot: run`` (or a source table with
``meta: {pg_snapshot: run}``) makes its plain source tables snapshotted; ``pg_query``
sources never are (their SQL runs on Postgres). The plan (which tables, which
columns, which nodes read them) comes from the manifest and dbt's selection, with no
network I/O, when the first source relation is rendered. The first node that reads
a snapshotted table loads every planned table, in one DuckDB transaction: on an
attached Postgres that is one REPEATABLE READ transaction per connection, and inside
it the postgres extension reads each table with one ``COPY ... TO STDOUT`` on that
transaction's own connection (no parallel ctid ranges), so all copies from one
connection come from one Postgres snapshot. Other threads wait on the lock instead
of loading twice. The copies are tables of the DuckDB database (schema ``__dbt_pg_snapshot``),
so they obey ``memory_limit`` and spill to its file; they are dropped at the end of the
invocation (``cleanup_connections``) and any left by a killed run are replaced by the
next load.

Columns: a table's copy holds the columns whose names occur as words in the code of
the nodes that read it (a superset), plus the source's ``event_time``. Where that
scan cannot be sure (``*`` as a column list, ``COLUMNS(...)``, ``PIVOT``, ``NATURAL``
joins, ``FROM``-first queries, a Jinja call other than ``source``/``ref``/``config``/
``is_incremental``, a custom generic test), every column is copied.
"""

import re
import threading
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

logger = AdapterLogger("DuckDBPostgres")

SNAPSHOT_SCHEMA = "__dbt_pg_snapshot"
# the values of the profile's `source_snapshot` and of a source's `meta.pg_snapshot`
SNAPSHOT_MODES = ("run", "off")
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


def snapshot_mode(value: Any, label: str) -> Tuple[str, str]:
    """(mode, problem): ``value`` as 'run' | 'off' (None and false mean 'off', true
    'run'), and '' or a
    message naming ``label``, the bad value and the valid ones."""
    # YAML 1.1 (dbt's loader) reads an unquoted `off` as false and `on` as true
    if value is None or value is False:
        return "off", ""
    if value is True:
        return "run", ""
    text = str(value).strip().lower()
    if text in SNAPSHOT_MODES:
        return text, ""
    return "off", (
        f"{label} must be one of {', '.join(SNAPSHOT_MODES)}, got {value!r}; use 'run' to "
        "read the source once per run from one snapshot, 'off' to read it directly"
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


@dataclass
class SnapshotTable:
    """One snapshotted source table: where it is in Postgres, its local copy, and the
    words that name the columns to copy (None: every column)."""

    source_id: str
    connection: str
    schema: str
    identifier: str
    words: Optional[Set[str]] = field(default_factory=set)

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


def source_snapshot_wanted(source: Any, connection_modes: Dict[str, str]) -> Tuple[bool, str]:
    """(snapshot?, problem) for a source definition: ``meta.pg_snapshot`` of the
    source or table, else the connection's ``source_snapshot``. Never for a
    ``pg_query``, plugin or external source, or one not on a postgres connection."""
    config = SourceConfig.create_from_source(source)
    if any(key in config for key in ("pg_query", "plugin", "external_location")):
        return False, ""
    database = getattr(source, "database", None)
    if database not in connection_modes:
        return False, ""
    if "pg_snapshot" in config:
        label = f"source '{source.source_name}.{source.name}': meta.pg_snapshot"
        mode, problem = snapshot_mode(config["pg_snapshot"], label)
        return mode == "run", problem
    return connection_modes[database] == "run", ""


def build_plan(
    manifest: Any, selected: Iterable[str], connection_modes: Dict[str, str]
) -> SnapshotPlan:
    """The snapshot plan of the selected nodes (no network I/O).

    Args:
        manifest: dbt's Manifest (``nodes``, ``sources``).
        selected: unique_ids of the selected nodes (dbt's ``selected_resources``).
        connection_modes: postgres connection name -> its ``source_snapshot``.
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
            wanted, problem = source_snapshot_wanted(source, connection_modes)
            if problem:
                plan.problems[source_id] = problem
            if not wanted:
                continue
            table = plan.tables.get(source_id)
            if table is None:
                table = SnapshotTable(
                    source_id, str(source.database), str(source.schema), str(source.identifier)
                )
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

    def __init__(self, database: str, command: Optional[str], empty: bool) -> None:
        """Args:
        database: the DuckDB catalog holding the copies.
        command: dbt's command (``args.which``); only SNAPSHOT_COMMANDS snapshot.
        empty: ``--empty``: the copies are loaded without rows.
        """
        self.database = database
        self.enabled = command in SNAPSHOT_COMMANDS
        self.empty = empty
        self._plan: Optional[SnapshotPlan] = None
        self._plan_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._loaded = False
        self._load_error: Optional[DbtRuntimeError] = None

    def plan(self, manifest: Any, selected: Iterable[str], modes: Dict[str, str]) -> SnapshotPlan:
        """The plan, built once from ``manifest`` and ``selected`` (see build_plan)."""
        with self._plan_lock:
            if self._plan is None:
                plan = build_plan(manifest, selected, modes) if self.enabled else SnapshotPlan()
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
        """The rendered name of ``table``'s copy: ``"<db>"."__dbt_pg_snapshot"."<c.s.t>"``."""
        return ".".join(
            quote_identifier(p) for p in (self.database, SNAPSHOT_SCHEMA, table.local_identifier)
        )

    def ensure_loaded(self, node_id: str, cursor_factory: Any) -> None:
        """Load every planned copy if ``node_id`` reads one and they are not loaded yet.

        The first caller loads, others wait on the lock; a failed load fails every
        node that reads a snapshot with the same error.

        Raises:
            DbtRuntimeError: the load failed (naming the tables and DuckDB's error).

        Args:
            node_id: the unique_id of the node about to run.
            cursor_factory: returns (cursor, close function) on the DuckDB database.
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
            cursor, close = cursor_factory()
            try:
                self._load(cursor, tables)
                self._loaded = True
            except Exception as e:
                names = ", ".join(t.local_identifier for t in tables)
                self._load_error = DbtRuntimeError(
                    f"Loading the source snapshots of this run ({names}) failed: {e}. "
                    "Fix the source, or read it directly with meta: {pg_snapshot: off}."
                )
                raise self._load_error from None
            finally:
                close()

    def _load(self, cursor: Any, tables: List[SnapshotTable]) -> None:
        schema = f"{quote_identifier(self.database)}.{quote_identifier(SNAPSHOT_SCHEMA)}"
        cursor.execute("begin transaction")
        try:
            cursor.execute(f"drop schema if exists {schema} cascade")
            cursor.execute(f"create schema {schema}")
            for table in tables:
                source = ".".join(
                    quote_identifier(p) for p in (table.connection, table.schema, table.identifier)
                )
                names = [str(r[0]) for r in cursor.execute(f"describe {source}").fetchall()]
                if table.words is not None:
                    used = [n for n in names if n.lower() in table.words]
                    # a reader that names no column (count(*)) still needs the rows
                    names = used or names[:1]
                select = ", ".join(quote_identifier(n) for n in names)
                where = " where false" if self.empty else ""
                cursor.execute(
                    f"create table {self.local_name(table)} as "
                    f"select {select} from {source}{where}"
                )
                logger.debug(f"Source snapshot {table.local_identifier}: columns {select}")
            cursor.execute("commit")
        except BaseException:
            try:
                cursor.execute("rollback")
            except Exception as e:
                logger.debug(f"Ignoring error rolling back a source snapshot load: {e}")
            raise

    def drop(self, cursor_factory: Any) -> None:
        """Drop the copies (at the end of the invocation) if any were loaded."""
        with self._load_lock:
            if not self._loaded:
                return
            self._loaded = False
            cursor, close = cursor_factory()
            try:
                cursor.execute(
                    f"drop schema if exists {quote_identifier(self.database)}."
                    f"{quote_identifier(SNAPSHOT_SCHEMA)} cascade"
                )
            finally:
                close()


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
