"""Helpers shared by the functional tests: reading PostgreSQL for assertions, reading
dbt's results, and running the `dbt` command line in a subprocess.

Every function that reads Postgres takes a psycopg connection (the `pg` fixture or a
connection of the test's own) and returns plain Python values to compare.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple
from typing import Union

import psycopg
import yaml

# a folder: dbt-tests-adapter's project.project_root (a py.path) or a pathlib.Path
PathLike = Union[str, "os.PathLike[str]"]

# --- PostgreSQL ------------------------------------------------------------------------


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``: a relation name for SQL text (names chosen by the tests)."""
    return f'"{schema}"."{name}"'


def rows(conn: psycopg.Connection, sql: str, params: Any = None) -> List[tuple]:
    """Every row of ``sql`` (with psycopg ``params``), as tuples."""
    return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def checksum(conn: psycopg.Connection, from_sql: str, columns: str = "t.*") -> Tuple[int, str]:
    """(row count, md5 of the rows' ``columns`` as text in a stable order) of ``from_sql``:
    a table name or a parenthesized subquery, aliased ``t``. Equal checksums mean equal
    multisets of rows."""
    row = conn.execute(
        f"select count(*), md5(coalesce(string_agg(r, '|' order by r), '')) "
        f"from (select row({columns})::text as r from {from_sql} t) x"
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def table_exists(conn: psycopg.Connection, schema: str, name: str) -> bool:
    """Whether relation ``schema.name`` exists (a table or a view)."""
    return rows(conn, "select to_regclass(%s)", (qualified(schema, name),))[0][0] is not None


def relation_oid(conn: psycopg.Connection, schema: str, name: str) -> int:
    """The pg_class oid of ``schema.name``: it changes when the table is replaced."""
    return int(rows(conn, "select %s::regclass::oid", (qualified(schema, name),))[0][0])


def leftovers(conn: psycopg.Connection, schema: str) -> List[str]:
    """Relations in ``schema`` named like a temporary, backup or stage table of a write
    (``__dbt_`` in the name): none may be left after a run, failed or not."""
    found = rows(
        conn,
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname like '%%\\_\\_dbt\\_%%'",
        (schema,),
    )
    return [r[0] for r in found]


def columns(conn: psycopg.Connection, schema: str, table: str) -> List[tuple]:
    """(column name, data type) of every column of ``schema.table``, in table order."""
    return rows(
        conn,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table),
    )


def column_names(conn: psycopg.Connection, schema: str, table: str) -> List[str]:
    """The column names of ``schema.table``, in table order."""
    return [c[0] for c in columns(conn, schema, table)]


def index_definitions(conn: psycopg.Connection, schema: str, table: str) -> List[str]:
    """The ``CREATE INDEX`` statements (pg_indexes.indexdef) of ``schema.table``, sorted."""
    found = rows(
        conn,
        "select indexdef from pg_indexes where schemaname = %s and tablename = %s",
        (schema, table),
    )
    return sorted(r[0] for r in found)


# --- dbt results -----------------------------------------------------------------------


def node_result(results: Any, name: str) -> Any:
    """The result of node ``name`` among the results of ``run_dbt``."""
    for r in results:
        if r.node.name == name:
            return r
    raise AssertionError(f"no result for {name}")


def result_message(results: Any, name: str) -> str:
    """The message of node ``name`` among the results of ``run_dbt``."""
    return str(node_result(results, name).message)


def result_status(results: Any, name: str) -> str:
    """The status of node ``name`` among the results of ``run_dbt``."""
    return str(node_result(results, name).status)


def run_results(project_root: PathLike, target_path: str = "target") -> List[Dict[str, Any]]:
    """The ``results`` of ``<project_root>/<target_path>/run_results.json``: the last
    invocation's nodes."""
    with open(os.path.join(project_root, target_path, "run_results.json")) as f:
        return json.load(f)["results"]


def adapter_responses(project_root: Any, target_path: str = "target") -> Dict[str, Dict[str, Any]]:
    """model name -> adapter_response (rows_affected, rows_inserted, ..., _message) of the
    last invocation, from its run_results.json."""
    return {
        r["unique_id"].split(".")[-1]: r["adapter_response"]
        for r in run_results(project_root, target_path)
    }


# --- dbt in a subprocess ---------------------------------------------------------------

# dbt-core's command line entry point (what the `dbt` script runs), in this interpreter
DBT_MAIN = "from dbt.cli.main import cli; cli()"


def write_dbt_project(
    project_dir: Path,
    name: str,
    models: Dict[str, str],
    profiles_dir: Path,
    outputs: Dict[str, Dict[str, Any]],
    target: Optional[str] = None,
) -> None:
    """A dbt project called ``name`` in ``project_dir`` (``models``: file name under
    models/ -> text) and its profile, also called ``name``, in
    ``profiles_dir``/profiles.yml: one target per entry of ``outputs`` (each of type
    duckdb_postgres), ``target`` (default: the first) selected."""
    (project_dir / "models").mkdir(parents=True, exist_ok=True)
    project_yml = {"name": name, "version": "1.0", "config-version": 2, "profile": name}
    (project_dir / "dbt_project.yml").write_text(yaml.safe_dump(project_yml))
    for file_name, text in models.items():
        (project_dir / "models" / file_name).write_text(text)
    profile = {
        name: {
            "target": target or next(iter(outputs)),
            "outputs": {
                key: {"type": "duckdb_postgres", **output} for key, output in outputs.items()
            },
        }
    }
    profiles_dir.mkdir(parents=True, exist_ok=True)
    (profiles_dir / "profiles.yml").write_text(yaml.safe_dump(profile))


def dbt_env() -> Dict[str, str]:
    """The environment of a dbt subprocess: this process's without its ``DBT_*``
    variables (the test session's profile and log folders must not leak in), with
    anonymous usage statistics off."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


def dbt_command(args: Sequence[str], project_dir: Path, profiles_dir: Path) -> List[str]:
    """The command line of ``dbt <args>`` for the project and profiles folders given."""
    return [
        sys.executable,
        "-c",
        DBT_MAIN,
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
    ]


def start_dbt_cli(
    args: Sequence[str], project_dir: Path, profiles_dir: Path, **popen: Any
) -> subprocess.Popen:
    """Start ``dbt <args>`` in ``project_dir`` (text mode; ``popen``: stdout, stderr, ...)."""
    return subprocess.Popen(
        dbt_command(args, project_dir, profiles_dir),
        cwd=project_dir,
        env=dbt_env(),
        text=True,
        **popen,
    )


def run_dbt_cli(
    args: Sequence[str], project_dir: Path, profiles_dir: Path, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` in ``project_dir`` to the end (``timeout`` in seconds); its exit
    code and its stdout and stderr, as text. Raises subprocess.TimeoutExpired."""
    return subprocess.run(
        dbt_command(args, project_dir, profiles_dir),
        cwd=project_dir,
        env=dbt_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
