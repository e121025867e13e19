{#--
  Multi-target writes: one model, computed once, written to several Postgres
  targets, each with its own write mode, by the same write macros as the
  materializations (duckdb_postgres__write). docs/architecture.md "Multi-target post-hooks".

  Transactions: one DuckDB transaction may write only one attached database
  (docs/architecture.md), so before the first target the model's own transaction is
  committed, each target is written in its own transaction(s), and a
  transaction is reopened for the materialization to commit, as it expects.
  Every target of the model (post-hooks and pg_targets) is validated before the
  first one is written.
--#}

{#-- pg_materialize(connection, schema=none, table=none, mode='full', **configs) -> ''
     For post_hook: "{{ pg_materialize(connection='replica', table='public.stats', mode='upsert_by_key', unique_key='id') }}".
     connection: a writable postgres connection of the profile.
     schema, table: the target; `table` may be 'schema.name'. The table defaults
       to the model's identifier. The schema is generate_schema_name(custom, node)
       as for a model's `schema` config (duckdb_postgres__target_schema), where the
       custom schema is `schema`, else the schema part of `table`, else the
       connection's profile `schema`, else none (the target schema).
     mode: 'full' | 'incremental_by_time' | 'upsert_by_key'; configs: that
       mode's configs (event_time, batch_size, lookback, begin, unique_key,
       on_conflict, merge_update_columns, merge_exclude_columns, indexes, grants,
       unlogged, on_schema_change).
     Reads the model's relation (`this`), so the model's SQL runs once. A failed
     target fails the model naming the target; targets written before it keep
     their data; later ones are not attempted. --#}
{% macro pg_materialize(connection, schema=none, table=none, mode='full') -%}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- set spec = {'connection': connection, 'schema': schema, 'table': table, 'mode': mode, 'configs': kwargs} -%}
  {%- if adapter.pg_validating() -%}
    {%- do duckdb_postgres__target_plan(spec) -%}
  {%- else -%}
    {%- do duckdb_postgres__write_targets([spec]) -%}
  {%- endif -%}
  {{ return('') }}
{%- endmacro %}


