{#-- duckdb_postgres__materialize(mode, materialization=none) -> {'relations': [target]}
     The body of the three pg_* materializations, and of dbt's own `table` and
     `incremental` on a Postgres target, in dbt's canonical order:
     relation and configs -> pre-hooks -> the write -> persist_docs -> post-hooks -> commit ->
     outside-transaction post-hooks -> pg_targets.
     mode: 'full' | 'incremental_by_time' | 'upsert_by_key' | 'append' |
       'delete_insert' | 'microbatch' (duckdb_postgres__write).
     materialization: the name messages use ('pg_<mode>' by default; 'table',
       "incremental (strategy 'merge')", ...).
     The target is this model's relation; `database` must be a writable postgres
     connection (a compile error names the connections otherwise). An enforced
     contract is checked before the pre-hooks (duckdb_postgres__contract_constraints). --#}
{% macro duckdb_postgres__materialize(mode, materialization=none) -%}
  {%- set materialization = materialization or 'pg_' ~ mode -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set label = materialization ~ ' model ' ~ target_relation -%}
  {%- set target_problem = adapter.pg_target_problem(target_relation, materialization) -%}
  {%- set columns = adapter.pg_query_columns(sql) -%}
  {%- set configs = duckdb_postgres__model_configs() -%}
  {#-- before the pre-hooks: one error naming the database problem and every config problem --#}
  {%- do adapter.pg_write_options(mode, configs, label, columns, [target_problem] if target_problem else []) -%}
  {#-- an enforced contract: names and types checked with dbt's own assertion, before anything is written --#}
  {%- set contract = config.get('contract') -%}
  {%- set constraints = duckdb_postgres__contract_constraints(target_relation, sql) if contract and contract.enforced else none -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  -- BEGIN (opened by the write's first statement): one DuckDB transaction is one
  -- Postgres transaction on the target (docs/architecture.md "Transactions")
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {#-- an enforced contract's runtime DDL (target/run/) shows the model SQL, as dbt's table does --#}
  {%- set select_sql = duckdb_postgres__read_first(target_relation, sql)
        if mode == 'full' and constraints is none and adapter.pg_reads_postgres(sql) else sql -%}
  {%- set result = duckdb_postgres__write(mode, target_relation, select_sql, configs, label, columns, constraints) -%}
  {%- if select_sql != sql -%}{%- do duckdb_postgres__drop_result(target_relation) -%}{%- endif -%}
  {#-- the run log line and run_results.json: rows_affected, rows_inserted / _updated / _deleted --#}
  {%- do store_result('main', response=adapter.pg_write_response(result), agate_table=adapter.pg_empty_table()) -%}
  {%- if config.get('persist_docs') -%}{%- do duckdb_postgres__pg_persist_docs(target_relation, model) -%}{%- endif -%}
  {{ run_hooks(post_hooks, inside_transaction=True) }}

  -- COMMIT: the new data becomes visible (incremental batches committed on their own)
  {%- do adapter.pg_commit() -%}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {#-- the pg_targets config: here, not in run_hooks, which a project may override --#}
  {%- if config.get('pg_targets') -%}{%- do duckdb_postgres__write_pg_targets() -%}{%- endif -%}

  {{ return({'relations': [target_relation]}) }}
{%- endmacro %}


{#-- duckdb_postgres__read_first(target, select_sql) -> str
     Run the model's SELECT into a DuckDB temp table `<identifier>__dbt_result`
     (this thread's connection only; spills to DuckDB's temp_directory beyond
     memory_limit) before the write sends its first Postgres statement, and
     return `select * from` it. Once a DuckDB transaction has written to an
     attached Postgres database, the postgres extension reads every attached
     table through that one write connection: one serial COPY per table instead
     of parallel ctid-range COPYs on pooled connections, which made a pg_full
     model's read up to twice as slow as the same SELECT alone. Only pg_full
     uses it: upsert_by_key reads under its target lock, incremental_by_time
     filters the SELECT per batch. A SELECT that reads no Postgres table
     (adapter.pg_reads_postgres: DuckDB tables, this run's source snapshots)
     streams into the COPY instead: the join of a 6M-row TPC-H fact held in a
     temp table first cost 3.7 s and its memory. --#}
{% macro duckdb_postgres__read_first(target, select_sql) -%}
  {%- set result_table = duckdb_postgres__result_table(target) -%}
  {%- call statement('pg_read_model', auto_begin=True) -%}
    create or replace temp table {{ result_table }} as {{ select_sql }}
  {%- endcall -%}
  {{ return('select * from ' ~ result_table) }}
{%- endmacro %}


{#-- duckdb_postgres__drop_result(target) -> None
     Drop the temp table of duckdb_postgres__read_first (inside the model's
     transaction; a rollback drops it too). --#}
{% macro duckdb_postgres__drop_result(target) -%}
  {%- call statement('pg_drop_model_result') -%}
    drop table if exists {{ duckdb_postgres__result_table(target) }}
  {%- endcall -%}
{%- endmacro %}


{#-- duckdb_postgres__result_table(target) -> str: the quoted DuckDB name of the
     temp table holding `target`'s model result. --#}
{% macro duckdb_postgres__result_table(target) -%}
  {{ return('temp.main.' ~ adapter.pg_quote(target.identifier ~ '__dbt_result')) }}
{%- endmacro %}


{#-- is_incremental() -> bool
     dbt's macro (which overrides it: dbt's own only knows
     materialized='incremental', and calling it by package name would resolve
     back here), extended: inside pg_incremental_by_time and pg_upsert_by_key, and
     dbt's incremental on a Postgres target, it is true when the target exists in
     Postgres (asked inside Postgres, not DuckDB's catalog cache) and no full
     refresh was asked for. dbt-core's microbatch runner replaces it per batch. --#}
{% macro is_incremental() -%}
  {%- if not execute -%}
    {{ return(false) }}
  {%- elif model.config.materialized in ['pg_incremental_by_time', 'pg_upsert_by_key']
        or (model.config.materialized == 'incremental' and this.database in adapter.pg_connection_names()) -%}
    {{ return(this.database in adapter.pg_connection_names()
              and adapter.pg_relation_info(this)['kind'] is not none
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
