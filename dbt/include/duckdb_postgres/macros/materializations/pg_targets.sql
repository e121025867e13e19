{#--
  dbt's own `table` and `incremental` on a Postgres target (`database` = a
  postgres connection) are written by the adapter's write layer, as pg_full and
  the incremental write modes (docs/architecture.md "dbt's table and incremental").

  The `pg_targets` config on dbt-duckdb's own materializations: `table`, `view`
  and `incremental` for this adapter on DuckDB are dbt-duckdb's (or dbt's default, for
  `view`), run unchanged, followed by the model's pg_targets writes
  (duckdb_postgres__write_pg_targets). The writes happen here, in the
  materialization, rather than in run_hooks: a project may define its own
  run_hooks macro, which would silently drop them.

  dbt picks a materialization by adapter type, most specific first
  (duckdb_postgres, then its parent duckdb, then default); these wrappers call
  the next one down by its context name, as dbt's clone materialization reuses
  the view materialization. A model with pg_targets under any other
  materialization fails after its build (the adapter's post_model_hook) instead
  of losing the writes.
--#}

{#-- duckdb_postgres__parent_materialization(name: str) -> the dbt-duckdb (or
     default) materialization macro `name`, as found in the context. --#}
{% macro duckdb_postgres__parent_materialization(name) -%}
  {%- if ('materialization_' ~ name ~ '_duckdb') in context -%}
    {{ return(context['materialization_' ~ name ~ '_duckdb']) }}
  {%- endif -%}
  {{ return(context['materialization_' ~ name ~ '_default']) }}
{%- endmacro %}


{#-- duckdb_postgres__with_pg_targets(name: str) -> the parent materialization's
     result ({'relations': [...]}), after writing the model's pg_targets.
     `dbt clone` reuses the view materialization: a clone writes no targets. --#}
{% macro duckdb_postgres__with_pg_targets(name) -%}
  {%- set result = duckdb_postgres__parent_materialization(name)() -%}
  {%- if flags.WHICH != 'clone' -%}
    {%- do duckdb_postgres__write_pg_targets() -%}
  {%- endif -%}
  {{ return(result) }}
{%- endmacro %}


{#-- duckdb_postgres__writes_postgres() -> bool
     Whether this model is a SQL model whose `database` is a postgres connection of
     the profile: dbt's own `table` and `incremental` then write through the
     adapter's write layer (writes/), like the pg_* materializations. Python models
     keep dbt-duckdb's path (their result is a DuckDB relation written through the
     attach). --#}
{% macro duckdb_postgres__writes_postgres() -%}
  {{ return(model.language == 'sql' and this.database in adapter.pg_connection_names()) }}
{%- endmacro %}



{% materialization table, adapter='duckdb_postgres', supported_languages=['sql', 'python'] %}
  {%- if duckdb_postgres__writes_postgres() -%}
    {{ return(duckdb_postgres__materialize('full', 'table')) }}
  {%- endif -%}
  {{ return(duckdb_postgres__with_pg_targets('table')) }}
{% endmaterialization %}

{% materialization view, adapter='duckdb_postgres' %}
  {{ return(duckdb_postgres__with_pg_targets('view')) }}
{% endmaterialization %}

{% materialization incremental, adapter='duckdb_postgres', supported_languages=['sql', 'python'] %}
  {%- if duckdb_postgres__writes_postgres() -%}
    {%- set mode = adapter.pg_incremental_mode(config.get('incremental_strategy'), config.get('unique_key'), this) -%}
    {{ return(duckdb_postgres__materialize(mode[0], mode[1])) }}
  {%- endif -%}
  {{ return(duckdb_postgres__with_pg_targets('incremental')) }}
{% endmaterialization %}
