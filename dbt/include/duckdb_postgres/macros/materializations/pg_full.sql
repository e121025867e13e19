{#--
  pg_full: replace a PostgreSQL table with the model's result.
  `database` must name a postgres connection of the profile. Configs: indexes,
  grants, unlogged. Contract and guarantees: DESIGN.md "pg_full"; the write is
  duckdb_postgres__write_full (writes/full.sql), shared with pg_materialize.
--#}
{% materialization pg_full, adapter='duckdb_postgres' %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- do adapter.pg_check_target(target_relation, 'pg_full') -%}
  {%- set options = duckdb_postgres__shared_options(duckdb_postgres__model_configs(), 'pg_full model ' ~ this) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  -- BEGIN: one DuckDB transaction = one Postgres transaction on the target
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- do duckdb_postgres__write_full(target_relation, sql, options) -%}
  {{ run_hooks(post_hooks, inside_transaction=True) }}

  -- COMMIT: the new table becomes visible to readers
  {{ adapter.commit() }}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
