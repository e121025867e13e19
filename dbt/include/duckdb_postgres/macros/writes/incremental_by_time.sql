{#--
  Time-window replacement in an existing Postgres table: the one implementation
  behind `pg_incremental_by_time` and `pg_materialize(mode='incremental_by_time')`.

  The model runs once: its rows inside the window (and any with a NULL
  event_time, which are refused) go into a DuckDB TEMP table; rows outside the
  window are never written, so no run can create duplicates. Two grouped
  queries find the batches holding rows: one on the TEMP table (DuckDB), one on
  the target's window (inside Postgres), the latter only when some batch of the
  window has no model rows. The window's batches then become steps
  (adapter.pg_batch_plan), each its own transaction on the target connection:
    write: a batch with model rows; DELETE the batch's range (executed inside
      Postgres, so an index on event_time is used; docs/architecture.md "Costs":
      1.18 s vs 1.55 s for the attach's ctid-list DELETE; the deleted rows are
      counted from the transaction's statistics), then INSERT the batch's
      rows by binary COPY; COMMIT;
    delete: a run of consecutive batches without model rows where the target has
      rows; one DELETE of the run's range; COMMIT;
    skip: a run of batches without rows in the model or the target: no transaction.
  So write transactions grow with the batches that hold rows, not with the
  window (a target whose newest row is years old catches up in a few).
  A partitioned target (partition_by) replaces the partitions of a step aligned
  to them by partition swap instead of DELETE + INSERT (writes/partitions.sql).
  The last write step ANALYZEs an unpartitioned target only when the run's
  inserted + deleted rows make its statistics stale by autovacuum's rule
  (adapter.pg_analyze_when_stale_sql): re-processing a day of 100 skips the
  ANALYZE, whose sampling costs the same however few rows changed.
  A failed step rolls back alone; earlier steps stay, and the next run resumes
  from the target's new max(event_time).
--#}

{#-- duckdb_postgres__write_by_time(target, select_sql, options) -> dict
     The incremental_by_time mode as duckdb_postgres__write reports it: the run's
     window (duckdb_postgres__time_window); a first build or full refresh writes
     the window's rows by full replacement (with an index on event_time unless
     `indexes` are set), otherwise the window's batches are replaced. --#}
{% macro duckdb_postgres__write_by_time(target, select_sql, options) -%}
  {%- set window = duckdb_postgres__time_window(target, options) -%}
  {%- if window['full_build'] -%}
    {%- if not options['indexes'] -%}
      {%- do options.update({'indexes': [adapter.pg_parse_index({'columns': [options['event_time']]})]}) -%}
    {%- endif -%}
    {%- set clamped = duckdb_postgres__clamp_to_window(select_sql, options, window['start'], window['end']) -%}
    {{ return(duckdb_postgres__write_full_result(target, clamped, options,
              ' (full build [' ~ window['start'] ~ ', ' ~ window['end'] ~ '))')) }}
  {%- endif -%}
  {%- set result = duckdb_postgres__write_incremental_by_time(target, select_sql, options, window) -%}
  {{ return(adapter.pg_write_result(result,
            'INSERT ' ~ result['inserted'] ~ ', DELETE ' ~ result['deleted'] ~ ' in ' ~ result['batches'] ~ ' batch(es) ('
            ~ result['transactions'] ~ ' transaction(s), ' ~ result['skipped'] ~ ' skipped)')) }}
{%- endmacro %}


{#-- duckdb_postgres__write_incremental_by_time(target, select_sql, options, window) -> dict
     window: from duckdb_postgres__time_window (not a full build).
     Returns {'inserted': int, 'deleted': int, 'batches': int (in the window),
     'transactions': int (write and delete steps), 'skipped': int (batches skipped)}.
     Commits each step. Each step's transaction starts with
     adapter.pg_lock_target, so two runs writing one target serialize.
     on_schema_change is applied inside the first step's transaction (a
     transaction of its own when no step writes): a failed first step leaves the
     columns as they were. One log line per step. --#}
{% macro duckdb_postgres__write_incremental_by_time(target, select_sql, options, window) -%}
  {%- set connection = target.database -%}
  {%- set event_time = adapter.pg_quote(options['event_time']) -%}
  {%- set temp_name = adapter.pg_quote('__dbt_pg_window_' ~ target.identifier) -%}
  {%- set label = 'pg_incremental_by_time ' ~ target -%}

  {#-- the model, once: the window's rows into a DuckDB temp table --#}
  {%- call statement('pg_window_stage', auto_begin=True) -%}
    create or replace temp table {{ temp_name }} as
    {{ duckdb_postgres__clamp_to_window(select_sql, options, window['start'], window['end']) }}
  {%- endcall -%}
  {%- set nulls = run_query('select count(*) from ' ~ temp_name ~ ' where ' ~ event_time ~ ' is null')[0][0] | int -%}
  {%- if nulls > 0 -%}
    {%- do exceptions.raise_database_error(adapter.pg_null_event_time_message(options, nulls)) -%}
  {%- endif -%}

  {#-- the batches holding rows: the model's (DuckDB) and the target's window (Postgres) --#}
  {%- set batch_start = duckdb_postgres__batch_start_sql(options) -%}
  {%- set model_sql -%}
    select {{ batch_start }} from {{ temp_name }} group by 1
  {%- endset -%}
  {%- set model_batches = [] -%}
  {%- for row in run_query(model_sql) -%}{%- do model_batches.append(row[0]) -%}{%- endfor -%}
  {%- do adapter.pg_commit() -%}
  {#-- the target's batches matter only for window batches without model rows (a
       delete or skip step); when the model has rows in every batch, every step
       writes and the query is not sent --#}
  {%- set steps = adapter.pg_batch_plan(window, options['batch_size'], model_batches, []) -%}
  {%- if steps | selectattr('kind', 'equalto', 'skip') | list -%}
    {%- set target_sql -%}
      select {{ batch_start }} from {{ target.pg_name() }}
      where {{ adapter.pg_window_condition(options, window['start'], window['end']) }}
      group by 1
    {%- endset -%}
    {%- set target_batches = [] -%}
    {%- for row in adapter.pg_query(connection, target_sql) -%}{%- do target_batches.append(row[0]) -%}{%- endfor -%}
    {%- set steps = adapter.pg_batch_plan(window, options['batch_size'], model_batches, target_batches) -%}
  {%- endif -%}
  {#-- a partitioned target: its partitions, and the periods of the model's rows --#}
  {%- set part = options['partition_by'] -%}
  {%- set partitions = {'children': [], 'periods': []} -%}
  {%- if part -%}
    {%- set name_problem = adapter.pg_partition_name_problem(target) -%}
    {%- if name_problem -%}{%- do exceptions.raise_compiler_error(name_problem ~ ". Nothing was written.") -%}{%- endif -%}
    {%- set info = duckdb_postgres__partition_info(target) -%}
    {%- do duckdb_postgres__check_partitioned(target, options, info) -%}
    {%- do partitions.update({'children': info['children'], 'periods': duckdb_postgres__model_periods(temp_name, options)[0]}) -%}
  {%- endif -%}
  {%- set writes = steps | rejectattr('kind', 'equalto', 'skip') | list -%}
  {%- set total = window['batches'] | length -%}

  {%- set state = {'columns': none, 'altered': false, 'inserted': 0, 'deleted': 0, 'skipped': 0} -%}
  {%- if writes | length == 0 -%}
    {#-- BEGIN: nothing to write; on_schema_change and grants still apply --#}
    {%- do adapter.pg_begin() -%}
    {%- do adapter.pg_lock_target(target) -%}
    {%- do state.update(duckdb_postgres__window_columns(target, temp_name, options)) -%}
    {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) if options['grants'] else '' -%}
    {%- if grant_sql -%}{%- do adapter.pg_execute(connection, grant_sql) -%}{%- endif -%}
    {#-- COMMIT --#}
    {%- do adapter.pg_commit() -%}
  {%- endif -%}

  {%- for step in steps -%}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- set batches = ('batch ' ~ step['first'] if step['first'] == step['last'] else 'batches ' ~ step['first'] ~ '-' ~ step['last'])
        ~ '/' ~ total ~ ' [' ~ step['start'] ~ ', ' ~ step['end'] ~ ')' -%}
    {%- if step['kind'] == 'skip' -%}
      {%- do state.update({'skipped': state['skipped'] + step['last'] - step['first'] + 1}) -%}
      {{ log(label ~ ' ' ~ batches ~ ': skipped, no rows in the model result or the target', info=true) }}
    {%- else -%}
      {%- set condition = adapter.pg_window_condition(options, step['start'], step['end']) -%}
      {#-- BEGIN step --#}
      {%- do adapter.pg_begin() -%}
      {%- do adapter.pg_lock_target(target) -%}
      {%- if part -%}
        {#-- a partitioned target: the step's rows are counted before a swap or DELETE --#}
        {%- set count_sql = duckdb_postgres__count_sql(target, condition) -%}
      {%- else -%}
        {#-- DELETE first (inside Postgres, by the event_time index); its rows are
             counted from the transaction's statistics, so the range is read once --#}
        {%- do adapter.pg_execute(connection, 'delete from ' ~ target.pg_name() ~ ' where ' ~ condition) -%}
        {%- set count_sql = adapter.pg_rows_changed_sql(target, 'n_tup_del') -%}
      {%- endif -%}
      {%- if state['columns'] is none -%}
        {#-- the first step: one query reads the target's columns and the count --#}
        {%- do state.update(duckdb_postgres__window_columns(target, temp_name, options, count_sql)) -%}
        {%- set deleted = state['rows'] -%}
      {%- else -%}
        {%- set deleted = adapter.pg_query(connection, 'select ' ~ count_sql)[0][0] | int -%}
      {%- endif -%}
      {%- set swap = adapter.pg_partition_step(target, part, step, partitions['periods'], partitions['children']) if part else none -%}
      {%- set inserted = 0 -%}
      {%- if swap and swap['aligned'] -%}
        {#-- partition swap: no DELETE (writes/partitions.sql) --#}
        {%- set inserted = duckdb_postgres__partition_swap(target, temp_name, state, swap['partitions'], options)['inserted'] -%}
      {%- else -%}
        {%- if swap -%}
          {#-- DELETE + INSERT on the partitioned target: its missing partitions first --#}
          {%- set missing = swap['partitions'] | rejectattr('exists') | list -%}
          {%- if missing -%}
            {%- do adapter.pg_execute(connection, duckdb_postgres__create_partitions_sql(target, missing, false, options['unlogged'])) -%}
          {%- endif -%}
        {%- endif -%}
        {%- if part and deleted > 0 -%}
          {%- do adapter.pg_execute(connection, 'delete from ' ~ target.pg_name() ~ ' where ' ~ condition) -%}
        {%- endif -%}
        {%- if step['kind'] == 'write' -%}
          {%- set inserted = duckdb_postgres__window_insert(target, temp_name, state, condition, options['column_types']) -%}
        {%- endif -%}
      {%- endif -%}
      {%- set finish = [] -%}
      {%- if swap -%}
        {#-- ANALYZE of a partitioned parent samples every partition: only the written ones
             (a swapped partition was analyzed before its ATTACH) --#}
        {%- for p in swap['partitions'] if not swap['aligned'] -%}
          {%- do finish.append('analyze ' ~ target.incorporate(path={'identifier': p['name']}).pg_name()) -%}
        {%- endfor -%}
        {%- for p in swap['partitions'] -%}
          {%- if p['rows'] and p['name'] not in partitions['children'] -%}{%- do partitions['children'].append(p['name']) -%}{%- endif -%}
          {%- if swap['aligned'] and not p['rows'] and p['name'] in partitions['children'] -%}{%- do partitions['children'].remove(p['name']) -%}{%- endif -%}
        {%- endfor -%}
      {%- elif step is sameas writes[-1] -%}
        {#-- ANALYZE when the run's changes make the statistics stale by autovacuum's rule --#}
        {%- do finish.append(adapter.pg_analyze_when_stale_sql(target, state['inserted'] + state['deleted'] + inserted + deleted)) -%}
      {%- endif -%}
      {%- if step is sameas writes[-1] -%}
        {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) if options['grants'] else '' -%}
        {%- if grant_sql -%}{%- do finish.append(grant_sql) -%}{%- endif -%}
      {%- endif -%}
      {%- if finish -%}{%- do adapter.pg_execute(connection, finish | join(';\n')) -%}{%- endif -%}
      {#-- COMMIT step --#}
      {%- do adapter.pg_commit() -%}
      {%- do state.update({'inserted': state['inserted'] + inserted, 'deleted': state['deleted'] + deleted}) -%}
      {{ log(label ~ ' ' ~ batches ~ ': deleted ' ~ deleted ~ ', inserted ' ~ inserted
             ~ (' (no model rows)' if step['kind'] == 'delete' else '') ~ ' in '
             ~ '%.2f' | format((modules.datetime.datetime.now() - started).total_seconds()) ~ 's', info=true) }}
    {%- endif -%}
  {%- endfor -%}
  {%- call statement('pg_window_drop', auto_begin=False) -%}
    drop table if exists {{ temp_name }}
  {%- endcall -%}
  {{ return({'inserted': state['inserted'], 'deleted': state['deleted'], 'batches': total,
             'transactions': writes | length, 'skipped': state['skipped']}) }}
{%- endmacro %}


{#-- duckdb_postgres__window_columns(target, temp_name, options, count_sql=none) -> dict
     Inside the caller's transaction: the model's columns as Postgres types
     (the adapter's type map, duckdb_postgres__probe_columns), then
     on_schema_change on the target. One query reads the target's columns and,
     with `count_sql`, a count (duckdb_postgres__target_columns).
     Returns {'columns': names to write, 'altered': whether the target's columns
     changed, 'rows': the count, or none}. altered: DuckDB's catalog entry of
     the target is stale (and another thread may reload it under an older
     snapshot), so later INSERTs bind inside Postgres. --#}
{% macro duckdb_postgres__window_columns(target, temp_name, options, count_sql=none) -%}
  {%- set current = duckdb_postgres__target_columns(target, count_sql) -%}
  {%- set new_columns = duckdb_postgres__probe_columns(target, 'select * from ' ~ temp_name, options['column_types'], current['columns']) -%}
  {%- if new_columns == current['columns'] -%}
    {#-- the common case: nothing for on_schema_change to do --#}
    {{ return({'columns': new_columns | map(attribute=0) | list, 'altered': false, 'rows': current['rows']}) }}
  {%- endif -%}
  {%- set synced = duckdb_postgres__sync_schema(target, new_columns, options['on_schema_change'], old_columns=current['columns']) -%}
  {{ return({'columns': synced['columns'], 'altered': synced['altered'], 'rows': current['rows']}) }}
{%- endmacro %}


{#-- duckdb_postgres__window_insert(target, temp_name, state, condition, column_types) -> int
     INSERT the TEMP table's rows matching `condition` into the target, in the
     caller's transaction: by binary COPY through the attached catalog, each
     column through its load expression (adapter.pg_table_plan), or through a
     Postgres stage when the target's columns were altered in this run or a
     column is loaded through numeric(38,0) (DuckDB sees an unconstrained
     numeric column as DOUBLE, which would round it). Returns the rows inserted. --#}
{% macro duckdb_postgres__window_insert(target, temp_name, state, condition, column_types) -%}
  {%- set column_list = duckdb_postgres__column_list(state['columns']) -%}
  {%- set batch_sql = 'select ' ~ column_list ~ ' from ' ~ temp_name ~ ' where ' ~ condition -%}
  {%- set plan = adapter.pg_table_plan(target, batch_sql, column_types) -%}
  {%- if state['altered'] or plan['finalize'] -%}
    {%- set staged = adapter.pg_stage(target, 'batch', batch_sql, true, column_types) -%}
    {%- do adapter.pg_execute(target.database, 'insert into ' ~ target.pg_name() ~ ' (' ~ column_list ~ ') select ' ~ column_list
                                   ~ ' from ' ~ staged[0].pg_name() ~ ';\ndrop table ' ~ staged[0].pg_name()) -%}
    {{ duckdb_postgres__clear_cache() }}
    {{ return(staged[1]) }}
  {%- endif -%}
  {%- call statement('pg_window_insert', fetch_result=True) -%}
    insert into {{ target }} ({{ column_list }})
    {{ plan['load'] }}
  {%- endcall -%}
  {{ return(load_result('pg_window_insert').table[0][0] | int) }}
{%- endmacro %}


{#-- duckdb_postgres__batch_start_sql(options) -> str
     `date_trunc('<batch_size>', <event_time as a UTC timestamp>)::text`: the start
     of the batch holding a row, as 'YYYY-MM-DD HH:MM:SS', the same in DuckDB and
     in PostgreSQL (a timestamptz is converted AT TIME ZONE 'UTC' first, so
     neither session's TimeZone matters; a date is cast to timestamp). --#}
{% macro duckdb_postgres__batch_start_sql(options) -%}
  {%- set column = adapter.pg_quote(options['event_time']) -%}
  {%- set dtype = (options['event_time_type'] or '') | upper -%}
  {%- if 'TIME ZONE' in dtype or 'TIMESTAMPTZ' in dtype -%}
    {%- set moment = '(' ~ column ~ " at time zone 'UTC')" -%}
  {%- else -%}
    {%- set moment = 'cast(' ~ column ~ ' as timestamp)' -%}
  {%- endif -%}
  {{ return("cast(date_trunc(" ~ adapter.pg_literal(options['batch_size']) ~ ", " ~ moment ~ ") as text)") }}
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
  {%- if not full_refresh and adapter.pg_relation_info(target)['kind'] is not none -%}
    {#-- seconds since the epoch, UTC for timestamptz and nominal for date/timestamp:
         independent of the server's DateStyle and TimeZone --#}
    {%- set sql = 'select extract(epoch from max(' ~ adapter.pg_quote(options['event_time']) ~ '))::text from ' ~ target.pg_name() -%}
    {%- set epoch = adapter.pg_query(target.database, sql)[0][0] -%}
    {%- if epoch is not none -%}
      {%- set target_max = modules.datetime.datetime.utcfromtimestamp(epoch | float).isoformat() -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(adapter.pg_time_window(target, options['batch_size'], options['lookback'], options['begin'], target_max, full_refresh)) }}
{%- endmacro %}
