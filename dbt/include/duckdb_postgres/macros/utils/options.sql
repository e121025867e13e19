{#--
  Validation of the configs of every Postgres write mode. One validator serves
  the materializations and pg_materialize: it collects every problem and raises
  once, naming the config key, the bad value and the fix (as dbt-duckdb's
  merge_config_validation does).
--#}

{#-- duckdb_postgres__config_keys() -> list of the write configs every mode accepts some of. --#}
{% macro duckdb_postgres__config_keys() -%}
  {{ return(['indexes', 'grants', 'unlogged', 'on_schema_change', 'event_time', 'time_column',
             'batch_size', 'lookback', 'begin', 'unique_key', 'on_conflict',
             'merge_update_columns', 'merge_exclude_columns']) }}
{%- endmacro %}


{#-- duckdb_postgres__model_configs() -> dict
     The current model's write configs as a plain dict: the same shape that
     pg_materialize's keyword arguments take. --#}
{% macro duckdb_postgres__model_configs() -%}
  {%- set configs = {} -%}
  {%- for key in duckdb_postgres__config_keys() -%}
    {#-- dbt-core's NodeConfig defaults lookback to 1 (for microbatch): only a lookback the
         project or model sets is ours (default 0) --#}
    {%- if key == 'lookback' and 'lookback' not in model.get('unrendered_config', {}) -%}
    {%- elif config.get(key) is not none -%}{%- do configs.update({key: config.get(key)}) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(configs) }}
{%- endmacro %}


{#-- duckdb_postgres__write_options(mode, raw, where, columns, problems=none) -> dict
     mode: 'full' | 'incremental_by_time' | 'upsert_by_key'.
     raw: the configs as given (duckdb_postgres__model_configs() or pg_materialize kwargs).
     where: what is configured, for messages (e.g. "pg_full model warehouse.s.t").
     columns: the model's columns as [[name, dtype], ...], or none to skip the
       checks that need them (compile-time window macros).
     problems: problems found by the caller (e.g. the target's database), reported
       in the same error.
     Returns {'mode', 'indexes', 'grants', 'unlogged', 'on_schema_change',
       'event_time', 'event_time_type', 'batch_size', 'lookback', 'begin',
       'unique_key' (list), 'on_conflict', 'update_columns' (list or none),
       'exclude_columns' (list)}.
     Raises one compilation error listing every problem. --#}
{% macro duckdb_postgres__write_options(mode, raw, where, columns, problems=none) -%}
  {%- set problems = (problems or []) | list -%}
  {%- set names = [] -%}
  {%- set types = {} -%}
  {%- for column in (columns or []) -%}
    {%- do names.append(column[0]) -%}{%- do types.update({column[0]: column[1]}) -%}
  {%- endfor -%}

  {#-- shared: indexes, grants, unlogged, on_schema_change --#}
  {%- set indexes = [] -%}
  {%- set raw_indexes = raw.get('indexes') or [] -%}
  {%- if raw_indexes is mapping or raw_indexes is string -%}
    {%- do problems.append("indexes=" ~ raw_indexes ~ ": expected a list of {'columns': [...], 'unique': bool, 'type': 'btree'}") -%}
  {%- else -%}
    {%- for raw_index in raw_indexes -%}
      {%- do indexes.append(adapter.pg_parse_index(raw_index)) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set grants = raw.get('grants') or {} -%}
  {%- if grants is not mapping -%}
    {%- do problems.append("grants=" ~ grants ~ ": expected a mapping of privilege -> grantee or list of grantees, e.g. {'select': ['reporter']}") -%}
    {%- set grants = {} -%}
  {%- endif -%}
  {%- set privileges = ['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger', 'all', 'all privileges'] -%}
  {%- for privilege in grants -%}
    {%- if privilege | lower not in privileges -%}
      {%- do problems.append("grants: privilege " ~ privilege ~ " is not a table privilege; use one of " ~ privileges | join(', ')) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set unlogged = raw.get('unlogged', false) -%}
  {%- if unlogged not in [true, false] -%}
    {%- do problems.append("unlogged=" ~ unlogged ~ ": expected true or false") -%}
  {%- endif -%}
  {%- set on_schema_change = raw.get('on_schema_change') or 'ignore' -%}
  {%- if on_schema_change not in ['ignore', 'fail', 'append_new_columns', 'sync_all_columns'] -%}
    {%- do problems.append("on_schema_change=" ~ on_schema_change ~ ": use ignore, fail, append_new_columns or sync_all_columns") -%}
  {%- endif -%}

  {%- set options = {'where': where, 'mode': mode, 'indexes': indexes, 'grants': grants, 'unlogged': unlogged,
                     'on_schema_change': on_schema_change, 'event_time': none, 'event_time_type': none,
                     'unique_key': [], 'on_conflict': 'update', 'update_columns': none, 'exclude_columns': []} -%}

  {%- if mode == 'incremental_by_time' -%}
    {%- set event_time = raw.get('event_time') or raw.get('time_column') -%}
    {%- if not event_time -%}
      {%- do problems.append("event_time is required: set event_time='<date, timestamp or timestamptz column>' (time_column is accepted too)") -%}
    {%- elif columns is not none and event_time not in names -%}
      {%- do problems.append("event_time=" ~ event_time ~ " is not a column of the model; columns are: " ~ names | join(', ')) -%}
    {%- elif columns is not none and not (types[event_time] | upper).startswith('DATE') and not (types[event_time] | upper).startswith('TIMESTAMP') -%}
      {%- do problems.append("event_time=" ~ event_time ~ " has type " ~ types[event_time] ~ "; it must be a date, timestamp or timestamptz column") -%}
    {%- endif -%}
    {%- set batch_size = raw.get('batch_size') or 'day' -%}
    {%- if batch_size not in ['hour', 'day', 'month', 'year'] -%}
      {%- do problems.append("batch_size=" ~ batch_size ~ ": use hour, day, month or year") -%}
    {%- endif -%}
    {%- set lookback = raw.get('lookback', 0) -%}
    {%- if lookback is not number or lookback is boolean or lookback < 0 or lookback != (lookback | int) -%}
      {%- do problems.append("lookback=" ~ lookback ~ ": expected a whole number of batches >= 0") -%}
      {%- set lookback = 0 -%}
    {%- endif -%}
    {%- set begin = raw.get('begin') -%}
    {%- set begin_problem = adapter.pg_time_problem('begin', begin) -%}
    {%- if begin_problem -%}{%- do problems.append(begin_problem) -%}{%- endif -%}
    {%- do options.update({'event_time': event_time, 'event_time_type': types.get(event_time),
                           'batch_size': batch_size, 'lookback': lookback | int, 'begin': begin}) -%}
  {%- endif -%}

  {%- if mode == 'upsert_by_key' -%}
    {%- set unique_key = raw.get('unique_key') -%}
    {%- set keys = [unique_key] if unique_key is string else (unique_key or []) -%}
    {%- if not keys -%}
      {%- do problems.append("unique_key is required: set unique_key='<column>' or a list of columns") -%}
    {%- endif -%}
    {%- for key in keys if columns is not none and key not in names -%}
      {%- do problems.append("unique_key: " ~ key ~ " is not a column of the model; columns are: " ~ names | join(', ')) -%}
    {%- endfor -%}
    {%- set on_conflict = raw.get('on_conflict') or 'update' -%}
    {%- if on_conflict not in ['update', 'skip', 'fail'] -%}
      {%- do problems.append("on_conflict=" ~ on_conflict ~ ": use update (default), skip or fail") -%}
    {%- endif -%}
    {%- set update_columns = raw.get('merge_update_columns') -%}
    {%- set exclude_columns = raw.get('merge_exclude_columns') or [] -%}
    {%- if update_columns and exclude_columns -%}
      {%- do problems.append("merge_update_columns and merge_exclude_columns are mutually exclusive: set only one") -%}
    {%- endif -%}
    {%- for column in (update_columns or []) + exclude_columns if columns is not none and column not in names -%}
      {%- do problems.append("merge_update_columns/merge_exclude_columns: " ~ column ~ " is not a column of the model; columns are: " ~ names | join(', ')) -%}
    {%- endfor -%}
    {%- do options.update({'unique_key': keys, 'on_conflict': on_conflict,
                           'update_columns': update_columns, 'exclude_columns': exclude_columns}) -%}
  {%- endif -%}

  {%- if problems -%}
    {%- do exceptions.raise_compiler_error("Invalid config for " ~ where ~ ":\n  - " ~ problems | join("\n  - ")) -%}
  {%- endif -%}
  {{ return(options) }}
{%- endmacro %}


{#-- duckdb_postgres__post_load_sql(relation, options) -> str
     Postgres SQL run after a table is loaded: CREATE INDEX for each `indexes`
     entry (built after the load: cheaper than maintaining them during COPY,
     docs/architecture.md "Costs"), then ANALYZE. --#}
{% macro duckdb_postgres__post_load_sql(relation, options) -%}
  {%- set statements = [] -%}
  {%- for index in options['indexes'] -%}
    {%- do statements.append(
        "create " ~ ("unique " if index.unique else "") ~ "index " ~ adapter.pg_quote(index.render_name(relation))
        ~ " on " ~ relation.pg_name() ~ (" using " ~ index.type if index.type else "")
        ~ " (" ~ duckdb_postgres__column_list(index.columns) ~ ")") -%}
  {%- endfor -%}
  {%- do statements.append("analyze " ~ relation.pg_name()) -%}
  {{ return(statements | join(";\n")) }}
{%- endmacro %}


{#-- duckdb_postgres__grant_sql(relation, grants: dict) -> str
     GRANT statements for dbt's `grants` config ({privilege: grantee or [grantees]}).
     Empty string when there is nothing to grant. --#}
{% macro duckdb_postgres__grant_sql(relation, grants) -%}
  {%- set statements = [] -%}
  {%- for privilege, grantees in grants.items() -%}
    {%- set grantees = [grantees] if grantees is string else grantees -%}
    {%- for grantee in grantees -%}
      {#-- PUBLIC is a keyword, not a role: quoted it would name a role "public" --#}
      {%- set to = 'public' if grantee | lower == 'public' else adapter.pg_quote(grantee) -%}
      {%- do statements.append("grant " ~ privilege ~ " on " ~ relation.pg_name() ~ " to " ~ to) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(statements | join(";\n")) }}
{%- endmacro %}
