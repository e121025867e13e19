"""quoting.py: identifiers, string literals and libpq conninfo values.

Each helper is checked against its real consumer: DuckDB parses the literals and
identifiers, libpq (through psycopg) parses the conninfo values.
"""

import duckdb
import pytest
from psycopg.conninfo import conninfo_to_dict

from dbt.adapters.duckdb_postgres.quoting import PG_NAME_BYTES
from dbt.adapters.duckdb_postgres.quoting import is_plain_identifier
from dbt.adapters.duckdb_postgres.quoting import name_problem
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


def test_is_plain_identifier():
    assert is_plain_identifier("orders_2024")
    assert is_plain_identifier("_x")
    for name in ["2x", "with space", 'a"b', "semi;colon", "it's", "dots.in", ""]:
        assert not is_plain_identifier(name), name


def test_name_problem_counts_bytes_and_suffix():
    assert name_problem("column", "c" * PG_NAME_BYTES) is None
    message = name_problem("column", "c" * 70)
    assert message is not None and "70 bytes" in message and "63" in message
    assert "c" * 70 in message
    # multi-byte characters count in bytes: 32 x 2 bytes
    assert name_problem("column", "é" * 32) is not None
    assert name_problem("column", "é" * 31) is None
    suffixed = name_problem("identifier (alias)", "t" * 55, "__dbt_columns")
    assert suffixed is not None and "__dbt_columns" in suffixed and "at most 50 bytes" in suffixed
    assert "NUL" in (name_problem("schema", "a\x00b") or "")


def test_relation_renders_every_name_quoted():
    from dbt.adapters.duckdb_postgres.relation import DuckDBPostgresRelation

    relation = DuckDBPostgresRelation.create(
        database="wh", schema='s"; drop', identifier='t"; drop table x; --'
    )
    assert relation.render() == '"wh"."s""; drop"."t""; drop table x; --"'
    assert relation.pg_name() == '"s""; drop"."t""; drop table x; --"'
    # a part the quote policy leaves unquoted stays unquoted only when it is plain
    unquoted = relation.quote(database=False, schema=False, identifier=False)
    assert unquoted.render() == 'wh."s""; drop"."t""; drop table x; --"'
    plain = DuckDBPostgresRelation.create(database="wh", schema="s", identifier="t")
    assert plain.quote(schema=False, identifier=False).render() == '"wh".s.t'


@pytest.mark.parametrize("name", TRICKY_IDENTIFIERS)
def test_relation_render_creates_and_reads_a_table(duck, name):
    from dbt.adapters.duckdb_postgres.relation import DuckDBPostgresRelation

    schema = f"r {name}"
    relation = DuckDBPostgresRelation.create(database="memory", schema=schema, identifier=name)
    duck.execute(f"create schema if not exists {relation.without_identifier().render()}")
    duck.execute(f"create or replace table {relation.render()} as select 8 as x")
    assert duck.execute(f"select x from {relation.render()}").fetchall() == [(8,)]
    rows = duck.execute(
        "select table_name from information_schema.tables "
        f"where table_schema = {quote_literal(schema)}"
    ).fetchall()
    assert rows == [(name,)]
