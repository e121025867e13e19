"""Connection manager: dbt-duckdb's, opening a :class:`PostgresEnvironment`.

Besides opening connections it owns what happens when a write is interrupted:
cancellation (SIGINT / SIGTERM -> DuckDB interrupt + ``pg_cancel_backend``,
no statement after it) and the error of a PostgreSQL connection lost mid-write.
"""

import re
import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Any
from typing import Callable
from typing import Dict
from typing import Iterator
from typing import List
from typing import Optional
from typing import Tuple
from typing import Union

import dbt.adapters.exceptions
from dbt.adapters.contracts.connection import Connection
from dbt.adapters.contracts.connection import ConnectionState
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.catalog_cache import CATALOG_CACHE
from dbt.adapters.duckdb_postgres.catalog_cache import CHANGES_CATALOG
from dbt.adapters.duckdb_postgres.environment import PostgresEnvironment
from dbt.adapters.duckdb_postgres.environment import cancel_postgres_statements
from dbt.adapters.duckdb_postgres.environment import mask_secrets
from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal

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


# libpq and PostgreSQL messages that mean the session is gone (libpq fe-misc.c /
# fe-secure.c; PostgreSQL errcodes 57P01-57P03), and the postgres extension's own
# for a failed COPY send.
_CONNECTION_LOST = re.compile(
    r"server closed the connection unexpectedly|terminating connection due to"
    r"|no connection to the server|could not (receive|send) data (from|to) server"
    r"|SSL SYSCALL error|lost synchronization with server|connection to server was lost"
    r"|the database system is (shutting down|starting up|in recovery mode)"
    r"|Error during PQputCopy(Data|End)",
    re.IGNORECASE,
)


_CANCELLED = "Cancelled by dbt (Ctrl-C, SIGTERM or --fail-fast)"


class DbtInterrupted(KeyboardInterrupt, DbtRuntimeError):
    """SIGINT or SIGTERM while dbt runs models.

    A KeyboardInterrupt, so dbt-core cancels the run as for Ctrl-C
    (dbt/task/runnable.py ``execute_nodes`` -> ``_cancel_connections`` ->
    ``adapter.cancel_open_connections``), and a DbtRuntimeError, so dbt's CLI
    reports it as one error line: dbt-core's ``postflight`` prints a Python
    traceback for any exception that is not a DbtException (dbt/cli/requires.py;
    dbt-labs/dbt-core#8338).
    """

    def __init__(self, msg: str) -> None:
        DbtRuntimeError.__init__(self, msg)


_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, None]
# signal -> the handler ours replaced, while ours is installed
_REPLACED: Dict[int, _Handler] = {}


def _interrupted(signum: int, frame: Optional[FrameType]) -> None:
    name = signal.Signals(signum).name
    raise DbtInterrupted(
        f"{name} received: the running queries were cancelled in DuckDB and PostgreSQL "
        "and their transactions rolled back; models that had finished keep their results."
    )


def install_interrupt_handlers() -> None:
    """Make SIGINT and SIGTERM raise :class:`DbtInterrupted` in the main thread.

    Only replaces Python's defaults (``default_int_handler`` for SIGINT,
    ``SIG_DFL`` for SIGTERM, which would kill the process without a rollback):
    a program embedding dbt with its own handlers keeps them. Signal handlers can
    only be set from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    for signum, default in defaults.items():
        if signum not in _REPLACED and signal.getsignal(signum) == default:
            _REPLACED[signum] = signal.signal(signum, _interrupted)


def restore_interrupt_handlers() -> None:
    """Put back the handlers :func:`install_interrupt_handlers` replaced."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in list(_REPLACED.items()):
        if signal.getsignal(signum) == _interrupted:
            signal.signal(signum, previous)
        del _REPLACED[signum]


def _short_reason(message: str) -> str:
    """A DuckDB error on one line, without its stack trace, INTERNAL-error boilerplate
    or the echo of the SQL that postgres_execute sent (the query is in the log)."""
    text = message.split("Stack Trace:")[0]
    text = re.sub(r"^\s*(INTERNAL|IO|Invalid|Invalid Input) Error:\s*", "", text)
    if text.startswith('Failed to execute query "') and '": ' in text:
        text = "PostgreSQL statement failed: " + text.rsplit('": ', 1)[1]
    return " ".join(text.split())


