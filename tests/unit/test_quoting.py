"""quoting.py: identifiers, string literals and libpq conninfo values.

Each helper is checked against its real consumer: DuckDB parses the literals and
identifiers, libpq (through psycopg) parses the conninfo values.
"""

import duckdb
import pytest
from psycopg.conninfo import conninfo_to_dict

from dbt.adapters.duckdb_postgres.quoting import qualified_name
from dbt.adapters.duckdb_postgres.quoting import quote_conninfo_value
from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal

TRICKY_STRINGS = [
    "",
    "plain",
    "it's",
    "''",
    "'; drop table t; --",
    'double "quotes"',
    "back\\slash",
    "trailing backslash\\",
    "\\'",
    "100% %s %(name)s",
    "{} {{x}} {0}",
    "$1 $$dollar$$ $tag$",
    "line1\nline2\r\nline3\ttab",
    "unicode: é ß 日本 🦆",
    "  spaces  ",
]

TRICKY_IDENTIFIERS = [
    "plain",
    "MixedCase",
    'with "quote"',
    "with space",
    "semi;colon",
    "it's",
    "select",
    "dots.in.name",
]


@pytest.fixture(scope="module")
def duck():
    conn = duckdb.connect(":memory:")
    yield conn
    conn.close()


def test_quote_literal_doubles_single_quotes_only():
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal("a\\b%{}$") == "'a\\b%{}$'"
    assert quote_literal(42) == "'42'"


def test_quote_identifier_doubles_double_quotes_only():
    assert quote_identifier("t") == '"t"'
    assert quote_identifier('a"b') == '"a""b"'
    assert quote_identifier("a'b") == '"a\'b"'


def test_qualified_name():
    assert qualified_name("my schema", 'ta"ble') == '"my schema"."ta""ble"'


def test_quote_conninfo_value_escapes_quote_and_backslash():
    assert quote_conninfo_value("a'b\\c") == "'a\\'b\\\\c'"
    assert quote_conninfo_value("") == "''"


@pytest.mark.parametrize("value", TRICKY_STRINGS)
def test_quote_literal_round_trips_through_duckdb(duck, value):
    assert duck.execute(f"select {quote_literal(value)}").fetchone()[0] == value


@pytest.mark.parametrize("value", TRICKY_STRINGS)
def test_quote_literal_nested_in_a_literal_round_trips(duck, value):
    """A literal inside SQL that is itself a literal (how postgres_query gets its SQL)."""
    inner = f"select {quote_literal(value)}"
    outer = f"select {quote_literal(inner)}"
    assert duck.execute(outer).fetchone()[0] == inner


@pytest.mark.parametrize("name", TRICKY_IDENTIFIERS)
def test_quote_identifier_round_trips_through_duckdb(duck, name):
    cursor = duck.execute(f"select 1 as {quote_identifier(name)}")
    assert cursor.description[0][0] == name


@pytest.mark.parametrize("name", TRICKY_IDENTIFIERS)
def test_qualified_name_creates_and_reads_a_table(duck, name):
    schema = f"s {name}"
    duck.execute(f"create schema if not exists {quote_identifier(schema)}")
    duck.execute(f"create or replace table {qualified_name(schema, name)} as select 7 as x")
    rows = duck.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema = {quote_literal(schema)}"
    ).fetchall()
    assert rows == [(schema, name)]
    assert duck.execute(f"select x from {qualified_name(schema, name)}").fetchall() == [(7,)]


@pytest.mark.parametrize("value", TRICKY_STRINGS)
def test_quote_conninfo_value_round_trips_through_libpq(value):
    parsed = conninfo_to_dict(f"application_name={quote_conninfo_value(value)} dbname=x")
    assert parsed["application_name"] == value
    assert parsed["dbname"] == "x"
