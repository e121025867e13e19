{#--
  Merge by key into an existing Postgres table: the one implementation behind
  `pg_upsert_by_key` and `pg_materialize(mode='upsert_by_key')`.

  One Postgres transaction (the DuckDB transaction, docs/architecture.md "Transactions"):
    1. duckdb_postgres__lock_target: READ COMMITTED and an advisory lock on the
       target, so concurrent writers of one target serialize and the result
       equals a serial run;
    2. the model result goes by binary COPY into an UNLOGGED stage table
       `<t>__dbt_stage` (transfer grows with the model result, not the target);
    3. the stage is checked inside Postgres (NULL/duplicate keys, on_conflict='fail');
    4. on_schema_change is applied;
    5. with a unique index on exactly the key columns: INSERT ... ON CONFLICT (key)
       DO UPDATE (only rows whose values change) / DO NOTHING; without one:
       UPDATE ... FROM the stage (same rule) + INSERT of the keys not in the target.
       incremental_predicates (dbt's merge) join the key match in the second form:
       a stage row whose target row fails them is not matched and is inserted,
       as dbt's MERGE ... ON <key> AND <predicates> does.
       "Values change" is `(t.cols) is distinct from (s.cols)`, with columns whose
       type has no equality operator compared through a cast that has one
       (duckdb_postgres__comparison_casts);
    6. grants, and the stage is dropped.
  Any failure rolls all of it back: the target is unchanged and no stage is left.
  Columns outside the update columns (merge_update_columns /
  merge_exclude_columns, or columns the model lacks) keep their values.
  `SET LOCAL random_page_cost = 1.1` (set by duckdb_postgres__lock_target) makes the key joins use the index
  (docs/architecture.md "Costs": DELETE USING 6.6-7.5 s -> 2.9-3.0 s on 10M rows).
--#}

{#-- duckdb_postgres__write_by_key(target, select_sql, options) -> dict
     The upsert_by_key mode (and dbt's merge) as duckdb_postgres__write reports
     it: an existing target is merged into; a missing one (or a full refresh) is
     built by full replacement with an index on the key, unique (so later runs use
     INSERT ... ON CONFLICT) unless incremental_predicates are set: a stage row
     whose target row fails them is not matched and is inserted next to it, as
     dbt's MERGE ... ON <key> AND <predicates> does, so the key may repeat; a
     plain index still serves the key lookups. --#}
{% macro duckdb_postgres__write_by_key(target, select_sql, options) -%}
  {%- if not should_full_refresh() and duckdb_postgres__relation_info(target)['kind'] is not none -%}
    {%- set result = duckdb_postgres__write_upsert_by_key(target, select_sql, options) -%}
    {{ return(adapter.pg_write_result(result, 'INSERT ' ~ result['inserted'] ~ ', UPDATE ' ~ result['updated'])) }}
  {%- endif -%}
  {%- set key_index = adapter.pg_parse_index({'columns': options['unique_key'],
                                              'unique': not options['incremental_predicates']}) -%}
  {%- do options.update({'indexes': [key_index] + options['indexes']}) -%}
  {{ return(duckdb_postgres__write_full_result(target, select_sql, options)) }}
{%- endmacro %}


{#-- duckdb_postgres__write_upsert_by_key(target, select_sql, options) -> dict
     Returns {'inserted': int, 'updated': int (rows whose values changed),
     'rows': int (rows in the model result)}. The caller commits.
     Pre-hooks that ran inside the model's transaction are committed first: the
     lock must be the first statement of the write's Postgres transaction. --#}
{% macro duckdb_postgres__write_upsert_by_key(target, select_sql, options) -%}
  {%- set connection = target.database -%}
  {%- set keys = options['unique_key'] -%}
  {%- do duckdb_postgres__begin_write(target) -%}
  {%- set staged = duckdb_postgres__stage(target, 'stage', select_sql, true, options['column_types']) -%}
  {%- set stage = staged[0] -%}
  {#-- one catalog query: the stage's and the target's columns, the target's comparison casts,
       and whether a unique index on the key serves ON CONFLICT --#}
  {%- set catalog = duckdb_postgres__merge_catalog(target, stage, keys) -%}
  {%- set synced = duckdb_postgres__sync_schema(target, catalog['stage_columns'], options['on_schema_change'],
                                                old_columns=catalog['target_columns']) -%}
  {%- set columns = synced['columns'] -%}

  {#-- incremental_predicates (dbt's merge) name the target DBT_INTERNAL_DEST and the
       model result DBT_INTERNAL_SOURCE, and are part of the match, as in dbt's MERGE --#}
  {%- set predicates = options['incremental_predicates'] -%}
  {%- set t = 'DBT_INTERNAL_DEST' if predicates else 't' -%}
  {%- set s = 'DBT_INTERNAL_SOURCE' if predicates else 's' -%}
  {%- set join_on = [] -%}
  {%- for key in keys -%}
    {%- do join_on.append(t ~ '.' ~ adapter.pg_quote(key) ~ ' = ' ~ s ~ '.' ~ adapter.pg_quote(key)) -%}
  {%- endfor -%}
  {%- for predicate in predicates -%}{%- do join_on.append('(' ~ predicate ~ ')') -%}{%- endfor -%}
  {%- set matches = 'exists (select 1 from ' ~ target.pg_name() ~ ' ' ~ t ~ ' where ' ~ join_on | join(' and ') -%}
  {%- set update_columns = [] -%}
  {%- for column in (options['update_columns'] or columns) -%}
    {%- if column in columns and column not in keys and column not in options['exclude_columns'] -%}
      {%- do update_columns.append(column) -%}
    {%- endif -%}
  {%- endfor -%}
  {#-- columns added by on_schema_change: the casts are read again --#}
  {%- set casts = (duckdb_postgres__comparison_casts(target) if synced['altered'] else catalog['casts']) if update_columns else {} -%}
  {%- set differs = duckdb_postgres__differs(update_columns, casts, t ~ '.', s ~ '.') -%}
  {#-- counted per stage row with one key lookup (an aggregate over the matching
       target rows, so duplicate keys in the target do not multiply them) --#}
  {%- set counts_sql -%}
    select count(*) filter (where not x.matched) as new_keys,
           count(*) filter (where x.matched) as existing_keys,
           count(*) filter (where x.changed) as changed_rows
    from {{ stage.pg_name() }} {{ s }}
    cross join lateral (select count(*) > 0 as matched, coalesce(bool_or({{ differs }}), false) as changed
                        from {{ target.pg_name() }} {{ t }} where {{ join_on | join(' and ') }}) x
  {%- endset -%}
  {#-- with the stage's checks (NULL / duplicate keys) in the same query --#}
  {%- set counts = adapter.pg_query(connection, 'select * from (' ~ counts_sql ~ ') n cross join ('
                                                ~ duckdb_postgres__stage_checks_sql(stage, options) ~ ') c')[0] -%}
  {%- do duckdb_postgres__raise_stage_problems(options, counts[3:]) -%}
  {%- set new_keys = counts[0] | int -%}
  {%- set existing_keys = counts[1] | int -%}
  {%- set changed_rows = counts[2] | int -%}
  {%- if options['on_conflict'] == 'fail' and existing_keys > 0 -%}
    {%- set sample_sql -%}
      select string_agg(k, '; ') from (select row({{ duckdb_postgres__column_list(keys, s ~ '.') }})::text as k
        from {{ stage.pg_name() }} {{ s }} where {{ matches }}) limit 5) x
    {%- endset -%}
    {%- do exceptions.raise_database_error(options['label'] ~ ": "
        ~ existing_keys ~ " key(s) of the model result already exist in " ~ target ~ " (on_conflict='fail'), e.g. "
        ~ adapter.pg_query(connection, sample_sql)[0][0] ~ ". Nothing was written. "
        ~ "Use on_conflict='update' or 'skip', or remove those rows from the model.") -%}
  {%- endif -%}

  {%- set column_list = duckdb_postgres__column_list(columns) -%}
  {%- set update = options['on_conflict'] == 'update' and update_columns -%}
  {%- set statements = [] -%}
  {%- if not predicates and catalog['unique_index'] -%}
    {%- set action = 'do nothing' -%}
    {%- if update -%}
      {%- set assignments = [] -%}
      {%- for column in update_columns -%}
        {%- do assignments.append(adapter.pg_quote(column) ~ ' = excluded.' ~ adapter.pg_quote(column)) -%}
      {%- endfor -%}
      {%- set action = 'do update set ' ~ assignments | join(', ')
          ~ ' where ' ~ duckdb_postgres__differs(update_columns, casts, 't.', 'excluded.') -%}
    {%- endif -%}
    {%- do statements.append('insert into ' ~ target.pg_name() ~ ' as t (' ~ column_list ~ ') select '
        ~ column_list ~ ' from ' ~ stage.pg_name() ~ ' on conflict (' ~ duckdb_postgres__column_list(keys) ~ ') ' ~ action) -%}
  {%- else -%}
    {%- if update -%}
      {%- set assignments = [] -%}
      {%- for column in update_columns -%}
        {%- do assignments.append(adapter.pg_quote(column) ~ ' = ' ~ s ~ '.' ~ adapter.pg_quote(column)) -%}
      {%- endfor -%}
      {%- do statements.append('update ' ~ target.pg_name() ~ ' ' ~ t ~ ' set ' ~ assignments | join(', ') ~ ' from '
          ~ stage.pg_name() ~ ' ' ~ s ~ ' where ' ~ join_on | join(' and ') ~ ' and ' ~ differs) -%}
    {%- endif -%}
    {%- do statements.append('insert into ' ~ target.pg_name() ~ ' (' ~ column_list ~ ') select '
        ~ duckdb_postgres__column_list(columns, s ~ '.') ~ ' from ' ~ stage.pg_name() ~ ' ' ~ s ~ ' where not ' ~ matches ~ ')') -%}
  {%- endif -%}
  {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) if options['grants'] else '' -%}
  {%- if grant_sql -%}{%- do statements.append(grant_sql) -%}{%- endif -%}
  {%- do statements.append('drop table ' ~ stage.pg_name()) -%}
  {%- do adapter.pg_execute(connection, statements | join(";\n")) -%}
  {{ duckdb_postgres__clear_cache() }}
  {{ return({'inserted': new_keys, 'updated': changed_rows if update else 0, 'rows': staged[1]}) }}
{%- endmacro %}


{#-- duckdb_postgres__merge_catalog(target, stage, keys: list) -> dict
     One query inside Postgres (current transaction) for a merge: {'stage_columns'
     and 'target_columns': [[name, format_type], ...] in order, 'casts': the
     target's duckdb_postgres__comparison_casts, 'unique_index': bool
     (duckdb_postgres__unique_index_sql)}. --#}
{% macro duckdb_postgres__merge_catalog(target, stage, keys) -%}
  {%- set sql -%}
    with casts as ({{ duckdb_postgres__comparison_casts_sql(target) }})
    select 0 as part, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), null::text
    from pg_attribute a
    where a.attrelid = to_regclass({{ adapter.pg_literal(stage.pg_name()) }}) and a.attnum > 0 and not a.attisdropped
    union all
    select 1, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), c.cast_to
    from pg_attribute a left join casts c on c.name = a.attname::text
    where a.attrelid = to_regclass({{ adapter.pg_literal(target.pg_name()) }}) and a.attnum > 0 and not a.attisdropped
    union all
    select 2, 0, null, null, ({{ duckdb_postgres__unique_index_sql(target, keys) }})::text
    order by 1, 2
  {%- endset -%}
  {%- set result = {'stage_columns': [], 'target_columns': [], 'casts': {}, 'unique_index': false} -%}
  {%- for row in adapter.pg_query(target.database, sql) -%}
    {%- if row[0] == 0 -%}{%- do result['stage_columns'].append([row[2], row[3]]) -%}
    {%- elif row[0] == 1 -%}
      {%- do result['target_columns'].append([row[2], row[3]]) -%}
      {%- do result['casts'].update({row[2]: row[4] or ''}) -%}
    {%- else -%}{%- do result.update({'unique_index': row[4] == 'true'}) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(result) }}
{%- endmacro %}


{#-- duckdb_postgres__unique_index_sql(relation, keys: list) -> str
     A boolean SQL expression, to run inside Postgres: whether a valid,
     immediate unique index (or primary key) on exactly the `keys` columns
     exists, so INSERT ... ON CONFLICT (keys) can use it (PostgreSQL docs,
     INSERT: ON CONFLICT needs a non-deferrable unique index). Names are
     compared byte-wise (COLLATE "C"), as Jinja's case-sensitive sort does. --#}
{% macro duckdb_postgres__unique_index_sql(relation, keys) -%}
  {%- set key_names = [] -%}
  {%- for key in keys | sort(case_sensitive=true) -%}{%- do key_names.append(adapter.pg_literal(key)) -%}{%- endfor -%}
  {%- set sql -%}
    exists (select 1 from pg_index i
    where i.indrelid = to_regclass({{ adapter.pg_literal(relation.pg_name()) }})
      and i.indisunique and i.indisvalid and i.indimmediate and i.indpred is null and i.indexprs is null
      and (select array_agg(a.attname::text order by a.attname::text collate "C") from pg_attribute a
           where a.attrelid = i.indrelid and a.attnum = any(i.indkey)) = array[{{ key_names | join(', ') }}]::text[]
      and cardinality(i.indkey::int2[]) = {{ keys | length }})
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{#-- duckdb_postgres__comparison_casts(relation) -> dict column name -> cast
     How each column of the Postgres table `relation` is compared by
     `is distinct from`: '' as it is, '::jsonb' for json, '::text' for any other
     type without an equality operator (xml, point, box, composite types, arrays
     or domains of such types, ...), which `is distinct from` cannot compare.
     A type compares as it is when it (after removing domains and array levels)
     has a default btree or hash operator class, directly, through an implicit
     binary-coercible cast (varchar -> text; not xml -> text, which is only an
     assignment cast) or as an enum, range or multirange: how
     PostgreSQL itself finds the equality of a type and of arrays of it
     (PostgreSQL docs 11.10 "Operator Classes"; typcache lookup). Composite
     types are always compared as text. --#}
{% macro duckdb_postgres__comparison_casts(relation) -%}
  {%- set casts = {} -%}
  {%- for row in adapter.pg_query(relation.database, duckdb_postgres__comparison_casts_sql(relation)) -%}
    {%- do casts.update({row[0]: row[1] or ''}) -%}
  {%- endfor -%}
  {{ return(casts) }}
{%- endmacro %}


{#-- duckdb_postgres__comparison_casts_sql(relation) -> str
     The query of duckdb_postgres__comparison_casts (rows: column name, cast),
     to run inside Postgres. --#}
{% macro duckdb_postgres__comparison_casts_sql(relation) -%}
  {%- set sql -%}
    with recursive cols as (
      select a.attnum, a.attname::text as name, a.atttypid as typ
      from pg_attribute a
      where a.attrelid = to_regclass({{ adapter.pg_literal(relation.pg_name()) }})
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
    from cols c join leaf l on l.attnum = c.attnum
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{#-- duckdb_postgres__differs(columns: list, casts: dict, left: str, right: str) -> str
     `(l."a", l."b"::text) is distinct from (r."a", r."b"::text)`: whether the
     `columns` differ between the rows `left` and `right` (prefixes such as 't.'),
     each compared through its cast from duckdb_postgres__comparison_casts.
     'false' when there are no columns. --#}
{% macro duckdb_postgres__differs(columns, casts, left, right) -%}
  {%- if not columns -%}{{ return('false') }}{%- endif -%}
  {%- set lefts = [] -%}{%- set rights = [] -%}
  {%- for column in columns -%}
    {%- set cast = casts.get(column, '::text') -%}
    {%- do lefts.append('(' ~ left ~ adapter.pg_quote(column) ~ ')' ~ cast) -%}
    {%- do rights.append('(' ~ right ~ adapter.pg_quote(column) ~ ')' ~ cast) -%}
  {%- endfor -%}
  {{ return('(' ~ lefts | join(', ') ~ ') is distinct from (' ~ rights | join(', ') ~ ')') }}
{%- endmacro %}
