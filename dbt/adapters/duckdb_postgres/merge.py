"""The SQL of a merge by key, and the checks of a staged model result.

The merge behind ``pg_upsert_by_key``, ``pg_materialize(mode='upsert_by_key')``
and dbt's ``merge`` strategy runs inside PostgreSQL once the model result is
in a stage table next to the target (writes/upsert_by_key.sql holds the order
of the steps). This module builds its queries, which depend only on names and
configs: the catalog query, the check and count query, and the final
statements.

They are built here rather than in Jinja because dbt compiles every macro a
run calls, once per process: on a small upsert the compilation of the SQL
builders cost as much as all the Postgres work (measured 2026-12-03 on a
1,500-row change into 1M rows: ~135 ms of ~250 ms model time). Python is
compiled once, when installed.

Every identifier goes through :func:`.quoting.quote_identifier` and every
value through :func:`.quoting.quote_literal`.
"""

from dataclasses import dataclass
from typing import Any
from typing import Dict
from typing import List
from typing import Mapping
from typing import Optional
from typing import Sequence

from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal


def column_list(names: Sequence[str], prefix: str = "") -> str:
    """``p."a", p."b"``: the quoted ``names``, each after ``prefix`` (e.g. ``'s.'``)."""
    return ", ".join(prefix + quote_identifier(name) for name in names)


def comparison_casts_sql(relation: str) -> str:
    """A query, to run inside Postgres, with one row (column name, cast) per
    column of the table ``relation`` (a quoted ``"schema"."table"``): how
    ``is distinct from`` compares the column: ``''`` as it is, ``'::jsonb'``
    for json, ``'::text'`` for any other type without an equality operator
    (xml, point, box, composite types, arrays or domains of such types).

    A type compares as it is when, after removing domains and array levels, it
    has a default btree or hash operator class: directly, through an implicit
    binary-coercible cast (varchar -> text; not xml -> text, an assignment cast
    only) or as an enum, range or multirange. That is how PostgreSQL finds the
    equality of a type and of arrays of it (PostgreSQL docs 11.10 "Operator
    Classes"; the type cache's lookup). Composite types always compare as text.
    """
    return f"""
    with recursive cols as (
      select a.attnum, a.attname::text as name, a.atttypid as typ
      from pg_attribute a
      where a.attrelid = to_regclass({quote_literal(relation)})
        and a.attnum > 0 and not a.attisdropped
    ), unwrapped(attnum, typ, depth) as (
      select attnum, typ, 0 from cols
      union all
      select u.attnum, case when t.typtype = 'd' then t.typbasetype else t.typelem end, u.depth + 1
      from unwrapped u join pg_type t on t.oid = u.typ
      where (t.typtype = 'd' or (t.typcategory = 'A' and t.typelem <> 0)) and u.depth < 20
    ), leaf as (
      select distinct on (attnum) attnum, typ from unwrapped order by attnum, depth desc
    )
    select c.name,
      case
        when exists (select 1 from pg_type lt join pg_opclass oc on oc.opcdefault
                     join pg_am am on am.oid = oc.opcmethod and am.amname in ('btree', 'hash')
                     where lt.oid = l.typ and lt.typtype <> 'c'
                       and (oc.opcintype = lt.oid
                            or (lt.typtype = 'e' and oc.opcintype = 'anyenum'::regtype)
                            or (lt.typtype = 'r' and oc.opcintype = 'anyrange'::regtype)
                            or (lt.typtype = 'm' and oc.opcintype = 'anymultirange'::regtype)
                            or exists (select 1 from pg_cast k where k.castsource = lt.oid
                                       and k.casttarget = oc.opcintype and k.castmethod = 'b'
                                       and k.castcontext = 'i')))
          then ''
        when c.typ = 'json'::regtype then '::jsonb'
        else '::text'
      end as cast_to
    from cols c join leaf l on l.attnum = c.attnum"""


def unique_index_sql(relation: str, keys: Sequence[str]) -> str:
    """A boolean SQL expression, to run inside Postgres: whether the table
    ``relation`` (quoted) has a valid, immediate unique index (or primary key)
    on exactly the ``keys`` columns, which ``INSERT ... ON CONFLICT (keys)``
    needs (PostgreSQL docs, INSERT: a non-deferrable unique index). Names
    compare byte-wise (``COLLATE "C"``), as Python sorts them."""
    names = ", ".join(quote_literal(key) for key in sorted(keys))
    return f"""exists (select 1 from pg_index i
    where i.indrelid = to_regclass({quote_literal(relation)})
      and i.indisunique and i.indisvalid and i.indimmediate
      and i.indpred is null and i.indexprs is null
      and (select array_agg(a.attname::text order by a.attname::text collate "C")
           from pg_attribute a where a.attrelid = i.indrelid and a.attnum = any(i.indkey))
          = array[{names}]::text[]
      and cardinality(i.indkey::int2[]) = {len(keys)})"""


