"""Test fixtures: a real PostgreSQL server and dbt profiles that use it.

The server is the embedded one (pgserver, started once per test session in a
temporary folder) unless ``DBT_DUCKDB_PG_TEST_DSN`` names another; tests never
mock Postgres or DuckDB.

Nothing outlives the session: pytest's temporary folders, the embedded server's
data folder and pgserver's lock folder all live in one session folder, the
server is stopped when the session ends and the folder is then removed.
"""

import atexit
import os
import shutil
import tempfile
import uuid
from typing import Any
from typing import Dict
from typing import Iterator

import psycopg
import pytest

pytest_plugins = ["dbt.tests.fixtures.project"]

TEST_DATABASE = "dbt_test"

# the session folder (see the module docstring); made in pytest_configure
_SESSION_DIR: str | None = None


def pytest_configure(config: Any) -> None:
    """Create the session folder (removed when the process exits) and put pytest's
    temporary folders (unless --basetemp is given) and pgserver's lock folder in it.
    pgserver reads XDG_RUNTIME_DIR when it is imported, and dbt subprocesses of the
    tests inherit it, so every process of the session agrees on the server's lock."""
    global _SESSION_DIR
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller owns it
        return
    _SESSION_DIR = tempfile.mkdtemp(prefix="dbt_duckdb_pg_tests_")
    # removed at exit, after pgserver's own exit handler (registered later, so run
    # earlier), which takes its lock in the folder once more
    atexit.register(shutil.rmtree, _SESSION_DIR, True)
    if not config.option.basetemp:
        config.option.basetemp = os.path.join(_SESSION_DIR, "pytest")
    runtime = os.path.join(_SESSION_DIR, "run")
    os.makedirs(runtime, mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime


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

    folder = os.path.join(_SESSION_DIR or tempfile.mkdtemp(prefix="dbt_duckdb_pg_"), "pgdata")
    conn, problems = parse_connection("test", {"embedded": folder, "database": TEST_DATABASE})
    assert conn is not None, problems
    embedded.prepare(conn)  # the test process holds the server for the whole session
    try:
        yield PostgresServer(
            {"host": conn.host, "port": conn.port, "dbname": TEST_DATABASE, "user": "postgres"},
            folder,
            None,
        )
    finally:
        # the session owns this server: stop it even if a test left a dead holder
        # behind (a killed dbt) or restarted it (test_faults)
        embedded.stop_server(folder, force=True)


def base_profile(
    pg_server: PostgresServer, tmp_path_factory: Any, **extra_connections: Dict[str, Any]
) -> Dict[str, Any]:
    """A dbt-tests-adapter profile target: a new DuckDB file, 4 threads, and postgres
    connections `app` and `warehouse` (both to the test database) plus
    ``extra_connections`` (name -> ``postgres:`` entry). Modules that need more
    connections or settings override ``dbt_profile_target`` with this."""
    path = tmp_path_factory.mktemp("duckdb") / "dev.duckdb"
    return {
        "type": "duckdb_postgres",
        "path": str(path),
        "threads": 4,
        "postgres": {
            "app": pg_server.profile_connection(),
            "warehouse": pg_server.profile_connection(),
            **extra_connections,
        },
    }


@pytest.fixture(scope="class")
def dbt_profile_target(pg_server: PostgresServer, tmp_path_factory: Any) -> Dict[str, Any]:
    """The dbt-tests-adapter profile: :func:`base_profile`."""
    return base_profile(pg_server, tmp_path_factory)


@pytest.fixture
def pg(pg_server: PostgresServer) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to the test database, for assertions."""
    with pg_server.connect() as conn:
        yield conn


@pytest.fixture
def db(pg: psycopg.Connection) -> psycopg.Connection:
    """The ``pg`` connection with session time zone UTC (the adapter's windows are UTC)."""
    pg.execute("set timezone = 'UTC'")
    return pg


def drop_schema(pg_server: PostgresServer, schema: str) -> None:
    """Drop Postgres schema ``schema`` of the test database and all in it, if it exists."""
    with pg_server.connect() as conn:
        conn.execute(f'drop schema if exists "{schema}" cascade')


@pytest.fixture(scope="class")
def pg_schema(pg_server: PostgresServer, unique_schema: str) -> Iterator[str]:
    """The class's schema in Postgres (the dbt test schema name); dropped afterwards."""
    drop_schema(pg_server, unique_schema)
    yield unique_schema
    drop_schema(pg_server, unique_schema)


@pytest.fixture(scope="class")
def src_setup_sql() -> str:
    """SQL run in a new source schema (``__SRC__`` stands for its quoted name); none by
    default. A module or class with source tables overrides this fixture."""
    return ""


@pytest.fixture(scope="class")
def src_schema(pg_server: PostgresServer, unique_schema: str, src_setup_sql: str) -> Iterator[str]:
    """A Postgres schema for source tables, ``<unique_schema>_src`` (sources.yml:
    ``schema: "{{ target.schema }}_src"``), new and filled by ``src_setup_sql``;
    dropped afterwards."""
    schema = f"{unique_schema}_src"
    drop_schema(pg_server, schema)
    with pg_server.connect() as conn:
        conn.execute(f'create schema "{schema}"')
        if src_setup_sql:
            conn.execute(src_setup_sql.replace("__SRC__", f'"{schema}"'))
    yield schema
    drop_schema(pg_server, schema)


def random_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
