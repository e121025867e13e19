{#--
  pg_incremental_by_time: replace a time window of a PostgreSQL table, batch by batch.
  docs/architecture.md "pg_incremental_by_time"; the write is writes/incremental_by_time.sql
  (first builds and --full-refresh use the pg_full swap).
--#}
{% materialization pg_incremental_by_time, adapter='duckdb_postgres', supported_languages=['sql'] %}
  {{ return(duckdb_postgres__materialize('incremental_by_time')) }}
{% endmaterialization %}
