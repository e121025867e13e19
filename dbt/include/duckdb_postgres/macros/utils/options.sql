{#--
  Validation of the configs shared by every Postgres write mode.
  Each validator collects every problem and raises once, naming the config
  key, the bad value and the fix (as dbt-duckdb's merge_config_validation).
--#}

{#-- duckdb_postgres__shared_options(raw: dict, where: str) -> dict
     raw: the configs as given (model config or pg_materialize arguments).
     where: what is being configured, for error messages (e.g. "model orders").
     Returns {'indexes': [PostgresIndexConfig], 'grants': {privilege: [grantee]},
     'unlogged': bool}. Raises a compilation error listing every problem. --#}
{% macro duckdb_postgres__shared_options(raw, where) -%}
  {%- set problems = [] -%}
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
  {%- if problems -%}
    {%- do exceptions.raise_compiler_error("Invalid config for " ~ where ~ ":\n  - " ~ problems | join("\n  - ")) -%}
  {%- endif -%}
  {{ return({'indexes': indexes, 'grants': grants, 'unlogged': unlogged}) }}
{%- endmacro %}


{#-- duckdb_postgres__post_load_sql(relation, options) -> str
     Postgres SQL run after a table is loaded: CREATE INDEX for each `indexes`
     entry (built after the load: cheaper than maintaining them during COPY,
     FACTS.md "Costs"), then ANALYZE. --#}
{% macro duckdb_postgres__post_load_sql(relation, options) -%}
  {%- set statements = [] -%}
  {%- for index in options['indexes'] -%}
    {%- set columns = [] -%}
    {%- for column in index.columns -%}{%- do columns.append(adapter.pg_quote(column)) -%}{%- endfor -%}
    {%- do statements.append(
        "create " ~ ("unique " if index.unique else "") ~ "index " ~ adapter.pg_quote(index.render_name(relation))
        ~ " on " ~ relation.pg_name() ~ (" using " ~ index.type if index.type else "")
        ~ " (" ~ columns | join(", ") ~ ")") -%}
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
      {%- do statements.append("grant " ~ privilege ~ " on " ~ relation.pg_name() ~ " to " ~ adapter.pg_quote(grantee)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(statements | join(";\n")) }}
{%- endmacro %}


{#-- duckdb_postgres__model_configs() -> dict
     The current model's write configs as a plain dict, the same shape that
     pg_materialize's keyword arguments take. --#}
{% macro duckdb_postgres__model_configs() -%}
  {%- set keys = ['indexes', 'grants', 'unlogged'] -%}
  {%- set configs = {} -%}
  {%- for key in keys -%}
    {%- if config.get(key) is not none -%}{%- do configs.update({key: config.get(key)}) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(configs) }}
{%- endmacro %}
