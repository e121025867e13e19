{#--
  The single entry point of every Postgres write: the three materializations and
  the pg_materialize post-hook all call duckdb_postgres__write, which validates
  the configs of the mode and picks the full replacement or the mode's
  incremental path. One implementation per mode (writes/*.sql).
--#}

{#-- duckdb_postgres__write(mode, target, select_sql, raw, label, columns, constraints=none) -> dict
     mode: 'full' | 'incremental_by_time' | 'upsert_by_key', or one of dbt's own
       incremental strategies: 'append' | 'delete_insert' | 'microbatch' (writes/insert.sql).
     target: the Postgres relation (database = a writable postgres connection).
     select_sql: what to write, a DuckDB SELECT (the model SQL, or `select * from <this>`).
     raw: the configs (duckdb_postgres__model_configs() or pg_materialize kwargs);
     label: what is written, for messages.
     columns: the columns of select_sql as [[name, dtype], ...].
     constraints: an enforced contract's constraints (duckdb_postgres__contract_constraints),
       created with the table of a full build, or none.
     Returns {'rows': rows written, 'inserted', 'updated', 'deleted', 'message'} and
     leaves the transaction of a full replacement open for the caller to commit.
     Each mode's path is its own macro (dbt compiles a macro's template on its first
     call in a process, so a run compiles only the paths it takes). --#}
{% macro duckdb_postgres__write(mode, target, select_sql, raw, label, columns, constraints=none) -%}
  {%- set problem = adapter.pg_column_names_problem(columns, label) -%}
  {%- if problem -%}{%- do exceptions.raise_compiler_error(problem) -%}{%- endif -%}
  {%- set options = adapter.pg_write_options(mode, raw, label, columns) -%}
  {%- do options.update({'constraints': constraints}) -%}

  {#-- --empty: an incremental target is never rewritten (see duckdb_postgres__write_empty) --#}
  {%- if mode != 'full' and flags.EMPTY -%}
    {%- if adapter.pg_relation_info(target)['kind'] is not none -%}
      {{ return(duckdb_postgres__write_empty(target, select_sql, options)) }}
    {%- endif -%}
    {%- set select_sql = 'select * from (' ~ select_sql ~ ') _dbt_model limit 0' -%}
  {%- endif -%}

  {%- if mode == 'incremental_by_time' -%}
    {{ return(duckdb_postgres__write_by_time(target, select_sql, options)) }}
  {%- elif mode in ['append', 'delete_insert', 'microbatch'] -%}
    {{ return(duckdb_postgres__write_strategy(target, select_sql, options)) }}
  {%- elif mode == 'upsert_by_key' -%}
    {{ return(duckdb_postgres__write_by_key(target, select_sql, options)) }}
  {%- endif -%}
  {{ return(duckdb_postgres__write_full_result(target, select_sql, options)) }}
{%- endmacro %}


{#-- duckdb_postgres__write_full_result(target, select_sql, options, message='') -> dict
     A full replacement (duckdb_postgres__write_full) reported as
     duckdb_postgres__write does; `message` is appended to 'INSERT <rows>'. --#}
{% macro duckdb_postgres__write_full_result(target, select_sql, options, message='') -%}
  {%- set rows = duckdb_postgres__write_full(target, select_sql, options) -%}
  {{ return({'rows': rows, 'inserted': rows, 'updated': 0, 'deleted': 0, 'message': 'INSERT ' ~ rows ~ message}) }}
{%- endmacro %}


{#-- duckdb_postgres__write_empty(target, select_sql, options) -> dict
     `--empty` (dbt's flags.EMPTY: refs and sources read as `limit 0`) on an
     existing target of an incremental mode: nothing is deleted, updated or
     inserted, even with --full-refresh (an empty model result would otherwise
     empty the window, or a full refresh the table). The model's columns are
     checked against the target as on_schema_change would (a 'fail' difference
     is an error; the changes other settings would make are logged, not made),
     in one transaction (through an empty probe table next to the target when
     Postgres must spell the model's types, duckdb_postgres__probe_columns). A missing target is created empty by the caller. --#}
{% macro duckdb_postgres__write_empty(target, select_sql, options) -%}
  {#-- COMMIT what the model's transaction holds: the probe is written alone --#}
  {%- do adapter.pg_commit() -%}
  {#-- BEGIN --#}
  {%- do adapter.pg_begin() -%}
  {%- set old_columns = duckdb_postgres__pg_columns(target) -%}
  {%- set new_columns = duckdb_postgres__probe_columns(target, select_sql, options['column_types'], old_columns) -%}
  {%- do duckdb_postgres__sync_schema(target, new_columns, options['on_schema_change'], apply=false, old_columns=old_columns) -%}
  {#-- COMMIT --#}
  {%- do adapter.pg_commit() -%}
  {{ log(options['label'] ~ ": --empty, nothing written to the existing " ~ target, info=true) }}
  {{ return({'rows': 0, 'inserted': 0, 'updated': 0, 'deleted': 0, 'message': 'INSERT 0 (--empty: existing target unchanged)'}) }}
{%- endmacro %}


{#-- duckdb_postgres__clamp_to_batch(select_sql, options) -> str
     The rows of `select_sql` inside the microbatch batch [batch_start, batch_end),
     as dbt-duckdb's microbatch inserts them: rows outside the batch (and rows
     with a NULL event_time) are not written. --#}
{% macro duckdb_postgres__clamp_to_batch(select_sql, options) -%}
  {{ return('select * from (' ~ select_sql ~ ') _dbt_batch where '
            ~ adapter.pg_window_condition(options, options['batch_start'], options['batch_end'])) }}
{%- endmacro %}
