"""A connection's password never leaks (docs/architecture.md "Profile" and "Secrets").

This module starts its own PostgreSQL server (pgserver) in which a login role
needs a password (scram-sha-256 in pg_hba.conf), so a run only succeeds when the
password really reached Postgres. Real `dbt` CLI subprocesses then run `debug`,
`run` and `build` with the right password, a wrong one and an unreachable
server, in text and JSON log formats and at debug level, with the password
given as a field or inside a DSN. After each, the password (raw and in every
escaping a log or an error could use) must appear in none of stdout, stderr,
`logs/` or `target/`; the data in Postgres shows whether the run wrote anything.
"""

import json
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Tuple

import psycopg
import pytest
from psycopg import sql

from tests.functional.helpers import run_dbt_cli
from tests.functional.helpers import table_exists
from tests.functional.helpers import write_dbt_project

# Quotes, %, {} and spaces: each breaks a different naive quoting or formatting.
SECRET = "s3nt'in\"el %s {x} pw"
WRONG_SECRET = "wr0ng'pa\"ss %s {y} pw"
# The password of a client SSL key: a secret too, given through a DSN parameter.
SSL_KEY_SECRET = "k3ypass'w\"rd %s {z} pw"

ROLE = "dbt_pw_role"
DATABASE = "pw_db"
TARGET_SCHEMA = "analytics"
CONNECTION = "wh"

SOURCES_YML = """
sources:
  - name: app
    database: wh
    schema: src
    tables:
      - name: items

models:
  - name: items_copy
    columns:
      - name: id
        data_tests:
          - not_null
"""

ITEMS_COPY_SQL = """
{{ config(materialized='pg_full', database='wh') }}
select id, name from {{ source('app', 'items') }}
"""

# Fails inside Postgres after a successful connection (only run when selected).
PG_ERROR_SQL = """
{{ config(materialized='pg_full', database='wh', enabled=var('with_pg_error', false)) }}
select * from postgres_query('wh', 'select 1 / 0 as x')
"""

SEED_SQL = """
create schema src authorization {role};
create table src.items (id integer, name text);
insert into src.items values (1, 'a'), (2, 'b'), (3, 'c');
alter table src.items owner to {role};
"""


def secret_variants(secret: str) -> List[str]:
    """The secret as any log, error or file could spell it: raw, SQL-escaped
    (`''`), JSON-escaped, libpq-conninfo-escaped (`\\'`), URL-encoded, and its
    distinctive pieces (so a partial echo is caught too)."""
    variants = {
        secret,
        secret.replace("'", "''"),
        json.dumps(secret)[1:-1],
        secret.replace("\\", "\\\\").replace("'", "\\'"),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        repr(secret)[1:-1],
    }
    head, tail = secret.split("'", 1)
    variants.update(
        {
            head,  # e.g. "s3nt": no file or message of this test contains it otherwise
            head + "'" + tail.split('"')[0],
            head + "''" + tail.split('"')[0],
            tail.split('"', 1)[1],  # e.g. "el %s {x} pw"
        }
    )
    return sorted(variants)


ALL_SECRETS = [SECRET, WRONG_SECRET, SSL_KEY_SECRET]
NEEDLES = sorted({v for s in ALL_SECRETS for v in secret_variants(s)})


@dataclass
class Server:
    folder: str
    socket_dir: str
    port: int


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """An embedded PostgreSQL server of this module where ROLE needs its password."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import pgserver

    folder = tempfile.mkdtemp(prefix="dbt_pw_pg_", dir="/tmp")
    srv = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        info = srv.get_postmaster_info()
        socket_dir = str(info.socket_dir or folder)
        port = int(info.port or 5432)
        admin = {"host": socket_dir, "port": port, "user": "postgres", "autocommit": True}
        with psycopg.connect(dbname="postgres", **admin) as conn:
            conn.execute(
                sql.SQL("create role {} login password {}").format(
                    sql.Identifier(ROLE), sql.Literal(SECRET)
                )
            )
            conn.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(ROLE)
                )
            )
        with psycopg.connect(dbname=DATABASE, **admin) as conn:
            conn.execute(sql.SQL(SEED_SQL).format(role=sql.Identifier(ROLE)))
            _require_password(Path(folder) / "pg_hba.conf", ROLE)
            conn.execute("select pg_reload_conf()")
        # the role cannot get in without its password ...
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(host=socket_dir, port=port, user=ROLE, dbname=DATABASE).close()
        # ... and gets in with it
        psycopg.connect(
            host=socket_dir, port=port, user=ROLE, dbname=DATABASE, password=SECRET
        ).close()
        yield Server(folder, socket_dir, port)
    finally:
        srv.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _require_password(hba: Path, role: str) -> None:
    """Put scram-sha-256 rules for ``role`` before pgserver's trust rules."""
    rules = f"local all {role} scram-sha-256\nhost all {role} 127.0.0.1/32 scram-sha-256\n"
    text = hba.read_text()
    new_text, count = re.subn(r"(?m)^(local\s+all\s+all\s)", lambda m: rules + m.group(1), text)
    assert count == 1, "pg_hba.conf has no 'local all all' line to insert before"
    hba.write_text(new_text)


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[psycopg.Connection]:
    """A superuser connection to DATABASE (trust over the socket), for assertions."""
    with psycopg.connect(
        host=server.socket_dir, port=server.port, user="postgres", dbname=DATABASE, autocommit=True
    ) as conn:
        yield conn


