{#-- duckdb_postgres__collect_freshness(source, loaded_at_field, filter)
     For a source in a postgres connection, max(loaded_at_field) is computed
     inside PostgreSQL (postgres_query: aggregates are not pushed through the
     attached catalog, docs/architecture.md), so one row crosses the network. Other sources
     use dbt's default. --#}
{% macro duckdb_postgres__collect_freshness(source, loaded_at_field, filter) -%}
  {%- if source.database not in adapter.pg_connection_names() -%}
    {{ return(default__collect_freshness(source, loaded_at_field, filter)) }}
  {%- endif -%}
  {%- if source.pg_query is not none -%}
    {%- set from_sql = '(\n' ~ source.pg_query.strip().rstrip(';') ~ '\n) _dbt_source' -%}
  {%- else -%}
    {%- set from_sql = source.pg_name() -%}
  {%- endif -%}
  {%- set remote -%}
    select max({{ loaded_at_field }}) as max_loaded_at, now() as snapshotted_at
    from {{ from_sql }}
    {% if filter %}where {{ filter }}{% endif %}
  {%- endset -%}
  {%- call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
    select * from postgres_query({{ adapter.pg_literal(source.database) }}, {{ adapter.pg_literal(remote) }})
  {%- endcall -%}
  {{ return(load_result('collect_freshness')) }}
{%- endmacro %}
