{#--
  pg_full: replace a PostgreSQL table with the model's result.
  docs/architecture.md "pg_full"; the write is duckdb_postgres__write_full (writes/full.sql).
--#}
{% materialization pg_full, adapter='duckdb_postgres', supported_languages=['sql'] %}
  {{ return(duckdb_postgres__materialize('full')) }}
{% endmaterialization %}
