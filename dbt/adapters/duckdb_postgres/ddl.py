"""Postgres DDL for tables the adapter creates, from one DuckDB -> Postgres type map.

DuckDB's postgres extension can create a Postgres table from a query itself
(``CREATE TABLE pg.s.t AS ...``), but its type choices lose values or fail:
HUGEINT becomes ``double precision``, MAP and UNION ``varchar``, STRUCT and
ENUM columns fail (docs/architecture.md, "Types"). So the adapter creates the
table with explicit DDL built here and then loads it by binary COPY
(``INSERT INTO pg.s.t SELECT ...``), where each column is read through a load
expression that turns the DuckDB value into one the extension writes exactly
into the declared Postgres type.

How the extension writes into an existing table (measured, DuckDB 1.5.5): it
binds the INSERT against its own view of the Postgres columns, so ``jsonb``,
``bit varying`` and ``text`` columns take VARCHAR values, arrays take LISTs,
and ``numeric(p,s)`` takes DECIMAL(p,s) exactly — but an *unconstrained*
``numeric`` column looks like DOUBLE to it and would round. A column whose
final type is unconstrained ``numeric`` is therefore created as
``numeric(38,0)``, loaded, then relaxed with ``ALTER COLUMN ... TYPE numeric``
in the same transaction; removing a numeric typmod needs no table rewrite
(PostgreSQL docs, ALTER TABLE: no rewrite when the old type is binary coercible
to the new one).
"""

from dataclasses import dataclass
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal

# DuckDB type id -> Postgres type, for types written as they are
_SCALARS: Dict[str, str] = {
    "boolean": "boolean",
    "tinyint": "smallint",
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "utinyint": "smallint",
    "usmallint": "integer",
    "uinteger": "bigint",
    "ubigint": "numeric(20,0)",
    "float": "real",
    "double": "double precision",
    "varchar": "text",
    "blob": "bytea",
    "uuid": "uuid",
    "date": "date",
    "time": "time",
    "time with time zone": "time with time zone",
    "timestamp": "timestamp",
    "timestamp_s": "timestamp",
    "timestamp_ms": "timestamp",
    # Postgres keeps microseconds: nanoseconds are truncated
    "timestamp_ns": "timestamp",
    "timestamp with time zone": "timestamp with time zone",
    "interval": "interval",
}
# whole numbers wider than bigint: loaded through DECIMAL(38,0), stored as numeric
_WIDE_INTEGERS = ("hugeint", "uhugeint")
# DuckDB type ids stored as jsonb (loaded with to_json)
_NESTED = ("struct", "map", "union")

LOAD_NUMERIC = "numeric(38,0)"


@dataclass(frozen=True)
class PostgresColumn:
    """One column of a table the adapter creates.

    Attributes:
        name: the column name (as in the model).
        create_type: the Postgres type in CREATE TABLE (what the load writes into).
        final_type: the type after the load when it differs (ALTER without rewrite), else None.
        load: the DuckDB expression that reads the column from the model result
            (aliased ``_dbt_model``) for the binary COPY.
    """

    name: str
    create_type: str
    final_type: Optional[str]
    load: str

    @property
    def pg_type(self) -> str:
        """The column's Postgres type once the table is built."""
        return self.final_type or self.create_type


def _is_scalar(duckdb_type: Any) -> bool:
    return duckdb_type.id not in ("list", "array", "struct", "map", "union")


def map_type(duckdb_type: Any) -> Tuple[str, Optional[str], str]:
    """The Postgres storage of one DuckDB column type.

    Args:
        duckdb_type: a ``duckdb.DuckDBPyType`` (e.g. from a relation's ``.types``).

    Returns:
        (create_type, final_type or None, load template with ``{}`` for the
        quoted column reference).

    Raises:
        ValueError: a type with no Postgres storage (named in the message).
    """
    type_id = duckdb_type.id
    text = str(duckdb_type)
    if text == "JSON":
        return "jsonb", None, "{}"
    if type_id == "decimal":
        params = dict(duckdb_type.children)
        return f"numeric({params['precision']},{params['scale']})", None, "{}"
    if type_id in _WIDE_INTEGERS:
        return LOAD_NUMERIC, "numeric", "{}::DECIMAL(38,0)"
    if type_id == "enum":
        return "text", None, "{}::VARCHAR"
    if type_id == "bit":
        return "bit varying", None, "{}::VARCHAR"
    if type_id in _NESTED:
        return "jsonb", None, "to_json({})"
    if type_id in ("list", "array"):
        child = dict(duckdb_type.children)["child"]
        if _is_scalar(child):
            element, final, _ = map_type(child)
            if final is None and element not in ("jsonb", "bit varying"):
                return f"{element}[]", None, "{}"
        return "jsonb", None, "to_json({})"
    if type_id in _SCALARS:
        return _SCALARS[type_id], None, "{}"
    raise ValueError(f"DuckDB type {text} has no PostgreSQL storage")


