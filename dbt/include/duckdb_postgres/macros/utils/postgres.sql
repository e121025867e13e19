{#--
  Helpers that send SQL to PostgreSQL itself through DuckDB's postgres extension.

  Inside an open DuckDB transaction, `postgres_execute` runs in the same Postgres
  transaction as writes through the attached catalog, and ROLLBACK undoes both
  (../shared/FACTS.md, "Transactions"). So every helper here is part of the
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
     crosses the network) in the current transaction, and return its rows. --#}
{% macro pg_fetch(connection, sql) -%}
  {%- call statement('pg_fetch', fetch_result=True, auto_begin=True) -%}
    select * from postgres_query({{ adapter.pg_literal(connection) }}, {{ adapter.pg_literal(sql) }})
  {%- endcall -%}
  {{- return(load_result('pg_fetch').table) -}}
{%- endmacro %}


{#-- duckdb_postgres__relation_info(relation) -> dict
     What PostgreSQL knows of `relation` (`database` = connection name):
     {'kind': relkind char or none when missing, 'dependents': names of views that
     depend on it, 'columns': [(name, type), ...]}. One `postgres_query` round trip. --#}
{% macro duckdb_postgres__relation_info(relation) -%}
  {%- set regclass = adapter.pg_literal(relation.pg_name()) -%}
  {%- set sql -%}
    select c.relkind::text as kind,
      (select string_agg(distinct v.oid::regclass::text, ', ')
         from pg_depend d join pg_rewrite r on r.oid = d.objid
         join pg_class v on v.oid = r.ev_class
        where d.refobjid = c.oid and r.ev_class <> c.oid) as dependents,
      (select string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum)
         from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
    from pg_class c where c.oid = to_regclass({{ regclass }})
  {%- endset -%}
  {%- set rows = pg_fetch(relation.database, sql) -%}
  {%- if rows | length == 0 -%}
    {{ return({'kind': none, 'dependents': none, 'columns': none}) }}
  {%- endif -%}
  {{ return({'kind': rows[0][0], 'dependents': rows[0][1], 'columns': rows[0][2]}) }}
{%- endmacro %}
