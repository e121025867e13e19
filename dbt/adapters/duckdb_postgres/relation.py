"""Relations: dbt-duckdb's, plus sources whose SQL runs entirely on PostgreSQL.

A source table with ``meta.pg_query`` renders as
``postgres_query('<connection>', '<sql>')``: DuckDB sends the SQL as written
(``docs/architecture.md``, "What DuckDB sends to Postgres"), so ``--empty`` limits
and event-time filters are put inside that SQL rather than around the call.
"""

import re
import threading
from dataclasses import dataclass
from typing import Any
from typing import Dict
from typing import Iterable
from typing import Iterator
from typing import List
from typing import Optional
from typing import Tuple
from typing import Type

from dbt.adapters.contracts.relation import ComponentName
from dbt.adapters.contracts.relation import HasQuoting
from dbt.adapters.contracts.relation import RelationConfig
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.relation import DuckDBRelation
from dbt.adapters.duckdb.utils import SourceConfig
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import CompilationError
from dbt_common.invocation import get_invocation_id

from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.exact_numeric import NumericStats
from dbt.adapters.duckdb_postgres.exact_numeric import choose_scales
from dbt.adapters.duckdb_postgres.exact_numeric import parse_stats
from dbt.adapters.duckdb_postgres.exact_numeric import read_expression
from dbt.adapters.duckdb_postgres.exact_numeric import stats_sql
from dbt.adapters.duckdb_postgres.quoting import is_plain_identifier
from dbt.adapters.duckdb_postgres.quoting import qualified_name
from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal
from dbt.adapters.duckdb_postgres.snapshot import local_name_for
from dbt.adapters.duckdb_postgres.snapshot import mirror_identifier

logger = AdapterLogger("DuckDBPostgres")

# per invocation, connection and SQL: the result's columns (whether each is an
# unconstrained NUMERIC), and the measures of those columns (see .exact_numeric)
_NUMERIC_COLUMNS: Dict[Tuple[str, str, str], List[Tuple[str, bool]]] = {}
_NUMERIC_STATS: Dict[Tuple[str, str, str], Dict[str, NumericStats]] = {}
_NUMERIC_LOCK = threading.Lock()


def postgres_query_call(connection: str, sql: str) -> str:
    """Render ``postgres_query('<connection>', '<sql>')`` with both safely quoted."""
    return f"postgres_query({quote_literal(connection)}, {quote_literal(sql)})"


def reads_postgres(sql: str, connections: Iterable[str]) -> bool:
    """Whether DuckDB SQL may read one of the postgres ``connections``: a dotted
    name whose first part is a connection (``pg.s.t``, ``"pg"."s"."t"``: a
    relation read through the attach, a ``ref`` to a Postgres model, ``{{ this }}``)
    or the connection's name as a string literal (``postgres_query('pg', ...)``,
    the rendering of ``pg_query`` sources). Case-insensitive, like DuckDB's
    catalog names. Source snapshots render as ``"<db>"."__dbt_pg_snapshot"."pg.s.t"``
    (the connection is inside the last part, after a quote): not a read.

    Conservative: a name that only looks like a read (a column alias ``pg.x``, a
    string 'pg') answers True; a read hidden from the SQL text (a DuckDB view
    over an attached table) answers False.

    Args:
        sql: compiled SQL (Jinja rendered).
        connections: the profile's postgres connection names.
    """
    for name in connections:
        quoted = re.escape(quote_identifier(name))
        literal = re.escape(quote_literal(name))
        pattern = rf'(?<![\w."])(?:{quoted}|{re.escape(name)}(?![\w"]))\s*\.|{literal}'
        if re.search(pattern, sql, re.IGNORECASE):
            return True
    return False


