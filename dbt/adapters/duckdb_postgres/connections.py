"""Connection manager: dbt-duckdb's, opening a :class:`PostgresEnvironment`."""

from typing import Any

import dbt.adapters.exceptions
from dbt.adapters.contracts.connection import Connection
from dbt.adapters.contracts.connection import ConnectionState
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.environment import PostgresEnvironment

logger = AdapterLogger("DuckDBPostgres")


class DuckDBPostgresConnectionManager(DuckDBConnectionManager):
    TYPE = "duckdb_postgres"

    @classmethod
    def open(cls, connection: Connection) -> Connection:
        """Open a cursor on the shared DuckDB database, creating it on first use.

        The environment is stored on ``DuckDBConnectionManager`` itself, where
        dbt-duckdb's relation and plugin code look for it.

        Raises:
            FailedToConnectError: the DuckDB database or a PostgreSQL connection
                could not be opened (the message names the connection, never a secret).
        """
        if connection.state == ConnectionState.OPEN:
            return connection
        credentials = cls.get_credentials(connection.credentials)
        with cls._LOCK:
            try:
                env = DuckDBConnectionManager._ENV
                if env is None or env.creds != credentials:
                    if env is not None:
                        try:
                            env.close()
                        except Exception as e:
                            logger.debug(f"Ignoring error closing the previous environment: {e}")
                    env = PostgresEnvironment(credentials)
                    DuckDBConnectionManager._ENV = env  # type: ignore[assignment]
                connection.handle = env.handle()
                connection.state = ConnectionState.OPEN
            except (RuntimeError, DbtRuntimeError) as e:
                connection.handle = None
                connection.state = ConnectionState.FAIL
                raise dbt.adapters.exceptions.FailedToConnectError(str(e)) from None
            return connection

    @classmethod
    def env(cls) -> Any:
        return DuckDBConnectionManager.env()

    @classmethod
    def close_all_connections(cls) -> None:
        with cls._LOCK:
            DuckDBConnectionManager._ENV = None
