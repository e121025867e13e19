{#--
  The configs of every Postgres write mode. Validation lives in Python
  (dbt/adapters/duckdb_postgres/options.py: one typed options class per mode,
  every problem collected and raised once); these macros hand it the configs.
--#}

{#-- duckdb_postgres__model_configs() -> dict
     The current model's write configs (its config, with the keys the project and
     model set, for typo checks): what duckdb_postgres__write_options takes for a
     model's own table. --#}
{% macro duckdb_postgres__model_configs() -%}
  {{ return(adapter.pg_model_configs(model)) }}
{%- endmacro %}


{#-- duckdb_postgres__write_options(mode, raw, label, columns, problems=none) -> dict
     mode: 'full' | 'incremental_by_time' | 'upsert_by_key'.
     raw: duckdb_postgres__model_configs() for a model's own table (keys of other
       modes ignored, near misses of known keys are errors), or a pg_materialize
       target's configs (every key must be one of the mode's).
     label: what is configured, for messages (e.g. "pg_full model warehouse.s.t").
     columns: the model's columns as [[name, dtype], ...], or none to skip the
       checks that need them (compile-time window macros).
     problems: problems found by the caller (e.g. the target's database), reported
       in the same error.
     Returns {'mode', 'label', 'indexes', 'grants', 'unlogged', 'on_schema_change',
       'event_time', 'event_time_type', 'batch_size', 'lookback', 'begin',
       'unique_key' (list), 'on_conflict', 'update_columns' (list or none),
       'exclude_columns' (list)}.
     Raises one compilation error listing every problem (adapter.pg_write_options). --#}
{% macro duckdb_postgres__write_options(mode, raw, label, columns, problems=none) -%}
  {{ return(adapter.pg_write_options(mode, raw, label, columns, problems)) }}
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
