{#-- duckdb_postgres__materialize(mode) -> {'relations': [target]}
     The body of the three pg_* materializations, in dbt's canonical order:
     relation and configs -> pre-hooks -> the write -> persist_docs -> post-hooks -> commit ->
     outside-transaction post-hooks -> pg_targets.
     mode: 'full' | 'incremental_by_time' | 'upsert_by_key'.
     The target is this model's relation; `database` must be a writable postgres
     connection (a compile error names the connections otherwise). An enforced
     contract is checked before the pre-hooks (duckdb_postgres__contract_constraints). --#}
{% macro duckdb_postgres__materialize(mode) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set label = 'pg_' ~ mode ~ ' model ' ~ target_relation -%}
  {%- set target_problem = adapter.pg_target_problem(target_relation, 'pg_' ~ mode) -%}
  {%- set columns = duckdb_postgres__query_columns(sql) -%}
  {%- set configs = duckdb_postgres__model_configs() -%}
  {#-- before the pre-hooks: one error naming the database problem and every config problem --#}
  {%- do adapter.pg_write_options(mode, configs, label, columns, [target_problem] if target_problem else []) -%}
  {#-- an enforced contract: names and types checked with dbt's own assertion, before anything is written --#}
  {%- set constraints = duckdb_postgres__contract_constraints(target_relation, sql) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  -- BEGIN (opened by the write's first statement): one DuckDB transaction is one
  -- Postgres transaction on the target (docs/architecture.md "Transactions")
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- set result = duckdb_postgres__write(mode, target_relation, sql, configs, label, columns, constraints) -%}
  {{ duckdb_postgres__store_result(result) }}
  {%- do duckdb_postgres__pg_persist_docs(target_relation, model) -%}
  {{ run_hooks(post_hooks, inside_transaction=True) }}

  -- COMMIT: the new data becomes visible (incremental batches committed on their own)
  {%- do adapter.pg_commit() -%}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {#-- the pg_targets config: here, not in run_hooks, which a project may override --#}
  {%- do duckdb_postgres__write_pg_targets() -%}

  {{ return({'relations': [target_relation]}) }}
{%- endmacro %}


{#-- is_incremental() -> bool
     dbt's macro (which overrides it: dbt's own only knows
     materialized='incremental', and calling it by package name would resolve
     back here), extended: inside pg_incremental_by_time and pg_upsert_by_key it
     is true when the target exists in Postgres and no full refresh was asked for. --#}
{% macro is_incremental() -%}
  {%- if not execute -%}
    {{ return(false) }}
  {%- elif model.config.materialized in ['pg_incremental_by_time', 'pg_upsert_by_key'] -%}
    {{ return(this.database in adapter.pg_connection_names()
              and duckdb_postgres__relation_info(this)['kind'] is not none
              and not should_full_refresh()) }}
  {%- endif -%}
  {%- set relation = adapter.get_relation(this.database, this.schema, this.table) -%}
  {{ return(relation is not none
            and relation.type == 'table'
            and model.config.materialized == 'incremental'
            and not should_full_refresh()) }}
{%- endmacro %}


{#-- duckdb_postgres__contract_constraints(relation, sql) -> dict or none
     For a model with `contract: {enforced: true}`: dbt's own assertion that the
     model's column names and data types equal the contract's
     (get_assert_columns_equivalent, as dbt-postgres' table DDL; the types are
     compared in DuckDB, which computes the model), then the contract's
     constraints rendered for the Postgres table (adapter.pg_contract_constraints:
     not_null, unique, primary_key, check, foreign_key). The table gets the
     Postgres types the type map gives the (asserted) model types.
     Returns none without an enforced contract. Raises dbt's contract error. --#}
{% macro duckdb_postgres__contract_constraints(relation, sql) -%}
  {%- set contract = config.get('contract') -%}
  {%- if not (contract and contract.enforced) -%}{{ return(none) }}{%- endif -%}
  {{ get_assert_columns_equivalent(sql) }}
  {{ return(adapter.pg_contract_constraints(relation, model['columns'], model['constraints'])) }}
{%- endmacro %}
