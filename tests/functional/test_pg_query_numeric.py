"""Exact unconstrained ``numeric`` from ``pg_query`` sources (docs/architecture.md "Types").

Each unconstrained numeric result column is read as the ``numeric(38, s)`` whose
scale is the largest scale among its values, so a `pg_full` model writes every
value back with its digits (``12345678901234567.90`` stays ``.90``). Values no
DECIMAL(38) holds exactly, NaN, and rows that change after the model was
compiled fail the model before anything is written.
"""

from typing import Any
from typing import Dict

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import checksum
from tests.functional.helpers import leftovers
from tests.functional.helpers import relation_oid
from tests.functional.helpers import result_message
from tests.functional.helpers import result_status
from tests.functional.helpers import rows
from tests.functional.helpers import table_exists

# --- source tables (__SRC__ is the source schema) --------------------------------------

SETUP_SQL = """
-- unconstrained numeric: each value keeps its own scale in Postgres
create table __SRC__.amounts (id integer, price numeric, fine numeric, whole numeric);
insert into __SRC__.amounts values
  (1, 12345678901234567.90, 0.123456789012, 123456789012345678901234567890),
  (2, 1.5, -3.5, -7),
  (3, null, null, null),
  (4, -0.01, 100000000.000000000001, 0);

-- fits DECIMAL(38) until a test adds wider values
create table __SRC__.mixed (id integer, n numeric);
insert into __SRC__.mixed values (1, 1.25), (2, 10);

create table __SRC__.not_a_number (id integer, n numeric);
insert into __SRC__.not_a_number values (1, 1.5), (2, 'NaN');

create table __SRC__.raced (id integer, n numeric);
insert into __SRC__.raced values (1, 2.50);
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: amounts_query
        meta:
          pg_query: >
            select id, price, fine, whole, price * 2 as doubled, count(*) over () as n_rows
            from "{{ target.schema }}_src".amounts
      - name: mixed_query
        meta:
          pg_query: select id, n from "{{ target.schema }}_src".mixed
      - name: nan_query
        meta:
          pg_query: select id, n from "{{ target.schema }}_src".not_a_number
      - name: raced_query
        meta:
          pg_query: select id, n from "{{ target.schema }}_src".raced
"""

# rows added to `raced` after the model was compiled (a hook outside the transaction)
RACE_HOOK = (
    "call postgres_execute('app', 'insert into \"{{ target.schema }}_src\".raced "
    "values (2, 1.125)')"
)


def pg_full_model(select: str, config: str = "") -> str:
    return f"{{{{ config(materialized='pg_full', database='warehouse'{config}) }}}}\n{select}\n"


MODELS = {
    "sources.yml": SOURCES_YML,
    "amounts_copy.sql": pg_full_model("select * from {{ source('app', 'amounts_query') }}"),
    "mixed_copy.sql": pg_full_model("select * from {{ source('app', 'mixed_query') }}"),
    "nan_copy.sql": pg_full_model("select * from {{ source('app', 'nan_query') }}"),
    "raced_copy.sql": pg_full_model(
        "select * from {{ source('app', 'raced_query') }}",
        f", pre_hook={{'sql': {RACE_HOOK!r}, 'transaction': false}}",
    ),
}


@pytest.fixture(scope="class")
def src_setup_sql() -> str:
    return SETUP_SQL


def pg_types(conn: psycopg.Connection, schema: str, table: str) -> Dict[str, str]:
    """Column name -> ``format_type`` (with its modifiers) of ``schema.table``."""
    return dict(
        rows(
            conn,
            "select a.attname::text, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped",
            (f'"{schema}"."{table}"',),
        )
    )


class NumericProject:
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return MODELS