def merge_catalog_sql(target: str, stage: str, keys: Sequence[str]) -> str:
    """One catalog query for a merge (rows read by :func:`parse_merge_catalog`):
    the stage's columns, the target's columns with their comparison casts, and
    whether a unique index on ``keys`` serves ON CONFLICT. ``target`` and
    ``stage`` are quoted ``"schema"."table"`` names."""
    return f"""
    with casts as ({comparison_casts_sql(target)})
    select 0 as part, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), null::text
    from pg_attribute a
    where a.attrelid = to_regclass({quote_literal(stage)}) and a.attnum > 0 and not a.attisdropped
    union all
    select 1, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), c.cast_to
    from pg_attribute a left join casts c on c.name = a.attname::text
    where a.attrelid = to_regclass({quote_literal(target)}) and a.attnum > 0 and not a.attisdropped
    union all
    select 2, 0, null, null, ({unique_index_sql(target, keys)})::text
    order by 1, 2"""


def parse_merge_catalog(rows: Sequence[Sequence[Any]]) -> Dict[str, Any]:
    """The rows of :func:`merge_catalog_sql` as ``{'stage_columns' and
    'target_columns': [[name, format_type], ...] in column order, 'casts':
    {column: cast}, 'unique_index': bool}``."""
    result: Dict[str, Any] = {
        "stage_columns": [],
        "target_columns": [],
        "casts": {},
        "unique_index": False,
    }
    for part, _, name, type_, text in rows:
        if part == 0:
            result["stage_columns"].append([name, type_])
        elif part == 1:
            result["target_columns"].append([name, type_])
            result["casts"][name] = text or ""
        else:
            result["unique_index"] = text == "true"
    return result


def differs(columns: Sequence[str], casts: Mapping[str, str], left: str, right: str) -> str:
    """``(l."a", l."b"::text) is distinct from (r."a", r."b"::text)``: whether the
    ``columns`` differ between the rows ``left`` and ``right`` (prefixes such as
    ``'t.'``), each compared through its cast (:func:`comparison_casts_sql`; a
    column without one compares as text). ``'false'`` without columns."""
    if not columns:
        return "false"
    lefts, rights = [], []
    for column in columns:
        cast = casts.get(column, "::text")
        lefts.append(f"({left}{quote_identifier(column)}){cast}")
        rights.append(f"({right}{quote_identifier(column)}){cast}")
    return f"({', '.join(lefts)}) is distinct from ({', '.join(rights)})"


# the transaction-local setting in which the target lock records the target's tuple
# counters (inserted, updated, deleted) as they were before the write
COUNTERS_SETTING = "dbt_duckdb_postgres.tuples_before"
_COUNTERS = ("n_tup_ins", "n_tup_upd", "n_tup_del")


def _counter_sum(relation: str, counter: str) -> str:
    """The scalar subquery of one pending counter of ``relation`` (quoted) and its
    partitions (pg_partition_tree lists them, and nothing for a table that is
    not partitioned; ``in`` counts the table once either way)."""
    name = quote_literal(relation)
    return (
        f"(select coalesce(sum(s.{counter}), 0) from pg_stat_xact_user_tables s "
        f"where s.relid in (select {name}::regclass union all "
        f"select p.relid from pg_partition_tree({name}::regclass) p))"
    )


def record_counters_sql(relation: str) -> str:
    """A statement, the target lock's last: remember ``relation``'s pending tuple
    counters in a transaction-local setting (``set_config(..., true)``), so
    :func:`rows_changed_sql` can count what the write did.

    ``pg_stat_xact_user_tables`` shows a backend's counts not yet reported to the
    cumulative statistics, and a backend reports at most once a second, when it
    is idle between transactions (PostgreSQL docs, "The Cumulative Statistics
    System"): an earlier transaction on the same pooled connection can still be
    in them, so only the difference within one transaction counts its rows."""
    parts = " || ',' || ".join(_counter_sum(relation, c) for c in _COUNTERS)
    return f"select set_config({quote_literal(COUNTERS_SETTING)}, {parts}, true)"


