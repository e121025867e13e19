"""A statement that binds a name of an attached Postgres catalog while another thread
clears DuckDB's catalog cache (``pg_clear_cache``) can be told the table's schema does
not exist; the adapter's cursor (catalog_cache.RetryingCursor) runs it again.

Real DuckDB, real postgres extension, real PostgreSQL: one thread clears the cache
without pause, three read two tables in a transaction. Plain DuckDB cursors show the
race (the first test); the adapter's cursors ride through it (the second).
"""

import threading
import time
from typing import Any
from typing import Callable
from typing import Iterator
from typing import List

import duckdb
import pytest

from dbt.adapters.duckdb_postgres.catalog_cache import RetryingCursor
from dbt.adapters.duckdb_postgres.credentials import parse_connection
from dbt.adapters.duckdb_postgres.environment import attach_connection
from dbt.adapters.duckdb_postgres.extension import load_postgres_extension
from tests.conftest import drop_schema
from tests.conftest import random_name

TABLES = 20


@pytest.fixture
def attached(pg_server: Any) -> Iterator[tuple]:
    schema = random_name("race")
    with pg_server.connect() as pg:
        pg.execute(f"create schema {schema}; create table {schema}.t (a int)")
        for i in range(TABLES):
            pg.execute(f"create table {schema}.o{i} (a int)")
    connection, problems = parse_connection("pgc", pg_server.profile_connection())
    assert connection is not None, problems
    conn = duckdb.connect()
    load_postgres_extension(conn)
    attach_connection(conn, connection)  # the adapter's own secret + ATTACH
    try:
        yield conn, schema
    finally:
        conn.close()
        drop_schema(pg_server, schema)


def race(
    conn: Any, schema: str, cursor: Callable[[Any], Any], seconds: float, until_error: bool
) -> List[str]:
    """Clear the cache in a loop while three threads read, for ``seconds`` (or until
    the first error, with ``until_error``); returns the readers' errors. ``cursor``
    wraps each thread's DuckDB cursor."""
    stop = time.monotonic() + seconds
    errors: List[str] = []

    def going() -> bool:
        return time.monotonic() < stop and not (until_error and errors)

    def clearer() -> None:
        c = cursor(conn.cursor())
        while going():
            c.execute("call pg_clear_cache()")

    def reader(n: int) -> None:
        c = cursor(conn.cursor())
        i = n
        while going():
            i += 1
            try:
                c.execute("begin")
                c.execute(f"select count(*) from pgc.{schema}.o{i % TABLES}").fetchall()
                c.execute(f"select count(*) from pgc.{schema}.t").fetchall()
                c.execute("commit")
            except duckdb.Error as e:
                errors.append(str(e).splitlines()[0])
                c.execute("rollback")

    threads = [threading.Thread(target=clearer)]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_plain_cursors_lose_names_during_a_clear(attached: tuple) -> None:
    conn, schema = attached
    errors = race(conn, schema, lambda c: c, seconds=30, until_error=True)
    assert errors, "no reader ever missed a name: the race this module guards against is gone"
    assert all("does not exist" in e for e in errors), errors


def test_adapter_cursors_rerun_a_statement_that_lost_the_race(attached: tuple) -> None:
    conn, schema = attached
    assert race(conn, schema, RetryingCursor, seconds=10, until_error=False) == []