def _dsn(password: str, server: Server, **params: Any) -> str:
    """A libpq URI for ROLE with ``password`` URL-encoded, reaching the server's socket."""
    query = urllib.parse.urlencode(
        {"host": server.socket_dir, "port": server.port, **params}, quote_via=urllib.parse.quote
    )
    return f"postgresql://{ROLE}:{urllib.parse.quote(password, safe='')}@/{DATABASE}?{query}"


def _profile_connections(server: Server) -> Dict[str, Dict[str, Any]]:
    """The `postgres:` entry of each profile target (all named CONNECTION)."""
    fields = {"host": server.socket_dir, "port": server.port, "database": DATABASE}
    return {
        "good": {**fields, "username": ROLE, "password": SECRET},
        "wrong": {**fields, "username": ROLE, "password": WRONG_SECRET},
        "down": {**fields, "host": "127.0.0.1", "port": 1, "username": ROLE, "password": SECRET},
        "dsn_good": {"dsn": _dsn(SECRET, server)},
        "dsn_wrong": {"dsn": _dsn(WRONG_SECRET, server)},
        "dsn_down": {
            "dsn": f"postgresql://{ROLE}:{urllib.parse.quote(SECRET, safe='')}"
            f"@127.0.0.1:1/{DATABASE}"
        },
        "dsn_sslpassword_wrong": {"dsn": _dsn(WRONG_SECRET, server, sslpassword=SSL_KEY_SECRET)},
    }


def _postgres_mapping(name: str, server: Server) -> Any:
    """The `postgres:` value of target ``name``: the named connections, except for
    `postgres_is_a_dsn`, the mistake of giving one DSN instead of a mapping."""
    if name == "postgres_is_a_dsn":
        return _dsn(SECRET, server)
    return {CONNECTION: _profile_connections(server)[name]}


@pytest.fixture(scope="module")
def project(server: Server, tmp_path_factory: Any) -> Tuple[Path, Path]:
    """(project dir, profiles dir). profiles.yml lives outside the project: it is
    the one file that must hold the passwords, so it is not scanned."""
    root = tmp_path_factory.mktemp("pw_leak")
    project_dir, profiles_dir = root / "project", root / "profiles"
    models = {
        "sources.yml": SOURCES_YML,
        "items_copy.sql": ITEMS_COPY_SQL,
        "pg_error.sql": PG_ERROR_SQL,
    }
    outputs = {
        name: {
            "path": str(project_dir / "target" / "pw.duckdb"),
            "schema": TARGET_SCHEMA,
            "threads": 2,
            "postgres": _postgres_mapping(name, server),
        }
        for name in [*_profile_connections(server), "postgres_is_a_dsn"]
    }
    write_dbt_project(project_dir, "pw_project", models, profiles_dir, outputs, target="good")
    return project_dir, profiles_dir


def run_for_target(
    project: Tuple[Path, Path], target: str, args: List[str]
) -> subprocess.CompletedProcess:
    """Run `dbt <args>` for ``target`` in a fresh process, from a clean logs/ and target/."""
    project_dir, profiles_dir = project
    shutil.rmtree(project_dir / "logs", ignore_errors=True)
    shutil.rmtree(project_dir / "target", ignore_errors=True)
    (project_dir / "target").mkdir()
    return run_dbt_cli([*args, "--target", target], project_dir, profiles_dir)


def find_leaks(project_dir: Path, result: subprocess.CompletedProcess) -> List[str]:
    """Every (place, variant) where a secret shows up: stdout, stderr and each
    file under logs/ and target/ (read as bytes, so binary files are searched too)."""
    places: List[Tuple[str, bytes]] = [
        ("stdout", result.stdout.encode()),
        ("stderr", result.stderr.encode()),
    ]
    for folder in ("logs", "target"):
        for path in sorted((project_dir / folder).rglob("*")):
            if path.is_file():
                places.append((str(path.relative_to(project_dir)), path.read_bytes()))
    return [
        f"{place}: {needle!r}"
        for place, data in places
        for needle in NEEDLES
        if needle.encode() in data
    ]


def items_copy_rows(admin: psycopg.Connection) -> Tuple[int, int] | None:
    """(count, sum(id)) of the model's table in Postgres, or None when it does not exist."""
    if not table_exists(admin, TARGET_SCHEMA, "items_copy"):
        return None
    row = admin.execute(f"select count(*), sum(id) from {TARGET_SCHEMA}.items_copy").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("variant", secret_variants(SECRET))
