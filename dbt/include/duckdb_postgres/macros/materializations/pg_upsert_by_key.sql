{#--
  pg_upsert_by_key: merge the model's result into a PostgreSQL table by unique_key.
  docs/architecture.md "pg_upsert_by_key"; the write is writes/upsert_by_key.sql
  (first builds and --full-refresh use the pg_full swap).
--#}
{% materialization pg_upsert_by_key, adapter='duckdb_postgres', supported_languages=['sql'] %}
  {{ return(duckdb_postgres__materialize('upsert_by_key')) }}
{% endmaterialization %}
