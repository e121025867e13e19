{#-- duckdb_postgres__collect_freshness(source, loaded_at_field, filter)
     For a source in a postgres connection, max(loaded_at_field) is computed
     inside PostgreSQL (postgres_query: aggregates are not pushed through the
     attached catalog, docs/architecture.md), so one row crosses the network.
     A source with meta.pg_snapshot: mirror reports its mirror instead (see
     duckdb_postgres__collect_mirror_freshness). A source whose database is no
     catalog of the profile is an error naming it; other sources use dbt's default. --#}
{% macro duckdb_postgres__collect_freshness(source, loaded_at_field, filter) -%}
  {%- do adapter.pg_check_source(source) -%}
  {%- if source.database not in adapter.pg_connection_names() -%}
    {{ return(default__collect_freshness(source, loaded_at_field, filter)) }}
  {%- endif -%}
  {%- set mirror = adapter.pg_source_mirror(source) -%}
  {%- if mirror is not none -%}
    {{ return(duckdb_postgres__collect_mirror_freshness(source, loaded_at_field, filter, mirror)) }}
  {%- endif -%}
  {%- call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
    select * from {{ duckdb_postgres__source_max_loaded_at(source, loaded_at_field, filter) }}
  {%- endcall -%}
  {{ return(load_result('collect_freshness')) }}
{%- endmacro %}

{#-- duckdb_postgres__source_max_loaded_at(source, loaded_at_field, filter)
     The postgres_query call returning one row (max_loaded_at, snapshotted_at):
     max(loaded_at_field) of the source and now(), both computed in PostgreSQL. --#}
{% macro duckdb_postgres__source_max_loaded_at(source, loaded_at_field, filter) -%}
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
  postgres_query({{ adapter.pg_literal(source.database) }}, {{ adapter.pg_literal(remote) }})
{%- endmacro %}

{#-- duckdb_postgres__collect_mirror_freshness(source, loaded_at_field, filter, mirror)
     The freshness of what models read from a mirrored source (meta.pg_snapshot:
     mirror): max_loaded_at is max(loaded_at_field) over the local mirror in DuckDB
     (with a mirror tracked by loaded_at_field, the recorded high-water mark), and
     snapshotted_at the time of this check, so dbt's age (snapshotted_at -
     max_loaded_at) and warn_after/error_after measure the data the models see,
     however long ago the mirror was last synced. A mirror never synced has no
     rows: max_loaded_at is null, which dbt reads as "never loaded". The adapter
     response adds the source's own max(loaded_at_field) (in PostgreSQL), the
     mirror's last sync time and the lag between the two (pg_mirror_freshness).
     `filter` runs in DuckDB on the mirror and in PostgreSQL on the source.
     mirror: from adapter.pg_source_mirror(source). --#}
{% macro duckdb_postgres__collect_mirror_freshness(source, loaded_at_field, filter, mirror) -%}
  {%- set exists_sql -%}
    select count(*) from duckdb_tables()
    where database_name = {{ adapter.pg_literal(mirror.database) }}
      and schema_name = {{ adapter.pg_literal(mirror.schema) }}
      and table_name in ({{ adapter.pg_literal(mirror.identifier) }}, {{ adapter.pg_literal(mirror.state_identifier) }})
  {%- endset -%}
  {%- call statement('mirror_exists', fetch_result=True, auto_begin=False) -%}
    {{ exists_sql }}
  {%- endcall -%}
  {%- set synced = load_result('mirror_exists').table[0][0] == 2 -%}
  {%- call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
    select
    {%- if synced %}
      (select max({{ loaded_at_field }}) from {{ mirror.relation }} {% if filter %}where {{ filter }}{% endif %}) as max_loaded_at,
    {%- else %}
      null::timestamptz as max_loaded_at,
    {%- endif %}
      now() as snapshotted_at,
      (select max_loaded_at from {{ duckdb_postgres__source_max_loaded_at(source, loaded_at_field, filter) }}) as source_max_loaded_at,
    {%- if synced %}
      (select synced_at from {{ mirror.state }} where mirror = {{ adapter.pg_literal(mirror.identifier) }}) as mirror_synced_at
    {%- else %}
      null::timestamptz as mirror_synced_at
    {%- endif %}
  {%- endcall -%}
  {{ return(adapter.pg_mirror_freshness(load_result('collect_freshness'), mirror.identifier)) }}
{%- endmacro %}

{#-- duckdb_postgres__collect_freshness_custom_sql(source, loaded_at_query)
     dbt's default (the user's loaded_at_query, run as written), after the check
     that the source's database is a catalog of the profile. --#}
{% macro duckdb_postgres__collect_freshness_custom_sql(source, loaded_at_query) -%}
  {%- do adapter.pg_check_source(source) -%}
  {{ return(default__collect_freshness_custom_sql(source, loaded_at_query)) }}
{%- endmacro %}
