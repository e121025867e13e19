"""The local DuckDB environment with the profile's PostgreSQL connections attached."""

import dataclasses
import os
import secrets
from typing import Any
from typing import Dict
from typing import List
from typing import Optional

import duckdb
from dbt.adapters.duckdb.environments.local import LocalEnvironment
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres import embedded
from dbt.adapters.duckdb_postgres.catalog_cache import RetryingCursor
from dbt.adapters.duckdb_postgres.credentials import DEFAULT_APPLICATION_NAME
from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.credentials import PostgresConnection
from dbt.adapters.duckdb_postgres.extension import load_postgres_extension
from dbt.adapters.duckdb_postgres.quoting import quote_conninfo_value
from dbt.adapters.duckdb_postgres.quoting import quote_literal

logger = AdapterLogger("DuckDBPostgres")

# Marks every PostgreSQL session this process opens: appended to the connection's
# application_name (" [<pid>-<random>]"), so a cancel can find exactly this
# process's backends in pg_stat_activity (the postgres extension does not expose
# the backend pid of its pooled connections). Printable ASCII, which PostgreSQL
# keeps as is (it replaces other characters in application_name with '?').
PROCESS_TAG = f"{os.getpid()}-{secrets.token_hex(3)}"
# PostgreSQL truncates application_name to NAMEDATALEN - 1 bytes
_APPLICATION_NAME_BYTES = 63


def tagged_application_name(name: str) -> str:
    """``name`` with this process's tag appended, shortened so the tag survives
    PostgreSQL's 63-byte limit (the name is cut, never the tag)."""
    suffix = f" [{PROCESS_TAG}]"
    room = _APPLICATION_NAME_BYTES - len(suffix)
    return name.encode()[:room].decode(errors="ignore") + suffix


def attach_connection(conn: Any, pg: PostgresConnection) -> None:
    """Create the secret for ``pg`` on DuckDB connection ``conn`` and ATTACH it.

    Starts the embedded server first when ``pg.embedded`` is set. The session's
    application_name carries this process's tag (:func:`tagged_application_name`).

    Raises:
        DbtRuntimeError: naming the connection and where it points; the
            message never contains the password (DuckDB reports a secret-based
            failure as ``Unable to connect to Postgres at ""``).
    """
    if pg.embedded:
        embedded.prepare(pg)
    name = pg.conninfo.get("application_name", DEFAULT_APPLICATION_NAME)
    pg = dataclasses.replace(
        pg, conninfo={**pg.conninfo, "application_name": tagged_application_name(name)}
    )
    try:
        conn.execute(pg.secret_sql())
    except duckdb.Error as e:
        raise DbtRuntimeError(
            f"postgres connection '{pg.name}': could not create its DuckDB secret "
            f"({type(e).__name__})"
        ) from None
    try:
        conn.execute(pg.attach_sql())
    except duckdb.Error as e:
        raise DbtRuntimeError(
            f"postgres connection '{pg.name}' ({pg.describe()}) failed: {mask_secrets(str(e), pg)}"
        ) from None


def mask_secrets(text: str, pg: PostgresConnection) -> str:
    """``text`` with every secret of ``pg`` masked: the password and secret libpq
    parameters a DSN may bring into the ATTACH string (sslpassword), in both
    their raw and conninfo-quoted forms."""
    for secret in pg.secrets():
        text = text.replace(quote_conninfo_value(secret), "'****'").replace(secret, "****")
    return text


def _ensure_parent_folder(path: str) -> None:
    """Create the folder of a local DuckDB file (e.g. `target/` on a fresh clone,
    before dbt has created it). Paths with a URL scheme (md:, s3://) are left alone."""
    if not path or path == ":memory:" or ":" in path.split("/")[0]:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


# DuckDB startup setting (it cannot change once the database runs) that keeps one
# INTERNAL error from invalidating the whole database instance.
_NO_INVALIDATION = "disable_database_invalidation"


