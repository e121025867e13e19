"""Loading DuckDB's postgres extension without network access.

Order (docs/architecture.md "Profile"): LOAD if already installed; else INSTALL from the
``duckdb-extension-postgres-scanner`` wheel matching the running DuckDB; else
``INSTALL postgres`` from DuckDB's repository; else one error saying which of
the three failed and how to fix it.
"""

import os
from typing import Any
from typing import List
from typing import Optional

import duckdb
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.quoting import quote_literal

EXTENSION_NAME = "postgres_scanner"
WHEEL_PACKAGE = "duckdb-extension-postgres-scanner"


def wheel_extension_path(duckdb_version: Optional[str] = None) -> Optional[str]:
    """Path of the extension binary shipped in the wheel for ``duckdb_version``.

    The wheel lays it out as
    ``duckdb_extension_postgres_scanner/extensions/v<version>/postgres_scanner.duckdb_extension``.

    Returns:
        The file path, or None when the wheel is not installed or carries no
        binary for that DuckDB version.
    """
    version = duckdb_version or duckdb.__version__
    try:
        import duckdb_extension_postgres_scanner as wheel
    except ImportError:
        return None
    base = os.path.dirname(os.path.abspath(wheel.__file__))
    path = os.path.join(base, "extensions", f"v{version}", f"{EXTENSION_NAME}.duckdb_extension")
    return path if os.path.isfile(path) else None


def load_postgres_extension(conn: Any, wheel_path: Optional[str] = None) -> str:
    """Make the postgres extension available on ``conn`` (a DuckDB connection).

    Args:
        conn: a ``duckdb.DuckDBPyConnection``.
        wheel_path: the wheel binary to install from; defaults to
            :func:`wheel_extension_path` for the running DuckDB.

    Returns:
        How it was loaded: ``"loaded"``, ``"installed from wheel"`` or
        ``"installed from repository"``.

    Raises:
        DbtRuntimeError: when all three ways failed; the message lists each
            failure and the fix.
    """
    failures: List[str] = []
    try:
        conn.execute(f"LOAD {EXTENSION_NAME}")
        return "loaded"
    except duckdb.Error as e:
        failures.append(f"LOAD {EXTENSION_NAME}: {_first_line(e)}")

    path = wheel_path if wheel_path is not None else wheel_extension_path()
    if path:
        try:
            conn.execute(f"INSTALL {quote_literal(path)}")
            conn.execute(f"LOAD {EXTENSION_NAME}")
            return "installed from wheel"
        except duckdb.Error as e:
            failures.append(f"INSTALL from wheel {path}: {_first_line(e)}")
    else:
        failures.append(
            f"INSTALL from wheel: {WHEEL_PACKAGE}=={duckdb.__version__} is not installed"
        )

    try:
        conn.execute("INSTALL postgres")
        conn.execute(f"LOAD {EXTENSION_NAME}")
        return "installed from repository"
    except duckdb.Error as e:
        failures.append(f"INSTALL postgres (repository): {_first_line(e)}")

    raise DbtRuntimeError(
        "Could not load DuckDB's postgres extension:\n  - "
        + "\n  - ".join(failures)
        + f"\nFix: pip install '{WHEEL_PACKAGE}=={duckdb.__version__}' (matching duckdb "
        f"{duckdb.__version__}), or allow network access for INSTALL postgres."
    )


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