def rows_changed_sql(relation: str, counter: str) -> str:
    """A scalar SQL expression, to run inside Postgres in the write's transaction:
    the rows the write inserted (``n_tup_ins``), updated (``n_tup_upd``) or
    deleted (``n_tup_del``) in ``relation`` (quoted) since the target lock
    (:func:`record_counters_sql`). A row an UPDATE moves to another partition
    counts as deleted and inserted."""
    field = _COUNTERS.index(counter) + 1
    before = (
        f"coalesce(nullif(split_part(current_setting({quote_literal(COUNTERS_SETTING)}, true), "
        f"',', {field}), '')::bigint, 0)"
    )
    return f"({_counter_sum(relation, counter)} - {before})"


def null_event_time_message(options: Mapping[str, Any], nulls: int) -> str:
    """The error of a model result with ``nulls`` NULL event_time values."""
    return (
        f"{options['label']}: {nulls} row(s) of the model have a NULL event_time "
        f"({options['event_time']}); nothing was written. Filter them out or give them a time."
    )


def _checks_keys(options: Mapping[str, Any]) -> List[str]:
    """The keys the stage checks: upsert_by_key only (dbt's delete+insert writes
    NULL or repeated keys as they are, on its first build too)."""
    return list(options["unique_key"] or []) if options["mode"] == "upsert_by_key" else []


def stage_checks_sql(stage: str, options: Mapping[str, Any]) -> str:
    """One query over the stage table ``stage`` (quoted), or ``''`` when the mode
    checks nothing: a row with ``null_event_times`` (options with an
    event_time), then ``null_keys, duplicate_keys, samples`` (upsert_by_key;
    samples, up to 5 repeated keys with their counts, computed only when a key
    repeats). :func:`stage_problem` reads the row."""
    parts = []
    if options["event_time"]:
        event_time = quote_identifier(options["event_time"])
        parts.append(
            f"(select count(*) from {stage} where {event_time} is null) as null_event_times"
        )
    keys = _checks_keys(options)
    if not keys:
        return f"select {', '.join(parts)}" if parts else ""
    key_list = column_list(keys)
    null_test = " or ".join(f"{quote_identifier(key)} is null" for key in keys)
    key_sql = f"""c.null_keys, c.duplicate_keys,
      case when c.duplicate_keys > 0 then
        (select string_agg(k, '; ') from (
           select row({key_list})::text || ' x' || count(*) as k from {stage}
           group by {key_list} having count(*) > 1 limit 5) d)
      end as samples
      from (select (select count(*) from {stage} where {null_test}) as null_keys,
                   (select count(*) from (select 1 from {stage} group by {key_list}
                                          having count(*) > 1) d) as duplicate_keys) c"""
    return "select " + "".join(p + ", " for p in parts) + key_sql


def stage_problem(options: Mapping[str, Any], row: Sequence[Any]) -> Optional[str]:
    """The error a row of :func:`stage_checks_sql` (same options) shows, or None:
    NULL event_time values, or NULL / repeated keys with up to 5 samples."""
    at = 0
    if options["event_time"]:
        if int(row[0]) > 0:
            return null_event_time_message(options, int(row[0]))
        at = 1
    if _checks_keys(options) and (int(row[at]) > 0 or int(row[at + 1]) > 0):
        samples = f", e.g. {row[at + 2]}" if row[at + 2] else ""
        return (
            f"{options['label']}: unique_key ({', '.join(options['unique_key'])}) is not unique "
            f"in the model result: {row[at]} row(s) with a NULL key, {row[at + 1]} duplicated "
            f"key(s){samples}. Nothing was written. Deduplicate the model or choose a "
            "unique_key that identifies one row."
        )
    return None


@dataclass
class MergePlan:
    """The queries of one merge, inside Postgres, in the write's transaction.

    Attributes:
        check_sql: one row of :func:`stage_checks_sql`'s columns; with
            on_conflict='fail' preceded by new keys, existing keys and changed rows
            (stage rows whose target row has other values), which the write must
            know before it writes.
        written_sql: after the writes: one row, rows inserted and rows updated
            (:func:`rows_changed_sql`).
        sample_sql: up to 5 stage keys that exist in the target (one text value),
            for on_conflict='fail'.
        statements: the writes, ``;``-separated: INSERT ... ON CONFLICT, or
            UPDATE ... FROM + INSERT of the new keys; grants; the stage's DROP.
        update: whether matched rows are updated (on_conflict='update' with
            columns to update).
    """

    check_sql: str
    written_sql: str
    sample_sql: str
    statements: str
    update: bool


