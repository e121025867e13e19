"""A bad `postgres:` profile entry fails before anything runs, with an error that
names the connection and the key (docs/architecture.md "Profile"; credentials.py).

Each profile has a good connection `wh` (the test server) next to a bad one
called `bad`; `dbt run` of a pg_full model into `wh` must fail and leave nothing
in Postgres. Asserting on the message text is the point here: it is the
behaviour under test.
"""

import os
from pathlib import Path
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Tuple

import psycopg
import pytest

from tests.conftest import PostgresServer
from tests.conftest import random_name
from tests.functional.helpers import run_dbt_cli
from tests.functional.helpers import table_exists
from tests.functional.helpers import write_dbt_project

MODEL_SQL = """
{{ config(materialized='pg_full', database='wh') }}
select 1 as id
"""

# A value that must never be echoed, even under a misspelt key.
HIDDEN_VALUE = "h1dden'val %s {q}"

# (id, the `bad` connection's settings, phrases the error must contain)
# "{tmp}" is replaced by a fresh folder of the test.
CASES: List[Tuple[str, Dict[str, Any], List[str]]] = [
    (
        "unknown-key",
        {"host": "localhost", "database": "d", "username": "u", "pasword": HIDDEN_VALUE},
        [
            "unknown key(s) pasword",
            "valid keys are: host, port, database, dbname, username, user, password, dsn",
        ],
    ),
    (
        "missing-database",
        {"host": "localhost", "username": "u"},
        ["'database' is required"],
    ),
    (
        "missing-username",
        {"host": "localhost", "database": "d"},
        ["'username' is required"],
    ),
    (
        "dsn-without-database",
        {"dsn": "postgresql://u@localhost:5432"},
        ["'database' is required (or 'dbname', or a 'dsn' that names one)"],
    ),
    (
        "port-not-integer",
        {"host": "localhost", "database": "d", "username": "u", "port": "54x32"},
        ["'port' must be an integer", "54x32"],
    ),
    (
        "embedded-with-host",
        {"embedded": "{tmp}/pgdata", "host": "localhost", "database": "d"},
        ["'embedded'", "cannot be combined with 'host' or 'dsn'"],
    ),
    (
        "embedded-with-dsn",
        {"embedded": "{tmp}/pgdata", "dsn": "postgresql://u@localhost/d"},
        ["'embedded'", "cannot be combined with 'host' or 'dsn'"],
    ),
]


def _fill(settings: Dict[str, Any], tmp: Path) -> Dict[str, Any]:
    """``settings`` with "{tmp}" replaced by the test's folder."""
    return {
        key: value.replace("{tmp}", str(tmp)) if isinstance(value, str) else value
        for key, value in settings.items()
    }


def run_with_profile(
    tmp: Path, schema: str, postgres: Dict[str, Any], args: List[str]
) -> Tuple[int, str]:
    """Write a one-model project (in ``tmp``/project) and its profile (in ``tmp``) with
    the ``postgres`` connections; run `dbt <args>` there.

    Returns (exit code, stdout + stderr).
    """
    project = tmp / "project"
    output = {
        "path": str(project / "target" / "dev.duckdb"),
        "schema": schema,
        "postgres": postgres,
    }
    models = {"errors_model.sql": MODEL_SQL}
    write_dbt_project(project, "profile_errors", models, tmp, {"dev": output})
    (project / "target").mkdir(exist_ok=True)
    proc = run_dbt_cli(args, project, tmp)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def schema(pg: psycopg.Connection) -> Iterator[str]:
    """A fresh target schema, dropped afterwards."""
    name = random_name("profile_errors")
    yield name
    pg.execute(f'drop schema if exists "{name}" cascade')


def test_good_profile_runs(
    pg_server: PostgresServer, pg: psycopg.Connection, schema: str, tmp_path: Path
) -> None:
    """The control: without the bad connection the same project writes its model."""
    code, output = run_with_profile(
        tmp_path, schema, {"wh": pg_server.profile_connection()}, ["run"]
    )

    assert code == 0, output[-3000:]
    assert table_exists(pg, schema, "errors_model")


@pytest.mark.parametrize("settings, phrases", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_connection_fails_run(
    pg_server: PostgresServer,
    pg: psycopg.Connection,
    schema: str,
    tmp_path: Path,
    settings: Dict[str, Any],
    phrases: List[str],
) -> None:
    bad = _fill(settings, tmp_path)
    postgres = {"wh": pg_server.profile_connection(), "bad": bad}

    code, output = run_with_profile(tmp_path, schema, postgres, ["run"])

    assert code != 0, output[-3000:]
    assert "postgres connection 'bad':" in output, output[-3000:]
    for phrase in phrases:
        assert phrase in output, output[-3000:]
    assert HIDDEN_VALUE not in output and "h1dden" not in output
    assert "postgres connection 'wh'" not in output  # the good one is not blamed
    assert not table_exists(pg, schema, "errors_model")
    if "embedded" in bad:  # no server was started, no data folder created
        assert not os.path.exists(bad["embedded"])


def test_debug_lists_every_problem_at_once(
    pg_server: PostgresServer, pg: psycopg.Connection, schema: str, tmp_path: Path
) -> None:
    """`dbt debug` reports all bad connections in one error, each by name and key."""
    postgres: Dict[str, Any] = {"wh": pg_server.profile_connection()}
    for case_id, settings, _ in CASES:
        postgres[case_id.replace("-", "_")] = _fill(settings, tmp_path)

    code, output = run_with_profile(tmp_path, schema, postgres, ["debug"])

    assert code != 0, output[-3000:]
    assert "Invalid 'postgres' connections in profile" in output
    for case_id, _, phrases in CASES:
        lines = [
            line
            for line in output.splitlines()
            if f"postgres connection '{case_id.replace('-', '_')}':" in line
        ]
        assert lines, f"{case_id} not reported:\n{output[-3000:]}"
        for phrase in phrases:
            assert any(phrase in line for line in lines), (case_id, phrase, lines)
    assert HIDDEN_VALUE not in output and "h1dden" not in output
    assert not table_exists(pg, schema, "errors_model")
