"""The adapter: dbt-duckdb's, plus what the PostgreSQL write paths need from Python.

It exposes ``@available`` helpers to the macros (connection names, quoting,
index names, target checks) and holds no SQL a macro could own.
"""

import re
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

import duckdb
from dbt.adapters.base.meta import available
from dbt.adapters.base.relation import AdapterTrackingRelationInfo
from dbt.adapters.contracts.connection import AdapterResponse
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.impl import DuckDBAdapter
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import CompilationError
from dbt_common.exceptions import DbtDatabaseError
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres import ddl
from dbt.adapters.duckdb_postgres import merge
from dbt.adapters.duckdb_postgres import partitions
from dbt.adapters.duckdb_postgres.catalog_cache import WORK_TABLES
from dbt.adapters.duckdb_postgres.connections import WRITE_STATE
from dbt.adapters.duckdb_postgres.connections import DuckDBPostgresConnectionManager
from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.credentials import PostgresConnection
from dbt.adapters.duckdb_postgres.environment import attach_connection
from dbt.adapters.duckdb_postgres.environment import mask_secrets
from dbt.adapters.duckdb_postgres.extension import load_postgres_extension
from dbt.adapters.duckdb_postgres.options import ModelConfigs
from dbt.adapters.duckdb_postgres.options import PostgresIndexConfig
from dbt.adapters.duckdb_postgres.options import model_raw_configs
from dbt.adapters.duckdb_postgres.options import parse_index
from dbt.adapters.duckdb_postgres.options import validate_write_options
from dbt.adapters.duckdb_postgres.quoting import name_problem
from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal
from dbt.adapters.duckdb_postgres.relation import DuckDBPostgresRelation
from dbt.adapters.duckdb_postgres.relation import database_problem
from dbt.adapters.duckdb_postgres.relation import reads_postgres
from dbt.adapters.duckdb_postgres.snapshot import MIRROR_SCHEMA
from dbt.adapters.duckdb_postgres.snapshot import MIRROR_STATE
from dbt.adapters.duckdb_postgres.snapshot import SourceSnapshots
from dbt.adapters.duckdb_postgres.snapshot import activate as activate_snapshots
from dbt.adapters.duckdb_postgres.snapshot import snapshot_workers
from dbt.adapters.duckdb_postgres.windows import batch_bounds
from dbt.adapters.duckdb_postgres.windows import compute_window
from dbt.adapters.duckdb_postgres.windows import parse_time
from dbt.adapters.duckdb_postgres.windows import plan_batches
from dbt.adapters.duckdb_postgres.windows import window_condition

logger = AdapterLogger("DuckDBPostgres")
# the empty agate table of every store_result (DuckDBPostgresAdapter.pg_empty_table)
_EMPTY_TABLE: Any = None


@dataclass
class PostgresWriteResponse(AdapterResponse):
    """The adapter response of a Postgres write, as reported in run_results.json."""

    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0


@dataclass
class MirrorFreshnessResponse(AdapterResponse):
    """The adapter response of ``dbt source freshness`` on a mirrored source, as
    reported in sources.json: the mirror, when it was last synced, the source's own
    ``max(loaded_at_field)`` at the time of the check, and how far the mirror's
    ``max(loaded_at_field)`` (the result's ``max_loaded_at``) is behind it."""

    mirror: str = ""
    mirror_synced_at: Optional[str] = None
    source_max_loaded_at: Optional[str] = None
    mirror_lag_seconds: Optional[float] = None


@dataclass
class FreshnessResult:
    """What a ``collect_freshness`` macro returns to dbt-adapters'
    ``_process_freshness_execution``: a response and a 2-column agate table
    (max_loaded_at, snapshotted_at)."""

    response: AdapterResponse
    table: Any


