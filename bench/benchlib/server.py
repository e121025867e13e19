"""The PostgreSQL server the benchmarks run against, and how to reach it.

The server is the embedded one (pgserver, started in ``<work>/pgdata`` and
stopped when this process exits) unless ``DBT_DUCKDB_PG_TEST_DSN`` names
another, as in the test suite. The embedded server is restarted to listen on
127.0.0.1 too (a free port) and every client connects by TCP, as clients of a
server on another host do, unless ``unix_socket`` is asked for: over a Unix
socket, whose send buffer is the kernel's default (``net.core.wmem_default``,
208 KiB here), DuckDB and Postgres take turns during a COPY instead of
overlapping (a 6M-row write: 34.9 s over the socket, 22.0 s over TCP; see
docs/architecture.md "Costs"). Every client reaches it the same way: psycopg
for setup and server-side work, the ``psql`` that pgserver ships for the psql
methods, libpq ``key=value`` strings for DuckDB's ATTACH, and profile entries
for dbt. A password (DSN only) travels in ``PGPASSWORD``, never in a file.
"""

import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any
from typing import Dict
from typing import List
from typing import Optional

import psycopg
from psycopg.conninfo import conninfo_to_dict

from dbt.adapters.duckdb_postgres.quoting import quote_conninfo_value

DSN_ENV = "DBT_DUCKDB_PG_TEST_DSN"
EMBEDDED_DATABASE = "bench"


