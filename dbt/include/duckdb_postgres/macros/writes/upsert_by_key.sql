{#--
  Merge by key into an existing Postgres table: the one implementation behind
  `pg_upsert_by_key` and `pg_materialize(mode='upsert_by_key')`.

  One Postgres transaction (the DuckDB transaction, FACTS.md "Transactions"):
    1. pg_advisory_xact_lock on the target: concurrent writers of the same
       target serialize, and the result equals a serial run;
    2. the model result goes by binary COPY into an UNLOGGED stage table
       `<t>__dbt_stage` (transfer grows with the model result, not the target);
    3. the stage is checked inside Postgres (NULL/duplicate keys, on_conflict='fail');
    4. on_schema_change is applied;
    5. INSERT ... ON CONFLICT (key) DO UPDATE / DO NOTHING when a unique index on
       exactly the key columns exists, else DELETE matching keys + INSERT;
    6. the stage is dropped.
  Any failure rolls all of it back: the target is unchanged and no stage is left.
  `SET LOCAL random_page_cost = 1.1` makes the key joins use the index
  (FACTS.md "Costs": DELETE USING 6.6-7.5 s -> 2.9-3.0 s on 10M rows).
--#}

{#-- duckdb_postgres__write_upsert_by_key(target, select_sql, options) -> dict
     Returns {'inserted': int, 'updated': int, 'rows': int (rows in the model result)}.
     The caller commits. --#}
{% macro duckdb_postgres__write_upsert_by_key(target, select_sql, options) -%}
  {%- set connection = target.database -%}
  {%- set keys = options['unique_key'] -%}
  {%- set lock_sql = "set transaction isolation level read committed; select pg_advisory_xact_lock(hashtextextended(" ~ adapter.pg_literal(target.pg_name()) ~ ", 0))" -%}
  {#-- BEGIN: the lock is held until COMMIT/ROLLBACK. READ COMMITTED (set before the
       transaction's first query): under DuckDB's REPEATABLE READ the snapshot would be
       taken when the lock statement starts, before a concurrent writer commits, and the
       ON CONFLICT / DELETE below would fail with "could not serialize access". --#}
  {#-- COMMIT what came before (pre-hooks): SET TRANSACTION must be the first query
       of the Postgres transaction --#}
  {%- do adapter.pg_commit() -%}
  {%- do adapter.pg_begin() -%}
  {{ pg_execute(connection, lock_sql) }}
  {%- set staged = duckdb_postgres__stage(target, 'stage', select_sql) -%}
  {%- set stage = staged[0] -%}
  {{ duckdb_postgres__check_stage(stage, options) }}
  {%- set columns = duckdb_postgres__sync_schema(target, duckdb_postgres__pg_columns(stage), options['on_schema_change']) -%}

  {%- set join_on = [] -%}
  {%- for key in keys -%}
    {%- do join_on.append('t.' ~ adapter.pg_quote(key) ~ ' = s.' ~ adapter.pg_quote(key)) -%}
  {%- endfor -%}
  {%- set update_columns = [] -%}
  {%- for column in (options['update_columns'] or columns) -%}
    {%- if column in columns and column not in keys and column not in options['exclude_columns'] -%}
      {%- do update_columns.append(column) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set differs = '(' ~ duckdb_postgres__column_list(update_columns, 't.') ~ ') is distinct from ('
      ~ duckdb_postgres__column_list(update_columns, 's.') ~ ')' if update_columns else 'false' -%}
  {%- set counts_sql -%}
    select count(*) filter (where t.{{ adapter.pg_quote(keys[0]) }} is null) as new_keys,
           count(*) filter (where t.{{ adapter.pg_quote(keys[0]) }} is not null) as existing_keys,
           count(*) filter (where t.{{ adapter.pg_quote(keys[0]) }} is not null and {{ differs }}) as changed_rows
    from {{ stage.pg_name() }} s left join {{ target.pg_name() }} t on {{ join_on | join(' and ') }}
  {%- endset -%}
  {%- set counts = pg_fetch(connection, counts_sql)[0] -%}
  {%- set new_keys = counts[0] | int -%}
  {%- set existing_keys = counts[1] | int -%}
  {%- set changed_rows = counts[2] | int -%}
  {%- if options['on_conflict'] == 'fail' and existing_keys > 0 -%}
    {%- set sample_sql -%}
      select string_agg(k, '; ') from (select row({{ duckdb_postgres__column_list(keys, 's.') }})::text as k
        from {{ stage.pg_name() }} s join {{ target.pg_name() }} t on {{ join_on | join(' and ') }} limit 5) x
    {%- endset -%}
    {%- do exceptions.raise_database_error(
        existing_keys ~ " key(s) of the model result already exist in " ~ target ~ " (on_conflict='fail'), e.g. "
        ~ pg_fetch(connection, sample_sql)[0][0] ~ ". Nothing was written. "
        ~ "Use on_conflict='update' or 'skip', or remove those rows from the model.") -%}
  {%- endif -%}

  {%- set column_list = duckdb_postgres__column_list(columns) -%}
  {%- set statements = ['set local random_page_cost = 1.1'] -%}
  {%- set has_unique_index = duckdb_postgres__has_unique_index(target, keys) -%}
  {%- if has_unique_index -%}
    {%- set action = 'do nothing' -%}
    {%- if options['on_conflict'] == 'update' and update_columns -%}
      {%- set assignments = [] -%}
      {%- for column in update_columns -%}
        {%- do assignments.append(adapter.pg_quote(column) ~ ' = excluded.' ~ adapter.pg_quote(column)) -%}
      {%- endfor -%}
      {#-- rows whose values are unchanged are not rewritten --#}
      {%- set action = 'do update set ' ~ assignments | join(', ')
          ~ ' where (' ~ duckdb_postgres__column_list(update_columns, 't.') ~ ') is distinct from ('
          ~ duckdb_postgres__column_list(update_columns, 'excluded.') ~ ')' -%}
    {%- endif -%}
    {%- do statements.append('insert into ' ~ target.pg_name() ~ ' as t (' ~ column_list ~ ') select '
        ~ column_list ~ ' from ' ~ stage.pg_name() ~ ' on conflict (' ~ duckdb_postgres__column_list(keys) ~ ') ' ~ action) -%}
  {%- else -%}
    {%- set target_only = [] -%}
    {%- for column in duckdb_postgres__pg_columns(target) if column[0] not in columns -%}
      {%- do target_only.append(column[0]) -%}
    {%- endfor -%}
    {%- if options['on_conflict'] == 'update' and target_only -%}
      {#-- one statement: the deleted rows give back the values of the target's
           columns that the model lacks (on_schema_change='ignore' keeps them) --#}
      {%- set kept_on = [] -%}
      {%- for key in keys -%}
        {%- do kept_on.append('d.' ~ adapter.pg_quote(key) ~ ' = s.' ~ adapter.pg_quote(key)) -%}
      {%- endfor -%}
      {%- do statements.append('with deleted as (delete from ' ~ target.pg_name() ~ ' t using ' ~ stage.pg_name() ~ ' s where ' ~ join_on | join(' and ')
          ~ ' returning ' ~ duckdb_postgres__column_list(keys + target_only, 't.') ~ ') insert into ' ~ target.pg_name()
          ~ ' (' ~ duckdb_postgres__column_list(columns + target_only) ~ ') select ' ~ duckdb_postgres__column_list(columns, 's.')
          ~ ', ' ~ duckdb_postgres__column_list(target_only, 'd.') ~ ' from ' ~ stage.pg_name() ~ ' s left join (select distinct on ('
          ~ duckdb_postgres__column_list(keys) ~ ') * from deleted) d on ' ~ kept_on | join(' and ')) -%}
    {%- elif options['on_conflict'] == 'update' -%}
      {%- do statements.append('delete from ' ~ target.pg_name() ~ ' t using ' ~ stage.pg_name() ~ ' s where ' ~ join_on | join(' and ')) -%}
      {%- do statements.append('insert into ' ~ target.pg_name() ~ ' (' ~ column_list ~ ') select ' ~ column_list ~ ' from ' ~ stage.pg_name()) -%}
    {%- else -%}
      {%- do statements.append('insert into ' ~ target.pg_name() ~ ' (' ~ column_list ~ ') select ' ~ duckdb_postgres__column_list(columns, 's.')
          ~ ' from ' ~ stage.pg_name() ~ ' s where not exists (select 1 from ' ~ target.pg_name() ~ ' t where ' ~ join_on | join(' and ') ~ ')') -%}
    {%- endif -%}
  {%- endif -%}
  {%- do statements.append('drop table ' ~ stage.pg_name()) -%}
  {{ pg_execute(connection, statements | join(";\n")) }}
  {#-- ON CONFLICT rewrites only changed rows; DELETE + INSERT rewrites every matched key --#}
  {%- set updated = (changed_rows if has_unique_index else existing_keys) if options['on_conflict'] == 'update' else 0 -%}
  {{ return({'inserted': new_keys, 'updated': updated, 'rows': staged[1]}) }}
{%- endmacro %}


{#-- duckdb_postgres__has_unique_index(relation, keys: list) -> bool
     Whether a unique index (or primary key) on exactly the `keys` columns
     exists, so INSERT ... ON CONFLICT (keys) can use it. --#}
{% macro duckdb_postgres__has_unique_index(relation, keys) -%}
  {%- set key_names = [] -%}
  {%- for key in keys | sort -%}{%- do key_names.append(adapter.pg_literal(key)) -%}{%- endfor -%}
  {%- set sql -%}
    select count(*) from pg_index i
    where i.indrelid = to_regclass({{ adapter.pg_literal(relation.pg_name()) }})
      and i.indisunique and i.indpred is null and i.indexprs is null
      and (select array_agg(a.attname::text order by a.attname::text) from pg_attribute a
           where a.attrelid = i.indrelid and a.attnum = any(i.indkey)) = array[{{ key_names | join(', ') }}]::text[]
      and cardinality(i.indkey::int2[]) = {{ keys | length }}
  {%- endset -%}
  {{ return(pg_fetch(relation.database, sql)[0][0] | int > 0) }}
{%- endmacro %}
