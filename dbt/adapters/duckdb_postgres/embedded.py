"""The embedded PostgreSQL server for development and tests (``embedded: <folder>``).

pgserver (PyPI) ships PostgreSQL binaries and manages one server per data
folder: the first process to ask starts it, every process registers itself,
and the last one to exit stops it. So two dbt invocations on the same folder
at once share one server. As root, pgserver runs the server as a system user
``pgserver`` that it creates (see ``docs/architecture.md``, "Embedded server").
"""

import os
import signal
import threading
import warnings
from typing import Any
from typing import Dict

from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.credentials import PostgresConnection

_LOCK = threading.Lock()
_SERVERS: Dict[str, Any] = {}


def start_server(folder: str) -> Any:
    """Start (or join) the pgserver-managed server for ``folder``; stop at exit.

    Returns:
        The ``pgserver.PostgresServer``.

    Raises:
        DbtRuntimeError: pgserver is not installed or the server did not start.
    """
    with _LOCK:
        if folder in _SERVERS:
            return _SERVERS[folder]
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp
                warnings.simplefilter("ignore")
                import pgserver
        except ImportError as e:
            raise DbtRuntimeError(
                "'embedded' needs pgserver: pip install 'dbt-duckdb-postgres[embedded]'"
            ) from e
        try:
            os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
            server = pgserver.get_server(folder, cleanup_mode="stop")
        except Exception as e:
            raise DbtRuntimeError(
                f"Could not start the embedded PostgreSQL server in {folder}: {e}"
            ) from e
        _SERVERS[folder] = server
        return server


def stop_server(folder: str, force: bool = False) -> None:
    """Give up this process's hold on the server of ``folder``: pgserver stops it
    when no other process holds it (as it does at exit). No-op when not started.

    Args:
        folder: the data folder (``embedded:``).
        force: also stop the server when pgserver would not: it keeps every
            process that ever joined in a list and never drops one that died
            (a dbt killed with SIGKILL), and after a restart (``pg_ctl restart``)
            it watches the old postmaster. With ``force`` the postmaster named in
            ``<folder>/postmaster.pid`` gets a fast shutdown (SIGINT; PostgreSQL
            docs, "Shutting Down the Server"), and SIGKILL after 15 s. For an
            owner of the folder, such as the test session.
    """
    with _LOCK:
        server = _SERVERS.pop(folder, None)
    if server is not None:
        server.cleanup()
    if force:
        _stop_postmaster(folder)


def _stop_postmaster(folder: str) -> None:
    """Fast shutdown of the server whose pid ``<folder>/postmaster.pid`` holds, if running."""
    import psutil  # a dependency of pgserver

    try:
        with open(os.path.join(folder, "postmaster.pid")) as f:
            pid = int(f.readline().strip())
        process = psutil.Process(pid)
        if "postgres" not in process.name():
            return  # a stale file whose pid now belongs to another program
    except (OSError, ValueError, psutil.Error):
        return  # no server running (or the file is gone with it)
    try:
        process.send_signal(signal.SIGINT)
        process.wait(15)
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.Error:
        pass  # it exited meanwhile


def prepare(conn: PostgresConnection) -> None:
    """Start the embedded server of ``conn`` and create its database if missing.

    Fills in ``conn.host`` (the server's Unix socket folder) and ``conn.port``.
    """
    assert conn.embedded is not None
    server = start_server(conn.embedded)
    info = server.get_postmaster_info()
    conn.host = str(info.socket_dir) if info.socket_dir else "127.0.0.1"
    conn.port = int(info.port) if info.port else 5432
    try:
        _create_database(conn.host, conn.port, conn.database or "")
    except Exception as e:
        raise DbtRuntimeError(
            f"postgres connection '{conn.name}': could not create database "
            f"{conn.database!r} on the embedded server: {e}"
        ) from e


def _create_database(host: str, port: int, database: str) -> None:
    """CREATE DATABASE unless it exists; a concurrent creator is not an error."""
    import psycopg
    from psycopg import errors
    from psycopg import sql

    with psycopg.connect(
        host=host, port=port, dbname="postgres", user="postgres", autocommit=True
    ) as admin:
        exists = admin.execute("select 1 from pg_database where datname = %s", [database])
        if exists.fetchone():
            return
        try:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        except (errors.DuplicateDatabase, errors.UniqueViolation):
            pass  # another dbt invocation created it between the check and CREATE
