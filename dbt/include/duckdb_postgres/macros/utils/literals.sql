{#-- pg_window_start(as_type='timestamp') / pg_window_end(as_type='timestamp') -> str
     The bounds [start, end) of the current pg_incremental_by_time run (UTC) as
     SQL literals, for model SQL: `where ordered_at >= {{ pg_window_start() }}`.
     Literal filters on a Postgres source reach Postgres (docs/architecture.md: literal
     filters are pushed into the scan), so only the window's rows are read.
     as_type: 'timestamp' | 'timestamptz' | 'date'. With no lower bound (first
     build without `begin`) pg_window_start() is timestamp '-infinity'. At parse
     time both render a placeholder. --#}
{% macro pg_window_start(as_type='timestamp') -%}
  {{ return(duckdb_postgres__window_bound('start', as_type)) }}
{%- endmacro %}

{#-- pg_window_end(as_type='timestamp') -> str: the exclusive upper bound (see pg_window_start;
     with as_type='date' an end inside a day rounds up to the next day). --#}
{% macro pg_window_end(as_type='timestamp') -%}
  {{ return(duckdb_postgres__window_bound('end', as_type)) }}
{%- endmacro %}

{#-- duckdb_postgres__window_bound(which: 'start'|'end', as_type) -> str
     The literal behind pg_window_start/pg_window_end for the current model (`this`).
     Raises a compilation error for an unknown as_type or invalid model configs. --#}
{% macro duckdb_postgres__window_bound(which, as_type) -%}
  {%- if not execute -%}
    {{ return("timestamp '1970-01-01 00:00:00'") }}
  {%- endif -%}
  {%- if as_type not in ['timestamp', 'timestamptz', 'date'] -%}
    {%- do exceptions.raise_compiler_error("pg_window_" ~ which ~ "(as_type=" ~ as_type ~ "): use 'timestamp', 'timestamptz' or 'date'") -%}
  {%- endif -%}
  {%- set options = duckdb_postgres__write_options('incremental_by_time', duckdb_postgres__model_configs(), 'model ' ~ this, none) -%}
  {%- set value = duckdb_postgres__time_window(this, options)[which] -%}
  {%- if value is none -%}
    {{ return(as_type ~ " '-infinity'") }}
  {%- elif as_type == 'date' -%}
    {#-- an end inside a day rounds up, so `< end` keeps that day's rows --#}
    {%- set day = modules.datetime.date.fromisoformat(value[:10]) -%}
    {%- if which == 'end' and value[11:] != '00:00:00.000000' -%}
      {%- set day = day + modules.datetime.timedelta(days=1) -%}
    {%- endif -%}
    {{ return("date '" ~ day.isoformat() ~ "'") }}
  {%- elif as_type == 'timestamptz' -%}
    {{ return("timestamptz '" ~ value ~ "+00'") }}
  {%- endif -%}
  {{ return("timestamp '" ~ value ~ "'") }}
{%- endmacro %}


{#-- pg_target_max(column: str, default="timestamp '-infinity'") -> str
     max(column) of this model's Postgres table, computed inside Postgres at run
     time and rendered as a literal (`timestamp '...'`, `date '...'`,
     `timestamptz '...'`, a number, or a quoted string). Use it instead of
     `(select max(col) from {{ this }})`: DuckDB cannot push that subquery into a
     Postgres scan (docs/architecture.md), but it pushes a literal, so only changed rows cross
     the network:
       {% if is_incremental() %} where updated_at > {{ pg_target_max('updated_at') }} {% endif %}
     Returns `default` when the table is missing or empty, and at parse time. --#}
{% macro pg_target_max(column, default="timestamp '-infinity'") -%}
  {%- if not execute or this.database not in adapter.pg_connection_names()
        or adapter.pg_relation_info(this)['kind'] is none -%}
    {{ return(default) }}
  {%- endif -%}
  {%- set quoted = adapter.pg_quote(column) -%}
  {%- set sql = 'select max(' ~ quoted ~ ')::text, pg_typeof(max(' ~ quoted ~ '))::text from ' ~ this.pg_name() -%}
  {%- set row = adapter.pg_query(this.database, sql)[0] -%}
  {%- if row[0] is none -%}
    {{ return(default) }}
  {%- elif row[1] in ['timestamp with time zone', 'timestamp without time zone', 'date'] -%}
    {%- set type = {'timestamp with time zone': 'timestamptz', 'timestamp without time zone': 'timestamp'}.get(row[1], row[1]) -%}
    {{ return(type ~ " " ~ adapter.pg_literal(row[0])) }}
  {%- elif row[1] in ['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision'] -%}
    {{ return(row[0]) }}
  {%- endif -%}
  {{ return(adapter.pg_literal(row[0])) }}
{%- endmacro %}
