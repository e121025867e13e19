"""The one place where SQL text is quoted.

Every identifier or string literal that Python code puts into SQL goes through
one of these helpers; nothing else builds SQL from user input. Relations render
through :func:`quote_identifier` too (``DuckDBPostgresRelation.quoted``).
"""

import re
from typing import Any
from typing import Optional

# PostgreSQL keeps at most NAMEDATALEN - 1 = 63 bytes of a name and silently
# truncates longer ones (PostgreSQL docs 4.1.1 "Identifiers and Key Words")
PG_NAME_BYTES = 63

# a name that means the same quoted or not in DuckDB and PostgreSQL (up to case)
_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_identifier(name: str) -> str:
    """Quote an identifier for DuckDB or PostgreSQL (both use SQL-standard quoting).

    Args:
        name: the identifier (schema, table, column, catalog or secret name) as stored.

    Returns:
        The identifier wrapped in double quotes, with embedded double quotes
        doubled (SQL standard; PostgreSQL docs 4.1.1 "Identifiers and Key Words").
    """
    return '"' + str(name).replace('"', '""') + '"'


def is_plain_identifier(name: str) -> bool:
    """Whether ``name`` can appear unquoted in SQL: letters, digits and ``_``, not
    starting with a digit. Anything else (quotes, spaces, ``;``) must be quoted."""
    return bool(_PLAIN_IDENTIFIER.match(str(name)))


def name_problem(kind: str, name: Any, suffix: str = "") -> Optional[str]:
    """Why PostgreSQL cannot store ``name`` exactly, or None when it can.

    Args:
        kind: what the name is, for the message (e.g. "column", "schema").
        name: the name as the model or config gives it.
        suffix: a suffix the adapter appends to it for work tables (e.g.
            ``__dbt_columns``); it counts against the limit.

    Returns:
        A message naming the name, its length in bytes and the limit of
        :data:`PG_NAME_BYTES` (longer names are truncated by PostgreSQL), or for
        a NUL character (PostgreSQL names cannot hold one); else None.
    """
    text = str(name)
    if "\x00" in text:
        return f"{kind} {text!r} contains a NUL character, which PostgreSQL names cannot hold"
    size = len((text + suffix).encode("utf-8"))
    if size <= PG_NAME_BYTES:
        return None
    if suffix:
        return (
            f"{kind} {text!r} is too long for PostgreSQL: with the work-table suffix "
            f"{suffix} it is {size} bytes, over the limit of {PG_NAME_BYTES} bytes; "
            f"use a name of at most {PG_NAME_BYTES - len(suffix.encode('utf-8'))} bytes"
        )
    return (
        f"{kind} {text!r} is {size} bytes, over PostgreSQL's limit of {PG_NAME_BYTES} "
        f"bytes for names (longer names are truncated); rename it"
    )


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
