{#--
  Inserts into an existing Postgres table, optionally after deleting the rows
  they replace: the one implementation behind dbt's own incremental strategies
  on a Postgres target (docs/architecture.md "dbt's table and incremental"):
    append         INSERT the model result;
    delete_insert  DELETE the target rows whose unique_key is in the model
                   result (and that match incremental_predicates), then INSERT
                   the model result (dbt's delete+insert);
    microbatch     DELETE the batch's event_time range (and incremental_predicates),
                   then INSERT the model rows inside the range (dbt-core runs the
                   materialization once per batch, with refs and sources already
                   filtered to the batch).
  One Postgres transaction (the DuckDB transaction, docs/architecture.md
  "Transactions"), started by adapter.pg_begin_write so concurrent writers
  of one target (microbatch's concurrent batches included) serialize:
    delete_insert: the model result is staged by binary COPY into an UNLOGGED
      `<t>__dbt_stage` (the transfer grows with the model result, not with the
      target); on_schema_change from the stage's columns; the DELETE of the
      stage's keys inside Postgres (the key index is used); INSERT from the stage;
    append / microbatch: for microbatch the DELETE of the batch's range inside
      Postgres (the event_time index is used); the target's columns and the
      rows just deleted in one query; on_schema_change from the model's columns
      as the type map makes them; the INSERT by binary COPY through the attached
      catalog;
    then grants (no ANALYZE: autovacuum's threshold covers appended batches).
  Any failure rolls all of it back: the target is unchanged and no stage is left.
--#}

{#-- duckdb_postgres__write_strategy(target, select_sql, options) -> dict
     dbt's append, delete+insert and microbatch as duckdb_postgres__write reports
     them: microbatch writes only the rows of dbt-core's batch
     (adapter.pg_microbatch_bounds, duckdb_postgres__clamp_to_batch); an existing
     target is inserted into (duckdb_postgres__write_insert), a missing one (or a
     full refresh) is built by full replacement, for microbatch with an index on
     event_time unless `indexes` are set. --#}
{% macro duckdb_postgres__write_strategy(target, select_sql, options) -%}
  {%- set mode = options['mode'] -%}
  {%- if mode == 'microbatch' -%}
    {%- set bounds = adapter.pg_microbatch_bounds(model.get('batch')) -%}
    {%- do options.update({'batch_start': bounds[0], 'batch_end': bounds[1]}) -%}
    {%- set select_sql = duckdb_postgres__clamp_to_batch(select_sql, options) -%}
  {%- endif -%}
  {%- if not should_full_refresh() and adapter.pg_relation_info(target)['kind'] is not none -%}
    {%- set result = duckdb_postgres__write_delete_insert(target, select_sql, options) if mode == 'delete_insert'
        else duckdb_postgres__write_insert(target, select_sql, options) -%}
    {{ return(adapter.pg_write_result(result,
              'INSERT ' ~ result['inserted'] ~ (', DELETE ' ~ result['deleted'] if mode != 'append' else ''))) }}
  {%- endif -%}
  {%- if mode == 'microbatch' and not options['indexes'] -%}
    {%- do options.update({'indexes': [adapter.pg_parse_index({'columns': [options['event_time']]})]}) -%}
  {%- endif -%}
  {{ return(duckdb_postgres__write_full_result(target, select_sql, options)) }}
{%- endmacro %}


{#-- duckdb_postgres__write_delete_insert(target, select_sql, options) -> dict
     target: an existing Postgres table; options of mode 'delete_insert'.
     The model result is staged by binary COPY; the target rows whose unique_key
     is in the stage (and that match incremental_predicates) are deleted inside
     Postgres, then the stage is inserted. Returns {'inserted': int, 'deleted': int}.
     The caller commits. Pre-hooks that ran inside the model's transaction are
     committed first: the lock must be the first statement of the write's
     Postgres transaction. --#}
{% macro duckdb_postgres__write_delete_insert(target, select_sql, options) -%}
  {%- set connection = target.database -%}
  {%- do adapter.pg_begin_write(target) -%}
  {%- set staged = adapter.pg_stage(target, 'stage', select_sql, true, options['column_types']) -%}
  {%- set stage = staged[0] -%}
  {%- set synced = duckdb_postgres__sync_schema(target, duckdb_postgres__pg_columns(stage), options['on_schema_change']) -%}
  {%- set columns = synced['columns'] -%}
  {%- set keys = duckdb_postgres__column_list(options['unique_key']) -%}
  {%- set condition = '(' ~ keys ~ ') in (select ' ~ keys ~ ' from ' ~ stage.pg_name() ~ ' as DBT_INTERNAL_SOURCE)'
      ~ duckdb_postgres__and_predicates(options['incremental_predicates']) -%}
  {%- set deleted = adapter.pg_query(connection, 'select count(*) from ' ~ target.pg_name() ~ ' as DBT_INTERNAL_DEST where ' ~ condition)[0][0] | int -%}
  {%- set column_list = duckdb_postgres__column_list(columns) -%}
  {%- set statements = [] -%}
  {%- if deleted > 0 -%}
    {%- do statements.append('delete from ' ~ target.pg_name() ~ ' as DBT_INTERNAL_DEST where ' ~ condition) -%}
  {%- endif -%}
  {%- do statements.append('insert into ' ~ target.pg_name() ~ ' (' ~ column_list ~ ') select ' ~ column_list ~ ' from ' ~ stage.pg_name()) -%}
  {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) if options['grants'] else '' -%}
  {%- if grant_sql -%}{%- do statements.append(grant_sql) -%}{%- endif -%}
  {%- do statements.append('drop table ' ~ stage.pg_name()) -%}
  {%- do adapter.pg_execute(connection, statements | join(";\n")) -%}
  {#-- the dropped stage's name is never bound again (adapter.pg_work_table): only ALTERs
       of the target leave DuckDB's catalog cache stale --#}
  {%- if synced['altered'] -%}{{ duckdb_postgres__clear_cache() }}{%- endif -%}
  {{ return({'inserted': staged[1], 'deleted': deleted}) }}
{%- endmacro %}


{#-- duckdb_postgres__write_insert(target, select_sql, options) -> dict
     target: an existing Postgres table. options: of mode 'append' or
     'microbatch' (with batch_start / batch_end set; select_sql already clamped
     to the batch, duckdb_postgres__clamp_to_batch). The model result goes
     straight into the target by binary COPY, for microbatch after the DELETE of
     the batch's range. Returns {'inserted': int, 'deleted': int}. The caller
     commits. Pre-hooks that ran inside the model's transaction are committed
     first: the lock must be the first statement of the write's Postgres transaction. --#}
{% macro duckdb_postgres__write_insert(target, select_sql, options) -%}
  {%- set connection = target.database -%}
  {%- set source = '(' ~ select_sql ~ ') _dbt_model' -%}
  {%- do adapter.pg_begin_write(target) -%}
  {%- set microbatch = options['mode'] == 'microbatch' -%}
  {%- if microbatch -%}
    {#-- the batch's range (and incremental_predicates), deleted inside Postgres; the
         count comes from the transaction's statistics, so the range is read once --#}
    {%- set condition = adapter.pg_window_condition(options, options['batch_start'], options['batch_end'])
        ~ (duckdb_postgres__and_predicates(options['incremental_predicates']) if options['incremental_predicates'] else '') -%}
    {%- do adapter.pg_execute(connection, 'delete from ' ~ target.pg_name() ~ ' as DBT_INTERNAL_DEST where ' ~ condition) -%}
  {%- endif -%}
  {#-- one query: the target's columns and, for microbatch, the rows just deleted --#}
  {%- set state = duckdb_postgres__window_columns(target, source, options,
                                                  adapter.pg_rows_changed_sql(target, 'n_tup_del') if microbatch else none) -%}
  {%- set deleted = state['rows'] or 0 -%}
  {%- set inserted = duckdb_postgres__window_insert(target, source, state, 'true', options['column_types']) -%}
  {#-- no ANALYZE per batch: dbt-core runs this once per batch (a 100-batch backfill
       would analyze 100 times, 0.6 s each on 10M rows); autovacuum's analyze
       threshold keeps the statistics, as for stock dbt-duckdb and dbt-postgres --#}
  {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) if options['grants'] else '' -%}
  {%- if grant_sql -%}{%- do adapter.pg_execute(connection, grant_sql) -%}{%- endif -%}
  {{ return({'inserted': inserted, 'deleted': deleted}) }}
{%- endmacro %}


{#-- duckdb_postgres__and_predicates(predicates: list of str) -> str
     ' and (p1) and (p2)': dbt's incremental_predicates, each parenthesized (a
     predicate with OR stays one condition), or '' when there are none. --#}
{% macro duckdb_postgres__and_predicates(predicates) -%}
  {%- set parts = [] -%}
  {%- for predicate in (predicates or []) -%}{%- do parts.append(' and (' ~ predicate ~ ')') -%}{%- endfor -%}
  {{ return(parts | join('')) }}
{%- endmacro %}
