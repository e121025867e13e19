"""The pieces of cancellation and connection-loss handling that need no server: the
process tag in application_name, the SIGINT/SIGTERM handlers, the exception dbt
reports, the message of a lost connection, and DuckDB's invalidation setting.
(tests/functional/test_faults.py runs the real faults.)"""

import signal

import pytest
from dbt_common.exceptions import DbtBaseException

from dbt.adapters.duckdb_postgres import connections
from dbt.adapters.duckdb_postgres.connections import DbtInterrupted
from dbt.adapters.duckdb_postgres.connections import install_interrupt_handlers
from dbt.adapters.duckdb_postgres.connections import restore_interrupt_handlers
from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.environment import PROCESS_TAG
from dbt.adapters.duckdb_postgres.environment import _survive_connection_loss
from dbt.adapters.duckdb_postgres.environment import tagged_application_name

LOST_COPY = (
    "INTERNAL Error: Error during PQputCopyData: server closed the connection unexpectedly\n"
    "\tThis probably means the server terminated abnormally\n\n"
    "Stack Trace:\n\n/root/.duckdb/extensions/postgres_scanner.duckdb_extension(+0xa6370b)\n"
    "This error signals an assertion failure within DuckDB."
)
LOST_EXECUTE = (
    'Failed to execute query "insert into "s"."t" select * from "s"."t__dbt_stage"": '
    "server closed the connection unexpectedly"
)


def credentials(**extra) -> DuckDBPostgresCredentials:
    return DuckDBPostgresCredentials.from_dict({"path": ":memory:", "schema": "main", **extra})


@pytest.fixture
def default_handlers():
    """Python's default SIGINT/SIGTERM handlers for the test, the previous ones after."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    restore_interrupt_handlers()
    for signum, handler in saved.items():
        signal.signal(signum, handler)


# --- application_name ------------------------------------------------------------------


def test_tag_is_appended():
    assert tagged_application_name("dbt-duckdb-postgres") == f"dbt-duckdb-postgres [{PROCESS_TAG}]"


@pytest.mark.parametrize("name", ["x" * 100, "é" * 40, "a" + "€" * 30])
def test_long_names_are_cut_never_the_tag(name):
    tagged = tagged_application_name(name)
    assert len(tagged.encode()) <= 63
    assert tagged.endswith(f" [{PROCESS_TAG}]")
    assert name.startswith(tagged[: -len(f" [{PROCESS_TAG}]")])


def test_tag_is_printable_ascii():
    """PostgreSQL keeps printable ASCII in application_name as is."""
    assert all(32 <= ord(c) < 127 for c in PROCESS_TAG)


# --- signals -------------------------------------------------------------------------


def test_interrupt_is_a_keyboard_interrupt_and_a_dbt_error():
    """dbt-core cancels on KeyboardInterrupt and prints no traceback for DbtException."""
    error = DbtInterrupted("SIGINT received")
    assert isinstance(error, KeyboardInterrupt)
    assert isinstance(error, DbtBaseException)
    assert error.msg == "SIGINT received"
    assert "SIGINT received" in str(error)


def test_handlers_replace_the_defaults_and_come_back(default_handlers):
    install_interrupt_handlers()
    assert signal.getsignal(signal.SIGINT) is connections._interrupted
    assert signal.getsignal(signal.SIGTERM) is connections._interrupted
    with pytest.raises(DbtInterrupted, match="SIGTERM received"):
        signal.raise_signal(signal.SIGTERM)
    restore_interrupt_handlers()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_handlers_of_an_embedding_program_are_kept(default_handlers):
    def own(signum, frame):
        pass

    signal.signal(signal.SIGTERM, own)
    install_interrupt_handlers()
    assert signal.getsignal(signal.SIGTERM) is own
    assert signal.getsignal(signal.SIGINT) is connections._interrupted


# --- messages -------------------------------------------------------------------------


def test_short_reason_drops_stack_trace_and_boilerplate():
    assert connections._short_reason(LOST_COPY) == (
        "Error during PQputCopyData: server closed the connection unexpectedly "
        "This probably means the server terminated abnormally"
    )


def test_short_reason_drops_the_sql_echo():
    assert connections._short_reason(LOST_EXECUTE) == (
        "PostgreSQL statement failed: server closed the connection unexpectedly"
    )


@pytest.mark.parametrize(
    "message",
    [
        LOST_COPY,
        LOST_EXECUTE,
        "FATAL: terminating connection due to administrator command",
        "could not receive data from server: Connection reset by peer",
        "SSL SYSCALL error: EOF detected",
        "no connection to the server",
    ],
)
def test_connection_lost_messages_are_recognized(message):
    assert connections._CONNECTION_LOST.search(message)


@pytest.mark.parametrize(
    "message",
    ['duplicate key value violates unique constraint "t_pkey"', "Binder Error: no column x"],
)
def test_other_errors_are_not_connection_loss(message):
    assert not connections._CONNECTION_LOST.search(message)


# --- DuckDB invalidation ------------------------------------------------------------


def test_invalidation_is_disabled_with_postgres_connections():
    creds = credentials(postgres={"wh": {"host": "h", "database": "d", "user": "u"}})
    options = _survive_connection_loss(creds).config_options
    assert options == {"disable_database_invalidation": True}
    assert creds.config_options is None  # the profile's credentials are not changed


def test_invalidation_setting_of_the_profile_wins():
    creds = credentials(
        postgres={"wh": {"host": "h", "database": "d", "user": "u"}},
        config_options={"disable_database_invalidation": False, "threads": 2},
    )
    options = _survive_connection_loss(creds).config_options
    assert options == {"disable_database_invalidation": False, "threads": 2}


def test_no_change_without_postgres_connections():
    creds = credentials()
    assert _survive_connection_loss(creds) is creds
