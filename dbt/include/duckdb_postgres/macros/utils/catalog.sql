{#--
  dbt-duckdb's catalog queries, with every name passed as a quoted literal
  (adapter.pg_literal). dbt-duckdb pastes database and schema names between
  single quotes unescaped, and DuckDB runs every statement of a multi-statement
  string, so a `'` in a `schema` or `database` config would end the literal and
  run the rest of the name as SQL. The queries are otherwise dbt-duckdb's,
  except for the catalog of a postgres connection, which is read from
  pg_catalog as dbt-postgres does (Postgres types, comments, row estimates).
--#}

{#-- duckdb_postgres__list_schemas(database: str or none) -> agate.Table of schema_name --#}
{% macro duckdb_postgres__list_schemas(database) -%}
  {%- set sql -%}
    select schema_name
    from system.information_schema.schemata
    {% if database is not none %}
    where lower(catalog_name) = lower({{ adapter.pg_literal(database) }})
    {% endif %}
  {%- endset -%}
  {{ return(run_query(sql)) }}
{%- endmacro %}


{#-- duckdb_postgres__check_schema_exists(information_schema, schema: str) -> agate.Table of one count --#}
{% macro duckdb_postgres__check_schema_exists(information_schema, schema) -%}
  {%- set sql -%}
    select count(*)
    from system.information_schema.schemata
    where lower(schema_name) = lower({{ adapter.pg_literal(schema) }})
      and lower(catalog_name) = lower({{ adapter.pg_literal(information_schema.database) }})
  {%- endset -%}
  {{ return(run_query(sql)) }}
{%- endmacro %}


{#-- duckdb_postgres__list_relations_without_caching(schema_relation) -> agate.Table
     (database, name, schema, type) of every table and view in the schema. --#}
{% macro duckdb_postgres__list_relations_without_caching(schema_relation) -%}
  {%- set sql -%}
    select
      {{ adapter.pg_literal(schema_relation.database) }} as database,
      table_name as name,
      table_schema as schema,
      case table_type
        when 'BASE TABLE' then 'table'
        when 'VIEW' then 'view'
        when 'LOCAL TEMPORARY' then 'table'
        end as type
    from system.information_schema.tables
    where lower(table_schema) = lower({{ adapter.pg_literal(schema_relation.schema) }})
      and lower(table_catalog) = lower({{ adapter.pg_literal(schema_relation.database) }})
  {%- endset -%}
  {#-- a DuckDB schema: no staleness checks of the attached Postgres catalogs, which
       information_schema enumerates too (adapter.pg_duckdb_catalog_query) --#}
  {%- if schema_relation.database in adapter.pg_connection_names() -%}
    {{ return(run_query(sql)) }}
  {%- endif -%}
  {{ return(adapter.pg_duckdb_catalog_query(sql)) }}
{%- endmacro %}


{#-- duckdb_postgres__create_duckdb_schema(relation) -> None
     dbt-duckdb's create_schema for a database that is not a postgres connection
     (the DuckDB file or another attached catalog): CREATE SCHEMA IF NOT EXISTS,
     except in sqlite and mysql catalogs (sqlite has only 'main'). --#}
{% macro duckdb_postgres__create_duckdb_schema(relation) -%}
  {%- set sql -%}
    select type from duckdb_databases()
    where lower(database_name) = lower({{ adapter.pg_literal(relation.database) }}) and type != 'duckdb'
  {%- endset -%}
  {%- set results = run_query(sql) -%}
  {%- set attached_type = results.columns[0].values()[0] if results | length > 0 else none -%}
  {%- if attached_type == 'sqlite' and relation.schema != 'main' -%}
    {%- do exceptions.raise_compiler_error("Schema must be 'main' when writing to sqlite instead got " ~ relation.schema) -%}
  {%- endif -%}
  {%- if attached_type not in ['sqlite', 'mysql'] -%}
    {%- call statement('create_schema') -%}
      create schema if not exists {{ relation.without_identifier() }}
    {%- endcall -%}
  {%- endif -%}
{%- endmacro %}


{#-- duckdb_postgres__get_catalog(information_schema, schemas: list of str) -> agate.Table
     dbt-duckdb's catalog of the tables and views of `schemas` in one database
     (for `dbt docs generate`), with quoted literals. --#}
{% macro duckdb_postgres__get_catalog(information_schema, schemas) -%}
  {%- set filters = [] -%}
  {%- for schema in schemas -%}
    {%- do filters.append('upper(table_schema) = upper(' ~ adapter.pg_literal(schema) ~ ')') -%}
  {%- endfor -%}
  {{ return(run_query(duckdb_postgres__catalog_sql(information_schema, filters))) }}
{%- endmacro %}


{#-- duckdb_postgres__get_catalog_relations(information_schema, relations: list) -> agate.Table
     dbt-duckdb's catalog of `relations` (each with a schema), with quoted literals. --#}
{% macro duckdb_postgres__get_catalog_relations(information_schema, relations) -%}
  {%- set filters = [] -%}
  {%- for relation in relations -%}
    {%- if not relation.schema -%}
      {%- do exceptions.raise_compiler_error('`get_catalog_relations` requires a list of relations, each with a schema') -%}
    {%- endif -%}
    {%- set filter = '(upper(table_schema) = upper(' ~ adapter.pg_literal(relation.schema) ~ ')' -%}
    {%- if relation.identifier -%}
      {%- set filter = filter ~ ' and upper(table_name) = upper(' ~ adapter.pg_literal(relation.identifier) ~ ')' -%}
    {%- endif -%}
    {%- do filters.append(filter ~ ')') -%}
  {%- endfor -%}
  {{ return(run_query(duckdb_postgres__catalog_sql(information_schema, filters))) }}
{%- endmacro %}


{#-- duckdb_postgres__catalog_sql(information_schema, filters: list of SQL conditions) -> str
     dbt-duckdb's catalog query (tables and views with their columns) for the
     database of `information_schema`, keeping rows matching any of `filters`
     (none when the list is empty). A postgres connection's catalog is read
     inside Postgres instead (duckdb_postgres__pg_catalog_sql). --#}
{% macro duckdb_postgres__catalog_sql(information_schema, filters) -%}
  {%- if information_schema.database in adapter.pg_connection_names() -%}
    {{ return(duckdb_postgres__pg_catalog_sql(information_schema, filters)) }}
  {%- endif -%}
  {%- set database = adapter.pg_literal(information_schema.database) -%}
  {%- set where = 'where (' ~ filters | join(' or ') ~ ')' if filters else 'where 1 = 0' -%}
  {%- set sql -%}
    with tables as (
      select * from (
        select t.database_name as table_database, t.schema_name as table_schema, t.table_name as table_name,
               'BASE TABLE' as table_type, t.comment as table_comment
        from duckdb_tables() t
        where upper(t.database_name) = upper({{ database }})
        union all
        select v.database_name as table_database, v.schema_name as table_schema, v.view_name as table_name,
               'VIEW' as table_type, v.comment as table_comment
        from duckdb_views() v
        where upper(v.database_name) = upper({{ database }})
      ) catalog_tables
      {{ where }}
    ),
    columns as (
      select * from (
        select c.database_name as table_database, c.schema_name as table_schema, c.table_name as table_name,
               c.column_name as column_name, c.column_index as column_index, c.data_type as column_type,
               c.comment as column_comment
        from duckdb_columns() c
        where upper(c.database_name) = upper({{ database }})
      ) catalog_columns
      {{ where }}
    )
    {{ duckdb__get_catalog_results_sql() }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{#-- drop_indexes_on_relation(relation) -> None
     dbt-duckdb's macro (called by its table materialization before a swap; it
     is not dispatched, so this overrides it by name), with the relation's names
     as quoted literals and the index names quoted, and duckdb_indexes() read
     without staleness checks of the attached Postgres catalogs
     (adapter.pg_duckdb_catalog_query). --#}
{% macro drop_indexes_on_relation(relation) -%}
  {%- set sql -%}
    select index_name
    from duckdb_indexes()
    where database_name = {{ adapter.pg_literal(relation.database) }}
      and schema_name = {{ adapter.pg_literal(relation.schema) }}
      and table_name = {{ adapter.pg_literal(relation.identifier) }}
  {%- endset -%}
  {%- for row in adapter.pg_duckdb_catalog_query(sql) -%}
    {%- call statement('drop_index_' ~ loop.index, auto_begin=false) -%}
      drop index {{ adapter.pg_quote(relation.database) }}.{{ adapter.pg_quote(relation.schema) }}.{{ adapter.pg_quote(row[0]) }}
    {%- endcall -%}
  {%- endfor -%}
{%- endmacro %}


{#-- duckdb_postgres__pg_catalog_sql(information_schema, filters: list of SQL conditions) -> str
     The catalog of a postgres connection (for `dbt docs generate`), as
     dbt-postgres' catalog query reads it: tables, views, materialized views,
     foreign and partitioned tables with their columns, Postgres types
     (format_type), comments (obj_description / col_description) and owner,
     plus the planner's row estimate (pg_class.reltuples, -1 before the first
     ANALYZE) as a catalog stat. It runs inside Postgres (postgres_query), so
     only the catalog rows cross the network; `filters` (on table_schema /
     table_name) are applied there. --#}
{% macro duckdb_postgres__pg_catalog_sql(information_schema, filters) -%}
  {%- set where = '(' ~ filters | join(' or ') ~ ')' if filters else '1 = 0' -%}
  {%- set pg_sql -%}
    select * from (
      select {{ adapter.pg_literal(information_schema.database) }}::text as table_database,
             n.nspname::text as table_schema,
             c.relname::text as table_name,
             case c.relkind when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW' else 'BASE TABLE' end as table_type,
             obj_description(c.oid, 'pg_class') as table_comment,
             a.attname::text as column_name,
             a.attnum::integer as column_index,
             format_type(a.atttypid, a.atttypmod) as column_type,
             col_description(c.oid, a.attnum) as column_comment,
             pg_get_userbyid(c.relowner)::text as table_owner,
             c.relkind::text as relkind,
             c.reltuples::bigint as row_estimate
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.relkind in ('r', 'v', 'f', 'p', 'm')
        and c.relpersistence in ('p', 'u')
        and not pg_is_other_temp_schema(n.oid)
    ) catalog
    where {{ where }}
  {%- endset -%}
  {%- set sql -%}
    select table_database, table_schema, table_name, table_type, table_comment,
           column_name, column_index, column_type, column_comment, table_owner,
           'Approximate row count' as "stats:row_count:label",
           greatest(row_estimate, 0) as "stats:row_count:value",
           'The planner''s estimate of the number of rows (pg_class.reltuples)' as "stats:row_count:description",
           (relkind in ('r', 'p', 'm') and row_estimate >= 0) as "stats:row_count:include"
    from postgres_query({{ adapter.pg_literal(information_schema.database) }}, {{ adapter.pg_literal(pg_sql) }})
    order by table_schema, table_name, column_index
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}
