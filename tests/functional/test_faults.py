"""Faults during a PostgreSQL write, with real `dbt run` subprocesses: the connection
killed in the middle of the binary COPY (``pg_terminate_backend``), and dbt
interrupted by SIGINT or SIGTERM (during the COPY, or during a statement running
inside Postgres).

Every write is >= 1M rows generated in DuckDB, so the fault lands while the COPY
(or the INSERT ... ON CONFLICT) is running: each test polls pg_stat_activity for
that statement first. After each fault: the right exit code and message, the
target unchanged (checksum) or, for pg_incremental_by_time, the completed batches
kept and the others unchanged; no leftovers; and the next run succeeds.
"""

import itertools
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from typing import Iterator
from typing import List
from typing import Optional
from typing import Tuple

import psycopg
import pytest

from tests.conftest import PostgresServer
from tests.conftest import drop_schema
from tests.conftest import random_name
from tests.functional.helpers import checksum
from tests.functional.helpers import leftovers
from tests.functional.helpers import qualified
from tests.functional.helpers import rows
from tests.functional.helpers import run_dbt_cli
from tests.functional.helpers import start_dbt_cli
from tests.functional.helpers import write_dbt_project

pytestmark = pytest.mark.slow

ROWS = 1_000_000

FULL_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i as id, {{ var('version', 1) }} as version,
       md5(i || '-' || {{ var('version', 1) }}) as payload
from range(__ROWS__) t(i)
"""

UPSERT_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select i as id, {{ var('version', 1) }} as version,
       md5(i || '-' || {{ var('version', 1) }}) as payload
from range(__ROWS__) t(i)
"""

# two rows a second from 2024-01-01: six day batches
TIME_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ts',
          batch_size='day', begin='2024-01-01') }}
