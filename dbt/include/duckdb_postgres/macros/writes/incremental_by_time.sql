{#--
  Time-window replacement in an existing Postgres table: the one implementation
  behind `pg_incremental_by_time` and `pg_materialize(mode='incremental_by_time')`.

  The model runs once: its rows inside the window (and any with a NULL
  event_time, which are refused) go into a DuckDB TEMP table; rows outside the
  window are never written, so no run can create duplicates. Then each batch
  [start, end) is its own transaction on the target connection:
    DELETE the batch's range (executed inside Postgres, so an index on
    event_time is used; docs/architecture.md "Costs": 1.18 s vs 1.55 s for the attach's
    ctid-list DELETE), then INSERT the batch's rows by binary COPY; COMMIT.
  A failed batch rolls back alone; earlier batches stay, and the next run
  resumes from the target's new max(event_time).
--#}

{#-- duckdb_postgres__write_incremental_by_time(target, select_sql, options, window) -> dict
     window: from duckdb_postgres__time_window (not a full build).
     Returns {'inserted': int, 'deleted': int, 'batches': int}. Commits each batch.
     Each batch transaction starts with duckdb_postgres__lock_target, so two runs
     writing one target serialize. on_schema_change is applied inside the first
     batch's transaction: a failed first batch leaves the columns as they were. --#}
{% macro duckdb_postgres__write_incremental_by_time(target, select_sql, options, window) -%}
  {%- set connection = target.database -%}
  {%- set event_time = adapter.pg_quote(options['event_time']) -%}
  {%- set temp_name = adapter.pg_quote('__dbt_pg_window_' ~ target.identifier) -%}

  {#-- the model, once: the window's rows into a DuckDB temp table --#}
  {%- call statement('pg_window_stage', auto_begin=True) -%}
    create or replace temp table {{ temp_name }} as
    {{ duckdb_postgres__clamp_to_window(select_sql, options, window['start'], window['end']) }}
  {%- endcall -%}
  {%- set nulls = run_query('select count(*) from ' ~ temp_name ~ ' where ' ~ event_time ~ ' is null')[0][0] | int -%}
  {%- if nulls > 0 -%}
    {%- do exceptions.raise_database_error(duckdb_postgres__null_event_time_message(options, nulls)) -%}
  {%- endif -%}
  {%- do adapter.pg_commit() -%}

  {%- set state = {'columns': none, 'altered': false, 'inserted': 0, 'deleted': 0} -%}
  {%- for batch in window['batches'] -%}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- set condition = duckdb_postgres__window_condition(options, batch[0], batch[1]) -%}
    {#-- BEGIN batch --#}
    {%- do adapter.pg_begin() -%}
    {{ duckdb_postgres__lock_target(target) }}
    {%- if loop.first -%}
      {#-- the model's columns as Postgres types (DuckDB's own type mapping, through an
           empty probe table), then on_schema_change --#}
      {%- set probe = target.incorporate(path={'identifier': target.identifier ~ '__dbt_columns'}, type='table') -%}
      {%- call statement('pg_window_columns') -%}
        drop table if exists {{ probe }};
        create table {{ probe }} as select * from {{ temp_name }} limit 0
      {%- endcall -%}
      {%- set new_columns = duckdb_postgres__pg_columns(probe) -%}
      {%- call statement('pg_window_columns_drop') -%}
        drop table {{ probe }}
      {%- endcall -%}
      {%- set old_columns = duckdb_postgres__pg_columns(target) -%}
      {%- set columns = duckdb_postgres__sync_schema(target, new_columns, options['on_schema_change']) -%}
      {#-- altered: DuckDB's catalog entry of the target is stale (and another thread may
           reload it under an older snapshot), so the INSERTs bind inside Postgres --#}
      {%- do state.update({'columns': columns, 'altered': duckdb_postgres__pg_columns(target) != old_columns}) -%}
    {%- endif -%}
    {%- set column_list = duckdb_postgres__column_list(state['columns']) -%}
    {%- set deleted = pg_fetch(connection, 'select count(*) from ' ~ target.pg_name() ~ ' where ' ~ condition)[0][0] | int -%}
    {{ pg_execute(connection, 'delete from ' ~ target.pg_name() ~ ' where ' ~ condition) }}
    {%- if state['altered'] -%}
      {%- set staged = duckdb_postgres__stage(target, 'batch', 'select ' ~ column_list ~ ' from ' ~ temp_name ~ ' where ' ~ condition) -%}
      {%- set inserted = staged[1] -%}
      {{ pg_execute(connection, 'insert into ' ~ target.pg_name() ~ ' (' ~ column_list ~ ') select ' ~ column_list
                                ~ ' from ' ~ staged[0].pg_name() ~ ';\ndrop table ' ~ staged[0].pg_name()) }}
    {%- else -%}
      {%- call statement('pg_window_insert', fetch_result=True) -%}
        insert into {{ target }} ({{ column_list }})
        select {{ column_list }} from {{ temp_name }} where {{ condition }}
      {%- endcall -%}
      {%- set inserted = load_result('pg_window_insert').table[0][0] | int -%}
    {%- endif -%}
    {%- if loop.last -%}
      {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) -%}
      {{ pg_execute(connection, 'analyze ' ~ target.pg_name() ~ (';\n' ~ grant_sql if grant_sql else '')) }}
    {%- endif -%}
    {#-- COMMIT batch --#}
    {%- do adapter.pg_commit() -%}
    {%- do state.update({'inserted': state['inserted'] + inserted, 'deleted': state['deleted'] + deleted}) -%}
    {{ log("pg_incremental_by_time " ~ target ~ " batch " ~ loop.index ~ "/" ~ loop.length ~ " ["
           ~ batch[0] ~ ", " ~ batch[1] ~ "): deleted " ~ deleted ~ ", inserted " ~ inserted ~ " in "
           ~ "%.2f" | format((modules.datetime.datetime.now() - started).total_seconds()) ~ "s", info=true) }}
  {%- endfor -%}
  {%- call statement('pg_window_drop', auto_begin=False) -%}
    drop table if exists {{ temp_name }}
  {%- endcall -%}
  {{ return({'inserted': state['inserted'], 'deleted': state['deleted'], 'batches': window['batches'] | length}) }}
{%- endmacro %}


{#-- duckdb_postgres__window_condition(options, start, end) -> str
     `"et" >= <start> and "et" < <end>` with literals typed like the event_time
     column (timestamptz literals carry +00: the window is UTC). A none start
     has no lower bound. --#}
{% macro duckdb_postgres__window_condition(options, start, end) -%}
  {%- set column = adapter.pg_quote(options['event_time']) -%}
  {%- set parts = [] -%}
  {%- if start is not none -%}
    {%- do parts.append(column ~ ' >= ' ~ duckdb_postgres__time_literal(start, options['event_time_type'])) -%}
  {%- endif -%}
  {%- do parts.append(column ~ ' < ' ~ duckdb_postgres__time_literal(end, options['event_time_type'])) -%}
  {{ return(parts | join(' and ')) }}
{%- endmacro %}


{#-- duckdb_postgres__time_literal(value: str UTC 'YYYY-MM-DD HH:MM:SS[.ffffff]', dtype) -> str
     A literal valid in DuckDB and PostgreSQL: timestamptz '... +00' for
     time-zone-aware columns, else timestamp '...'. --#}
{% macro duckdb_postgres__time_literal(value, dtype) -%}
  {%- if dtype and ('TIME ZONE' in dtype | upper or 'TIMESTAMPTZ' in dtype | upper) -%}
    {{ return("timestamptz '" ~ value ~ "+00'") }}
  {%- endif -%}
  {{ return("timestamp '" ~ value ~ "'") }}
{%- endmacro %}


{#-- duckdb_postgres__time_window(target, options) -> dict
     The window of this run for `target` (computed once per invocation in Python,
     adapter.pg_time_window): reads max(event_time) inside Postgres unless this
     is a first build (target missing or empty) or a full refresh. --#}
{% macro duckdb_postgres__time_window(target, options) -%}
  {%- set cached = adapter.pg_cached_time_window(target) -%}
  {%- if cached is not none -%}{{ return(cached) }}{%- endif -%}
  {%- set full_refresh = should_full_refresh() -%}
  {%- set target_max = none -%}
  {%- if not full_refresh and duckdb_postgres__relation_info(target)['kind'] is not none -%}
    {#-- seconds since the epoch, UTC for timestamptz and nominal for date/timestamp:
         independent of the server's DateStyle and TimeZone --#}
    {%- set sql = 'select extract(epoch from max(' ~ adapter.pg_quote(options['event_time']) ~ '))::text from ' ~ target.pg_name() -%}
    {%- set epoch = pg_fetch(target.database, sql)[0][0] -%}
    {%- if epoch is not none -%}
      {%- set target_max = modules.datetime.datetime.utcfromtimestamp(epoch | float).isoformat() -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(adapter.pg_time_window(target, options['batch_size'], options['lookback'], options['begin'], target_max, full_refresh)) }}
{%- endmacro %}
