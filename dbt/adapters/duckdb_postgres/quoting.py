"""The one place where SQL text is quoted.

Every identifier or string literal that Python code puts into SQL goes through
one of these helpers; nothing else builds SQL from user input.
"""

from typing import Any


def quote_identifier(name: str) -> str:
    """Quote an identifier for DuckDB or PostgreSQL (both use SQL-standard quoting).

    Args:
        name: the identifier (schema, table, column, catalog or secret name) as stored.

    Returns:
        The identifier wrapped in double quotes, with embedded double quotes
        doubled (SQL standard; PostgreSQL docs 4.1.1 "Identifiers and Key Words").
    """
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: Any) -> str:
    """Quote a value as a single-quoted SQL string literal (DuckDB or PostgreSQL).

    Args:
        value: any value; it is converted with ``str()``.

    Returns:
        ``'...'`` with embedded single quotes doubled. Backslashes, ``%``, ``{}``,
        ``$`` and newlines need no escaping in a standard-conforming literal
        (PostgreSQL ``standard_conforming_strings`` is on by default since 9.1).
    """
    return "'" + str(value).replace("'", "''") + "'"


def quote_conninfo_value(value: Any) -> str:
    """Quote a value for a libpq ``key=value`` connection string.

    Source: PostgreSQL docs, "Connection Strings" (34.1.1.1): single quotes and
    backslashes inside a quoted value are escaped with a backslash.
    """
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def qualified_name(schema: str, identifier: str) -> str:
    """Return ``"schema"."identifier"`` for SQL sent to PostgreSQL itself."""
    return f"{quote_identifier(schema)}.{quote_identifier(identifier)}"