def plan_columns(
    names: Sequence[str],
    types: Sequence[Any],
    column_types: Optional[Dict[str, str]] = None,
) -> List[PostgresColumn]:
    """The columns of a table to create for a query result.

    Args:
        names: the result's column names, in order.
        types: their DuckDB types (``duckdb.DuckDBPyType``), same order.
        column_types: ``column_types`` config: column name -> Postgres type that
            wins over the map (the value is loaded as DuckDB writes it into that type).

    Raises:
        ValueError: a column type with no Postgres storage and no override
            (the message names the column and the ``column_types`` fix).
    """
    overrides = {k.lower(): v for k, v in (column_types or {}).items()}
    columns = []
    for name, duckdb_type in zip(names, types, strict=True):
        reference = quote_identifier(name)
        if name.lower() in overrides:
            columns.append(PostgresColumn(name, overrides[name.lower()], None, reference))
            continue
        try:
            create_type, final_type, load = map_type(duckdb_type)
        except ValueError as e:
            raise ValueError(
                f"column {name!r}: {e}; cast it in the model or set "
                f"column_types: {{{name!r}: '<postgres type>'}}"
            ) from None
        columns.append(PostgresColumn(name, create_type, final_type, load.format(reference)))
    return columns


def create_table_sql(
    qualified: str,
    columns: Sequence[PostgresColumn],
    unlogged: bool,
    column_constraints: Optional[Dict[str, str]] = None,
    table_constraints: Optional[Sequence[str]] = None,
    partition_by: Optional[str] = None,
) -> str:
    """``CREATE [UNLOGGED] TABLE <qualified> (...) [PARTITION BY RANGE (<column>)]``
    for SQL run inside Postgres.

    Args:
        qualified: the table's quoted ``"schema"."name"``.
        columns: from :func:`plan_columns`.
        unlogged: create an UNLOGGED table.
        column_constraints: column name -> rendered constraints (``not null primary key``),
            appended after the column's type (a model contract's column constraints).
        table_constraints: rendered table constraints (``primary key (id)``), after the columns.
        partition_by: a column: the table is range-partitioned by it (native
            declarative partitioning; its partitions are created separately, and
            ``unlogged`` is ignored: a partitioned table holds no rows, and
            PostgreSQL 17 refuses an UNLOGGED one).
    """
    constraints = column_constraints or {}
    lines = []
    for c in columns:
        line = f"{quote_identifier(c.name)} {c.create_type}"
        if constraints.get(c.name):
            line += f" {constraints[c.name]}"
        lines.append(line)
    lines.extend(table_constraints or [])
    body = ",\n  ".join(lines)
    kind = "unlogged table" if unlogged and not partition_by else "table"
    partitioning = (
        f" partition by range ({quote_identifier(partition_by)})" if partition_by else ""
    )
    return f"create {kind} {qualified} (\n  {body}\n){partitioning}"


def load_select_sql(columns: Sequence[PostgresColumn], select_sql: str) -> str:
    """The DuckDB SELECT that feeds the binary COPY: each column's load expression
    over the model result (aliased ``_dbt_model``)."""
    projection = ", ".join(f"{c.load} as {quote_identifier(c.name)}" for c in columns)
    return f"select {projection} from (\n{select_sql}\n) _dbt_model"


def finalize_sql(qualified: str, columns: Sequence[PostgresColumn]) -> str:
    """``ALTER TABLE`` that gives loaded columns their final type ('' when none needs it)."""
    changes = [
        f"alter column {quote_identifier(c.name)} type {c.final_type}"
        for c in columns
        if c.final_type is not None
    ]
    return f"alter table {qualified} " + ", ".join(changes) if changes else ""


# types the type map spells differently from PostgreSQL's format_type()
_FORMAT_TYPE_SPELLING = {
    "timestamp": "timestamp without time zone",
    "time": "time without time zone",
}


def format_type_spelling(pg_type: str) -> str:
    """``pg_type`` as PostgreSQL's ``format_type()`` prints it, for the types the
    type map writes (``timestamp`` -> ``timestamp without time zone``, also as
    an array element); any other spelling is returned as it is."""
    element, brackets = pg_type, ""
    while element.endswith("[]"):
        element, brackets = element[:-2], brackets + "[]"
    return _FORMAT_TYPE_SPELLING.get(element, element) + brackets


