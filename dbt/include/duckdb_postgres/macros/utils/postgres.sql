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
     Raises the Postgres error as a database error. --#}
{% macro pg_execute(connection, sql) -%}
  {%- call statement('pg_execute', auto_begin=True) -%}
    call postgres_execute({{ adapter.pg_literal(connection) }}, {{ adapter.pg_literal(sql) }})
  {%- endcall -%}
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


{#-- duckdb_postgres__relation_info(relation) -> dict
     What PostgreSQL knows of `relation` (`database` = connection name):
     {'kind': relkind char ('r' table, 'v' view, ...) or none when missing,
      'dependents': comma-separated names of views depending on it, or none}. --#}
{% macro duckdb_postgres__relation_info(relation) -%}
  {%- set sql -%}
    select c.relkind::text as kind,
      (select string_agg(distinct v.oid::regclass::text, ', ')
         from pg_depend d join pg_rewrite r on r.oid = d.objid
         join pg_class v on v.oid = r.ev_class
        where d.refobjid = c.oid and r.ev_class <> c.oid) as dependents
    from pg_class c where c.oid = to_regclass({{ adapter.pg_literal(relation.pg_name()) }})
  {%- endset -%}
  {%- set rows = pg_fetch(relation.database, sql) -%}
  {%- if rows | length == 0 -%}
    {{ return({'kind': none, 'dependents': none}) }}
  {%- endif -%}
  {{ return({'kind': rows[0][0], 'dependents': rows[0][1]}) }}
{%- endmacro %}


{#-- duckdb_postgres__pg_columns(relation) -> list of [name, type]
     The columns of a Postgres table in order, types as Postgres spells them
     (format_type), e.g. [['id', 'integer'], ['amount', 'numeric(12,2)']]. --#}
{% macro duckdb_postgres__pg_columns(relation) -%}
  {%- set sql -%}
    select a.attname::text, format_type(a.atttypid, a.atttypmod)
    from pg_attribute a
    where a.attrelid = to_regclass({{ adapter.pg_literal(relation.pg_name()) }})
      and a.attnum > 0 and not a.attisdropped
    order by a.attnum
  {%- endset -%}
  {%- set columns = [] -%}
  {%- for row in pg_fetch(relation.database, sql) -%}
    {%- do columns.append([row[0], row[1]]) -%}
  {%- endfor -%}
  {{ return(columns) }}
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
    {{ pg_execute(connection, "do " ~ tag ~ " begin create schema if not exists " ~ adapter.pg_quote(schema)
        ~ "; exception when unique_violation or duplicate_schema then null; end " ~ tag) }}
    {%- call statement('pg_clear_cache') -%}
      call pg_clear_cache()
    {%- endcall -%}
  {%- endif -%}
{%- endmacro %}


{#-- duckdb_postgres__lock_target(target) -> None
     The first statement of a write transaction on `target`: READ COMMITTED (so
     statements after the wait see what a concurrent writer committed; DuckDB
     opens Postgres transactions as REPEATABLE READ, whose snapshot would predate
     it) and a transaction-scoped advisory lock on the target's name: concurrent
     writers of one target serialize and the result equals a serial run. Also
     `SET LOCAL random_page_cost = 1.1` for the whole write, so key lookups of the
     checks, counts and final statements use the target's indexes
     (docs/architecture.md "Costs": DELETE USING 6.6-7.5 s -> 2.9-3.0 s on 10M rows;
     a delete+insert pre-count took 4.6 s of 26.5 s without it).
     Must run before any other Postgres statement of the transaction. --#}
{% macro duckdb_postgres__lock_target(target) -%}
  {{ pg_execute(target.database, "set transaction isolation level read committed; "
      ~ "select pg_advisory_xact_lock(hashtextextended(" ~ adapter.pg_literal(target.pg_name()) ~ ", 0)); "
      ~ "set local random_page_cost = 1.1") }}
{%- endmacro %}
