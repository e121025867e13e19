"""extension.py: loading DuckDB's postgres extension with no network.

Real DuckDB connections with an empty ``extension_directory`` and DuckDB's own
autoinstall/autoload turned off, so only ``load_postgres_extension`` can make the
extension available. This machine has no internet: ``INSTALL postgres`` really fails.
"""

import os

import duckdb
import pytest
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.extension import EXTENSION_NAME
from dbt.adapters.duckdb_postgres.extension import WHEEL_PACKAGE
from dbt.adapters.duckdb_postgres.extension import load_postgres_extension
from dbt.adapters.duckdb_postgres.extension import wheel_extension_path

EXTENSION_STATE_SQL = f"""
select loaded, installed, install_path
from duckdb_extensions()
where extension_name = '{EXTENSION_NAME}'
"""

FIX = f"pip install '{WHEEL_PACKAGE}=={duckdb.__version__}'"


def offline_connection(extension_directory: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        ":memory:",
        config={
            "extension_directory": extension_directory,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )


def extension_state(conn: duckdb.DuckDBPyConnection):
    return conn.execute(EXTENSION_STATE_SQL).fetchone()


@pytest.fixture
def wheel_binary() -> str:
    path = wheel_extension_path()
    if path is None:
        pytest.skip(f"{WHEEL_PACKAGE}=={duckdb.__version__} is not installed")
    return path


def test_wheel_extension_path_matches_running_duckdb(wheel_binary):
    assert os.path.isfile(wheel_binary)
    assert f"v{duckdb.__version__}" in wheel_binary
    assert wheel_binary.endswith(f"{EXTENSION_NAME}.duckdb_extension")


def test_wheel_extension_path_unknown_version_is_none():
    assert wheel_extension_path("0.0.0-no-such-version") is None


def test_installs_from_wheel_then_loads(tmp_path, wheel_binary):
    ext_dir = str(tmp_path / "extensions")
    os.makedirs(ext_dir)
    first = offline_connection(ext_dir)
    try:
        assert extension_state(first)[0] is False
        assert load_postgres_extension(first) == "installed from wheel"
        loaded, installed, install_path = extension_state(first)
        assert loaded and installed
        assert install_path.startswith(ext_dir)
        # the extension works: postgres_query is a known table function now
        functions = first.execute(
            "select count(*) from duckdb_functions() where function_name = 'postgres_query'"
        ).fetchone()
        assert functions[0] >= 1
    finally:
        first.close()

    second = offline_connection(ext_dir)
    try:
        assert load_postgres_extension(second) == "loaded"
        assert extension_state(second)[0] is True
    finally:
        second.close()


def test_already_loaded_connection_reports_loaded(tmp_path, wheel_binary):
    conn = offline_connection(str(tmp_path))
    try:
        assert load_postgres_extension(conn) == "installed from wheel"
        assert load_postgres_extension(conn) == "loaded"
    finally:
        conn.close()


def _assert_all_three_failed(message: str, wheel_line: str) -> None:
    assert f"LOAD {EXTENSION_NAME}:" in message
    assert wheel_line in message
    assert "INSTALL postgres (repository):" in message
    assert FIX in message


def test_missing_wheel_file_and_no_network_raises(tmp_path):
    bogus = str(tmp_path / "nowhere" / "postgres_scanner.duckdb_extension")
    conn = offline_connection(str(tmp_path / "ext"))
    try:
        with pytest.raises(DbtRuntimeError) as info:
            load_postgres_extension(conn, wheel_path=bogus)
        _assert_all_three_failed(str(info.value), f"INSTALL from wheel {bogus}:")
        assert extension_state(conn)[0] is False
    finally:
        conn.close()


def test_corrupt_wheel_file_and_no_network_raises(tmp_path):
    bad = tmp_path / "postgres_scanner.duckdb_extension"
    bad.write_bytes(b"not an extension" * 64)
    conn = offline_connection(str(tmp_path / "ext"))
    try:
        with pytest.raises(DbtRuntimeError) as info:
            load_postgres_extension(conn, wheel_path=str(bad))
        _assert_all_three_failed(str(info.value), f"INSTALL from wheel {bad}:")
        assert extension_state(conn)[0] is False
    finally:
        conn.close()


def test_no_wheel_and_no_network_says_wheel_not_installed(tmp_path):
    """An empty wheel_path stands for "the wheel has no binary for this DuckDB"."""
    conn = offline_connection(str(tmp_path))
    try:
        with pytest.raises(DbtRuntimeError) as info:
            load_postgres_extension(conn, wheel_path="")
        _assert_all_three_failed(
            str(info.value),
            f"INSTALL from wheel: {WHEEL_PACKAGE}=={duckdb.__version__} is not installed",
        )
    finally:
        conn.close()
