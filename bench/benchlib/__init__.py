"""The benchmark harness behind ``bench/run.py``.

Modules: ``server`` (the PostgreSQL server, psql, libpq strings), ``proxy`` (a
byte- and row-counting proxy for transfer measurements), ``data`` (the
deterministic data set in DuckDB and Postgres), ``dbtrun`` (dbt projects and
timed ``dbt`` subprocesses), ``results`` (measurements and progress),
``suites/`` (what is measured) and ``report`` (JSON, Markdown, PNG, goals).
"""