def _pgserver_bin() -> Optional[Path]:
    """The folder of pgserver's PostgreSQL binaries, or None without pgserver."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            from pgserver import _commands
    except ImportError:
        return None
    return Path(_commands.POSTGRES_BIN_PATH)


class Postgres:
    """Connection facts of the benchmark server.

    Attributes:
        host: a Unix socket folder or a host name.
        port: the server port.
        database: the database the benchmarks use.
        user: the role (a superuser for the embedded server).
        password: from the DSN, if any.
        embedded: True for the pgserver-managed server started here.
        transport: how clients reach it, for reports ("TCP" or "Unix socket").
    """

    def __init__(self, work_dir: Path, unix_socket: bool = False):
        self.password: Optional[str] = None
        self.extra: Dict[str, str] = {}
        self._server: Any = None
        dsn = os.environ.get(DSN_ENV)
        if dsn:
            parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
            self.host = parts.pop("host", "localhost")
            self.port = int(parts.pop("port", 5432))
            self.database = parts.pop("dbname", "postgres")
            self.user = parts.pop("user", os.environ.get("USER", "postgres"))
            self.password = parts.pop("password", None)
            if self.password:  # for libpq in this process (DuckDB's ATTACH)
                os.environ.setdefault("PGPASSWORD", self.password)
            self.extra = parts
            self.embedded = False
        else:
            self._start_embedded(work_dir / "pgdata", unix_socket)
            self.embedded = True
        self.transport = "Unix socket" if self.host.startswith("/") else "TCP"
        self.psql_path = self._find_psql()

    def _start_embedded(self, folder: Path, unix_socket: bool) -> None:
        """Start (or join) the pgserver server in ``folder``; create the database;
        then, unless ``unix_socket``, restart it listening on 127.0.0.1 too."""
        from dbt.adapters.duckdb_postgres import embedded
        from dbt.adapters.duckdb_postgres.credentials import parse_connection

        conn, problems = parse_connection(
            "bench", {"embedded": str(folder), "database": EMBEDDED_DATABASE}
        )
        if conn is None:
            raise RuntimeError(f"embedded server settings: {problems}")
        embedded.prepare(conn)  # this process holds the server until it exits
        assert conn.host is not None and conn.port is not None
        self.host, self.port = conn.host, conn.port
        self.database, self.user = EMBEDDED_DATABASE, "postgres"
        if not unix_socket:
            self.port = _listen_on_tcp(folder, conn.host)
            self.host = "127.0.0.1"

    @staticmethod
    def _find_psql() -> str:
        """pgserver's psql (the client the issue names), else ``psql`` on PATH."""
        folder = _pgserver_bin()
        if folder is not None and (folder / "psql").exists():
            return str(folder / "psql")
        return "psql"

    # --- clients -----------------------------------------------------------

    def conninfo(self, **overrides: Any) -> Dict[str, Any]:
        """psycopg keyword arguments for the benchmark database."""
        info: Dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
            **self.extra,
        }
        if self.password:
            info["password"] = self.password
        return {**info, **overrides}

    def connect(self) -> psycopg.Connection:
        """An autocommit psycopg connection."""
        return psycopg.connect(**self.conninfo(), autocommit=True)

    def libpq(self, host: Optional[str] = None, **extra: str) -> str:
        """A libpq ``key=value`` string without the password (it comes from ``PGPASSWORD``).

        Args:
            host: overrides the host, e.g. the socket folder of a counting proxy.
        """
        parts = {
            "host": host or self.host,
            "port": str(self.port),
            "dbname": self.database,
            "user": self.user,
            **self.extra,
            **extra,
        }
        return " ".join(f"{k}={quote_conninfo_value(v)}" for k, v in parts.items())

    def env(self) -> Dict[str, str]:
        """The environment for client subprocesses (dbt, psql)."""
        env = dict(os.environ)
        env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
        env["PYTHONWARNINGS"] = "ignore"
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def profile_connection(self, host: Optional[str] = None) -> Dict[str, Any]:
        """An entry of the adapter profile's ``postgres:`` mapping (no password)."""
        entry: Dict[str, Any] = {
            "host": host or self.host,
            "port": self.port,
            "database": self.database,
            "username": self.user,
        }
        if self.password:
            entry["password"] = "{{ env_var('PGPASSWORD') }}"
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
            if key in self.extra:
                entry[key] = self.extra[key]
        return entry

    def dbt_postgres_output(self, schema: str, threads: int) -> Dict[str, Any]:
        """A dbt-postgres profile output for the benchmark database (no password)."""
        output: Dict[str, Any] = {
            "type": "postgres",
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": "{{ env_var('PGPASSWORD', '') }}",
            "dbname": self.database,
            "schema": schema,
            "threads": threads,
        }
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
            if key in self.extra:
                output[key] = self.extra[key]
        return output

    def psql(
        self, sql: str, stdout: Any = subprocess.DEVNULL, host: Optional[str] = None
    ) -> float:
        """Run ``sql`` with psql (stop at the first error); return the wall time in seconds.

        The time covers the whole psql process: start, connect, run, exit.

        Args:
            host: overrides the host, e.g. the socket folder of a counting proxy.

        Raises:
            RuntimeError: psql failed; the message carries its stderr.
        """
        cmd = [self.psql_path, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.libpq(host)]
        started = time.perf_counter()
        proc = subprocess.run(
            cmd, input=sql.encode(), stdout=stdout, stderr=subprocess.PIPE, env=self.env()
        )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.decode(errors='replace').strip()}")
        return elapsed

    def version(self) -> str:
        """The server's ``server_version``."""
        with self.connect() as conn:
            row = conn.execute("show server_version").fetchone()
        return str(row[0]) if row else "?"

    def describe(self) -> str:
        """Where the server is, for reports (no password)."""
        kind = "embedded (pgserver)" if self.embedded else f"${DSN_ENV}"
        return f"{kind} at {self.host}:{self.port}/{self.database}, clients by {self.transport}"

    def psql_version(self) -> str:
        """``psql --version`` of the client used."""
        out = subprocess.run([self.psql_path, "--version"], capture_output=True, text=True)
        return out.stdout.strip()

    def run_sql(self, statements: List[str]) -> None:
        """Run each statement in autocommit mode (setup and resets, not timed)."""
        with self.connect() as conn:
            for sql in statements:
                conn.execute(sql)  # type: ignore[arg-type]


def _listen_on_tcp(folder: Path, socket_dir: str) -> int:
    """Restart the embedded server of ``folder`` (pgserver starts it with ``-h ""``:
    no TCP) listening on 127.0.0.1 at a free port, its Unix socket still in
    ``socket_dir``; the server is stopped at exit (``embedded.stop_server`` with
    ``force``: pgserver would watch the postmaster it started). pgserver's
    cluster trusts every local connection, as it does on its socket; the bench
    server holds only generated data. Returns the port."""
    import atexit
    import socket

    from dbt.adapters.duckdb_postgres import embedded

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = embedded.start_server(str(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        from pgserver import _commands
    options = f"-h 127.0.0.1 -p {port} -k {socket_dir}"
    _commands.pg_ctl(
        ["-w", "-m", "fast", "-o", options, "-l", str(folder / "log"), "restart"],
        pgdata=folder,
        user=server.system_user,
    )
    atexit.register(embedded.stop_server, str(folder), True)
    return port