def _survive_connection_loss(creds: DuckDBPostgresCredentials) -> DuckDBPostgresCredentials:
    """``creds`` with DuckDB's ``disable_database_invalidation`` turned on, unless the
    profile's ``config_options`` choose a value.

    Why: the postgres extension reports a connection lost in the middle of a write
    (server restart, ``pg_terminate_backend``, network cut) as an INTERNAL error
    ("Error during PQputCopyData", duckdb/duckdb-postgres#... see below). DuckDB
    invalidates the database on an INTERNAL error raised during execution
    (duckdb/duckdb#15588); every later statement, ROLLBACK included, is then refused,
    and when the connection is finally closed its open transaction is rolled back in
    a destructor whose Postgres ROLLBACK fails on the dead connection: the process
    aborts (SIGABRT) before dbt can report anything. With invalidation disabled the
    failed write is an ordinary error: ROLLBACK ends the DuckDB transaction (its
    Postgres side died with the connection, so Postgres rolled it back), the
    extension's connection pool opens a new Postgres connection, and the next models
    run. Only connections with postgres attachments change.
    """
    options = dict(creds.config_options or {})
    if not creds.postgres_connections or _NO_INVALIDATION in options:
        return creds
    options[_NO_INVALIDATION] = True
    return dataclasses.replace(creds, config_options=options)


class PostgresEnvironment(LocalEnvironment):
    """dbt-duckdb's local environment, plus: load the postgres extension offline,
    then create one secret and ATTACH one catalog per profile connection."""

    @classmethod
    def initialize_db(cls, creds: Any, plugins: Optional[Dict[str, BasePlugin]] = None) -> Any:
        assert isinstance(creds, DuckDBPostgresCredentials)
        _ensure_parent_folder(creds.path)
        conn = super().initialize_db(_survive_connection_loss(creds), plugins)
        try:
            connections = creds.postgres_connections
            if connections:
                load_postgres_extension(conn)
                # check Postgres for DDL made elsewhere before serving cached catalog
                # metadata, so tables created outside dbt are always visible
                conn.execute("SET GLOBAL pg_staleness_query_enabled = true")
                # time windows are UTC: a time-zone-less bound compared with a
                # timestamptz column is read in DuckDB's TimeZone, so pin it unless
                # the profile's `settings` choose one
                if not any(str(k).lower() == "timezone" for k in (creds.settings or {})):
                    conn.execute("SET GLOBAL TimeZone = 'UTC'")
            for pg in connections.values():
                attach_connection(conn, pg)
        except BaseException:
            conn.close()
            raise
        return conn

    def handle(self) -> Any:
        """dbt-duckdb's connection handle, its cursor a :class:`RetryingCursor` (a
        statement that lost a race with another thread's catalog cache clear is run
        again)."""
        wrapper = super().handle()
        cursor = wrapper.cursor()  # dbt-duckdb's DuckDBCursorWrapper, over DuckDB's
        cursor._cursor = RetryingCursor(cursor._cursor)
        return wrapper


# Run inside PostgreSQL: cancel the running statement of every other session of
# this process (a session between statements ignores a cancel request).
# (materialized first, so pg_cancel_backend never sees this session's own pid)
_CANCEL_SQL = (
    "with busy as materialized (select pid from pg_stat_activity "
    "where application_name like {pattern} and pid <> pg_backend_pid() and state = 'active') "
    "select count(*) filter (where pg_cancel_backend(pid)) from busy"
)


def cancel_postgres_statements(conn: Any, connections: List[PostgresConnection]) -> None:
    """Cancel, inside PostgreSQL, every statement this process is running there.

    DuckDB's ``interrupt()`` stops DuckDB's own work (a binary COPY ends at the
    next chunk), but a statement the extension sent with ``postgres_execute``
    (DELETE, INSERT ... ON CONFLICT, CREATE INDEX, ANALYZE) runs in a blocking
    libpq call until Postgres finishes it. ``pg_cancel_backend`` (PostgreSQL docs,
    "Server Signaling Functions") makes it fail with "canceling statement due to
    user request"; the transaction is then rolled back as for any error.

    Args:
        conn: the DuckDB database connection (a new cursor is used, so this works
            while other cursors are busy).
        connections: the profile's postgres connections (each attached catalog).

    Errors reaching a server are logged at debug level and skipped.
    """
    sql = _CANCEL_SQL.format(pattern=quote_literal(f"% [{PROCESS_TAG}]"))
    cursor = conn.cursor()
    try:
        for pg in connections:
            try:
                row = cursor.execute(
                    f"select * from postgres_query({quote_literal(pg.name)}, {quote_literal(sql)})"
                ).fetchone()
                logger.debug(f"postgres connection '{pg.name}': cancelled {row[0] if row else 0}")
            except duckdb.Error as e:
                reason = mask_secrets(str(e), pg)
                logger.debug(f"postgres connection '{pg.name}': cancel failed: {reason}")
    finally:
        cursor.close()
