{#--
  Checks and schema changes shared by the write modes, run inside PostgreSQL on
  a staged copy of the model result before the target is touched.
--#}

{#-- duckdb_postgres__check_stage(stage, options) -> None
     Refuse a staged result (a Postgres table) before it reaches the target:
     NULL event_time values (incremental_by_time), NULL or duplicate unique_key
     values (upsert_by_key only: dbt's delete+insert writes such rows as they
     are, on its first build too), with counts and up to 5 sample keys, in one
     query (adapter.pg_check_stage). Raises a database error; the caller's
     transaction then rolls back, so nothing is written. --#}
{% macro duckdb_postgres__check_stage(stage, options) -%}
  {%- do adapter.pg_check_stage(stage, options) -%}
{%- endmacro %}


{#-- duckdb_postgres__sync_schema(target, new_columns, on_schema_change, apply=true, old_columns=none) -> dict
     Apply dbt's on_schema_change to the Postgres `target`, given the model's
     columns as Postgres sees them ([[name, type], ...], from a staged table).
       ignore: nothing changes; fail: any difference is an error;
       append_new_columns: ADD COLUMN for new ones;
       sync_all_columns: also DROP COLUMN for missing ones and ALTER TYPE for changed ones.
     apply=false (--empty) only checks: 'fail' still raises, the ALTERs are logged, not run.
     old_columns: the target's columns as duckdb_postgres__pg_columns reads them,
     when the caller has them (else they are read).
     Runs in the caller's transaction. Returns {'columns': the column names to
     write (the model's columns that the target has afterwards), 'altered':
     whether an ALTER TABLE ran}. --#}
{% macro duckdb_postgres__sync_schema(target, new_columns, on_schema_change, apply=true, old_columns=none) -%}
  {%- set old_columns = old_columns if old_columns is not none else duckdb_postgres__pg_columns(target) -%}
  {%- set diff = adapter.pg_schema_diff(new_columns, old_columns, on_schema_change) -%}
  {%- if diff['differs'] -%}
    {%- do duckdb_postgres__change_schema(target, diff, on_schema_change, apply) -%}
  {%- endif -%}
  {{ return({'columns': diff['write'], 'altered': true if (diff['alters'] and apply) else false}) }}
{%- endmacro %}


{#-- duckdb_postgres__change_schema(target, diff, on_schema_change, apply) -> None
     The part of duckdb_postgres__sync_schema that runs when the columns differ
     (diff: adapter.pg_schema_diff): 'fail' raises; a changed type that the
     setting keeps must convert (duckdb_postgres__check_retyped); the ALTER TABLE
     statements of the setting run inside Postgres (apply) or are logged. --#}
{% macro duckdb_postgres__change_schema(target, diff, on_schema_change, apply) -%}
  {%- if on_schema_change == 'fail' -%}
    {%- do exceptions.raise_compiler_error(
        "The columns of " ~ target ~ " differ from the model's (on_schema_change='fail'): "
        ~ "new " ~ diff['added'] ~ ", removed " ~ diff['removed'] ~ ", changed type " ~ diff['changed']
        ~ ". Nothing was written. Use --full-refresh, or set on_schema_change to append_new_columns or sync_all_columns.") -%}
  {%- endif -%}
  {%- if diff['changed'] and on_schema_change in ['ignore', 'append_new_columns'] -%}
    {%- do duckdb_postgres__check_retyped(target, diff['old'], diff['changed'], on_schema_change) -%}
  {%- endif -%}
  {%- set statements = [] -%}
  {%- if on_schema_change in ['append_new_columns', 'sync_all_columns'] -%}
    {%- for column in diff['added'] -%}
      {%- do statements.append('alter table ' ~ target.pg_name() ~ ' add column ' ~ adapter.pg_quote(column[0]) ~ ' ' ~ column[1]) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if on_schema_change == 'sync_all_columns' -%}
    {%- for name in diff['removed'] -%}
      {%- do statements.append('alter table ' ~ target.pg_name() ~ ' drop column ' ~ adapter.pg_quote(name)) -%}
    {%- endfor -%}
    {%- for column in diff['changed'] -%}
      {%- do statements.append('alter table ' ~ target.pg_name() ~ ' alter column ' ~ adapter.pg_quote(column[0])
          ~ ' type ' ~ column[1] ~ ' using ' ~ adapter.pg_quote(column[0]) ~ '::' ~ column[1]) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if statements and apply -%}
    {%- do adapter.pg_execute(target.database, statements | join(";\n")) -%}
    {{ log("on_schema_change=" ~ on_schema_change ~ " on " ~ target ~ ": " ~ statements | join("; "), info=true) }}
  {%- elif statements -%}
    {{ log("on_schema_change=" ~ on_schema_change ~ " on " ~ target ~ " (not applied under --empty): " ~ statements | join("; "), info=true) }}
  {%- endif -%}
{%- endmacro %}


{#-- duckdb_postgres__check_retyped(target, old: dict name -> type, changed: list of [name, type], on_schema_change) -> None
     Under on_schema_change 'ignore' or 'append_new_columns' a column whose type
     changed keeps its old type in `target`, so its new values must convert to it.
     PostgreSQL decides: the same type up to modifiers, or a cast that INSERT
     applies on its own (implicit or assignment, pg_cast.castcontext 'i'/'a';
     PostgreSQL docs, CREATE CAST) — except a numeric(p,s) with more decimals than
     the table's numeric(p,s), which Postgres would silently round on INSERT
     (adapter.pg_numeric_narrows; e.g. a pg_query numeric whose largest scale grew). Any other change raises one compilation error
     naming each column, its old and new type, and the settings that would handle it.
     Runs before the target is written. --#}
{% macro duckdb_postgres__check_retyped(target, old, changed, on_schema_change) -%}
  {%- set pairs = [] -%}
  {%- for column in changed -%}
    {%- do pairs.append('(' ~ adapter.pg_literal(column[0]) ~ ', ' ~ adapter.pg_literal(column[1])
                        ~ ', ' ~ adapter.pg_literal(old[column[0]]) ~ ')') -%}
  {%- endfor -%}
  {%- set sql -%}
    select v.name, v.new_type, v.old_type
    from (values {{ pairs | join(', ') }}) v(name, new_type, old_type)
    where to_regtype(v.new_type) is distinct from to_regtype(v.old_type)
      and not exists (select 1 from pg_cast c
                      where c.castsource = to_regtype(v.new_type) and c.casttarget = to_regtype(v.old_type)
                        and c.castcontext in ('i', 'a'))
  {%- endset -%}
  {%- set problems = [] -%}
  {%- for row in adapter.pg_query(target.database, sql) -%}
    {%- do problems.append('column ' ~ row[0] ~ ': ' ~ row[2] ~ ' in the table, ' ~ row[1] ~ ' in the model') -%}
  {%- endfor -%}
  {#-- numeric(p,s) into a narrower numeric: Postgres would round or overflow on INSERT --#}
  {%- for column in changed -%}
    {%- if adapter.pg_numeric_narrows(old[column[0]], column[1]) -%}
      {%- do problems.append('column ' ~ column[0] ~ ': ' ~ old[column[0]] ~ ' in the table, ' ~ column[1]
                             ~ ' in the model (more decimals: Postgres would round them)') -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if problems -%}
    {%- do exceptions.raise_compiler_error(
        "The model changes the type of column(s) of " ~ target ~ " that on_schema_change='" ~ on_schema_change
        ~ "' keeps, and the new values do not convert to the old type:\n  - " ~ problems | join("\n  - ")
        ~ "\nNothing was written. Set on_schema_change='sync_all_columns' (alters the column types), "
        ~ "run with --full-refresh (rebuilds the table), or cast the column(s) in the model to the old type.") -%}
  {%- endif -%}
{%- endmacro %}


{#-- duckdb_postgres__stage(target, suffix, select_sql, unlogged=true, column_types=none, constraints=none,
                            partition_by=none, partitions_sql='', work=none) -> (relation, rows, plan)
     adapter.pg_stage (the one work-table loader of every write mode: the model
     result by binary COPY into a new `<target>__dbt_<suffix>` inside Postgres),
     and for a table with an enforced contract's `constraints` its runtime DDL in
     target/run/, as dbt writes a table's 'main' statement. The writes without
     constraints call adapter.pg_stage directly. --#}
{% macro duckdb_postgres__stage(target, suffix, select_sql, unlogged=true, column_types=none, constraints=none,
                                partition_by=none, partitions_sql='', work=none) -%}
  {%- set staged = adapter.pg_stage(target, suffix, select_sql, unlogged, column_types, constraints,
                                    partition_by, partitions_sql, work) -%}
  {%- if constraints is not none -%}
    {%- do write(staged[2]['create'] ~ ';\ninsert into ' ~ staged[0].pg_name() ~ ' ' ~ staged[2]['load'] ~ ';\n') -%}
  {%- endif -%}
  {{ return(staged) }}
{%- endmacro %}


{#-- duckdb_postgres__probe_columns(target, select_sql, column_types=none, existing=none) -> list of [name, type]
     The columns `select_sql` would have as a table the adapter creates, with
     their types as Postgres spells them (format_type, the spelling
     duckdb_postgres__pg_columns reads from a target). The query is described,
     never run. `existing`: the target's columns ([[name, format_type], ...]);
     when the type map's types of the columns the target shares are spelled as
     the target's (adapter.pg_spelled_as_target), they are the answer.
     Otherwise Postgres spells them: an empty probe table `<target>__dbt_columns`
     is created from the plan and dropped again, inside Postgres and in the
     current transaction (opening one if needed). --#}
{% macro duckdb_postgres__probe_columns(target, select_sql, column_types=none, existing=none) -%}
  {%- set probe = target.incorporate(path={'identifier': target.identifier ~ '__dbt_columns'}, type='table') -%}
  {%- set plan = adapter.pg_table_plan(probe, select_sql, column_types) -%}
  {%- if existing is not none -%}
    {%- set spelled = adapter.pg_spelled_as_target(plan['columns'], existing) -%}
    {%- if spelled is not none -%}{{ return(spelled) }}{%- endif -%}
  {%- endif -%}
  {%- set create = ['drop table if exists ' ~ probe.pg_name(), plan['create']] -%}
  {%- if plan['finalize'] -%}{%- do create.append(plan['finalize']) -%}{%- endif -%}
  {%- do adapter.pg_execute(target.database, create | join(';\n')) -%}
  {%- set columns = duckdb_postgres__pg_columns(probe) -%}
  {%- do adapter.pg_execute(target.database, 'drop table ' ~ probe.pg_name()) -%}
  {{ duckdb_postgres__clear_cache() }}
  {{ return(columns) }}
{%- endmacro %}


{#-- duckdb_postgres__clamp_to_window(select_sql, options, start, end) -> str
     The rows of `select_sql` inside [start, end), plus any with a NULL event_time
     (kept so the caller can refuse them). The clamp runs in DuckDB: only bounds
     written in the model SQL (pg_window_start()/pg_window_end()) reach a
     Postgres source, since DuckDB pushes neither OR nor IS NULL into a scan. --#}
{% macro duckdb_postgres__clamp_to_window(select_sql, options, start, end) -%}
  {%- set clamped -%}
    select * from ({{ select_sql }}) _dbt_model
    where {{ adapter.pg_quote(options['event_time']) }} is null or ({{ adapter.pg_window_condition(options, start, end) }})
  {%- endset -%}
  {{ return(clamped) }}
{%- endmacro %}


{#-- duckdb_postgres__clear_cache() -> None
     `call pg_clear_cache()`: forget DuckDB's cached view of the attached Postgres
     catalogs. Called wherever a write creates, renames or drops a table inside
     Postgres (postgres_execute), which DuckDB's cache does not see: a stale entry
     would bind a later load to old columns, or make duckdb_indexes() fail on a
     table that is gone. Runs in the current transaction. --#}
{% macro duckdb_postgres__clear_cache() -%}
  {%- call statement('pg_clear_cache') -%}
    call pg_clear_cache()
  {%- endcall -%}
{%- endmacro %}
