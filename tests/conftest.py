"""Test fixtures: a real PostgreSQL server and dbt profiles that use it.

The server is the embedded one (pgserver, started once per test session in a
temporary folder) unless ``DBT_DUCKDB_PG_TEST_DSN`` names another; tests never
mock Postgres or DuckDB.
"""

import os
import tempfile
import uuid
from typing import Any
from typing import Dict
from typing import Iterator

import psycopg
import pytest

pytest_plugins = ["dbt.tests.fixtures.project"]

TEST_DATABASE = "dbt_test"


class PostgresServer:
    """Where the test server is, and how to reach it from tests and profiles."""

    def __init__(self, conninfo: Dict[str, Any], embedded_folder: str | None, dsn: str | None):
        self.conninfo = conninfo  # psycopg keyword arguments for the test database
        self.embedded_folder = embedded_folder
        self.dsn = dsn

    def connect(self, **overrides: Any) -> psycopg.Connection:
        return psycopg.connect(**{**self.conninfo, **overrides}, autocommit=True)

    def profile_connection(self, **extra: Any) -> Dict[str, Any]:
        """A ``postgres:`` profile entry pointing at the test database."""
        if self.dsn:
            return {"dsn": self.dsn, **extra}
        return {"embedded": self.embedded_folder, "database": TEST_DATABASE, **extra}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    dsn = os.environ.get("DBT_DUCKDB_PG_TEST_DSN")
    if dsn:
        from psycopg.conninfo import conninfo_to_dict

        yield PostgresServer(dict(conninfo_to_dict(dsn)), None, dsn)
        return
    from dbt.adapters.duckdb_postgres import embedded
    from dbt.adapters.duckdb_postgres.credentials import parse_connection

    folder = os.path.join(tempfile.mkdtemp(prefix="dbt_duckdb_pg_"), "pgdata")
    conn, problems = parse_connection("test", {"embedded": folder, "database": TEST_DATABASE})
    assert conn is not None, problems
    embedded.prepare(conn)  # the test process holds the server for the whole session
    yield PostgresServer(
        {"host": conn.host, "port": conn.port, "dbname": TEST_DATABASE, "user": "postgres"},
        folder,
        None,
    )


@pytest.fixture(scope="class")
def dbt_profile_target(pg_server: PostgresServer, tmp_path_factory: Any) -> Dict[str, Any]:
    """The dbt-tests-adapter profile: a DuckDB file plus `app` and `warehouse`
    connections, both to the test database."""
    path = tmp_path_factory.mktemp("duckdb") / "dev.duckdb"
    return {
        "type": "duckdb_postgres",
        "path": str(path),
        "threads": 4,
        "postgres": {
            "app": pg_server.profile_connection(),
            "warehouse": pg_server.profile_connection(),
        },
    }


@pytest.fixture
def pg(pg_server: PostgresServer) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to the test database, for assertions."""
    with pg_server.connect() as conn:
        yield conn


@pytest.fixture(scope="class")
def pg_schema(pg_server: PostgresServer, unique_schema: str) -> Iterator[str]:
    """The class's schema in Postgres (the dbt test schema name); dropped afterwards."""
    with pg_server.connect() as conn:
        conn.execute(f'drop schema if exists "{unique_schema}" cascade')
    yield unique_schema
    with pg_server.connect() as conn:
        conn.execute(f'drop schema if exists "{unique_schema}" cascade')


def random_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