def merge_plan(
    target: str,
    stage: str,
    options: Mapping[str, Any],
    columns: Sequence[str],
    casts: Mapping[str, str],
    unique_index: bool,
    grant_sql: str = "",
) -> MergePlan:
    """The queries that merge the stage table into the target by
    ``options['unique_key']``.

    Args:
        target, stage: quoted ``"schema"."table"`` names.
        options: the write options (unique_key, incremental_predicates,
            update_columns, exclude_columns, on_conflict, event_time, mode, label).
        columns: the columns to write (the model's that the target has).
        casts: the target's comparison casts (:func:`comparison_casts_sql`).
        unique_index: a unique index on exactly the key serves ON CONFLICT.
        grant_sql: GRANT statements to run with the writes.

    With a unique index and no incremental_predicates: ``INSERT ... ON CONFLICT
    (key) DO UPDATE`` of the rows whose values change (or ``DO NOTHING``).
    Otherwise ``UPDATE ... FROM`` the stage (same rule) + INSERT of the stage
    rows without a match. incremental_predicates (dbt's merge) name the target
    ``DBT_INTERNAL_DEST`` and the model result ``DBT_INTERNAL_SOURCE`` and join
    the key match, as dbt's ``MERGE ... ON <key> AND <predicates>``: a stage row
    whose target row fails them is not matched and is inserted.
    """
    keys = list(options["unique_key"])
    predicates = list(options["incremental_predicates"] or [])
    t, s = ("DBT_INTERNAL_DEST", "DBT_INTERNAL_SOURCE") if predicates else ("t", "s")
    join_on = " and ".join(
        [f"{t}.{quote_identifier(k)} = {s}.{quote_identifier(k)}" for k in keys]
        + [f"({p})" for p in predicates]
    )
    matches = f"exists (select 1 from {target} {t} where {join_on}"
    chosen = options["update_columns"] or columns
    update_columns = [
        c
        for c in chosen
        if c in columns and c not in keys and c not in (options["exclude_columns"] or [])
    ]
    changed = differs(update_columns, casts, t + ".", s + ".")
    # counted per stage row with one key lookup (an aggregate over the matching
    # target rows, so repeated keys in the target do not multiply them)
    counts_sql = f"""select count(*) filter (where not x.matched) as new_keys,
           count(*) filter (where x.matched) as existing_keys,
           count(*) filter (where x.changed) as changed_rows
    from {stage} {s}
    cross join lateral (select count(*) > 0 as matched,
                               coalesce(bool_or({changed}), false) as changed
                        from {target} {t} where {join_on}) x"""
    # on_conflict='fail' must know the existing keys before it writes; otherwise the
    # writes are counted after the fact, from the transaction's statistics: the
    # per-row lookups of this count were a third of a 1M-row upsert (8 of 20 s)
    checks = stage_checks_sql(stage, options)
    if options["on_conflict"] == "fail":
        check_sql = f"select * from ({counts_sql}) n cross join ({checks}) c"
    else:
        check_sql = checks
    written_sql = (
        f"select {rows_changed_sql(target, 'n_tup_ins')} as inserted, "
        f"{rows_changed_sql(target, 'n_tup_upd')} as updated"
    )
    sample_sql = (
        f"select string_agg(k, '; ') from (select row({column_list(keys, s + '.')})::text as k "
        f"from {stage} {s} where {matches}) limit 5) x"
    )
    names = column_list(columns)
    update = options["on_conflict"] == "update" and bool(update_columns)
    statements = []
    if not predicates and unique_index:
        action = "do nothing"
        if update:
            assignments = ", ".join(
                f"{quote_identifier(c)} = excluded.{quote_identifier(c)}" for c in update_columns
            )
            action = f"do update set {assignments} where " + differs(
                update_columns, casts, "t.", "excluded."
            )
        statements.append(
            f"insert into {target} as t ({names}) select {names} from {stage} "
            f"on conflict ({column_list(keys)}) {action}"
        )
    else:
        if update:
            assignments = ", ".join(
                f"{quote_identifier(c)} = {s}.{quote_identifier(c)}" for c in update_columns
            )
            statements.append(
                f"update {target} {t} set {assignments} from {stage} {s} "
                f"where {join_on} and {changed}"
            )
        statements.append(
            f"insert into {target} ({names}) select {column_list(columns, s + '.')} "
            f"from {stage} {s} where not {matches})"
        )
    if grant_sql:
        statements.append(grant_sql)
    statements.append(f"drop table {stage}")
    return MergePlan(check_sql, written_sql, sample_sql, ";\n".join(statements), update)
