{#--
  Helpers that send SQL to PostgreSQL itself through DuckDB's postgres extension.

  Inside an open DuckDB transaction, `postgres_execute` runs in the same Postgres
  transaction as writes through the attached catalog, and ROLLBACK undoes both
  (docs/architecture.md, "Transactions"). So every helper here is part of the
  model's transaction unless the caller commits first.
--#}

{#-- pg_execute(connection: str, sql: str) -> None
     Run `sql` (one or more `;`-separated statements, no BEGIN/COMMIT) inside
     PostgreSQL on `connection`, in the current transaction (opening one if needed).
     Raises the Postgres error as a database error. The write macros call
     adapter.pg_execute, and adapter.pg_query for rows as tuples, directly. --#}
{% macro pg_execute(connection, sql) -%}
  {%- do adapter.pg_execute(connection, sql) -%}
{%- endmacro %}


{#-- pg_fetch(connection: str, sql: str) -> agate.Table
     Run the query `sql` inside PostgreSQL (`postgres_query`, so only its result
     crosses the network) and return its rows. Inside an open transaction it
     sees that transaction's writes; it never opens one itself. --#}
{% macro pg_fetch(connection, sql) -%}
  {%- call statement('pg_fetch', fetch_result=True, auto_begin=False) -%}
    select * from postgres_query({{ adapter.pg_literal(connection) }}, {{ adapter.pg_literal(sql) }})
  {%- endcall -%}
  {{- return(load_result('pg_fetch').table) -}}
{%- endmacro %}


{#-- duckdb_postgres__pg_columns(relation) -> list of [name, type]
     The columns of a Postgres table in order, types as Postgres spells them
     (format_type), e.g. [['id', 'integer'], ['amount', 'numeric(12,2)']]. --#}
{% macro duckdb_postgres__pg_columns(relation) -%}
  {{ return(duckdb_postgres__target_columns(relation)['columns']) }}
{%- endmacro %}


{#-- duckdb_postgres__target_columns(relation, count_sql=none) -> dict
     One query inside Postgres, in the current transaction: the columns of the
     table `relation` (as duckdb_postgres__pg_columns) and, when `count_sql` (a
     scalar SQL expression, e.g. duckdb_postgres__count_sql or
     adapter.pg_rows_changed_sql) is given, its value. Returns
     {'columns': [[name, type], ...], 'rows': int, or none without count_sql}. --#}
{% macro duckdb_postgres__target_columns(relation, count_sql=none) -%}
  {%- set sql -%}
    select a.attname::text, format_type(a.atttypid, a.atttypmod), {{ count_sql or 'null::bigint' }}
    from pg_attribute a
    where a.attrelid = to_regclass({{ adapter.pg_literal(relation.pg_name()) }})
      and a.attnum > 0 and not a.attisdropped
    order by a.attnum
  {%- endset -%}
  {%- set rows = adapter.pg_query(relation.database, sql) -%}
  {%- set columns = [] -%}
  {%- for row in rows -%}{%- do columns.append([row[0], row[1]]) -%}{%- endfor -%}
  {{ return({'columns': columns, 'rows': (rows[0][2] | int) if rows and count_sql else none}) }}
{%- endmacro %}


{#-- duckdb_postgres__count_sql(relation, condition) -> str
     `(select count(*) from <relation> where <condition>)`: the rows of the
     Postgres table matching a condition, as a scalar subquery. --#}
{% macro duckdb_postgres__count_sql(relation, condition) -%}
  {{ return('(select count(*) from ' ~ relation.pg_name() ~ ' as DBT_INTERNAL_DEST where ' ~ condition ~ ')') }}
{%- endmacro %}


{#-- duckdb_postgres__column_list(names: list, prefix: str = '') -> str
     `"a", "b"` for SQL run inside PostgreSQL; with prefix='t.': `t."a", t."b"`. --#}
{% macro duckdb_postgres__column_list(names, prefix='') -%}
  {%- set quoted = [] -%}
  {%- for name in names -%}{%- do quoted.append(prefix ~ adapter.pg_quote(name)) -%}{%- endfor -%}
  {{- return(quoted | join(', ')) -}}
{%- endmacro %}


{#-- duckdb_postgres__create_schema(relation) -> None
     dbt's create_schema: in a postgres connection through
     duckdb_postgres__ensure_schema (unless the name is over 63 bytes), elsewhere dbt-duckdb's with quoted
     literals (duckdb_postgres__create_duckdb_schema, utils/catalog.sql). --#}
{% macro duckdb_postgres__create_schema(relation) -%}
  {%- if relation.database in adapter.pg_connection_names() -%}
    {#-- a name Postgres would truncate is not created: the model's write reports it
         (adapter.pg_check_target) before sending any SQL --#}
    {%- if not adapter.pg_name_problem('schema', relation.schema) -%}
      {{ duckdb_postgres__ensure_schema(relation.database, relation.schema) }}
    {%- endif -%}
  {%- else -%}
    {{ duckdb_postgres__create_duckdb_schema(relation) }}
  {%- endif -%}
{%- endmacro %}


{#-- duckdb_postgres__ensure_schema(connection: str, schema: str) -> None
     Create `schema` in Postgres unless DuckDB already knows it. Two sessions
     creating the same schema at once make the later CREATE SCHEMA IF NOT EXISTS
     fail with a unique violation once the first commits (PostgreSQL docs, CREATE
     SCHEMA: IF NOT EXISTS is not race-free), so the DO block treats that as
     success. DuckDB's catalog cache does not see new schemas by itself:
     pg_clear_cache() follows (docs/architecture.md: metadata is cached per connection). --#}
{% macro duckdb_postgres__ensure_schema(connection, schema) -%}
  {%- set known_sql = "select count(*) from duckdb_schemas() where database_name = "
      ~ adapter.pg_literal(connection) ~ " and schema_name = " ~ adapter.pg_literal(schema) -%}
  {%- if run_query(known_sql)[0][0] | int == 0 -%}
    {#-- a dollar-quote tag derived from the name, so the name cannot close the body --#}
    {%- set tag = '$dbt_' ~ local_md5(schema) ~ '$' -%}
    {%- do adapter.pg_execute(connection, "do " ~ tag ~ " begin create schema if not exists " ~ adapter.pg_quote(schema)
        ~ "; exception when unique_violation or duplicate_schema then null; end " ~ tag) -%}
    {%- call statement('pg_clear_cache') -%}
      call pg_clear_cache()
    {%- endcall -%}
  {%- endif -%}
{%- endmacro %}