{#-- duckdb_postgres__write_pg_targets() -> None
     Write the current model's `pg_targets` config (the shorthand for
     pg_materialize post-hooks, in list order), once the model is built and all
     its post-hooks ran. Called by the materializations
     themselves (duckdb_postgres__materialize for pg_*, the wrappers in
     pg_targets.sql for dbt-duckdb's table, view and incremental), never by
     run_hooks, so a project's own run_hooks macro cannot drop these writes.
     Records that they were written: a model with pg_targets whose
     materialization did not write them fails (the adapter's post_model_hook). --#}
{% macro duckdb_postgres__write_pg_targets() -%}
  {%- if execute and config.get('pg_targets') -%}
    {%- do duckdb_postgres__write_targets(duckdb_postgres__pg_targets_specs()) -%}
    {%- do adapter.pg_targets_written(true) -%}
  {%- endif -%}
{%- endmacro %}


{#-- duckdb_postgres__pg_targets_specs() -> list of specs from the `pg_targets` config. --#}
{% macro duckdb_postgres__pg_targets_specs() -%}
  {%- set specs = [] -%}
  {%- set raw = config.get('pg_targets') or [] -%}
  {%- if raw is mapping or raw is string -%}
    {%- do exceptions.raise_compiler_error("pg_targets=" ~ raw ~ ": expected a list of {connection: ..., table: ..., mode: ..., <configs>}") -%}
  {%- endif -%}
  {%- for entry in raw -%}
    {%- if entry is not mapping -%}
      {%- do exceptions.raise_compiler_error("pg_targets entry " ~ entry ~ ": expected a mapping like {connection: replica, mode: full}") -%}
    {%- endif -%}
    {%- set configs = {} -%}
    {%- for key, value in entry.items() if key not in ['connection', 'schema', 'table', 'mode'] -%}
      {%- do configs.update({key: value}) -%}
    {%- endfor -%}
    {%- do specs.append({'connection': entry.get('connection'), 'schema': entry.get('schema'), 'table': entry.get('table'),
                         'mode': entry.get('mode', 'full'), 'configs': configs}) -%}
  {%- endfor -%}
  {{ return(specs) }}
{%- endmacro %}


{#-- duckdb_postgres__target_plan(spec) -> dict
     Resolve and validate one target: {'target': relation, 'mode', 'configs',
     'columns', 'label'}. Raises a compilation error naming the target for an
     unknown connection, a read_only connection, an unknown mode or config key,
     or any invalid config of the mode. --#}
{% macro duckdb_postgres__target_plan(spec) -%}
  {%- set connection = spec['connection'] -%}
  {%- set table = spec['table'] or this.identifier -%}
  {%- set custom_schema = spec['schema'] -%}
  {%- if '.' in table -%}
    {%- set parts = table.split('.', 1) -%}
    {%- set custom_schema = parts[0] -%}
    {%- set table = parts[1] -%}
  {%- endif -%}
  {%- if not custom_schema and connection in adapter.pg_connection_names() -%}
    {%- set custom_schema = adapter.pg_connection(connection)['schema'] -%}
  {%- endif -%}
  {%- set schema = duckdb_postgres__target_schema(custom_schema) -%}
  {%- set label = 'pg_materialize target ' ~ connection ~ '.' ~ schema ~ '.' ~ table ~ ' (mode=' ~ spec['mode'] ~ ')' -%}
  {%- set relation = api.Relation.create(database=connection, schema=schema, identifier=table, type='table') -%}
  {%- do adapter.pg_check_target(relation, label) -%}
  {%- set modes = ['full', 'incremental_by_time', 'upsert_by_key'] -%}
  {%- if spec['mode'] not in modes -%}
    {%- do exceptions.raise_compiler_error(label ~ ": mode=" ~ spec['mode'] ~ " is not a write mode; use one of " ~ modes | join(', ')) -%}
  {%- endif -%}
  {%- set columns = [] -%}
  {%- for column in adapter.get_columns_in_relation(this) -%}
    {%- do columns.append([column.name, column.dtype]) -%}
  {%- endfor -%}
  {#-- unknown config keys and every invalid config of the mode, in one error --#}
  {%- do adapter.pg_write_options(spec['mode'], spec['configs'], label, columns) -%}
  {{ return({'target': relation, 'mode': spec['mode'], 'configs': spec['configs'], 'columns': columns, 'label': label}) }}
{%- endmacro %}


{#-- duckdb_postgres__target_schema(custom_schema: str or none) -> str
     The schema of a pg_materialize / pg_targets target, named as dbt names a
     model's schema: the project's generate_schema_name(custom_schema, node), so
     a project (or package) override wins over dbt's, which dispatches
     (dbt-adapters get_custom_name/get_custom_schema.sql). With dbt's default,
     none gives the target schema and 'marts' gives '<target schema>_marts': a CI
     job whose target schema is a PR schema never writes production schemas.
     An empty string counts as none. --#}
{% macro duckdb_postgres__target_schema(custom_schema) -%}
  {{ return(generate_schema_name(custom_schema or none, model) | trim) }}
{%- endmacro %}


{#-- duckdb_postgres__validate_all_targets() -> None
     Check every target of the current model before any is written: the
     pg_materialize calls in its post-hooks (rendered with adapter.pg_validating
     on, so they only validate) and its pg_targets. --#}
{% macro duckdb_postgres__validate_all_targets() -%}
  {%- do adapter.pg_validating(true) -%}
  {%- for hook in post_hooks if 'pg_materialize' in hook.get('sql', '') -%}
    {%- do render(hook.get('sql')) -%}
  {%- endfor -%}
  {%- if config.get('pg_targets') -%}
    {%- for spec in duckdb_postgres__pg_targets_specs() -%}
      {%- do duckdb_postgres__target_plan(spec) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- do adapter.pg_validating(false) -%}
{%- endmacro %}


{#-- duckdb_postgres__write_targets(specs) -> None
     Write `select * from this` to each target in order, one log line each. --#}
{% macro duckdb_postgres__write_targets(specs) -%}
  {%- set reopen = adapter.pg_transaction_open() -%}
  {%- if adapter.pg_first_write() -%}
    {%- do duckdb_postgres__validate_all_targets() -%}
  {%- endif -%}
  {%- set plans = [] -%}
  {%- for spec in specs -%}
    {%- do plans.append(duckdb_postgres__target_plan(spec)) -%}
  {%- endfor -%}
  {#-- COMMIT the model's own transaction (it may have written another database) and
       the one target_plan's catalog queries opened --#}
  {%- do adapter.pg_commit() -%}
  {#-- every target's schema first, each in its own committed transaction: a schema
       created inside a write is invisible to other sessions until that write
       commits, yet DuckDB's shared catalog lists it at once, so a concurrent write
       into it would skip creating it and fail in Postgres (unique_violation: another
       session created it meanwhile, as in duckdb_postgres__ensure_schema) --#}
  {%- for plan in plans -%}
    {{ duckdb_postgres__ensure_schema(plan['target'].database, plan['target'].schema) }}
    {#-- COMMIT the schema --#}
    {%- do adapter.pg_commit() -%}
  {%- endfor -%}
  {#-- no transaction is open here: each write opens its own, so its first statement
       on the target is the write's own (upsert_by_key sets READ COMMITTED first) --#}
  {%- for plan in plans -%}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- do adapter.pg_write_target(plan['label']) -%}
    {%- set result = duckdb_postgres__write(plan['mode'], plan['target'], 'select * from ' ~ this, plan['configs'], plan['label'], plan['columns']) -%}
    {#-- COMMIT this target --#}
    {%- do adapter.pg_commit() -%}
    {%- do adapter.pg_write_target(none) -%}
    {{ log("pg_materialize " ~ this ~ " -> " ~ plan['target'] ~ " (" ~ plan['mode'] ~ "): " ~ result['message'] ~ " in "
           ~ "%.2f" | format((modules.datetime.datetime.now() - started).total_seconds()) ~ "s", info=true) }}
  {%- endfor -%}
  {%- if reopen -%}{%- do adapter.pg_begin() -%}{%- endif -%}
{%- endmacro %}