def _strip_sql(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def _subquery(sql: str, alias: str) -> str:
    """``(\n<sql>\n) alias``: the newlines keep a trailing ``-- comment`` in the
    user's SQL from swallowing the closing parenthesis."""
    return f"(\n{sql}\n) {alias}"


def _result_columns(connection: str, sql: str) -> Optional[List[Tuple[str, bool]]]:
    """Names of the columns of ``sql`` and whether each is an unconstrained NUMERIC.

    Asks Postgres twice, both without running the query (``LIMIT 0``): DuckDB's
    DESCRIBE gives names and DuckDB types; for DOUBLE columns only,
    ``pg_typeof`` over an outer join to the empty result tells numeric from
    float8. Cached per process. Returns None when there is no open DuckDB
    environment (parsing) or the describe fails (the real run reports the error).
    """
    # per invocation: a long-lived process (dbtRunner) must see columns added since
    key = (get_invocation_id(), connection, sql)
    with _NUMERIC_LOCK:
        if key in _NUMERIC_COLUMNS:
            return _NUMERIC_COLUMNS[key]
    env = DuckDBConnectionManager._ENV
    if env is None:
        return None
    handle = env.handle()
    try:
        cursor = handle.cursor()
        empty = f"select * from {_subquery(sql, '_dbt_describe')} limit 0"
        described = cursor.execute(
            f"describe select * from {postgres_query_call(connection, empty)}"
        ).fetchall()
        names = [str(row[0]) for row in described]
        doubles = [str(row[0]) for row in described if str(row[1]).upper() == "DOUBLE"]
        numeric = set()
        if doubles:
            probes = ", ".join(
                f"pg_typeof(q.{quote_identifier(c)})::text as {quote_identifier(f'_dbt_t{i}')}"
                for i, c in enumerate(doubles)
            )
            typeof_sql = f"select {probes} from (select 1) _dbt_one left join ({empty}) q on true"
            types = cursor.execute(
                f"select * from {postgres_query_call(connection, typeof_sql)}"
            ).fetchall()[0]
            numeric = {c for c, t in zip(doubles, types, strict=False) if t == "numeric"}
        columns = [(name, name in numeric) for name in names]
    except Exception as e:
        logger.debug(f"Could not describe pg_query on '{connection}': {type(e).__name__}")
        return None
    finally:
        handle.close()
    with _NUMERIC_LOCK:
        _NUMERIC_COLUMNS[key] = columns
    return columns


def _numeric_stats(connection: str, sql: str, numeric: List[str]) -> Dict[str, NumericStats]:
    """Largest scale and absolute value of each unconstrained NUMERIC column of
    ``sql`` (the SQL that will be read), from one aggregate query that Postgres
    runs over the whole result (see :func:`.exact_numeric.stats_sql`). Cached
    per invocation. Returns {} when there is no open DuckDB environment or the
    query fails: the columns are then read at the unmeasured scale, still
    checked value by value, and the read itself reports the query's error.
    """
    key = (get_invocation_id(), connection, sql)
    with _NUMERIC_LOCK:
        if key in _NUMERIC_STATS:
            return _NUMERIC_STATS[key]
    env = DuckDBConnectionManager._ENV
    if env is None:
        return {}
    handle = env.handle()
    try:
        cursor = handle.cursor()
        found = cursor.execute(
            f"select * from {postgres_query_call(connection, stats_sql(sql, numeric))}"
        ).fetchall()
        stats = parse_stats(found[0], numeric)
    except Exception as e:
        logger.debug(f"Could not measure pg_query on '{connection}': {type(e).__name__}")
        return {}
    finally:
        handle.close()
    with _NUMERIC_LOCK:
        _NUMERIC_STATS[key] = stats
    return stats


def database_problem(credentials: Any, database: Optional[str], label: str) -> str:
    """Why ``label`` (e.g. "source 'app.orders'") cannot be read from ``database``, or
    '': ``database`` names no catalog the profile attaches (a postgres connection, the
    DuckDB database, an ``attach`` entry). Without this, DuckDB reports ``Catalog "x"
    does not exist`` (or a Binder error) without naming the source. Not checked for
    profiles whose catalogs are not all known ahead (``remote``, MotherDuck)."""
    if (
        not database
        or not isinstance(credentials, DuckDBPostgresCredentials)
        or credentials.remote
        or credentials.is_motherduck
    ):
        return ""
    connections = list(credentials.postgres_connections)
    duckdb_names = [credentials.database, "memory", "system", "temp"]
    for attachment in credentials.attach or []:
        alias = getattr(attachment, "alias", None)
        path = getattr(attachment, "path", None)
        duckdb_names.append(alias or credentials.path_derived_database_name(path))
    if str(database).lower() in {str(n).lower() for n in connections + duckdb_names}:
        return ""
    names = ", ".join(repr(n) for n in connections) or "(none in the profile)"
    return (
        f"{label}: database={database!r} is not a postgres connection of this profile. "
        f"Set the source's database: to one of: {names} (the names under 'postgres:' in "
        f"profiles.yml), or to the DuckDB database {credentials.database!r}."
    )


def _source_problem(credentials: Any, source: Any, config: Any) -> str:
    """:func:`database_problem` for a source definition; not checked for sources read
    through a plugin or an external location."""
    if "plugin" in config or "external_location" in config:
        return ""
    label = f"source '{source.source_name}.{source.name}'"
    return database_problem(credentials, getattr(source, "database", None), label)


@dataclass(frozen=True, eq=False, repr=False)
class DuckDBPostgresRelation(DuckDBRelation):
    # set for sources with meta.pg_query: the connection and the SQL run on Postgres
    pg_connection: Optional[str] = None
    pg_query: Optional[str] = None
    # set for sources read from this run's local copy: its rendered name (see .snapshot)
    pg_snapshot: Optional[str] = None
    # set for every source: "<source_name>.<table name>", for messages
    pg_source: Optional[str] = None
    # set with pg_query when a model's source() renders it: measure its numeric
    # columns (parsing renders relation_name too, and must not run the query)
    pg_measure: bool = False
    # set for sources with a valid meta.pg_snapshot: mirror: the mirror's local
    # identifier (see .snapshot.mirror_identifier)
    pg_mirror: Optional[str] = None

    @classmethod
    def create_from_source(
        cls: Type["DuckDBPostgresRelation"],
        quoting: HasQuoting,
        source: RelationConfig,
        **kwargs: Any,
    ) -> "DuckDBPostgresRelation":
        """A source relation; with ``meta.pg_query`` one that renders as ``postgres_query``;
        when this run snapshots the source (see :mod:`.snapshot`), one that renders as
        its local copy (dbt's ``--empty`` limit and event-time filter wrap that name).

        Raises:
            CompilationError: when a model's ``source()`` is resolved (not while
                parsing), the source's ``database`` is neither a postgres connection
                nor a DuckDB catalog of the profile (see _source_problem), or its
                ``meta.pg_snapshot`` is neither 'run' nor 'off'.
        """
        config = SourceConfig.create_from_source(source)
        # source() in a model at run time passes limit and event_time_filter; parsing
        # (relation_name) does not, and must not fail the whole project
        if "limit" in kwargs or "event_time_filter" in kwargs:
            env = DuckDBConnectionManager._ENV
            problem = _source_problem(getattr(env, "creds", None), source, config)
            if problem:
                raise CompilationError(problem)
            if "pg_query" not in config:
                local, problem = local_name_for(source)
                if problem:
                    raise CompilationError(problem)
                if local:
                    kwargs["pg_snapshot"] = local
        source_name = getattr(source, "source_name", None)
        if source_name is not None:
            kwargs["pg_source"] = f"{source_name}.{getattr(source, 'name', source.identifier)}"
        if "plugin" not in config and "external_location" not in config:
            kwargs["pg_mirror"] = mirror_identifier(source)
        if "pg_query" in config:
            kwargs["pg_connection"] = source.database
            kwargs["pg_query"] = str(config["pg_query"])
            kwargs["pg_measure"] = "limit" in kwargs or "event_time_filter" in kwargs
        return super().create_from_source(quoting, source, **kwargs)  # type: ignore[return-value]

    def remote_sql(self) -> str:
        """The SQL sent to Postgres: ``pg_query`` with dbt's event-time filter and
        ``--empty`` limit pushed inside it, and each unconstrained NUMERIC column
        read as the ``numeric(38, s)`` that holds all its values exactly
        (:mod:`.exact_numeric`; the measuring query runs once per invocation, and
        only for a model's ``source()``: the name dbt renders while parsing reads
        at the unmeasured scale, still checked value by value).

        Raises:
            CompilationError: an unconstrained NUMERIC column holds values that no
                DECIMAL of DuckDB holds exactly (named, with the casts to add).
        """
        assert self.pg_query is not None and self.pg_connection is not None
        base_sql = _strip_sql(self.pg_query)
        # wrapped on lines of its own: DuckDB puts its own `)` right after the SQL
        sql = f"select * from {_subquery(base_sql, '_dbt_source')}"
        if self.event_time_filter is not None:
            condition = self._render_event_time_filtered(self.event_time_filter)
            if condition:
                sql = f"select * from {_subquery(sql, '_dbt_et_filter')} where {condition}"
        if self.limit is not None:
            sql = f"select * from {_subquery(sql, '_dbt_limit')} limit {int(self.limit)}"
        columns = _result_columns(self.pg_connection, base_sql)
        numeric = [c for c, is_numeric in columns or [] if is_numeric]
        if not numeric:
            return sql
        label = f"pg_query source '{self.pg_source or self.identifier}'"
        stats = _numeric_stats(self.pg_connection, sql, numeric) if self.pg_measure else {}
        scales, problem = choose_scales(label, stats, numeric)
        if problem:
            raise CompilationError(problem)
        select = ", ".join(
            read_expression(label, c, scales[c]) if c in scales else quote_identifier(c)
            for c, _ in columns or []
        )
        return f"select {select} from {_subquery(sql, '_dbt_exact')}"

    def quoted(self, identifier: str) -> str:
        """One part of the rendered name, through the shared quoting helper.

        dbt-adapters' ``BaseRelation.quoted`` wraps the part in quotes without
        doubling embedded ones, so a ``"`` in an alias or schema would end the
        identifier and let the rest of the name run as SQL."""
        return quote_identifier(identifier)

    def _render_iterator(self) -> Iterator[Tuple[Optional[ComponentName], Optional[str]]]:
        """dbt's rendering of database, schema and identifier, except that a part
        the quote policy leaves unquoted is quoted anyway unless it is a plain
        identifier (letters, digits, ``_``): a name is never pasted as SQL."""
        for key in ComponentName:
            part: Optional[str] = None
            if self.include_policy.get_part(key):
                part = self.path.get_part(key)
                if part is not None and (
                    self.quote_policy.get_part(key) or not is_plain_identifier(part)
                ):
                    part = self.quoted(part)
            yield key, part

    def render(self) -> str:
        if self.pg_snapshot is not None:
            return self.pg_snapshot
        if self.pg_query is not None and self.pg_connection is not None:
            return postgres_query_call(self.pg_connection, self.remote_sql())
        return super().render()

    def __str__(self) -> str:
        if self.pg_query is not None:
            return self.render()
        return super().__str__()

    def pg_name(self) -> str:
        """``"schema"."identifier"``: this relation as named inside PostgreSQL."""
        return qualified_name(self.schema or "", self.identifier or "")