def spelled_as_target(
    planned: Sequence[Sequence[str]], existing: Sequence[Sequence[str]]
) -> Optional[List[List[str]]]:
    """The planned columns in PostgreSQL's ``format_type`` spelling, when that
    spelling is known for every planned column the existing table also has and
    equals the table's type; else None.

    Args:
        planned: [[name, Postgres type], ...] from the type map.
        existing: [[name, format_type], ...] of the table.

    Returns:
        [[name, type], ...] comparable as text with ``existing``, or None when a
        shared column is spelled differently: it may still be the same type
        (``varchar(20)`` and ``character varying(20)``), so the caller lets
        PostgreSQL spell it (a probe table).
    """
    types = {name: pg_type for name, pg_type in existing}
    spelled = [[name, format_type_spelling(pg_type)] for name, pg_type in planned]
    if any(name in types and types[name] != pg_type for name, pg_type in spelled):
        return None
    return spelled


def schema_diff(
    new_columns: Sequence[Sequence[str]],
    old_columns: Sequence[Sequence[str]],
    on_schema_change: str,
) -> Dict[str, Any]:
    """How the model's columns differ from an existing table's, and what dbt's
    ``on_schema_change`` does about it.

    Args:
        new_columns: the model's [[name, type], ...], types spelled as
            ``format_type`` spells them.
        old_columns: the table's [[name, format_type], ...].
        on_schema_change: 'ignore' | 'fail' | 'append_new_columns' | 'sync_all_columns'.

    Returns:
        {'added': [[name, type], ...] (new columns), 'changed': [[name, new type], ...],
         'removed': [names], 'old': {name: type} of the table,
         'differs': whether any of the three is non-empty,
         'alters': whether ``on_schema_change`` turns the difference into ALTER TABLEs,
         'write': the model's column names the table has afterwards (the ones to write)}.
    """
    old = {name: pg_type for name, pg_type in old_columns}
    new_names = {name for name, _ in new_columns}
    added = [[n, t] for n, t in new_columns if n not in old]
    changed = [[n, t] for n, t in new_columns if n in old and old[n] != t]
    removed = [name for name in old if name not in new_names]
    adds = on_schema_change in ("append_new_columns", "sync_all_columns")
    syncs = on_schema_change == "sync_all_columns"
    return {
        "added": added,
        "changed": changed,
        "removed": removed,
        "old": old,
        "differs": bool(added or changed or removed),
        "alters": bool((adds and added) or (syncs and (removed or changed))),
        "write": [n for n, _ in new_columns if n in old or adds],
    }


def _autovacuum_setting(name: str) -> str:
    """The table's ``name`` storage parameter, else the server's setting, as float8
    (``c`` is the table's pg_class row)."""
    return (
        f"coalesce((select o.option_value from pg_options_to_table(c.reloptions) o "
        f"where o.option_name = {quote_literal(name)}), current_setting({quote_literal(name)}))"
        "::float8"
    )


def analyze_when_stale_sql(qualified: str, changed_rows: int) -> str:
    """A ``DO`` block that ANALYZEs the table ``qualified`` (quoted) when its
    statistics are as stale as autovacuum's rule calls stale: the ``changed_rows``
    (int) this write inserted and deleted, plus the rows modified since its last
    analyze (``pg_stat_get_mod_since_analyze``), exceed
    ``autovacuum_analyze_threshold + autovacuum_analyze_scale_factor * reltuples``
    (the table's storage parameters, else the server's settings; defaults 50 and
    0.1; an earlier step's rows counted in both err toward analyzing). A
    never-analyzed table (reltuples -1) is analyzed. Below the threshold
    the statistics stand as they do for any small change: ANALYZE samples up to
    300 x default_statistics_target rows however few rows changed (0.14 s on 1M
    rows, 0.6 s on 10M after one day of 100), and the planner probes an index's
    actual endpoint for a value beyond the histogram (PostgreSQL's
    get_actual_variable_range), so a new day on an indexed column is estimated
    without it. ANALYZE may run inside a DO block (VACUUM may not)."""
    threshold = (
        f"{_autovacuum_setting('autovacuum_analyze_threshold')} + "
        f"{_autovacuum_setting('autovacuum_analyze_scale_factor')} * greatest(c.reltuples, 0)"
    )
    stale = (
        f"select {int(changed_rows)} + pg_stat_get_mod_since_analyze(c.oid) > {threshold} "
        f"from pg_class c where c.oid = {quote_literal(qualified)}::regclass"
    )
    return f"do $dbt_pg$ begin if ({stale}) then analyze {qualified}; end if; end $dbt_pg$"
