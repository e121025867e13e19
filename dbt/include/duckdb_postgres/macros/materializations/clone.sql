{#--
  `dbt clone` of Postgres-resident models: the adapter leaves of dbt's clone
  materialization (dbt-adapters materializations/models/clone/), which stays
  dbt's own.

  What a clone is here: a TABLE COPY made inside Postgres, in the target's
  connection (`CREATE TABLE ... (LIKE <defer relation> INCLUDING ALL)` and
  `INSERT ... SELECT *`, one Postgres transaction through postgres_execute).
  Postgres has no zero-copy clone; dbt-postgres therefore falls back to dbt's view
  materialization, a view `select * from <defer relation>`. That is wrong for the
  pg_* models:
    - the views could not even be made: DuckDB sends DuckDB-dialect SQL for
      `CREATE VIEW` in an attached Postgres and cannot `ALTER VIEW ... RENAME` there
      (the "Only altering tables is supported" error of dbt clone before);
    - a simple Postgres view is automatically updatable, and the pg_* incremental
      modes write into an existing relation: a CI run of a cloned
      pg_incremental_by_time or pg_upsert_by_key model would DELETE and INSERT
      through the view into the production table;
    - a view depends on the production table, so production's next pg_full swap
      with changed columns would fail until every PR schema is dropped.
  A copy is independent of production and writable, as a zero-copy clone is; it
  costs one pass over the rows inside Postgres (nothing crosses to DuckDB). Its
  indexes, defaults, constraints and comments come with LIKE ... INCLUDING ALL;
  identity and generated columns become plain columns holding the copied values.
  A failure rolls the whole copy back: no table and no leftovers (the schema is
  created by dbt before any clone, as for `dbt run`).

  Models that are not in a postgres connection keep dbt-duckdb's clone (a view).
--#}

{#-- duckdb_postgres__can_clone_table() -> bool
     True when the model being cloned (`this`, from the clone materialization's
     context) lives in a postgres connection: dbt's clone then calls
     create_or_replace_clone for a table defer relation. False elsewhere, as
     dbt-duckdb (dbt's default): a view. --#}
{% macro duckdb_postgres__can_clone_table() -%}
  {{ return(this is not none and this.database in adapter.pg_connection_names()) }}
{%- endmacro %}


{#-- duckdb_postgres__create_or_replace_clone(this_relation, defer_relation) -> str
     this_relation: the model in the current target (a postgres connection);
     defer_relation: the same model in the --state manifest's target.
     Replaces this_relation by a copy of defer_relation inside Postgres and
     commits it (dbt's clone materialization never commits, and the connection's
     open transaction is rolled back when it is released). Returns the statement
     dbt's clone materialization then runs as 'main': a no-op SELECT.
     Raises a compilation error when the two relations are in different
     connections (a clone is made inside one Postgres database) or the target
     connection is read_only; a database error (nothing written) when the copy fails. --#}
{% macro duckdb_postgres__create_or_replace_clone(this_relation, defer_relation) -%}
  {%- set label = 'dbt clone ' ~ defer_relation ~ ' -> ' ~ this_relation -%}
  {%- do adapter.pg_check_target(this_relation, label) -%}
  {%- if defer_relation.database != this_relation.database -%}
    {%- do exceptions.raise_compiler_error(label ~ ": the state's relation is in database '"
        ~ defer_relation.database ~ "', the target in postgres connection '" ~ this_relation.database
        ~ "'; a clone is copied inside one Postgres database. Build the model with dbt run instead.") -%}
  {%- endif -%}
  {%- set target = this_relation.pg_name() -%}
  {%- set source = defer_relation.pg_name() -%}
  {%- set clone_sql -%}
    drop table if exists {{ target }};
    create table {{ target }} (like {{ source }} including all excluding identity excluding generated);
    insert into {{ target }} select * from {{ source }};
    analyze {{ target }}
  {%- endset -%}
  {#-- BEGIN: the copy is one Postgres transaction --#}
  {%- do adapter.pg_execute(this_relation.database, clone_sql) -%}
  {#-- COMMIT the copy --#}
  {%- do adapter.pg_commit() -%}
  {%- call statement('pg_clear_cache') -%}
    call pg_clear_cache()
  {%- endcall -%}
  {{ log(label ~ ": copied inside Postgres", info=true) }}
  {{ return("select " ~ adapter.pg_literal('CLONE ' ~ defer_relation ~ ' AS TABLE COPY') ~ " as status") }}
{%- endmacro %}