def test_leak_finder_sees_every_variant(variant: str, tmp_path: Path) -> None:
    """The detector itself: a secret planted in any spelling, in any scanned place, is found."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "target" / "run").mkdir(parents=True)
    (tmp_path / "target" / "run" / "x.duckdb").write_bytes(b"\x00" + variant.encode() + b"\xff")
    result = subprocess.CompletedProcess(["dbt"], 1, f"error: {variant}", "")

    leaks = find_leaks(tmp_path, result)

    assert any(leak.startswith("stdout:") for leak in leaks)
    assert any(leak.startswith("target/run/x.duckdb:") for leak in leaks)


# (id, profile target, dbt arguments, expected to succeed, a phrase proving the path taken).
# Each of debug/run/build meets each failure mode once; text and JSON logs, at debug level
# (where dbt logs the SQL it sends) or not, are spread over them: one dbt process costs 3-8 s.
DEBUG = ["--debug"]
JSON_FILE = ["--log-format-file", "json"]
JSON_ALL = ["--log-format", "json"]
AUTH_FAILED = "password authentication failed"
REFUSED = "postgres connection 'wh'"
SCENARIOS = [
    ("good-debug", "good", ["debug"], True, "OK reachable"),
    ("good-run-debuglog", "good", ["run", *DEBUG], True, "INSERT 3"),
    ("good-build-json-debuglog", "good", ["build", *DEBUG, *JSON_ALL], True, "not_null"),
    ("wrong-debug-debuglog", "wrong", ["debug", *DEBUG], False, AUTH_FAILED),
    ("wrong-run-jsonfile-debuglog", "wrong", ["run", *DEBUG, *JSON_FILE], False, AUTH_FAILED),
    ("wrong-build-json", "wrong", ["build", *JSON_ALL], False, AUTH_FAILED),
    ("down-debug", "down", ["debug"], False, REFUSED),
    ("down-run-debuglog", "down", ["run", *DEBUG], False, REFUSED),
    ("down-build-jsonfile-debuglog", "down", ["build", *DEBUG, *JSON_FILE], False, REFUSED),
    (
        "good-run-postgres-error-debuglog",
        "good",
        ["run", *DEBUG, "--select", "pg_error", "--vars", "{with_pg_error: true}"],
        False,
        "division by zero",
    ),
    ("dsn-good-debug", "dsn_good", ["debug"], True, "OK reachable"),
    ("dsn-good-build-jsonfile", "dsn_good", ["build", *DEBUG, *JSON_FILE], True, "INSERT 3"),
    ("dsn-wrong-run-debuglog", "dsn_wrong", ["run", *DEBUG], False, AUTH_FAILED),
    ("dsn-down-debug-debuglog", "dsn_down", ["debug", *DEBUG], False, REFUSED),
]


@pytest.mark.parametrize(
    "target, args, succeeds, phrase",
    [pytest.param(*s[1:], id=s[0]) for s in SCENARIOS],
)
def test_password_never_leaks(
    project: Tuple[Path, Path],
    admin: psycopg.Connection,
    target: str,
    args: List[str],
    succeeds: bool,
    phrase: str,
) -> None:
    project_dir = project[0]
    admin.execute(f"drop schema if exists {TARGET_SCHEMA} cascade")

    result = run_for_target(project, target, args)
    output = result.stdout + result.stderr

    # the scenario took the intended path
    assert (result.returncode == 0) == succeeds, output[-3000:]
    assert phrase in output, output[-3000:]
    assert (project_dir / "logs" / "dbt.log").is_file()
    if "--debug" in args:  # debug level: the SQL dbt sends is in the log file
        assert "select" in (project_dir / "logs" / "dbt.log").read_text().lower()
    if "json" in args:
        log_lines = (project_dir / "logs" / "dbt.log").read_text().splitlines()
        assert log_lines and all(json.loads(line) for line in log_lines if line.strip())

    # Postgres holds the model exactly when the run succeeded
    if args[0] in ("run", "build"):
        expected = (3, 6) if succeeds else None
        assert items_copy_rows(admin) == expected

    assert find_leaks(project_dir, result) == []


def test_sslpassword_in_dsn_never_leaks(
    project: Tuple[Path, Path], admin: psycopg.Connection
) -> None:
    admin.execute(f"drop schema if exists {TARGET_SCHEMA} cascade")

    result = run_for_target(project, "dsn_sslpassword_wrong", ["debug"])

    assert result.returncode != 0
    assert "password authentication failed" in result.stdout + result.stderr
    assert find_leaks(project[0], result) == []


def test_dsn_given_as_the_whole_postgres_key_never_leaks(
    project: Tuple[Path, Path], admin: psycopg.Connection
) -> None:
    admin.execute(f"drop schema if exists {TARGET_SCHEMA} cascade")

    result = run_for_target(project, "postgres_is_a_dsn", ["run"])

    assert result.returncode != 0
    assert items_copy_rows(admin) is None
    assert find_leaks(project[0], result) == []