class TestExactValuesAndScale(NumericProject):
    def test_values_keep_their_digits(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "amounts_copy"])
        got = rows(
            pg,
            "select id, price::text, fine::text, whole::text, doubled::text "
            f'from "{pg_schema}".amounts_copy order by id',
        )
        assert got == [
            (1, "12345678901234567.90", "0.123456789012", "123456789012345678901234567890",
             "24691357802469135.80"),
            # fewer decimals than the column's largest scale: padded with zeros
            (2, "1.50", "-3.500000000000", "-7", "3.00"),
            (3, None, None, None, None),
            (4, "-0.01", "100000000.000000000001", "0", "-0.02"),
        ]  # fmt: skip
        # equal to the source values, compared by Postgres numeric to numeric
        different = rows(
            pg,
            f'select count(*) from "{pg_schema}".amounts_copy t join "{src_schema}".amounts s '
            "using (id) where t.price is distinct from s.price or t.fine is distinct from s.fine "
            "or t.whole is distinct from s.whole or t.doubled is distinct from s.price * 2",
        )
        assert different == [(0,)]
        types = pg_types(pg, pg_schema, "amounts_copy")
        assert types["price"] == "numeric(38,2)"
        assert types["fine"] == "numeric(38,12)"
        assert types["whole"] == "numeric(38,0)"
        assert types["doubled"] == "numeric(38,2)"
        assert types["n_rows"] == "bigint"  # not numeric: read as it is

    def test_empty_run_reads_no_rows_and_an_exact_type(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        # nothing to measure: the unmeasured scale (values would still be checked)
        run_dbt(["run", "--select", "mixed_copy", "--empty"])
        assert rows(pg, f'select count(*) from "{pg_schema}".mixed_copy') == [(0,)]
        assert pg_types(pg, pg_schema, "mixed_copy")["n"] == "numeric(38,10)"


class TestValuesThatDoNotFit(NumericProject):
    def test_wider_than_decimal_38_fails_before_writing(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "mixed_copy"])
        table = f'"{pg_schema}".mixed_copy'
        assert rows(pg, f"select id, n::text from {table} order by id") == [
            (1, "1.25"),
            (2, "10.00"),
        ]
        before = (checksum(pg, table), relation_oid(pg, pg_schema, "mixed_copy"))

        # 30 integer digits in one value, 12 decimals in another: 42 digits in one column
        pg.execute(
            f'insert into "{src_schema}".mixed values '
            "(3, 123456789012345678901234567890), (4, 0.123456789012)"
        )
        results = run_dbt(["run", "--select", "mixed_copy"], expect_pass=False)
        assert result_status(results, "mixed_copy") == "error"
        message = result_message(results, "mixed_copy")
        assert "pg_query source 'app.mixed_query'" in message
        assert "column 'n' needs 42 digits (30 before the decimal point, up to 12 after)" in (
            message
        )
        assert "::numeric(38,8)" in message and "::float8" in message and "::text" in message
        # the target is as it was: same rows, same table, nothing left behind
        assert (checksum(pg, table), relation_oid(pg, pg_schema, "mixed_copy")) == before
        assert leftovers(pg, pg_schema) == []

    def test_nan_fails_before_writing(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        results = run_dbt(["run", "--select", "nan_copy"], expect_pass=False)
        message = result_message(results, "nan_copy")
        assert "column 'n' holds NaN or Infinity" in message, message
        assert "::float8" in message
        assert not table_exists(pg, pg_schema, "nan_copy")
        assert leftovers(pg, pg_schema) == []


class TestRowsChangedAfterCompile(NumericProject):
    def test_a_value_with_more_decimals_fails_the_read(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        # compiled with scale 2 (2.50); the pre-hook then adds 1.125 (scale 3), which
        # numeric(38,2) would round: the read fails instead
        results = run_dbt(["run", "--select", "raced_copy"], expect_pass=False)
        message = result_message(results, "raced_copy")
        assert "column 'n' has a value that numeric(38,2) would round" in message, message
        assert rows(pg, f'select count(*) from "{src_schema}".raced') == [(2,)]
        assert not table_exists(pg, pg_schema, "raced_copy")
        assert leftovers(pg, pg_schema) == []

        # the next invocation measures again: scale 3, every value exact
        run_dbt(["run", "--select", "raced_copy"])
        table = f'"{pg_schema}".raced_copy'
        assert rows(pg, f"select id, n::text from {table} order by id") == [
            (1, "2.500"),
            (2, "1.125"),
            (2, "1.125"),
        ]
