"""The embedded PostgreSQL server (``embedded: <folder>``), driven by real ``dbt run``
subprocesses: the server is started on demand, creates the profile's database,
keeps data between invocations, and is shared by concurrent invocations.

pgserver stops the server when the last process using it exits, so each check
joins the server from this process only after the dbt processes are done.
"""

import os
import shutil
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict
from typing import List

import psycopg
import pytest

from tests.functional.helpers import run_dbt_cli
from tests.functional.helpers import start_dbt_cli
from tests.functional.helpers import write_dbt_project

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
    import pgserver
    from pgserver.utils import PostmasterInfo

DATABASE = "shop_wh"
SCHEMA = "analytics"

FIRST_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i::integer as id, 'row ' || i as label from range(1, 4) t(i)
"""

# reads `first` back from Postgres in a later dbt invocation
SECOND_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select count(*)::integer as n, sum(id)::integer as total from {{ ref('first') }}
"""

CONCURRENT_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i::integer as id, '{{ this.identifier }}' as model from range(1, 6) t(i)
"""


def make_project(folder: str, targets: Dict[str, str], models: Dict[str, str]) -> Path:
    """A dbt project in a new tmp dir, with one target per DuckDB file name."""
    root = Path(tempfile.mkdtemp(prefix="dbt_pg_embedded_project_", dir="/tmp"))
    outputs = {
        target: {
            "path": str(root / duckdb_file),
            "schema": SCHEMA,
            "threads": 1,
            "postgres": {"warehouse": {"embedded": folder, "database": DATABASE}},
        }
        for target, duckdb_file in targets.items()
    }
    model_files = {f"{name}.sql": sql for name, sql in models.items()}
    write_dbt_project(root, "embedded_test", model_files, root, outputs)
    return root


def run_dbt_process(project: Path, *args: str) -> subprocess.CompletedProcess:
    result = run_dbt_cli(args, project, project)
    assert result.returncode == 0, (
        f"dbt {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result


def start_dbt_process(project: Path, *args: str) -> subprocess.Popen:
    """Start `dbt <args>`; stdout and stderr go to one pipe."""
    return start_dbt_cli(args, project, project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def server_running(folder: str) -> bool:
    info = PostmasterInfo.read_from_pgdata(Path(folder))
    return info is not None and info.is_running()


def query_embedded(folder: str, sql: str) -> List[tuple]:
    """Join (or start) the server of ``folder`` from this process, run ``sql``, let go."""
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        info = server.get_postmaster_info()
        with psycopg.connect(
            host=str(info.socket_dir),
            port=info.port,
            dbname=DATABASE,
            user="postgres",
            autocommit=True,
        ) as conn:
            return conn.execute(sql).fetchall()
    finally:
        server.cleanup()  # removes this process; stops the server if it is the last


@pytest.fixture
def embedded_folder():
    parent = tempfile.mkdtemp(prefix="dbt_pg_embedded_", dir="/tmp")
    folder = os.path.join(parent, "pgdata")
    yield folder
    if server_running(folder):
        query_embedded(folder, "select 1")  # join and stop it
    shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.slow
def test_creates_database_and_keeps_data_across_invocations(embedded_folder):
    assert not os.path.exists(embedded_folder)
    project = make_project(
        embedded_folder, {"dev": "dev.duckdb"}, {"first": FIRST_SQL, "second": SECOND_SQL}
    )
    try:
        run_dbt_process(project, "run", "--select", "first")
        # the dbt process was the only user: the server stopped when it exited
        assert os.path.isdir(embedded_folder)
        assert not server_running(embedded_folder)

        # a second invocation restarts the server and reads `first` back from Postgres
        run_dbt_process(project, "run", "--select", "second")
        assert not server_running(embedded_folder)

        assert query_embedded(
            embedded_folder, f"select id, label from {SCHEMA}.first order by id"
        ) == [(1, "row 1"), (2, "row 2"), (3, "row 3")]
        assert query_embedded(embedded_folder, f"select n, total from {SCHEMA}.second") == [(3, 6)]
        assert query_embedded(
            embedded_folder, f"select count(*) from pg_database where datname = '{DATABASE}'"
        ) == [(1,)]
    finally:
        shutil.rmtree(project, ignore_errors=True)


def test_concurrent_invocations_share_one_server(embedded_folder):
    project = make_project(
        embedded_folder,
        {"a": "a.duckdb", "b": "b.duckdb"},
        {"model_a": CONCURRENT_SQL, "model_b": CONCURRENT_SQL},
    )
    try:
        processes = [
            start_dbt_process(project, "run", "--target", "a", "--select", "model_a"),
            start_dbt_process(project, "run", "--target", "b", "--select", "model_b"),
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            outputs = list(pool.map(lambda p: p.communicate(timeout=180)[0], processes))
        for process, output in zip(processes, outputs, strict=True):
            assert process.returncode == 0, output

        rows = query_embedded(
            embedded_folder,
            f"select 'model_a', count(*), sum(id) from {SCHEMA}.model_a "
            f"where model = 'model_a' union all "
            f"select 'model_b', count(*), sum(id) from {SCHEMA}.model_b "
            f"where model = 'model_b' order by 1",
        )
        assert rows == [("model_a", 5, 15), ("model_b", 5, 15)]
    finally:
        shutil.rmtree(project, ignore_errors=True)


WAITING_ON_LOCK_SQL = f"""
select count(*) from pg_stat_activity
where datname = '{DATABASE}' and wait_event_type = 'Lock'
"""


def test_run_while_another_session_creates_the_schema(embedded_folder):
    """What two concurrent first runs do to each other, made deterministic: a session
    creates the target schema and commits only once dbt is waiting for it."""
    project = make_project(embedded_folder, {"dev": "dev.duckdb"}, {"first": FIRST_SQL})
    server = pgserver.get_server(embedded_folder, cleanup_mode="stop")
    try:
        info = server.get_postmaster_info()
        where = {"host": str(info.socket_dir), "port": info.port, "user": "postgres"}
        with psycopg.connect(dbname="postgres", autocommit=True, **where) as admin:
            admin.execute(f"create database {DATABASE}")
        with (
            psycopg.connect(dbname=DATABASE, autocommit=True, **where) as monitor,
            psycopg.connect(dbname=DATABASE, **where) as other,
        ):
            other.execute(f"create schema {SCHEMA}")  # uncommitted
            process = start_dbt_process(project, "run")
            deadline = time.monotonic() + 120
            while monitor.execute(WAITING_ON_LOCK_SQL).fetchone()[0] == 0:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "dbt never waited for the schema lock"
                time.sleep(0.2)
            other.commit()
            output = process.communicate(timeout=180)[0]
            assert process.returncode == 0, output
            rows = monitor.execute(f"select count(*) from {SCHEMA}.first").fetchone()
            assert rows == (3,)
    finally:
        server.cleanup()
        shutil.rmtree(project, ignore_errors=True)
