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
     leaves the transaction of a full replacement open for the caller to commit. --#}
{% macro duckdb_postgres__write(mode, target, select_sql, raw, label, columns, constraints=none) -%}
  {%- do duckdb_postgres__check_column_names(columns, label) -%}
  {%- set options = adapter.pg_write_options(mode, raw, label, columns) -%}
  {%- do options.update({'constraints': constraints}) -%}
  {%- if mode == 'microbatch' -%}
    {%- set bounds = adapter.pg_microbatch_bounds(model.get('batch')) -%}
    {%- do options.update({'batch_start': bounds[0], 'batch_end': bounds[1]}) -%}
  {%- endif -%}

  {#-- --empty: an incremental target is never rewritten (see duckdb_postgres__write_empty) --#}
  {%- if mode != 'full' and flags.EMPTY -%}
    {%- if duckdb_postgres__relation_info(target)['kind'] is not none -%}
      {{ return(duckdb_postgres__write_empty(target, select_sql, options)) }}
    {%- endif -%}
    {%- set select_sql = 'select * from (' ~ select_sql ~ ') _dbt_model limit 0' -%}
  {%- endif -%}

  {%- if mode == 'incremental_by_time' -%}
    {%- set window = duckdb_postgres__time_window(target, options) -%}
    {%- if window['full_build'] -%}
      {%- if not options['indexes'] -%}
        {%- do options.update({'indexes': [adapter.pg_parse_index({'columns': [options['event_time']]})]}) -%}
      {%- endif -%}
      {%- set clamped = duckdb_postgres__clamp_to_window(select_sql, options, window['start'], window['end']) -%}
      {%- set rows = duckdb_postgres__write_full(target, clamped, options) -%}
      {{ return({'rows': rows, 'inserted': rows, 'updated': 0, 'deleted': 0,
                 'message': 'INSERT ' ~ rows ~ ' (full build [' ~ window['start'] ~ ', ' ~ window['end'] ~ '))'}) }}
    {%- endif -%}
    {%- set result = duckdb_postgres__write_incremental_by_time(target, select_sql, options, window) -%}
    {{ return({'rows': result['inserted'], 'inserted': result['inserted'], 'updated': 0, 'deleted': result['deleted'],
               'message': 'INSERT ' ~ result['inserted'] ~ ', DELETE ' ~ result['deleted'] ~ ' in ' ~ result['batches'] ~ ' batch(es) ('
                          ~ result['transactions'] ~ ' transaction(s), ' ~ result['skipped'] ~ ' skipped)'}) }}
  {%- endif -%}

  {%- if mode in ['append', 'delete_insert', 'microbatch'] -%}
    {%- set select_sql = duckdb_postgres__clamp_to_batch(select_sql, options) if mode == 'microbatch' else select_sql -%}
    {%- if not should_full_refresh() and duckdb_postgres__relation_info(target)['kind'] is not none -%}
      {%- set result = duckdb_postgres__write_insert(target, select_sql, options) -%}
      {{ return({'rows': result['inserted'], 'inserted': result['inserted'], 'updated': 0, 'deleted': result['deleted'],
                 'message': 'INSERT ' ~ result['inserted'] ~ (', DELETE ' ~ result['deleted'] if mode != 'append' else '')}) }}
    {%- endif -%}
    {%- if mode == 'microbatch' and not options['indexes'] -%}
      {%- do options.update({'indexes': [adapter.pg_parse_index({'columns': [options['event_time']]})]}) -%}
    {%- endif -%}
  {%- endif -%}

  {%- if mode == 'upsert_by_key' -%}
    {%- if not should_full_refresh() and duckdb_postgres__relation_info(target)['kind'] is not none -%}
      {%- set result = duckdb_postgres__write_upsert_by_key(target, select_sql, options) -%}
      {{ return({'rows': result['inserted'] + result['updated'], 'inserted': result['inserted'], 'updated': result['updated'], 'deleted': 0,
                 'message': 'INSERT ' ~ result['inserted'] ~ ', UPDATE ' ~ result['updated']}) }}
    {%- endif -%}
    {#-- the key's index is unique (so later runs use INSERT ... ON CONFLICT) unless
         incremental_predicates are set: a stage row whose target row fails them is not
         matched and is inserted next to it, as dbt's MERGE ... ON <key> AND <predicates>
         does, so the key may repeat; a plain index still serves the key lookups --#}
    {%- set key_index = adapter.pg_parse_index({'columns': options['unique_key'],
                                                'unique': not options['incremental_predicates']}) -%}
    {%- do options.update({'indexes': [key_index] + options['indexes']}) -%}
  {%- endif -%}

  {%- set rows = duckdb_postgres__write_full(target, select_sql, options) -%}
  {{ return({'rows': rows, 'inserted': rows, 'updated': 0, 'deleted': 0, 'message': 'INSERT ' ~ rows}) }}
{%- endmacro %}


{#-- duckdb_postgres__write_empty(target, select_sql, options) -> dict
     `--empty` (dbt's flags.EMPTY: refs and sources read as `limit 0`) on an
     existing target of an incremental mode: nothing is deleted, updated or
     inserted, even with --full-refresh (an empty model result would otherwise
     empty the window, or a full refresh the table). The model's columns are
     checked against the target as on_schema_change would (a 'fail' difference
     is an error; the changes other settings would make are logged, not made),
     through an empty probe table next to the target, created and dropped in one
     transaction. A missing target is created empty by the caller. --#}
{% macro duckdb_postgres__write_empty(target, select_sql, options) -%}
  {#-- COMMIT what the model's transaction holds: the probe is written alone --#}
  {%- do adapter.pg_commit() -%}
  {#-- BEGIN --#}
  {%- do adapter.pg_begin() -%}
  {%- set new_columns = duckdb_postgres__probe_columns(target, select_sql, options['column_types']) -%}
  {%- do duckdb_postgres__sync_schema(target, new_columns, options['on_schema_change'], apply=false) -%}
  {#-- COMMIT --#}
  {%- do adapter.pg_commit() -%}
  {{ log(options['label'] ~ ": --empty, nothing written to the existing " ~ target, info=true) }}
  {{ return({'rows': 0, 'inserted': 0, 'updated': 0, 'deleted': 0, 'message': 'INSERT 0 (--empty: existing target unchanged)'}) }}
{%- endmacro %}


{#-- duckdb_postgres__store_result(result) -> None
     Report a write in the run log line and run_results.json (adapter_response:
     rows_affected, and rows_inserted / rows_updated / rows_deleted). --#}
{% macro duckdb_postgres__store_result(result) -%}
  {%- do store_result('main', response=adapter.pg_write_response(result)) -%}
{%- endmacro %}


{#-- duckdb_postgres__query_columns(select_sql) -> list of [name, dtype]
     The columns of a DuckDB query, without running it. --#}
{% macro duckdb_postgres__query_columns(select_sql) -%}
  {%- set columns = [] -%}
  {%- for column in get_column_schema_from_query(select_sql) -%}
    {%- do columns.append([column.name, column.dtype]) -%}
  {%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}


{#-- duckdb_postgres__clamp_to_batch(select_sql, options) -> str
     The rows of `select_sql` inside the microbatch batch [batch_start, batch_end),
     as dbt-duckdb's microbatch inserts them: rows outside the batch (and rows
     with a NULL event_time) are not written. --#}
{% macro duckdb_postgres__clamp_to_batch(select_sql, options) -%}
  {{ return('select * from (' ~ select_sql ~ ') _dbt_batch where '
            ~ duckdb_postgres__window_condition(options, options['batch_start'], options['batch_end'])) }}
{%- endmacro %}
