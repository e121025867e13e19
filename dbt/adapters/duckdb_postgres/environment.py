"""The local DuckDB environment with the profile's PostgreSQL connections attached."""

import os
from typing import Any
from typing import Dict
from typing import Optional

import duckdb
from dbt.adapters.duckdb.environments.local import LocalEnvironment
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres import embedded
from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.credentials import PostgresConnection
from dbt.adapters.duckdb_postgres.extension import load_postgres_extension
from dbt.adapters.duckdb_postgres.quoting import quote_conninfo_value


def attach_connection(conn: Any, pg: PostgresConnection) -> None:
    """Create the secret for ``pg`` on DuckDB connection ``conn`` and ATTACH it.

    Starts the embedded server first when ``pg.embedded`` is set.

    Raises:
        DbtRuntimeError: naming the connection and where it points; the
            message never contains the password (DuckDB reports a secret-based
            failure as ``Unable to connect to Postgres at ""``).
    """
    if pg.embedded:
        embedded.prepare(pg)
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


class PostgresEnvironment(LocalEnvironment):
    """dbt-duckdb's local environment, plus: load the postgres extension offline,
    then create one secret and ATTACH one catalog per profile connection."""

    @classmethod
    def initialize_db(cls, creds: Any, plugins: Optional[Dict[str, BasePlugin]] = None) -> Any:
        assert isinstance(creds, DuckDBPostgresCredentials)
        _ensure_parent_folder(creds.path)
        conn = super().initialize_db(creds, plugins)
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