class DuckDBPostgresConnectionManager(DuckDBConnectionManager):
    TYPE = "duckdb_postgres"

    def __init__(self, config: Any, mp_context: Any) -> None:
        super().__init__(config, mp_context)
        # id -> connection cancelled by cancel_open: no further statement runs on it
        self._cancelled: Dict[int, Connection] = {}

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
                install_interrupt_handlers()
            except (RuntimeError, DbtRuntimeError) as e:
                connection.handle = None
                connection.state = ConnectionState.FAIL
                raise dbt.adapters.exceptions.FailedToConnectError(str(e)) from None
            return connection

    @contextmanager
    def exception_handler(self, sql: str, connection_name: str = "master") -> Iterator[None]:
        """dbt-duckdb's handler, plus: an error that carries a connection secret (a
        reconnect error can echo the ATTACH string) is masked before dbt-duckdb logs
        it; a lost PostgreSQL connection or a cancel gets a message saying so; and
        errors during a pg_materialize write name the target."""
        try:
            with super().exception_handler(sql, connection_name):
                try:
                    yield
                except Exception as e:
                    masked = self._mask_secrets(str(e))
                    if self._is_cancelled():
                        raise DbtRuntimeError(f"{_CANCELLED}: {_short_reason(masked)}") from None
                    if _CONNECTION_LOST.search(masked):
                        raise DbtRuntimeError(self._connection_lost(sql, masked)) from None
                    if masked != str(e):
                        raise DbtRuntimeError(masked) from None
                    raise
        except DbtRuntimeError as e:
            if WRITE_STATE.target:
                raise DbtRuntimeError(f"{WRITE_STATE.target} failed: {e.msg}") from e
            raise

    def _connection_lost(self, sql: str, message: str) -> str:
        """The error of a statement whose PostgreSQL connection ended under it."""
        names = self._connections_in(sql)
        which = ", ".join(f"'{n}'" for n in names) or "(unknown)"
        return (
            f"postgres connection {which}: the connection to PostgreSQL was lost during "
            f"the statement ({_short_reason(message)}). PostgreSQL rolls back the "
            "transaction of a session that ends, so the transaction in progress changed "
            "nothing (what earlier transactions committed, such as completed batches, is "
            "kept). Check that the server is up and rerun the model."
        )

    def _connections_in(self, sql: str) -> List[str]:
        """The profile's postgres connections that ``sql`` names (as a catalog,
        ``"wh".``, or a postgres_execute/postgres_query argument, ``'wh'``); all of
        them when it names none."""
        creds = self.profile.credentials
        names = list(getattr(creds, "postgres_connections", {}))
        named = [
            n
            for n in names
            if quote_identifier(n) + "." in sql
            or quote_literal(n) in sql
            or re.search(rf"\b{re.escape(n)}\.", sql)
        ]
        return named or names

    # --- the catalog cache --------------------------------------------------------

    def add_begin_query(self) -> Any:
        """BEGIN, recorded by :class:`CatalogCacheGuard` (which generation of the
        catalog this transaction may reload the cache under)."""
        result = super().add_begin_query()
        CATALOG_CACHE.began(id(self.get_thread_connection()))
        return result

    def add_commit_query(self) -> Any:
        """COMMIT, then clear the catalog cache when this transaction changed the
        Postgres catalog or overlapped a transaction that did."""
        result = super().add_commit_query()
        if CATALOG_CACHE.ended(id(self.get_thread_connection())):
            self._clear_catalog_cache()
        return result

    @classmethod
    def _rollback_handle(cls, connection: Connection) -> None:
        """ROLLBACK, then clear the catalog cache as after a COMMIT: a rolled-back
        write may have left its own uncommitted tables or columns cached."""
        super()._rollback_handle(connection)
        if CATALOG_CACHE.ended(id(connection)) and connection.handle is not None:
            try:
                connection.handle.cursor().execute("call pg_clear_cache()")
            except Exception as e:  # the connection may be the one that failed
                logger.debug(f"pg_clear_cache after rollback failed: {e}")

    def _clear_catalog_cache(self) -> None:
        """``CALL pg_clear_cache()`` on this thread's connection, outside any
        transaction state dbt tracks (dbt-duckdb's add_query: not a catalog change)."""
        super().add_query("call pg_clear_cache()", auto_begin=False)

    # --- cancellation -------------------------------------------------------------
    # --- cancellation -------------------------------------------------------------

    def cancel_open(self) -> List[str]:
        """Cancel what every other thread's connection is running (dbt calls this on
        Ctrl-C / SIGTERM and for --fail-fast).

        1. dbt-duckdb's cancel: DuckDB ``interrupt()`` on each connection's cursor;
        2. ``pg_cancel_backend`` of this process's running PostgreSQL statements
           (DuckDB's interrupt does not reach a statement sent by postgres_execute);
        3. no further statement runs on a cancelled connection: DuckDB forgets an
           interrupt that arrives between two statements, and the materialization
           would go on to COMMIT. Its transaction is rolled back when dbt releases it.

        Returns:
            The names of the cancelled connections (dbt prints a CANCEL line for each).
        """
        this_connection = self.get_if_exists()
        with self.lock:
            for connection in self.thread_connections.values():
                if connection is not this_connection:
                    self._cancelled[id(connection)] = connection
        names = super().cancel_open()
        env = DuckDBConnectionManager._ENV
        conn = getattr(env, "conn", None)
        if conn is not None:
            connections = getattr(self.profile.credentials, "postgres_connections", {})
            cancel_postgres_statements(conn, list(connections.values()))
        return names

    def _is_cancelled(self) -> bool:
        connection = self.get_if_exists()
        return connection is not None and self._cancelled.get(id(connection)) is connection

    def add_query(
        self,
        sql: str,
        auto_begin: bool = True,
        bindings: Optional[Any] = None,
        abridge_sql_log: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Tuple[Connection, Any]:
        """dbt's add_query, refused on a connection that was cancelled.

        Raises:
            DbtRuntimeError: the connection was cancelled (the statement is not run).
        """
        if self._is_cancelled():
            raise DbtRuntimeError(
                f"{_CANCELLED}: the statement was not run and the transaction is rolled back."
            )
        result = super().add_query(sql, auto_begin, bindings, abridge_sql_log, *args, **kwargs)
        if CHANGES_CATALOG.search(sql):
            connection = result[0]
            if connection.transaction_open:
                CATALOG_CACHE.changed(id(connection))
            elif CATALOG_CACHE.changed_outside_transaction():
                self._clear_catalog_cache()
        return result

    def release(self) -> None:
        """dbt's release; the thread's connection starts afresh for its next node."""
        connection = self.get_if_exists()
        try:
            super().release()
        finally:
            if connection is not None:
                self._cancelled.pop(id(connection), None)

    def cleanup_all(self) -> None:
        """dbt's cleanup, then the signal handlers of before the run come back."""
        try:
            super().cleanup_all()
        finally:
            self._cancelled.clear()
            restore_interrupt_handlers()

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
