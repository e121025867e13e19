"""Connection manager: dbt-duckdb's, opening a :class:`PostgresEnvironment`."""

import threading
from contextlib import contextmanager
from typing import Any
from typing import Iterator
from typing import Optional

import dbt.adapters.exceptions
from dbt.adapters.contracts.connection import Connection
from dbt.adapters.contracts.connection import ConnectionState
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.environment import PostgresEnvironment
from dbt.adapters.duckdb_postgres.environment import mask_secrets

logger = AdapterLogger("DuckDBPostgres")


class WriteState(threading.local):
    """Per-thread state of the pg_materialize writes of the model being run.

    ``target`` names the write in progress, so a database error says which
    target failed; ``validating`` makes pg_materialize only check its arguments;
    ``validated`` records that this model's targets were all checked;
    ``pg_targets_written`` that its ``pg_targets`` config was written. Reset
    before every model (``pre_model_hook``).
    """

    target: Optional[str] = None
    validating: bool = False
    validated: bool = False
    pg_targets_written: bool = False

    def reset(self) -> None:
        """Forget the previous model's writes (called before and after each model)."""
        self.target = None
        self.validating = False
        self.validated = False
        self.pg_targets_written = False


WRITE_STATE = WriteState()


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

    @contextmanager
    def exception_handler(self, sql: str, connection_name: str = "master") -> Iterator[None]:
        """dbt-duckdb's handler, plus: an error that carries a connection secret (a
        reconnect error can echo the ATTACH string) is masked before dbt-duckdb logs
        it, and errors during a pg_materialize write name the target."""
        try:
            with super().exception_handler(sql, connection_name):
                try:
                    yield
                except Exception as e:
                    masked = self._mask_secrets(str(e))
                    if masked != str(e):
                        raise DbtRuntimeError(masked) from None
                    raise
        except DbtRuntimeError as e:
            if WRITE_STATE.target:
                raise DbtRuntimeError(f"{WRITE_STATE.target} failed: {e.msg}") from e
            raise

    def _mask_secrets(self, text: str) -> str:
        creds = self.profile.credentials
        for conn in getattr(creds, "postgres_connections", {}).values():
            text = mask_secrets(text, conn)
        return text

    @classmethod
    def env(cls) -> Any:
        """The shared environment, kept on DuckDBConnectionManager (see ``open``)."""
        return DuckDBConnectionManager.env()

    @classmethod
    def close_all_connections(cls) -> None:
        """Drop the shared environment (dbt-duckdb's, on the class that holds it)."""
        with cls._LOCK:
            DuckDBConnectionManager._ENV = None
