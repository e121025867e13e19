{#--
  Dropping the schemas of a CI job's pull request: `dbt run-operation pg_drop_schemas`.
--#}

{#-- pg_drop_schemas(schemas=none, prefix=none, dry_run=false) -> list of [catalog, schema]
     dbt run-operation pg_drop_schemas --args '{schemas: [dbt_cloud_pr_1_2, dbt_cloud_pr_1_2_marts]}'
     dbt run-operation pg_drop_schemas --args '{prefix: dbt_cloud_pr_1_2, dry_run: true}'
     schemas: list of schema names, matched exactly.
     prefix: every schema whose name starts with it (compared as text, so `_`
       and `%` are plain characters); refused when empty or blank.
     dry_run: log what would be dropped and drop nothing.
     Drops each matching schema with everything in it (CASCADE) in DuckDB's own
     database (the profile's `path`) and in every writable (not read_only)
     postgres connection; read_only connections are never touched. Each
     connection's drops are one transaction, committed before the next
     connection. One log line per schema. Returns the [catalog, schema] pairs
     dropped (or that would be). Raises a compilation error, before dropping
     anything, for no schemas and no prefix, an empty prefix, a `schemas` that is
     not a list of names, or a name that is a system schema
     (information_schema, pg_*, DuckDB's main). --#}
{% macro pg_drop_schemas(schemas=none, prefix=none, dry_run=false) -%}
  {%- set problems = [] -%}
  {%- if schemas is none and prefix is none -%}
    {%- do problems.append("give schemas: [name, ...] or prefix: <start of the names>") -%}
  {%- endif -%}
  {%- if schemas is not none and (schemas is string or schemas is mapping or schemas is not iterable) -%}
    {%- do problems.append("schemas=" ~ schemas ~ ": expected a list of schema names, e.g. {schemas: [dbt_cloud_pr_1_2]}") -%}
    {%- set schemas = [] -%}
  {%- endif -%}
  {%- for name in (schemas or []) if name is not string or (name | trim) == '' -%}
    {%- do problems.append("schemas: " ~ name ~ " is not a schema name") -%}
  {%- endfor -%}
  {%- if prefix is not none and (prefix is not string or (prefix | trim) == '') -%}
    {%- do problems.append("prefix=" ~ adapter.pg_literal(prefix) ~ ": refused, it would match every schema; give the start of the PR schemas' names, e.g. prefix: dbt_cloud_pr_1_2") -%}
  {%- endif -%}
  {%- for name in (schemas or []) if name is string
        and (name | lower == 'information_schema' or name | lower == 'main' or (name | lower).startswith('pg_')) -%}
    {%- do problems.append("schemas: " ~ name ~ " is a system schema and is never dropped") -%}
  {%- endfor -%}
  {%- if problems -%}
    {%- do exceptions.raise_compiler_error("pg_drop_schemas: " ~ problems | join("; ")) -%}
  {%- endif -%}

  {%- set catalogs = [[target.database, none]] -%}
  {%- for name in adapter.pg_connection_names() if not adapter.pg_connection(name)['read_only'] -%}
    {%- do catalogs.append([name, name]) -%}
  {%- endfor -%}
  {%- set dropped = [] -%}
  {%- for catalog, connection in catalogs -%}
    {%- set found = duckdb_postgres__find_schemas(catalog, connection, schemas or [], prefix) -%}
    {%- for schema in found -%}
      {%- do dropped.append([catalog, schema]) -%}
      {{ log("pg_drop_schemas: " ~ ("would drop" if dry_run else "dropping") ~ " schema "
             ~ adapter.pg_quote(catalog) ~ "." ~ adapter.pg_quote(schema), info=true) }}
    {%- endfor -%}
    {%- if found and not dry_run -%}
      {%- do duckdb_postgres__drop_schemas_in(catalog, connection, found) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not dropped -%}
    {{ log("pg_drop_schemas: no schema matched", info=true) }}
  {%- endif -%}
  {{ return(dropped) }}
{%- endmacro %}


{#-- duckdb_postgres__find_schemas(catalog, connection, schemas, prefix) -> list of str
     The existing schemas of `catalog` named in `schemas` or starting with
     `prefix` (none: no prefix), sorted, system schemas excluded. Asked of
     Postgres itself for a postgres `connection` (none: DuckDB's duckdb_schemas()). --#}
{% macro duckdb_postgres__find_schemas(catalog, connection, schemas, prefix) -%}
  {%- set names = [] -%}
  {%- for name in schemas -%}{%- do names.append(adapter.pg_literal(name)) -%}{%- endfor -%}
  {%- set tests = [] -%}
  {%- if names -%}{%- do tests.append("name in (" ~ names | join(', ') ~ ")") -%}{%- endif -%}
  {%- if prefix -%}
    {%- do tests.append("left(name, " ~ prefix | length ~ ") = " ~ adapter.pg_literal(prefix)) -%}
  {%- endif -%}
  {%- set system = "lower(name) <> 'information_schema' and lower(name) <> 'main' and left(lower(name), 3) <> 'pg_'" -%}
  {%- if connection is none -%}
    {%- set sql -%}
      select name from (select schema_name as name from duckdb_schemas()
                        where database_name = {{ adapter.pg_literal(catalog) }} and not internal) s
      where ({{ tests | join(' or ') }}) and {{ system }} order by name
    {%- endset -%}
    {%- set rows = run_query(sql) -%}
  {%- else -%}
    {%- set sql -%}
      select name from (select nspname::text as name from pg_namespace) s
      where ({{ tests | join(' or ') }}) and {{ system }} order by name
    {%- endset -%}
    {%- set rows = adapter.pg_query(connection, sql) -%}
  {%- endif -%}
  {%- set found = [] -%}
  {%- for row in rows -%}{%- do found.append(row[0]) -%}{%- endfor -%}
  {{ return(found) }}
{%- endmacro %}


{#-- duckdb_postgres__drop_schemas_in(catalog, connection, found) -> None
     DROP SCHEMA ... CASCADE for each name of `found`, in one transaction, then
     COMMIT: inside Postgres for a postgres `connection` (then DuckDB's catalog
     cache is cleared), in DuckDB's `catalog` otherwise. --#}
{% macro duckdb_postgres__drop_schemas_in(catalog, connection, found) -%}
  {%- set statements = [] -%}
  {%- for schema in found -%}
    {%- if connection is none -%}
      {%- do statements.append("drop schema if exists " ~ adapter.pg_quote(catalog) ~ "." ~ adapter.pg_quote(schema) ~ " cascade") -%}
    {%- else -%}
      {%- do statements.append("drop schema if exists " ~ adapter.pg_quote(schema) ~ " cascade") -%}
    {%- endif -%}
  {%- endfor -%}
  {#-- BEGIN: every drop of this catalog in one transaction --#}
  {%- if connection is none -%}
    {%- call statement('pg_drop_schemas', auto_begin=True) -%}
      {{ statements | join(";\n") }}
    {%- endcall -%}
  {%- else -%}
    {%- do adapter.pg_execute(connection, statements | join(";\n")) -%}
  {%- endif -%}
  {#-- COMMIT: a DuckDB transaction writes one database --#}
  {%- do adapter.pg_commit() -%}
  {%- if connection is not none -%}
    {%- call statement('pg_clear_cache') -%}
      call pg_clear_cache()
    {%- endcall -%}
  {%- endif -%}
{%- endmacro %}
