{#--
  Full replacement of a Postgres table: the one implementation behind the
  `pg_full` materialization, `pg_materialize(mode='full')` and full refreshes of
  the incremental modes.

  Everything below runs in ONE DuckDB transaction, which is one Postgres
  transaction on the target connection (docs/architecture.md "Transactions"): the new rows go
  into `<t>__dbt_tmp` by binary COPY, indexes and ANALYZE follow, and the swap
  (rename old -> `<t>__dbt_backup`, tmp -> `<t>`, drop backup) happens before the
  caller commits. A failure anywhere rolls all of it back: the old table and its
  rows stay as they were and nothing is left behind. Readers see the old table
  until COMMIT, then the new one; they never see it missing or empty.

  A target that Postgres views depend on is not renamed away from them: its rows
  are replaced in place (TRUNCATE + INSERT from the tmp table, same transaction)
  when the columns are unchanged; otherwise the write fails before anything
  changes, naming the views.
--#}

{#-- duckdb_postgres__write_full(target, select_sql: str, options: dict) -> int
     target: the relation to replace (`database` = a postgres connection).
     select_sql: the model's compiled SELECT (run in DuckDB).
     options: from duckdb_postgres__write_options (indexes, grants, unlogged; and
       event_time / unique_key, whose NULLs and duplicates are refused before the swap).
     Returns the number of rows written. The caller commits.
     With options['partition_by'] the target is range-partitioned
     (duckdb_postgres__write_full_partitioned, writes/partitions.sql). --#}
{% macro duckdb_postgres__write_full(target, select_sql, options) -%}
  {%- if options.get('partition_by') -%}
    {{ return(duckdb_postgres__write_full_partitioned(target, select_sql, options)) }}
  {%- endif -%}
  {%- set connection = target.database -%}
  {%- set backup = target.incorporate(path={'identifier': target.identifier ~ '__dbt_backup'}, type='table') -%}

  {#-- BEGIN (first statement opens the transaction): schema, leftovers --#}
  {{ duckdb_postgres__ensure_schema(connection, target.schema) }}
  {%- call statement('pg_full_prepare', auto_begin=True) -%}
    drop table if exists {{ backup }}
  {%- endcall -%}

  {#-- the load into <t>__dbt_tmp: binary COPY through the attached catalog --#}
  {%- set loaded = duckdb_postgres__stage(target, 'tmp', select_sql, options['unlogged'], options['column_types'], options.get('constraints')) -%}
  {%- set tmp = loaded[0] -%}
  {%- set rows = loaded[1] -%}

  {{ duckdb_postgres__check_stage(tmp, options) }}
  {%- do adapter.pg_execute(connection, duckdb_postgres__post_load_sql(tmp, options)) -%}
  {{ duckdb_postgres__swap(target, tmp, backup, options) }}
  {{ return(rows) }}
{%- endmacro %}


{#-- duckdb_postgres__swap(target, tmp, backup, options) -> None
     Put the loaded `tmp` in place of `target` inside the current transaction,
     then apply grants. See the header of this file for the dependent-view rule. --#}
{% macro duckdb_postgres__swap(target, tmp, backup, options) -%}
  {%- set connection = target.database -%}
  {%- set existing = adapter.pg_relation_info(target) -%}
  {%- set statements = [] -%}
  {%- if existing['kind'] is none -%}
    {%- do statements.append('alter table ' ~ tmp.pg_name() ~ ' rename to ' ~ adapter.pg_quote(target.identifier)) -%}
  {%- elif existing['dependents'] is none -%}
    {%- set kind = {'r': 'table', 'p': 'table', 'v': 'view', 'm': 'materialized view', 'f': 'foreign table'}.get(existing['kind'], 'table') -%}
    {%- do statements.append('alter ' ~ kind ~ ' ' ~ target.pg_name() ~ ' rename to ' ~ adapter.pg_quote(backup.identifier)) -%}
    {%- do statements.append('alter table ' ~ tmp.pg_name() ~ ' rename to ' ~ adapter.pg_quote(target.identifier)) -%}
    {%- do statements.append('drop ' ~ kind ~ ' ' ~ backup.pg_name()) -%}
  {%- else -%}
    {%- set old_columns = duckdb_postgres__pg_columns(target) -%}
    {%- set new_columns = duckdb_postgres__pg_columns(tmp) -%}
    {%- if existing['kind'] not in ['r', 'p'] or old_columns != new_columns -%}
      {%- do exceptions.raise_compiler_error(
          "Cannot replace " ~ target ~ ": PostgreSQL view(s) " ~ existing['dependents'] ~ " depend on it and its columns would change"
          ~ "\n  now: " ~ old_columns ~ "\n  new: " ~ new_columns
          ~ "\nNothing was changed. Drop or recreate the dependent views (or keep the columns unchanged) and rerun.") -%}
    {%- endif -%}
    {%- do statements.append('truncate table ' ~ target.pg_name()) -%}
    {%- do statements.append('insert into ' ~ target.pg_name() ~ ' select * from ' ~ tmp.pg_name()) -%}
    {%- do statements.append('drop table ' ~ tmp.pg_name()) -%}
    {%- do statements.append('analyze ' ~ target.pg_name()) -%}
  {%- endif -%}
  {%- if options.get('constraints') and existing['dependents'] is none -%}
    {%- do statements.append(duckdb_postgres__rename_constraints_sql(target, tmp)) -%}
  {%- endif -%}
  {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) if options['grants'] else '' -%}
  {%- if grant_sql -%}{%- do statements.append(grant_sql) -%}{%- endif -%}
  {%- do adapter.pg_execute(connection, statements | join(";\n")) -%}
  {{ duckdb_postgres__clear_cache() }}
{%- endmacro %}


{#-- duckdb_postgres__rename_constraints_sql(target, tmp) -> str
     A DO block (run inside Postgres after the swap) that renames the constraints
     Postgres named after `tmp` (`<t>__dbt_tmp_pkey`, `<t>__dbt_tmp_id_check`, ...)
     after `target` (`<t>_pkey`): the next full build creates its `<t>__dbt_tmp`
     while this table still exists, and a primary key or unique constraint's index
     name must be unique in the schema (PostgreSQL docs, ALTER TABLE RENAME
     CONSTRAINT also renames the index). --#}
{% macro duckdb_postgres__rename_constraints_sql(target, tmp) -%}
  {%- set tag = '$dbt_' ~ local_md5(target.pg_name()) ~ '$' -%}
  {%- set sql -%}
    do {{ tag }} declare c record; begin
      for c in select conname::text as name from pg_constraint
               where conrelid = to_regclass({{ adapter.pg_literal(target.pg_name()) }})
                 and left(conname::text, length({{ adapter.pg_literal(tmp.identifier) }})) = {{ adapter.pg_literal(tmp.identifier) }}
      loop
        execute format('alter table %s rename constraint %I to %I', {{ adapter.pg_literal(target.pg_name()) }}, c.name,
                       {{ adapter.pg_literal(target.identifier) }} || substr(c.name, length({{ adapter.pg_literal(tmp.identifier) }}) + 1));
      end loop;
    end {{ tag }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}