def _as_utc(value: Any) -> Optional[datetime]:
    """A datetime as an aware UTC one (naive ones are UTC, as dbt reads them)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DuckDBPostgresAdapter(DuckDBAdapter):
    """dbt-duckdb's adapter with PostgreSQL connections attached: everything
    dbt-duckdb does keeps working, and the ``pg_*`` helpers below serve the
    Postgres write macros (writes/, materializations/)."""

    ConnectionManager = DuckDBPostgresConnectionManager
    Relation = DuckDBPostgresRelation

    def __init__(self, config: Any, mp_context: Any) -> None:
        super().__init__(config, mp_context)
        self._windows: Dict[str, Dict[str, Any]] = {}
        self._windows_lock = threading.Lock()
        args = getattr(config, "args", None)
        self._snapshots = SourceSnapshots(
            database=str(config.credentials.database),
            command=getattr(args, "which", None),
            empty=bool(getattr(args, "EMPTY", False) or getattr(args, "empty", False)),
            full_refresh=bool(getattr(args, "FULL_REFRESH", False)),
            workers=snapshot_workers(int(getattr(config, "threads", 1) or 1)),
        )
        activate_snapshots(self._snapshots, self.get_macro_resolver, self._snapshot_modes)

    @classmethod
    def type(cls) -> str:
        """The adapter type: ``duckdb_postgres``."""
        return "duckdb_postgres"

    @classmethod
    def get_adapter_run_info(cls, config: Any) -> AdapterTrackingRelationInfo:
        """dbt derives the module from the class name ("duckdbpostgres"); name ours."""
        from dbt.adapters.__about__ import version as base_version

        from dbt.adapters.duckdb_postgres.__version__ import version

        return AdapterTrackingRelationInfo(  # type: ignore[abstract]
            adapter_name=cls.type(),
            base_adapter_version=base_version,
            adapter_version=version,
            model_adapter_details=cls._get_adapter_specific_run_info(config),
        )

    # --- PostgreSQL connections -------------------------------------------------

    def _pg_connections(self) -> Dict[str, PostgresConnection]:
        creds = self.config.credentials
        assert isinstance(creds, DuckDBPostgresCredentials)
        return creds.postgres_connections

    @available
    def pg_connection_names(self) -> List[str]:
        """The names of the profile's postgres connections (= their DuckDB catalogs)."""
        return list(self._pg_connections())

    @available
    def pg_connection(self, name: str) -> Dict[str, Any]:
        """Non-secret settings of connection ``name``: read_only and default schema.

        Raises:
            CompilationError: ``name`` is not a postgres connection of the profile.
        """
        conns = self._pg_connections()
        if name not in conns:
            raise CompilationError(self._not_a_connection(name, "connection"))
        conn = conns[name]
        return {"name": conn.name, "read_only": conn.read_only, "schema": conn.schema}

    def _not_a_connection(self, name: Optional[str], key: str) -> str:
        names = ", ".join(repr(n) for n in self._pg_connections()) or "(none in the profile)"
        return (
            f"{key}={name!r} is not a postgres connection of this profile. "
            f"Set {key} to one of: {names} (the names under 'postgres:' in profiles.yml)."
        )

    @available
    def pg_check_target(self, relation: DuckDBPostgresRelation, materialization: str) -> str:
        """Check that ``relation`` can be written by a Postgres write path.

        Returns:
            The connection name (``relation.database``).

        Raises:
            CompilationError: the database is not a postgres connection, or the
                connection is read_only.
        """
        conns = self._pg_connections()
        name = relation.database
        if name not in conns:
            raise CompilationError(
                f"{materialization} writes to PostgreSQL: "
                + self._not_a_connection(name, "database")
            )
        # the longest work-table suffix the write modes append (__dbt_columns)
        for problem in (
            name_problem("identifier (alias)", relation.identifier, "__dbt_columns"),
            name_problem("schema", relation.schema),
        ):
            if problem:
                raise CompilationError(f"{materialization}: {problem}.")
        if conns[name].read_only:
            writable = ", ".join(repr(n) for n, c in conns.items() if not c.read_only)
            raise CompilationError(
                f"{materialization}: database={name!r} is a read_only postgres connection "
                f"and cannot be written. Set database to a writable connection "
                f"({writable or 'none in the profile'}) or read_only: false for '{name}' in "
                f"the profile."
            )
        return str(name)

    def create_schema(self, relation: Any) -> None:
        """dbt-duckdb's, except for schemas no model can be written to: those of a
        read_only postgres connection, and of a ``database`` that is no catalog.

        dbt creates the schemas of every selected model before the first one runs
        (dbt-core ``GraphRunnableTask.create_schemas``), and one failure there aborts
        the whole invocation. Skipped, such a model fails on its own, with its
        materialization's error naming the model, the database and the valid
        connections, and the other models run.
        """
        name = relation.database
        conns = self._pg_connections()
        if name in conns and conns[name].read_only:
            logger.debug(f"Not creating schema {relation}: connection '{name}' is read_only")
            return
        try:
            super().create_schema(relation)
        except DbtRuntimeError as e:
            if name and name not in conns and "Catalog" in str(e) and "does not exist" in str(e):
                self.connections.rollback_if_open()
                logger.debug(f"Not creating schema {relation}: no catalog '{name}'")
                return
            raise

    @available
    def pg_target_problem(self, relation: DuckDBPostgresRelation, materialization: str) -> str:
        """What ``pg_check_target`` would raise for ``relation`` as a message, or ''
        when it can be written (so macros can report it with other config problems)."""
        try:
            self.pg_check_target(relation, materialization)
        except CompilationError as e:
            return str(e.msg)
        return ""

    # --- SQL helpers for macros -------------------------------------------------

    @classmethod
    def quote(cls, identifier: str) -> str:
        """``adapter.quote`` (dbt's macros quote column names with it): the shared
        helper, which doubles embedded quotes (dbt-adapters' SQLAdapter.quote does not)."""
        return quote_identifier(identifier)

    @available
    def pg_quote(self, identifier: str) -> str:
        """Quote an identifier for SQL run inside PostgreSQL."""
        return quote_identifier(identifier)

    @available
    def pg_name_problem(self, kind: str, name: str, suffix: str = "") -> str:
        """Why PostgreSQL cannot store ``name`` exactly (over 63 bytes with the
        work-table ``suffix``, or a NUL character) as a message naming ``kind`` and
        the limit, or '' when it can."""
        return name_problem(kind, name, suffix) or ""

    @available
    def pg_column_names_problem(self, columns: Optional[List[List[str]]], label: str) -> str:
        """Refuse column names PostgreSQL cannot store exactly, before anything is
        written: over 63 bytes (PostgreSQL truncates them, so later runs would not
        find the columns by the model's names) or holding a NUL character.

        Args:
            columns: the model's columns as [[name, dtype], ...] (or None).
            label: what is written, for the message.

        Returns:
            One message naming each column, the limit and the fix, or '' when
            every name can be stored.
        """
        problems = [p for p in (name_problem("column", c[0]) for c in columns or []) if p]
        if not problems:
            return ""
        listed = "".join(f"\n  - {p}" for p in problems)
        return (
            f"Invalid column name(s) for {label}:{listed}\nNothing was written. "
            "Alias the column(s) in the model SQL to shorter names."
        )

    @available
    def pg_schema_diff(
        self, new_columns: List[List[str]], old_columns: List[List[str]], on_schema_change: str
    ) -> Dict[str, Any]:
        """The model's columns against an existing table's under dbt's
        ``on_schema_change`` (:func:`.ddl.schema_diff`: added, changed, removed,
        whether ALTERs follow, the columns to write)."""
        return ddl.schema_diff(new_columns, old_columns, on_schema_change)

    @available
    def pg_numeric_narrows(self, old_type: str, new_type: str) -> bool:
        """Whether values of Postgres type ``new_type`` (a model column) would be
        rounded when inserted into a column of ``old_type``: both are numeric with a
        scale and the new scale is larger. PostgreSQL rounds a value to the
        column's scale on INSERT without an error, while too many integer digits
        fail loudly ("numeric field overflow"; PostgreSQL docs, 8.1.2 "Arbitrary
        Precision Numbers"), so only the scale matters here. An unconstrained
        ``numeric`` column keeps every value."""
        old = _numeric_typmod(old_type)
        new = _numeric_typmod(new_type)
        if old is None or new is None or old[0] is None or new[0] is None:
            return False
        return (new[1] or 0) > (old[1] or 0)

    @available
    def pg_spelled_as_target(
        self, planned: List[List[str]], existing: List[List[str]]
    ) -> Optional[List[List[str]]]:
        """The planned columns ([[name, type], ...], the type map's) in the spelling
        of an existing table's ``format_type`` types when their shared columns have
        the same types, so they compare as text; None when PostgreSQL must spell
        them (:func:`.ddl.spelled_as_target`)."""
        return ddl.spelled_as_target(planned, existing)

    @available
    def pg_literal(self, value: Any) -> str:
        """Quote a value as a SQL string literal (DuckDB or PostgreSQL)."""
        return quote_literal(value)

    @available
    def pg_parse_index(self, raw_index: Any) -> PostgresIndexConfig:
        """Validate one ``indexes`` entry (dbt-postgres format).

        Raises:
            CompilationError: naming the entry and the fix.
        """
        return parse_index(raw_index)

    # --- Postgres DDL -------------------------------------------------------------

    @available
    def pg_table_plan(
        self,
        relation: DuckDBPostgresRelation,
        select_sql: str,
        column_types: Optional[Dict[str, str]] = None,
        unlogged: bool = False,
        constraints: Optional[Dict[str, Any]] = None,
        partition_by: Optional[str] = None,
    ) -> Dict[str, Any]:
        """How to create and load the Postgres table ``relation`` from a DuckDB query.

        The query is described (bound by DuckDB on this thread's connection, so it
        sees the transaction's TEMP tables), never run; the columns get their
        Postgres types from :mod:`.ddl`'s type map, ``column_types`` winning.

        Args:
            relation: the table to create (``database`` = a postgres connection).
            select_sql: the DuckDB SELECT whose result the table holds.
            column_types: the ``column_types`` config (column -> Postgres type) or None.
            unlogged: create the table UNLOGGED.
            constraints: a model contract's constraints, from :meth:`pg_contract_constraints`.
            partition_by: a column: the table is created ``PARTITION BY RANGE (column)``
                (its partitions are created by the caller before the load).

        Returns:
            {'create': CREATE TABLE to run inside Postgres,
             'load': the DuckDB SELECT to INSERT into the table (binary COPY),
             'finalize': ALTER TABLE to run inside Postgres after the load, or '',
             'columns': [[name, Postgres type], ...] in order}.

        Raises:
            CompilationError: a column type with no Postgres storage (naming the
                column and the ``column_types`` fix).
            DbtDatabaseError: DuckDB cannot bind the query.
        """
        described = f"select * from (\n{select_sql}\n) _dbt_model"
        connection = self.connections.get_thread_connection()
        with self.connections.exception_handler(described):
            result = connection.handle.cursor().sql(described)
            names, types = list(result.columns), list(result.types)
        order = (constraints or {}).get("order")
        if order and sorted(order) == sorted(names):
            # a contract's column order wins (dbt-adapters' get_select_subquery does the same)
            by_name = dict(zip(names, types, strict=True))
            names, types = list(order), [by_name[n] for n in order]
        try:
            columns = ddl.plan_columns(names, types, column_types)
        except ValueError as e:
            raise CompilationError(f"Cannot create {relation}: {e}") from None
        qualified = relation.pg_name()
        return {
            "create": ddl.create_table_sql(
                qualified,
                columns,
                bool(unlogged),
                (constraints or {}).get("columns"),
                (constraints or {}).get("table"),
                partition_by,
            ),
            "load": ddl.load_select_sql(columns, select_sql),
            "finalize": ddl.finalize_sql(qualified, columns),
            "columns": [[c.name, c.pg_type] for c in columns],
        }

    @available
    def pg_contract_constraints(
        self,
        relation: DuckDBPostgresRelation,
        raw_columns: Dict[str, Dict[str, Any]],
        raw_constraints: List[Dict[str, Any]],
    ) -> Dict[str, Any]:
        """The constraints of an enforced model contract, rendered for Postgres DDL.

        Rendered by dbt-adapters' ``render_column_constraint`` /
        ``render_model_constraint`` (as dbt-postgres' table DDL), with a
        foreign key's ``to`` relation named inside Postgres (``"schema"."table"``)
        when it lives in the same postgres connection as ``relation``.

        Args:
            relation: the table being created.
            raw_columns: the model's ``columns`` (name -> column dict with ``constraints``).
            raw_constraints: the model's ``constraints`` (model-level).

        Returns:
            {'columns': {column name: 'not null primary key', ...},
             'table': ['primary key (id)', ...],
             'order': the contract's column names, the order of the table's columns}.

        Raises:
            DbtValidationError: a constraint dbt cannot parse.
        """
        columns: Dict[str, str] = {}
        for column in raw_columns.values():
            rendered = []
            for raw in column.get("constraints") or []:
                constraint = self._parse_column_constraint(raw)
                constraint.to = self._pg_reference(relation, constraint.to)
                text = self.process_parsed_constraint(constraint, self.render_column_constraint)
                if text:
                    rendered.append(text)
            if rendered:
                columns[str(column["name"])] = " ".join(rendered)
        table = []
        for raw in raw_constraints or []:
            model_constraint = self._parse_model_constraint(raw)
            model_constraint.to = self._pg_reference(relation, model_constraint.to)
            text = self.process_parsed_constraint(model_constraint, self.render_model_constraint)
            if text:
                table.append(text)
        order = [str(column["name"]) for column in raw_columns.values()]
        return {"columns": columns, "table": table, "order": order}

    @staticmethod
    def _pg_reference(relation: DuckDBPostgresRelation, to: Optional[str]) -> Optional[str]:
        """A foreign key's rendered ``to`` relation without its database part when that
        is ``relation``'s connection (Postgres has no cross-database references)."""
        prefix = f"{quote_identifier(str(relation.database))}."
        if to and to.startswith(prefix):
            return to[len(prefix) :]
        return to

    # --- write configs ----------------------------------------------------------

    @available
    def pg_model_configs(self, model: Dict[str, Any]) -> ModelConfigs:
        """The write configs of ``model`` (the ``model`` context dict): see
        :func:`.options.model_raw_configs`."""
        return model_raw_configs(model.get("config") or {}, model.get("unrendered_config") or {})

    @available
    def pg_write_options(
        self,
        mode: str,
        raw_configs: Dict[str, Any],
        label: str,
        columns: Optional[List[List[str]]] = None,
        problems: Optional[List[str]] = None,
    ) -> Dict[str, Any]:
        """Validate the configs of one write (see :func:`.options.validate_write_options`).

        Args:
            mode: 'full' | 'incremental_by_time' | 'upsert_by_key'.
            raw_configs: ``pg_model_configs(model)`` for a model's own table, or the
                configs of a pg_materialize target (every key must be the mode's).
            label: what is configured, for messages.
            columns: the model's columns as [[name, dtype], ...], or None.
            problems: problems found by the caller, reported in the same error.

        Returns:
            {'mode', 'label', 'indexes', 'grants', 'unlogged', 'on_schema_change',
             'event_time', 'event_time_type', 'batch_size', 'lookback', 'begin',
             'unique_key' (list), 'on_conflict', 'update_columns' (list or None),
             'exclude_columns' (list)}: a new dict.

        Raises:
            CompilationError: one error listing every problem.
        """
        options = validate_write_options(mode, raw_configs, label, columns, problems)
        return options.as_dict()

    @available
    def pg_write_response(self, result: Dict[str, Any]) -> PostgresWriteResponse:
        """The response of a write (``duckdb_postgres__write``'s result dict):
        ``rows_affected`` plus rows inserted, updated and deleted."""
        return PostgresWriteResponse(
            _message=str(result.get("message", "")),
            code="INSERT",
            rows_affected=int(result.get("rows", 0)),
            rows_inserted=int(result.get("inserted", 0)),
            rows_updated=int(result.get("updated", 0)),
            rows_deleted=int(result.get("deleted", 0)),
        )

    # --- transactions and time windows ---------------------------------------

    @available
    def pg_write_result(self, result: Dict[str, Any], message: str) -> Dict[str, Any]:
        """A write's counts ({'inserted', optional 'updated' / 'deleted'}) as
        ``duckdb_postgres__write`` returns them: {'rows' (inserted + updated),
        'inserted', 'updated', 'deleted', 'message'}."""
        updated = int(result.get("updated", 0))
        return {
            "rows": int(result["inserted"]) + updated,
            "inserted": int(result["inserted"]),
            "updated": updated,
            "deleted": int(result.get("deleted", 0)),
            "message": message,
        }

    @available
    def pg_incremental_mode(
        self, strategy: Optional[str], unique_key: Any, relation: DuckDBPostgresRelation
    ) -> List[str]:
        """The write mode of dbt's ``incremental`` on a Postgres target, from
        ``incremental_strategy`` (dbt-duckdb's default is delete+insert): append ->
        append; delete+insert -> delete_insert (append without unique_key); merge ->
        upsert_by_key (append without unique_key); microbatch -> microbatch.

        Returns:
            [mode, the materialization's label for messages].

        Raises:
            CompilationError: another strategy (naming the supported ones), or
                microbatch with a unique_key.
        """
        strategy = strategy or "delete+insert"
        label = f"incremental (strategy '{strategy}')"
        if strategy == "microbatch":
            if unique_key:
                raise CompilationError(
                    f"{label} model {relation}: unique_key={unique_key} is not used by "
                    "microbatch, which replaces each batch's event_time range. Remove "
                    "unique_key, or use incremental_strategy='merge'."
                )
            return ["microbatch", label]
        if strategy == "append" or (strategy in ("delete+insert", "merge") and not unique_key):
            return ["append", label]
        if strategy == "delete+insert":
            return ["delete_insert", label]
        if strategy == "merge":
            return ["upsert_by_key", label]
        raise CompilationError(
            f"{label} model {relation}: incremental_strategy='{strategy}' is not supported "
            f"on a Postgres target (database='{relation.database}'). Use append, "
            "delete+insert, merge or microbatch, or pg_incremental_by_time for time windows."
        )

    @available
    def pg_commit(self) -> None:
        """Commit this thread's transaction if one is open (DuckDB and, through it,
        every Postgres transaction it spans)."""
        connection = self.connections.get_if_exists()
        if connection is not None and connection.transaction_open:
            self.connections.commit()

    @available
    def pg_transaction_open(self) -> bool:
        """Whether this thread's connection has an open transaction."""
        connection = self.connections.get_if_exists()
        return connection is not None and connection.transaction_open

    @available
    def pg_execute(self, connection_name: str, sql: str) -> None:
        """Run ``sql`` (one or more statements) inside PostgreSQL on the postgres
        connection ``connection_name``, through DuckDB's ``postgres_execute``, in
        this thread's transaction (opened if none is: the statements commit with
        it). Goes through dbt's ``add_query`` (query comment, debug log, errors as
        ``DbtDatabaseError``), as the ``pg_execute`` macro does.

        Raises:
            DbtDatabaseError: PostgreSQL refused a statement.
        """
        self.connections.add_query(
            f"call postgres_execute({quote_literal(connection_name)}, {quote_literal(sql)})",
            auto_begin=True,
        )

    @available
    def pg_query(self, connection_name: str, sql: str) -> List[Tuple[Any, ...]]:
        """Run the query ``sql`` inside PostgreSQL (``postgres_query``: only its
        result crosses the network) and return its rows as tuples. Inside an
        open transaction it sees that transaction's writes; it never opens one.
        The ``pg_fetch`` macro's query without its agate table (whose type
        inference costs milliseconds per call on the write paths).

        Raises:
            DbtDatabaseError: PostgreSQL refused the query.
        """
        name, text = quote_literal(connection_name), quote_literal(sql)
        query = f"select * from postgres_query({name}, {text})"
        _, cursor = self.connections.add_query(query, auto_begin=False)
        with self.connections.exception_handler(query):
            return [tuple(row) for row in cursor.fetchall()]

    @available
    def pg_query_columns(self, select_sql: str) -> List[List[str]]:
        """The columns of a DuckDB query as ``[[name, dtype], ...]``, without running
        it: dbt-duckdb's ``get_column_schema_from_query`` (``DESCRIBE``, struct
        columns flattened) of the query wrapped as dbt-duckdb's
        ``get_empty_subquery_sql`` wraps it (``where false limit 0``).

        Raises:
            DbtDatabaseError: DuckDB cannot bind the query.
        """
        empty = f"select * from (\n{select_sql}\n) as __dbt_sbq\nwhere false\nlimit 0"
        return [[c.name, c.dtype] for c in self.get_column_schema_from_query(empty)]

    @available
    def pg_reads_postgres(self, select_sql: str) -> bool:
        """Whether compiled ``select_sql`` may read a postgres connection of the
        profile (``relation.reads_postgres``): a model reading only DuckDB tables
        and this run's source snapshots answers False."""
        return reads_postgres(select_sql, self._pg_connections())

    @available
    def pg_relation_info(self, relation: DuckDBPostgresRelation) -> Dict[str, Optional[str]]:
        """What PostgreSQL knows of ``relation`` (``database`` = a postgres
        connection), asked inside Postgres, not DuckDB's catalog cache:
        ``{'kind': relkind ('r' table, 'p' partitioned table, 'v' view, ...) or None
        when it does not exist, 'dependents': comma-separated names of the views
        depending on it, or None}``.

        Raises:
            DbtDatabaseError: PostgreSQL refused the query.
        """
        sql = f"""select c.relkind::text as kind,
      (select string_agg(distinct v.oid::regclass::text, ', ')
         from pg_depend d join pg_rewrite r on r.oid = d.objid
         join pg_class v on v.oid = r.ev_class
        where d.refobjid = c.oid and r.ev_class <> c.oid) as dependents
    from pg_class c where c.oid = to_regclass({quote_literal(relation.pg_name())})"""
        rows = self.pg_query(relation.database or "", sql)
        return (
            {"kind": rows[0][0], "dependents": rows[0][1]}
            if rows
            else {
                "kind": None,
                "dependents": None,
            }
        )

    @available
    def pg_lock_target(self, target: DuckDBPostgresRelation) -> None:
        """The first statement of a write transaction on ``target``: READ
        COMMITTED (statements after the wait see what a concurrent writer
        committed; DuckDB opens Postgres transactions as REPEATABLE READ, whose
        snapshot would predate it) and a transaction-scoped advisory lock on the
        target's name, so concurrent writers of one target serialize and the
        result equals a serial run. Also ``SET LOCAL random_page_cost = 1.1`` for
        the whole write, so the key lookups of checks, counts and final
        statements use the target's indexes (docs/architecture.md "Costs").
        Then the target's tuple counters are recorded, so the write can count its
        rows from them (:func:`.merge.rows_changed_sql`). Must run before any
        other Postgres statement of the transaction.

        Raises:
            DbtDatabaseError: PostgreSQL refused a statement.
        """
        self.pg_execute(
            target.database or "",
            "set transaction isolation level read committed; select pg_advisory_xact_lock("
            f"hashtextextended({quote_literal(target.pg_name())}, 0)); "
            f"set local random_page_cost = 1.1; {merge.record_counters_sql(target.pg_name())}",
        )

    @available
    def pg_begin_write(self, target: DuckDBPostgresRelation) -> None:
        """Start the one Postgres transaction of an incremental write of
        ``target``: COMMIT what the model's transaction holds (pre-hooks that ran
        inside it: the lock must be the first statement of the write's Postgres
        transaction), BEGIN, then :meth:`pg_lock_target`; the lock is held until
        the caller's COMMIT or ROLLBACK."""
        self.pg_commit()
        self.pg_begin()
        self.pg_lock_target(target)

    @available
    def pg_work_table(self, target: DuckDBPostgresRelation, suffix: str) -> List[Any]:
        """A new work table next to ``target``, ``<identifier>__dbt_<suffix>`` with
        a tag when this process used that name before
        (:class:`.catalog_cache.WorkTableNames`): ``[relation, whether DuckDB's
        catalog cache must be cleared before the table is bound]``."""
        name, clear = WORK_TABLES.take(
            target.database or "", target.schema or "", f"{target.identifier}__dbt_{suffix}"
        )
        return [target.incorporate(path={"identifier": name}, type="table"), clear]

    @available
    def pg_stage(
        self,
        target: DuckDBPostgresRelation,
        suffix: str,
        select_sql: str,
        unlogged: bool = True,
        column_types: Optional[Dict[str, str]] = None,
        constraints: Optional[Dict[str, Any]] = None,
        partition_by: Optional[str] = None,
        partitions_sql: str = "",
        work: Optional[List[Any]] = None,
    ) -> List[Any]:
        """Load ``select_sql`` (DuckDB) by binary COPY into a new Postgres work table
        next to ``target``, inside this thread's transaction (opened if none is):
        the one work-table loader of every write mode.

        The table, ``<identifier>__dbt_<suffix>`` (:meth:`pg_work_table`: a name
        DuckDB's catalog cache cannot hold, so the load makes the postgres
        extension read just this table's definition), is created inside Postgres
        with explicit DDL from the type map (:meth:`pg_table_plan`), loaded by
        ``INSERT ... SELECT`` through the attached catalog, then finalized
        (unconstrained numeric columns lose the numeric(38,0) they were loaded
        through). A leftover of that name is dropped first.

        Args:
            target: the table the work table serves.
            suffix: 'stage', 'batch' or 'tmp'.
            select_sql: the DuckDB SELECT to load.
            unlogged: create the table UNLOGGED.
            column_types: the ``column_types`` config.
            constraints: an enforced contract's (:meth:`pg_contract_constraints`),
                part of the CREATE TABLE, so a violating row fails the load.
            partition_by: a column: the table is ``PARTITION BY RANGE`` and
                ``partitions_sql`` (its partitions) runs right after the CREATE, so
                the COPY into the parent routes every row (PostgreSQL 11+).
            work: the :meth:`pg_work_table` result the caller already named the
                table by (partitions name their parent).

        Returns:
            ``[relation, rows loaded, plan]`` (plan: :meth:`pg_table_plan`'s).

        Raises:
            CompilationError, DbtDatabaseError: as :meth:`pg_table_plan`; a failed
                CREATE or load (the caller's transaction then rolls back).
        """
        stage, clear = work or self.pg_work_table(target, suffix)
        plan = self.pg_table_plan(
            stage, select_sql, column_types, unlogged, constraints, partition_by
        )
        create = f"drop table if exists {stage.pg_name()};\n{plan['create']}"
        self.pg_execute(
            target.database or "", create + (f";\n{partitions_sql}" if partitions_sql else "")
        )
        if clear:
            self.connections.add_query("call pg_clear_cache()", auto_begin=True)
        load = f"insert into {stage} {plan['load']}"
        _, cursor = self.connections.add_query(load, auto_begin=True)
        with self.connections.exception_handler(load):
            rows = int(cursor.fetchone()[0])
        if plan["finalize"]:
            self.pg_execute(target.database or "", plan["finalize"])
        return [stage, rows, plan]

    @available
    def pg_duckdb_catalog_query(self, sql: str) -> Any:
        """Run ``sql``, a query of DuckDB's own catalog (``duckdb_indexes()``,
        ``information_schema``) about DuckDB relations, on this thread's connection
        without opening a transaction, and return its rows (an agate table).

        Those functions enumerate every attached catalog, Postgres ones included,
        and with ``pg_staleness_query_enabled`` (on, so tables changed outside dbt
        are seen) the postgres extension asks Postgres whether each schema is stale
        for every entry it lists: one round trip per relation of the schema, 129
        for ``pg_catalog`` alone; a ``duckdb_indexes()`` read took 0.68-2.4 s on
        the test database against 2-25 ms without the checks (measured with the
        postgres extension 1.5.5). The checks are turned off for this connection
        (``SET SESSION``) for the query and set back to their previous value after
        it (``RESET`` would leave them off: the extension's default is off): the
        answer concerns DuckDB relations, which the checks do not affect.

        Raises:
            DbtDatabaseError: DuckDB refused the query.
        """
        setting = "pg_staleness_query_enabled"
        _, cursor = self.connections.add_query(
            f"select current_setting({quote_literal(setting)})", auto_begin=False
        )
        previous = "true" if cursor.fetchone()[0] else "false"
        self.connections.add_query(f"set session {setting} = false", auto_begin=False)
        try:
            return self.execute(sql, auto_begin=False, fetch=True)[1]
        finally:
            self.connections.add_query(f"set session {setting} = {previous}", auto_begin=False)

    @available
    def pg_merge_catalog(
        self, target: DuckDBPostgresRelation, stage: DuckDBPostgresRelation, keys: List[str]
    ) -> Dict[str, Any]:
        """One catalog query inside Postgres (this transaction) for a merge of
        ``stage`` into ``target`` by ``keys``: ``{'stage_columns',
        'target_columns': [[name, format_type], ...], 'casts': {column: cast},
        'unique_index': bool}`` (:func:`.merge.merge_catalog_sql`).

        Raises:
            DbtDatabaseError: PostgreSQL refused the query.
        """
        sql = merge.merge_catalog_sql(target.pg_name(), stage.pg_name(), keys)
        return merge.parse_merge_catalog(self.pg_query(target.database, sql))

    @available
    def pg_comparison_casts(self, relation: DuckDBPostgresRelation) -> Dict[str, str]:
        """How each column of the Postgres table ``relation`` is compared by
        ``is distinct from``: column -> ``''``, ``'::jsonb'`` or ``'::text'``
        (:func:`.merge.comparison_casts_sql`)."""
        rows = self.pg_query(relation.database, merge.comparison_casts_sql(relation.pg_name()))
        return {row[0]: row[1] or "" for row in rows}

    @available
    def pg_differs(self, columns: List[str], casts: Dict[str, str], left: str, right: str) -> str:
        """``(l.cols) is distinct from (r.cols)`` through the comparison casts
        (:func:`.merge.differs`)."""
        return merge.differs(columns, casts, left, right)

    @available
    def pg_rows_changed_sql(self, relation: DuckDBPostgresRelation, counter: str) -> str:
        """The rows the current write inserted, updated or deleted (``counter``:
        'n_tup_ins', 'n_tup_upd', 'n_tup_del') in ``relation`` since its target
        lock, as a scalar SQL expression (:func:`.merge.rows_changed_sql`)."""
        return merge.rows_changed_sql(relation.pg_name(), counter)

    @available
    def pg_analyze_when_stale_sql(
        self, relation: DuckDBPostgresRelation, changed_rows: int
    ) -> str:
        """A statement that ANALYZEs ``relation`` when ``changed_rows`` (int, the
        rows this write inserted and deleted) make its statistics stale by
        autovacuum's rule (:func:`.ddl.analyze_when_stale_sql`)."""
        return ddl.analyze_when_stale_sql(relation.pg_name(), changed_rows)

    @available
    def pg_null_event_time_message(self, options: Dict[str, Any], nulls: int) -> str:
        """The error of a model result with ``nulls`` NULL event_time values."""
        return merge.null_event_time_message(options, nulls)

    @available
    def pg_check_stage(self, stage: DuckDBPostgresRelation, options: Dict[str, Any]) -> None:
        """Refuse a staged model result before it reaches the target: NULL
        event_time values, NULL or repeated unique_key values (upsert_by_key), in
        one query (:func:`.merge.stage_checks_sql`).

        Raises:
            DbtDatabaseError: the stage holds such rows (nothing is written: the
                caller's transaction rolls back).
        """
        sql = merge.stage_checks_sql(stage.pg_name(), options)
        problem = (
            merge.stage_problem(options, self.pg_query(stage.database, sql)[0]) if sql else None
        )
        if problem:
            raise DbtDatabaseError(problem)

    @available
    def pg_merge(
        self,
        target: DuckDBPostgresRelation,
        stage: DuckDBPostgresRelation,
        options: Dict[str, Any],
        columns: List[str],
        catalog: Dict[str, Any],
        altered: bool,
        grant_sql: str = "",
    ) -> Dict[str, int]:
        """Merge the stage table into ``target`` by ``options['unique_key']``
        inside Postgres, in this transaction (:func:`.merge.merge_plan`): one
        query checks the stage (with on_conflict='fail' it also counts the keys
        that exist), one ``postgres_execute`` writes, grants and drops the stage,
        and one query counts the rows written from the transaction's statistics.

        Args:
            columns: the columns to write (after on_schema_change).
            catalog: :meth:`pg_merge_catalog`'s result.
            altered: on_schema_change altered the target (its comparison casts are
                read again).
            grant_sql: GRANT statements to run with the writes.

        Returns:
            ``{'inserted': new keys, 'updated': rows whose values changed}``.

        Raises:
            DbtDatabaseError: NULL or repeated keys in the model result, keys that
                exist with on_conflict='fail', or PostgreSQL refused a statement;
                nothing is written.
        """
        casts = self.pg_comparison_casts(target) if altered else catalog["casts"]
        plan = merge.merge_plan(
            target.pg_name(),
            stage.pg_name(),
            options,
            columns,
            casts,
            catalog["unique_index"],
            grant_sql,
        )
        database = target.database or ""
        row = self.pg_query(database, plan.check_sql)[0]
        fail = options["on_conflict"] == "fail"
        problem = merge.stage_problem(options, row[3:] if fail else row)
        if problem:
            raise DbtDatabaseError(problem)
        if fail and int(row[1]) > 0:
            sample = self.pg_query(database, plan.sample_sql)[0][0]
            raise DbtDatabaseError(
                f"{options['label']}: {row[1]} key(s) of the model result already exist "
                f"in {target} (on_conflict='fail'), e.g. {sample}. Nothing was written. Use "
                "on_conflict='update' or 'skip', or remove those rows from the model."
            )
        self.pg_execute(database, plan.statements)
        inserted, updated = (int(value) for value in self.pg_query(database, plan.written_sql)[0])
        return {"inserted": inserted, "updated": updated if plan.update else 0}

    @available
    def pg_begin(self) -> None:
        """Open a transaction on this thread's connection if none is open."""
        connection = self.connections.get_thread_connection()
        if not connection.transaction_open:
            self.connections.begin()

    @available
    def pg_microbatch_bounds(self, batch: Any) -> List[str]:
        """The bounds of dbt's current microbatch batch (``model.batch``) as
        [start, end], 'YYYY-MM-DD HH:MM:SS.ffffff' UTC (see :func:`.windows.batch_bounds`).

        Raises:
            CompilationError: the model has no batch (the microbatch strategy ran
                outside dbt-core's microbatch runner).
        """
        try:
            return list(batch_bounds(batch or {}))
        except ValueError as e:
            raise CompilationError(
                f"incremental_strategy='microbatch': {e}; dbt-core sets the batch when it "
                "runs a microbatch model (dbt run / dbt build), with event_time and batch_size "
                "configured on the model"
            ) from None

    @available
    def pg_window_condition(self, options: Dict[str, Any], start: Optional[str], end: str) -> str:
        """The condition selecting the rows of [start, end) by the options'
        ``event_time`` (:func:`.windows.window_condition`); a None start has no lower bound."""
        return window_condition(options["event_time"], options.get("event_time_type"), start, end)

    @available
    def pg_time_window(
        self,
        target: DuckDBPostgresRelation,
        batch_size: str,
        lookback: int,
        begin: Any,
        target_max: Any,
        full_refresh: bool,
    ) -> Dict[str, Any]:
        """The time window of this run for ``target`` (see :mod:`.windows`).

        Computed once per target and invocation, so the bounds that model SQL
        reads at compile time (``pg_window_start()``) are the ones the
        materialization writes. ``--event-time-start/--event-time-end`` come from
        dbt's own flags; the end is dbt's microbatch clock
        (``MicrobatchBuilder.build_end_time``) ceiled to ``batch_size``.

        Returns:
            {'start', 'end': 'YYYY-MM-DD HH:MM:SS.ffffff' UTC or None,
             'full_build': bool, 'batches': [[start, end], ...]}.

        Raises:
            CompilationError: only one of the two event-time flags was given.
        """
        key = target.render()
        with self._windows_lock:
            if key not in self._windows:
                args = self.config.args
                try:
                    window = compute_window(
                        batch_size=batch_size,
                        lookback=int(lookback),
                        begin=parse_time(begin),
                        target_max=parse_time(target_max),
                        full_refresh=bool(full_refresh),
                        event_time_start=parse_time(getattr(args, "EVENT_TIME_START", None)),
                        event_time_end=parse_time(getattr(args, "EVENT_TIME_END", None)),
                        now=datetime.now(UTC),
                    )
                except ValueError as e:
                    raise CompilationError(f"pg_incremental_by_time on {target}: {e}") from None
                self._windows[key] = window.as_dict()
            return self._windows[key]

    @available
    def pg_batch_plan(
        self,
        window: Dict[str, Any],
        batch_size: str,
        model_batches: List[Any],
        target_batches: List[Any],
    ) -> List[Dict[str, Any]]:
        """The write steps of an incremental window (:func:`.windows.plan_batches`).

        Args:
            window: from :meth:`pg_time_window` (not a full build).
            batch_size: hour|day|month|year.
            model_batches, target_batches: 'YYYY-MM-DD HH:MM:SS' UTC starts of the
                batches holding rows of the model result and of the target.

        Returns:
            [{'kind': 'write'|'delete'|'skip', 'first', 'last': 1-based batch
              numbers, 'start', 'end': UTC strings}, ...] in time order.
        """
        batches = []
        for lower, upper in window["batches"]:
            start, end = parse_time(lower), parse_time(upper)
            assert start is not None and end is not None
            batches.append((start, end))
        steps = plan_batches(batches, model_batches, target_batches, batch_size)
        return [step.as_dict() for step in steps]

    @available
    def pg_cached_time_window(self, target: DuckDBPostgresRelation) -> Optional[Dict[str, Any]]:
        """The window already computed for ``target`` in this invocation, or None
        (so its catalog queries run once per target and invocation)."""
        with self._windows_lock:
            return self._windows.get(target.render())

    # --- partitioned targets ----------------------------------------------------

    @available
    def pg_partition_name_problem(self, target: DuckDBPostgresRelation) -> str:
        """Why ``target`` cannot be partitioned under the adapter's partition names
        (``<table>__p<YYYYMMDD>``, loaded as ``<table>__dbt_p<YYYYMMDD>``, within 63
        bytes), as a message with the fix, or ''."""
        problem = name_problem("identifier (alias)", target.identifier, partitions.LONGEST_SUFFIX)
        return f"partition_by on {target}: {problem}" if problem else ""

    @available
    def pg_partitions(
        self,
        target: DuckDBPostgresRelation,
        partition_by: Dict[str, Any],
        periods: List[Any],
        existing_names: Optional[List[str]] = None,
    ) -> List[Dict[str, Any]]:
        """The partitions of ``target`` holding ``periods`` (a full build).

        Args:
            target: the partitioned table.
            partition_by: the validated option (field, granularity, type).
            periods: starts (UTC text or datetimes) of the periods holding rows,
                e.g. ``date_trunc(granularity, field)`` of each group.
            existing_names: the names of the target's partitions, if it has any.

        Returns:
            [:meth:`.partitions.Partition.as_dict`, ...] in time order: name,
            new_name, bound (FOR VALUES ...), check, condition, exists, rows.
        """
        granularity = partition_by["granularity"]
        existing = set()
        for name in existing_names or []:
            moment = partitions.parse_partition_name(str(target.identifier), name)
            if moment is not None:
                existing.add(moment)
        starts = set()
        for period in periods:
            moment = parse_time(period)
            assert moment is not None
            starts.add(moment)
        found = partitions.partitions_for(
            str(target.identifier), granularity, partition_by["type"], starts, existing, starts
        )
        return [p.as_dict(partition_by["field"]) for p in found]

    @available
    def pg_partition_step(
        self,
        target: DuckDBPostgresRelation,
        partition_by: Dict[str, Any],
        step: Dict[str, Any],
        model_periods: List[Any],
        existing_names: List[str],
    ) -> Dict[str, Any]:
        """The partitions one incremental write step touches (:func:`.partitions.plan_step`).

        Args:
            target: the partitioned table.
            partition_by: the validated option (field, granularity, type).
            step: a step of :meth:`pg_batch_plan` (its start and end are used).
            model_periods: starts of the periods holding rows of the model result.
            existing_names: the names of the target's partitions now.

        Returns:
            {'aligned': bool (partition swap) , 'partitions': [Partition.as_dict, ...]}.
        """
        plan = partitions.plan_step(
            str(target.identifier),
            partition_by["granularity"],
            partition_by["type"],
            step["start"],
            step["end"],
            model_periods,
            existing_names,
        )
        field = partition_by["field"]
        return {
            "aligned": plan["aligned"],
            "partitions": [p.as_dict(field) for p in plan["partitions"]],
        }

    # --- pg_materialize ---------------------------------------------------------

    @available
    def pg_write_target(self, description: Optional[str]) -> None:
        """Name the pg_materialize target being written (None when done), so that a
        database error raised meanwhile names it."""
        WRITE_STATE.target = description

    @available
    def pg_validating(self, value: Optional[bool] = None) -> bool:
        """Get, or set with ``value``, whether pg_materialize calls only validate."""
        if value is not None:
            WRITE_STATE.validating = bool(value)
        return WRITE_STATE.validating

    @available
    def pg_first_write(self) -> bool:
        """True once per model run: the first pg_materialize write validates every
        target of the model before any is written."""
        first = not WRITE_STATE.validated
        WRITE_STATE.validated = True
        return first

    @available
    def pg_targets_written(self, value: Optional[bool] = None) -> bool:
        """Get, or set with ``value``, whether this model's ``pg_targets`` were written."""
        if value is not None:
            WRITE_STATE.pg_targets_written = bool(value)
        return WRITE_STATE.pg_targets_written

    # --- dbt source freshness -----------------------------------------------------

    @available
    def pg_check_source(self, source: DuckDBPostgresRelation) -> None:
        """Check that the source relation ``source`` can be read.

        Raises:
            CompilationError: its ``database`` is neither a postgres connection nor a
                DuckDB catalog of the profile (naming the source, the database and
                the connections), instead of DuckDB's Binder error.
        """
        label = f"source '{source.pg_source}'" if source.pg_source else f"source {source}"
        problem = database_problem(self.config.credentials, source.database, label)
        if problem:
            raise CompilationError(problem)

    @available
    def pg_source_mirror(self, source: DuckDBPostgresRelation) -> Optional[Dict[str, str]]:
        """Where the persistent mirror of the source relation ``source`` lives, or None
        when it is not mirrored (``meta.pg_snapshot`` is not a valid 'mirror', or its
        ``database`` is not a postgres connection).

        Returns:
            {'database', 'schema', 'identifier': the mirror table's parts in DuckDB,
             'state_identifier': the state table's name in that schema,
             'relation', 'state': their rendered names}.
        """
        if source.pg_mirror is None or source.database not in self._pg_connections():
            return None
        database, schema, identifier = self._snapshots.database, MIRROR_SCHEMA, source.pg_mirror
        return {
            "database": database,
            "schema": schema,
            "identifier": identifier,
            "state_identifier": MIRROR_STATE,
            "relation": ".".join(quote_identifier(p) for p in (database, schema, identifier)),
            "state": ".".join(quote_identifier(p) for p in (database, schema, MIRROR_STATE)),
        }

    @available
    def pg_mirror_freshness(self, result: Any, mirror: str) -> FreshnessResult:
        """dbt's freshness result of a mirrored source from the 4-column result of
        ``duckdb_postgres__collect_mirror_freshness`` (max_loaded_at over the mirror,
        snapshotted_at, source_max_loaded_at, mirror_synced_at).

        Args:
            result: ``load_result(...)`` of that statement (one row).
            mirror: the mirror's local identifier, for the response.

        Returns:
            The response (a MirrorFreshnessResponse with the source's own max and the
            lag) and the table of the first two columns, which dbt reads.
        """
        table = result.table
        row = table[0] if len(table) == 1 else [None] * 4
        mirror_max, source_max, synced_at = _as_utc(row[0]), _as_utc(row[2]), _as_utc(row[3])
        lag = None
        if mirror_max is not None and source_max is not None:
            lag = max((source_max - mirror_max).total_seconds(), 0.0)
        response = result.response
        mirror_response = MirrorFreshnessResponse(
            _message=str(getattr(response, "_message", "")),
            code=getattr(response, "code", None),
            rows_affected=getattr(response, "rows_affected", None),
            mirror=mirror,
            mirror_synced_at=synced_at.isoformat() if synced_at else None,
            source_max_loaded_at=source_max.isoformat() if source_max else None,
            mirror_lag_seconds=lag,
        )
        logger.debug(
            f"Freshness of mirror {mirror}: synced at {mirror_response.mirror_synced_at}, "
            f"{lag if lag is not None else 'unknown'} s behind the source"
        )
        names = list(table.column_names)
        return FreshnessResult(response=mirror_response, table=table.select(names[:2]))

    # --- source snapshots -------------------------------------------------------

    def _snapshot_modes(self) -> Dict[str, str]:
        """postgres connection name -> its ``source_snapshot`` ('run' | 'off')."""
        return {name: c.source_snapshot for name, c in self._pg_connections().items()}

    def _snapshot_cursor(self) -> Any:
        """(cursor on the shared DuckDB database, its close function)."""
        handle = DuckDBPostgresConnectionManager.env().handle()
        return handle.cursor(), handle.close

    def _catalog_type(self, database: str) -> Optional[str]:
        """DuckDB's type of catalog ``database`` (dbt-duckdb asks it before every
        model, for its foreign-key handling): 'postgres' for a postgres
        connection of the profile, which is attached as one, without dbt-duckdb's
        ``duckdb_databases()`` query and its agate table (about 10 ms of a
        one-model run); other catalogs as dbt-duckdb answers."""
        if database.casefold() in {name.casefold() for name in self._pg_connections()}:
            return "postgres"
        return super()._catalog_type(database)

    @available
    def pg_empty_table(self) -> Any:
        """One empty agate table for ``store_result``: dbt's default builds a new one
        per call, whose type tester (dates parsed by parsedatetime) costs
        milliseconds; agate tables are immutable, so one serves every write."""
        global _EMPTY_TABLE
        if _EMPTY_TABLE is None:
            from dbt_common.clients import agate_helper

            _EMPTY_TABLE = agate_helper.empty_table()
        return _EMPTY_TABLE

    def pre_model_hook(self, config: Any) -> Any:
        """Reset the pg_materialize state of this thread, load this run's source
        snapshots if the node reads one (once per run, see :mod:`.snapshot`), then
        dbt-duckdb's hook."""
        WRITE_STATE.reset()
        node = getattr(config, "model", None)
        if node is not None:
            self._snapshots.ensure_loaded(str(node.unique_id), self._snapshot_cursor)
        return super().pre_model_hook(config)

    def cleanup_connections(self) -> None:
        """Drop this run's source snapshots (dbt calls this at the end of every
        task), then dbt's cleanup."""
        try:
            if DuckDBConnectionManager._ENV is not None:
                self._snapshots.drop(self._snapshot_cursor)
        except Exception as e:
            logger.warning(f"Could not drop the source snapshots of this run: {e}")
        super().cleanup_connections()

    def post_model_hook(self, config: Any, context: Any) -> None:
        """dbt-duckdb's hook; a failed write must not leave its target named.

        Raises:
            DbtRuntimeError: the model built, has ``pg_targets``, and its
                materialization did not write them (only the pg_* ones and
                ``table``, ``view``, ``incremental`` do). Not raised while the
                materialization's own error propagates (dbt calls this hook in a
                ``finally``), nor for ``dbt clone``, which writes no targets.
        """
        unwritten = (
            sys.exc_info()[0] is None
            and getattr(getattr(self.config, "args", None), "which", None) != "clone"
            and getattr(config, "model", None) is not None
            and bool(config.get("pg_targets"))
            and not WRITE_STATE.pg_targets_written
        )
        WRITE_STATE.reset()
        super().post_model_hook(config, context)
        if unwritten:
            node = config.model
            raise DbtRuntimeError(
                f"pg_targets of {node.name} were not written: its materialization "
                f"{node.config.materialized!r} does not write them (the pg_* materializations, "
                "table, view and incremental do). Use pg_materialize post-hooks instead, or "
                "one of those materializations."
            )

    # --- dbt debug ------------------------------------------------------------

    def debug_query(self) -> None:
        """Report each postgres connection (reachable or the error, server version,
        latency in ms, read_only), each probed on its own, then run dbt-duckdb's check."""
        failed = []
        for conn in self._pg_connections().values():
            line = self._probe_connection(conn)
            if line.startswith("ERROR"):
                failed.append(conn.name)
            _debug_out(f"  postgres '{conn.name}': {line}")
        super().debug_query()
        if failed:
            raise DbtRuntimeError(f"postgres connection(s) not reachable: {', '.join(failed)}")

    @staticmethod
    def _probe_connection(conn: PostgresConnection) -> str:
        db = duckdb.connect(":memory:")
        try:
            load_postgres_extension(db)
            attach_connection(db, conn)
            start = time.perf_counter()
            sql = "select current_setting('server_version')"
            version = db.execute(
                f"select * from postgres_query({quote_literal(conn.name)}, {quote_literal(sql)})"
            ).fetchone()
            latency = (time.perf_counter() - start) * 1000
            assert version is not None
            return (
                f"OK reachable, server {version[0]}, latency {latency:.1f} ms, "
                f"read_only={str(conn.read_only).lower()}"
            )
        except DbtRuntimeError as e:
            return "ERROR " + " ".join(e.msg.split())
        except Exception as e:
            return "ERROR " + " ".join(mask_secrets(str(e), conn).split())
        finally:
            db.close()


def _debug_out(msg: str) -> None:
    """Print a line in `dbt debug` output (dbt-core's DebugCmdOut event)."""
    try:
        from dbt.events.types import DebugCmdOut
        from dbt_common.events.functions import fire_event

        fire_event(DebugCmdOut(msg=msg))
    except ImportError:
        logger.info(msg)


_NUMERIC = re.compile(r"^\s*numeric\s*(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?\s*$", re.IGNORECASE)


def _numeric_typmod(pg_type: str) -> Optional[Tuple[Optional[int], Optional[int]]]:
    """(precision, scale) of a Postgres ``numeric`` type as format_type spells it
    (``numeric(38,2)``; ``numeric(10)`` has scale 0), (None, None) for an
    unconstrained ``numeric``, None for any other type."""
    match = _NUMERIC.match(pg_type or "")
    if not match:
        return None
    if match.group(1) is None:
        return (None, None)
    return (int(match.group(1)), int(match.group(2) or 0))