select i as id, {{ var('version', 1) }} as version,
       md5(i || '-' || {{ var('version', 1) }}) as payload,
       timestamp '2024-01-01' + to_seconds(i // 2) as ts
from range(__ROWS__) t(i)
"""

# a DuckDB table copied to Postgres (same schema and name) by the pg_materialize post-hook
LOCAL_SQL = """
{{ config(materialized='table',
          post_hook=["{{ pg_materialize(connection='warehouse', mode='full') }}"]) }}
select i as id, {{ var('version', 1) }} as version,
       md5(i || '-' || {{ var('version', 1) }}) as payload
from range(__ROWS__) t(i)
"""

MODELS = {
    "faults_full": FULL_SQL,
    "faults_upsert": UPSERT_SQL,
    "faults_time": TIME_SQL,
    "faults_local": LOCAL_SQL,
}

# every batch of faults_time, so a run redoes all six
TIME_WINDOW = ["--event-time-start", "2024-01-01", "--event-time-end", "2024-01-07"]

# each faulted run writes a new version, so the rows it would change are recognizable
_VERSIONS = itertools.count(2)

SIGNAL_TO_EXIT_SECONDS = 10


class Project:
    """The dbt project of this module and where its models land in Postgres."""

    def __init__(self, root: Path, schema: str, pg_server: PostgresServer) -> None:
        self.root = root
        self.schema = schema
        self.pg_server = pg_server

    def table(self, model: str) -> Tuple[str, str]:
        """(schema, table) of the Postgres table that ``model`` writes."""
        return self.schema, model

    def args(self, model: str, version: int) -> List[str]:
        args = ["run", "--select", model, "--vars", f"{{version: {version}}}"]
        return args + (TIME_WINDOW if model == "faults_time" else [])

    def run(self, model: str, version: int) -> subprocess.CompletedProcess:
        result = run_dbt_cli(self.args(model, version), self.root, self.root, timeout=600)
        assert result.returncode == 0, f"dbt failed:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self, model: str, version: int) -> subprocess.Popen:
        """Start the run of ``model`` writing ``version``; stdout and stderr in one pipe."""
        return start_dbt_cli(
            self.args(model, version),
            self.root,
            self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def project(pg_server: PostgresServer, tmp_path_factory: Any) -> Iterator[Project]:
    """The project, every model built once (version 1)."""
    root = tmp_path_factory.mktemp("faults")
    schema = random_name("faults")
    outputs = {
        "dev": {
            "path": str(root / "dev.duckdb"),
            "schema": schema,
            "threads": 4,
            "postgres": {"warehouse": pg_server.profile_connection()},
        }
    }
    models = {f"{name}.sql": sql.replace("__ROWS__", str(ROWS)) for name, sql in MODELS.items()}
    write_dbt_project(root, "faults", models, root, outputs)
    built = Project(root, schema, pg_server)
    result = run_dbt_cli(["run", "--vars", "{version: 1}"], root, root, timeout=600)
    assert result.returncode == 0, f"dbt failed:\n{result.stdout}\n{result.stderr}"
    yield built
    drop_schema(pg_server, schema)


def wait_for_statement(
    conn: psycopg.Connection,
    pattern: str,
    proc: subprocess.Popen,
    skip: int = 0,
    timeout: float = 300,
) -> int:
    """The pid of the backend running a statement like ``pattern`` (SQL ILIKE), once
    ``skip`` earlier such statements (told apart by their start time) have been seen.

    Fails with dbt's output if dbt ends first or nothing shows up in ``timeout`` seconds.
    """
    seen: set = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"dbt ended (rc {proc.returncode}) before {pattern!r} ran:\n{out}")
        found = rows(
            conn,
            "select pid, query_start from pg_stat_activity "
            "where state = 'active' and query ilike %s and pid <> pg_backend_pid()",
            (pattern,),
        )
        for pid, started in found:
            seen.add(started)
            if len(seen) > skip:
                return int(pid)
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no statement like {pattern!r} within {timeout} s")


def copy_pattern(project: Project, model: str) -> str:
    """The COPY FROM STDIN that loads ``model``'s rows (into its tmp or stage table, or,
    for a batch of faults_time, into the target itself)."""
    schema, table = project.table(model)
    escaped = table.replace("_", "\\_")
    return f'copy "{schema}"."{escaped}%from stdin%'


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for dbt to end; its output."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"dbt did not end within {timeout} s:\n{out}")
    return str(out)


def state_of(conn: psycopg.Connection, project: Project, model: str) -> Tuple[int, str]:
    schema, table = project.table(model)
    return checksum(conn, qualified(schema, table))


def versions_by_day(conn: psycopg.Connection, project: Project) -> List[Tuple[Any, int, int]]:
    """(day, min(version), max(version)) of faults_time, by day."""
    schema, table = project.table("faults_time")
    return rows(
        conn,
        f"select ts::date, min(version), max(version) from {qualified(schema, table)} "
        "group by 1 order by 1",
    )


def no_leftovers(conn: psycopg.Connection, project: Project) -> None:
    assert leftovers(conn, project.schema) == []


def batches_kept(
    before: List[Tuple[Any, int, int]], after: List[Tuple[Any, int, int]], version: int
) -> None:
    """faults_time after a fault in a later batch: every day is one version, the days
    before the fault carry the new one (committed batches kept), the rest the old one."""
    assert [day for day, _, _ in after] == [day for day, _, _ in before]
    assert all(low == high for _, low, high in after), after
    new = [low == version for _, low, _ in after]
    assert new[0] and not new[-1], after
    assert new == sorted(new, reverse=True), after  # a prefix of the batches


def fault_run(
    project: Project,
    pg: psycopg.Connection,
    model: str,
    pattern: Optional[str],
    fault: Any,
    skip: int = 0,
) -> Tuple[str, int, float, int]:
    """Run ``model`` with a new version and apply ``fault(proc, pid)`` once the statement
    like ``pattern`` (default: its COPY) runs. Returns (output, exit code, seconds from
    the fault to the exit, version)."""
    version = next(_VERSIONS)
    proc = project.start(model, version)
    pid = wait_for_statement(pg, pattern or copy_pattern(project, model), proc, skip=skip)
    faulted = time.monotonic()
    fault(proc, pid)
    out = finish(proc)
    return out, int(proc.returncode), time.monotonic() - faulted, version


def terminate_backend(pg: psycopg.Connection) -> Any:
    def fault(proc: subprocess.Popen, pid: int) -> None:
        assert rows(pg, "select pg_terminate_backend(%s)", (pid,)) == [(True,)]

    return fault


def send(signum: int) -> Any:
    def fault(proc: subprocess.Popen, pid: int) -> None:
        proc.send_signal(signum)

    return fault


# --- connection lost in the middle of the COPY ----------------------------------------


@pytest.mark.parametrize("model", ["faults_full", "faults_upsert", "faults_local"])
def test_connection_lost_during_copy_fails_the_model(project, pg, model):
    before = state_of(pg, project, model)
    out, rc, _, version = fault_run(project, pg, model, None, terminate_backend(pg))

    assert rc == 1, out
    assert f"Failure in model {model}" in out, out
    assert "postgres connection 'warehouse'" in out, out
    assert "connection to PostgreSQL was lost" in out, out
    assert "Traceback" not in out, out
    assert state_of(pg, project, model) == before
    no_leftovers(pg, project)

    project.run(model, version)
    assert state_of(pg, project, model)[0] == ROWS
    no_leftovers(pg, project)


def test_connection_lost_during_a_batch_keeps_the_completed_batches(project, pg):
    before = versions_by_day(pg, project)
    count = state_of(pg, project, "faults_time")[0]
    out, rc, _, version = fault_run(
        project, pg, "faults_time", None, terminate_backend(pg), skip=2
    )

    assert rc == 1, out
    assert "Failure in model faults_time" in out, out
    assert "connection to PostgreSQL was lost" in out, out
    assert "Traceback" not in out, out
    batches_kept(before, versions_by_day(pg, project), version)
    assert state_of(pg, project, "faults_time")[0] == count
    no_leftovers(pg, project)

    project.run("faults_time", version)
    assert all(low == high == version for _, low, high in versions_by_day(pg, project))


def restart_server(pg_server: PostgresServer) -> None:
    """Restart the embedded test server (fast shutdown: every session is terminated)."""
    from pgserver import pg_ctl

    from dbt.adapters.duckdb_postgres import embedded

    assert pg_server.embedded_folder is not None
    server = embedded.start_server(pg_server.embedded_folder)
    args = ["-w", "-m", "fast", "-l", str(server.log), "restart"]
    pg_ctl(args, pgdata=server.pgdata, user=server.system_user, timeout=120)


def test_server_restart_during_copy_fails_the_model(project, pg_server):
    if pg_server.embedded_folder is None:
        pytest.skip("restarts the embedded test server; DBT_DUCKDB_PG_TEST_DSN's is not ours")
    with pg_server.connect() as pg:
        before = state_of(pg, project, "faults_full")
        out, rc, _, version = fault_run(
            project, pg, "faults_full", None, lambda proc, pid: restart_server(pg_server)
        )
    assert rc == 1, out
    assert "Failure in model faults_full" in out, out
    assert "connection to PostgreSQL was lost" in out, out
    assert "Traceback" not in out, out
    with pg_server.connect() as pg:
        assert state_of(pg, project, "faults_full") == before
        no_leftovers(pg, project)
        project.run("faults_full", version)
        assert state_of(pg, project, "faults_full")[0] == ROWS


# --- SIGINT / SIGTERM -----------------------------------------------------------------


def assert_cancelled(out: str, rc: int, seconds: float) -> None:
    assert rc != 0, out
    assert seconds < SIGNAL_TO_EXIT_SECONDS, f"{seconds:.1f} s from the signal to the exit"
    assert "Traceback" not in out, out
    assert "CANCEL query" in out, out
    assert "Exited because of keyboard interrupt" in out, out


@pytest.mark.parametrize("model", ["faults_full", "faults_upsert", "faults_local"])
def test_sigint_during_copy_cancels_the_write(project, pg, model):
    before = state_of(pg, project, model)
    out, rc, seconds, version = fault_run(project, pg, model, None, send(signal.SIGINT))

    assert_cancelled(out, rc, seconds)
    assert "SIGINT received" in out, out
    assert state_of(pg, project, model) == before
    no_leftovers(pg, project)

    project.run(model, version)
    assert state_of(pg, project, model)[0] == ROWS


def test_sigint_during_a_postgres_statement_cancels_it_in_postgres(project, pg):
    """The INSERT ... ON CONFLICT of an upsert runs inside Postgres (postgres_execute),
    out of DuckDB's reach: the cancel must reach Postgres."""
    before = state_of(pg, project, "faults_upsert")
    schema, table = project.table("faults_upsert")
    pattern = f'%insert into "{schema}"."{table}" as t%on conflict%'
    out, rc, seconds, version = fault_run(
        project, pg, "faults_upsert", pattern, send(signal.SIGINT)
    )

    assert_cancelled(out, rc, seconds)
    assert state_of(pg, project, "faults_upsert") == before
    no_leftovers(pg, project)
    # Postgres' own answer to pg_cancel_backend, as DuckDB reported it
    assert (
        "canceling statement due to user request"
        in (project.root / "logs" / "dbt.log").read_text()
    )

    project.run("faults_upsert", version)
    assert state_of(pg, project, "faults_upsert")[0] == ROWS


def test_sigint_during_a_batch_keeps_the_completed_batches(project, pg):
    before = versions_by_day(pg, project)
    out, rc, seconds, version = fault_run(
        project, pg, "faults_time", None, send(signal.SIGINT), skip=2
    )

    assert_cancelled(out, rc, seconds)
    batches_kept(before, versions_by_day(pg, project), version)
    no_leftovers(pg, project)


def test_sigterm_during_copy_cancels_the_write(project, pg):
    before = state_of(pg, project, "faults_full")
    out, rc, seconds, version = fault_run(project, pg, "faults_full", None, send(signal.SIGTERM))

    assert_cancelled(out, rc, seconds)
    assert "SIGTERM received" in out, out
    assert state_of(pg, project, "faults_full") == before
    no_leftovers(pg, project)

    project.run("faults_full", version)
    assert state_of(pg, project, "faults_full")[0] == ROWS
