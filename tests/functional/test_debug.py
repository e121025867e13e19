"""`dbt debug` reports each postgres connection on its own: reachable, server
version, latency and read_only for a good one, the error for a bad one; it fails
when any is unreachable and shows no secret (docs/architecture.md "Profile")."""

import re
from pathlib import Path
from typing import Any
from typing import Dict
from typing import Tuple

import pytest

from tests.conftest import PostgresServer
from tests.functional.helpers import run_dbt_cli
from tests.functional.helpers import write_dbt_project

SECRET = "d3bug'se\"cret %s {x} pw"

# An address where nothing listens: the connection is refused at once.
UNREACHABLE = {
    "host": "127.0.0.1",
    "port": 1,
    "database": "nowhere",
    "username": "nobody",
    "password": SECRET,
    "connect_timeout": 5,
}

OK_LINE = re.compile(
    r"postgres '(?P<name>[^']+)': OK reachable, server (?P<version>\S+), "
    r"latency (?P<latency>[0-9.]+) ms, read_only=(?P<read_only>true|false)"
)

LOG_LINE_START = re.compile(r"^(\x1b\[0m)?\d\d:\d\d:\d\d")


def run_dbt_debug(tmp: Path, postgres: Dict[str, Any]) -> Tuple[int, str]:
    """`dbt debug` of an empty project whose profile has ``postgres`` connections.

    Returns (exit code, stdout + stderr + logs/dbt.log).
    """
    project = tmp / "project"
    output = {"path": str(tmp / "debug.duckdb"), "postgres": postgres}
    write_dbt_project(project, "debug_project", {}, tmp, {"dev": output})
    proc = run_dbt_cli(["debug"], project, tmp)
    log = (project / "logs" / "dbt.log").read_text()
    return proc.returncode, proc.stdout + proc.stderr + log


def connection_report(output: str, name: str) -> str:
    """What `dbt debug` printed for connection ``name``: its line and the lines
    continuing it (up to the next timestamped log line); "" when not reported."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if f"postgres '{name}': " in line:
            block = [line]
            for following in lines[i + 1 :]:
                if LOG_LINE_START.match(following):
                    break
                block.append(following)
            return "\n".join(block)
    return ""


def server_version(pg_server: PostgresServer) -> str:
    with pg_server.connect() as conn:
        row = conn.execute("show server_version").fetchone()
    assert row is not None
    return str(row[0]).split()[0]


@pytest.fixture(scope="module")
def one_unreachable(pg_server: PostgresServer, tmp_path_factory: Any) -> Tuple[int, str]:
    return run_dbt_debug(
        tmp_path_factory.mktemp("debug_bad"),
        {"good": pg_server.profile_connection(), "bad": dict(UNREACHABLE)},
    )


@pytest.fixture(scope="module")
def all_reachable(pg_server: PostgresServer, tmp_path_factory: Any) -> Tuple[int, str]:
    return run_dbt_debug(
        tmp_path_factory.mktemp("debug_good"),
        {
            "good": pg_server.profile_connection(),
            "replica": pg_server.profile_connection(read_only=True),
        },
    )


def test_all_reachable_passes(all_reachable: Tuple[int, str], pg_server: PostgresServer) -> None:
    code, output = all_reachable

    assert code == 0, output[-3000:]
    reports = {m.group("name"): m for m in OK_LINE.finditer(output)}
    assert set(reports) == {"good", "replica"}, output[-3000:]
    version = server_version(pg_server)
    for name, read_only in (("good", "false"), ("replica", "true")):
        assert reports[name].group("version") == version
        assert float(reports[name].group("latency")) > 0
        assert reports[name].group("read_only") == read_only
    assert "All checks passed!" in output


def test_one_unreachable_fails_and_names_it(
    one_unreachable: Tuple[int, str], pg_server: PostgresServer
) -> None:
    code, output = one_unreachable

    assert code != 0, output[-3000:]
    # the reachable one is still probed and reported in full
    reports = {m.group("name"): m for m in OK_LINE.finditer(output)}
    assert set(reports) == {"good"}, output[-3000:]
    assert reports["good"].group("version") == server_version(pg_server)
    assert reports["good"].group("read_only") == "false"
    # the unreachable one is reported with the reason, by name
    bad = connection_report(output, "bad")
    assert "postgres 'bad': ERROR" in bad, output[-3000:]
    assert "127.0.0.1:1" in bad and re.search(r"(?i)connection refused|could not connect", bad)
    # and dbt debug's own verdict names it too
    verdict = output[output.index("check failed") :]
    assert "postgres connection 'bad'" in verdict


def test_unreachable_reason_on_the_connection_line(one_unreachable: Tuple[int, str]) -> None:
    _, output = one_unreachable
    line = next(line for line in output.splitlines() if "postgres 'bad': ERROR" in line)

    assert "127.0.0.1:1" in line and "Runtime Error" not in line


@pytest.mark.parametrize("case", ["one_unreachable", "all_reachable"])
def test_no_secret_in_output(case: str, request: pytest.FixtureRequest) -> None:
    _, output = request.getfixturevalue(case)

    for needle in (SECRET, SECRET.replace("'", "''"), "d3bug", "{x} pw"):
        assert needle not in output
