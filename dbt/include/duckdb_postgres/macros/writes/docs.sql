{#--
  persist_docs for Postgres tables: the model's and its columns' descriptions
  become COMMENT ON statements run inside Postgres (postgres_execute). DuckDB's
  own COMMENT ON through the attached catalog fails ("Only altering tables is
  supported for now"), so dbt-duckdb's persist_docs cannot reach these tables.
--#}

{#-- duckdb_postgres__pg_persist_docs(relation, model) -> None
     With `persist_docs: {relation: true}` the model's description becomes the
     table's comment; with `{columns: true}` each documented column of the yml
     that the table has (matched by name, then case-insensitively) gets its
     description as the column's comment, as dbt-postgres' persist_docs does.
     Runs inside Postgres in the current transaction (opening one if needed), so
     the comments commit with the write that the caller commits. (Not named
     duckdb_postgres__persist_docs: that is the leaf dbt's persist_docs dispatches to.) --#}
{% macro duckdb_postgres__pg_persist_docs(relation, model) -%}
  {%- set persist = config.get('persist_docs') or {} -%}
  {%- set statements = [] -%}
  {%- if persist.get('relation') and model.get('description') -%}
    {%- do statements.append('comment on table ' ~ relation.pg_name() ~ ' is ' ~ adapter.pg_literal(model['description'])) -%}
  {%- endif -%}
  {%- if persist.get('columns') and model.get('columns') -%}
    {%- set existing = {} -%}
    {%- for column in duckdb_postgres__pg_columns(relation) -%}
      {%- do existing.update({column[0]: column[0]}) -%}
    {%- endfor -%}
    {%- set folded = {} -%}
    {%- for name in existing -%}{%- do folded.update({name | lower: name}) -%}{%- endfor -%}
    {%- for name, column in model['columns'].items() -%}
      {%- set table_name = existing.get(name) or folded.get(name | lower) -%}
      {%- if table_name and column.get('description') -%}
        {%- do statements.append('comment on column ' ~ relation.pg_name() ~ '.' ~ adapter.pg_quote(table_name)
            ~ ' is ' ~ adapter.pg_literal(column['description'])) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if statements -%}
    {%- do adapter.pg_execute(relation.database, statements | join(";\n")) -%}
  {%- endif -%}
{%- endmacro %}
