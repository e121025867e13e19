"""Postgres-native tables: every DuckDB type of the adapter's type map lands as its
Postgres type, with its value exact.

One model with a column of each mapped DuckDB type goes through pg_full,
pg_upsert_by_key and pg_incremental_by_time (first build, then an incremental run
that changes one row and adds one). The Postgres types are read with format_type,
the values read back from Postgres (jsonb compared as jsonb, numeric exactly).
A ``column_types`` override wins over the map, and a type without Postgres storage
is a clear error before anything is written.
"""

import datetime
import uuid
from decimal import Decimal
from typing import Any
from typing import Dict
from typing import List

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import leftovers
from tests.functional.helpers import rows
from tests.functional.helpers import table_exists

# rows 1 and 2 (all values NULL but the key); step 2 changes row 1's huge and adds row 3.
# huge is sum(INTEGER) (HUGEINT in DuckDB) past 2^64: exact digits or nothing
MODEL_SQL = """
with base as (
  select * from (values (1, 10), (1, 20), (2, 5)
  {%- if var('step', 1) == 2 %}, (1, 1), (3, 7){% endif %}) v(id, n)
), vals as (
  select
    18446744073709551615::ubigint as ub,
    12345678.123456::decimal(18, 6) as dec,
    'it''s "text"' as txt,
    '{"a": [1, {"b": null}], "s": "x''y"}'::json as js,
    {'a': 1, 'b': 'x'} as st,
    map {'k1': 1, 'k2': 2} as mp,
    union_value(num := 2)::union(num integer, str varchar) as un,
    [{'a': 1}, {'a': 2}] as ls,
    [1, 2, 3]::integer[] as li,
    [1.5, 2.5]::double[2] as arr,
    'happy'::enum('sad', 'happy') as en,
    uuid '6f1c7a3e-3b7a-4f0e-9d3c-2a1b0c9d8e7f' as uid,
    '\\x00\\xff'::blob as bin,
    '10110'::bit as bits,
    timestamp_ns '2024-01-01 12:00:00.123456789' as tsn,
    timestamptz '2024-01-01 12:00:00+02' as tstz,
    interval '1 day 2 hours 3 microseconds' as span
)
select b.id,
       sum(b.n::integer) * 1000000000000000000::hugeint + 1 as huge,
       any_value(v.ub) as ub, any_value(v.dec) as dec, any_value(v.txt) as txt,
       any_value(v.js) as js, any_value(v.st) as st, any_value(v.mp) as mp,
       any_value(v.un) as un, any_value(v.ls) as ls, any_value(v.li) as li,
       any_value(v.arr) as arr, any_value(v.en) as en, any_value(v.uid) as uid,
       any_value(v.bin) as bin, any_value(v.bits) as bits, any_value(v.tsn) as tsn,
       any_value(v.tstz) as tstz, any_value(v.span) as span,
       cast(current_date as timestamp) - case when b.id = 3 then interval 0 day
                                              else interval 1 day end as ts
from base b left join vals v on b.id <> 2
group by b.id
"""

FULL_SQL = "{{ config(materialized='pg_full', database='warehouse') }}\n" + MODEL_SQL
UPSERT_SQL = (
    "{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}\n"
    + MODEL_SQL
)
TIME_SQL = (
    "{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ts',"
    " begin='2020-01-01', lookback=1) }}\n" + MODEL_SQL
)
OVERRIDE_SQL = """
{{ config(materialized='pg_full', database='warehouse',
          column_types={'amount': 'numeric(12,2)', 'code': 'varchar(8)', 'huge': 'text'}) }}
select 12.5::double as amount, 'abc' as code, sum(x) as huge from (values (1), (2)) v(x)
"""
UNSUPPORTED_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select 1 as id, 123::bignum as v
"""

# column -> format_type of the Postgres column
EXPECTED_TYPES = {
    "id": "integer",
    "huge": "numeric",
    "ub": "numeric(20,0)",
    "dec": "numeric(18,6)",
    "txt": "text",
    "js": "jsonb",
    "st": "jsonb",
    "mp": "jsonb",
    "un": "jsonb",
    "ls": "jsonb",
    "li": "integer[]",
    "arr": "double precision[]",
    "en": "text",
    "uid": "uuid",
    "bin": "bytea",
    "bits": "bit varying",
    "tsn": "timestamp without time zone",
    "tstz": "timestamp with time zone",
    "span": "interval",
    "ts": "timestamp without time zone",
}

READ_SQL = """
select id, huge, ub, dec, txt, js, st, mp, un, ls, li, arr, en, uid, bin, bits::text,
       tsn, tstz, span
from {table} order by id
"""

UTC = datetime.UTC
VALUES = [
    Decimal("18446744073709551615"),
    Decimal("12345678.123456"),
    'it\'s "text"',
    {"a": [1, {"b": None}], "s": "x'y"},
    {"a": 1, "b": "x"},
    {"k1": 1, "k2": 2},
    {"num": 2},
    [{"a": 1}, {"a": 2}],
    [1, 2, 3],
    [1.5, 2.5],
    "happy",
    uuid.UUID("6f1c7a3e-3b7a-4f0e-9d3c-2a1b0c9d8e7f"),
    b"\x00\xff",
    "10110",
    # Postgres keeps microseconds: the nanoseconds are truncated
    datetime.datetime(2024, 1, 1, 12, 0, 0, 123456),
    datetime.datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
    datetime.timedelta(days=1, hours=2, microseconds=3),
]


def expected_rows(step: int) -> List[tuple]:
    row_1 = (1, Decimal("30000000000000000001"), *VALUES)
    row_2 = (2, Decimal("5000000000000000001")) + (None,) * len(VALUES)
    if step == 1:
        return [row_1, row_2]
    row_1 = (1, Decimal("31000000000000000001"), *VALUES)
    row_3 = (3, Decimal("7000000000000000001"), *VALUES)
    return [row_1, row_2, row_3]


def read_back(conn: psycopg.Connection, schema: str, table: str) -> List[tuple]:
    return rows(conn, READ_SQL.format(table=f'"{schema}"."{table}"'))


def pg_types(conn: psycopg.Connection, schema: str, table: str) -> Dict[str, str]:
    return dict(
        rows(
            conn,
            "select a.attname::text, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped",
            (f'"{schema}"."{table}"',),
        )
    )


def information_schema_types(conn: psycopg.Connection, schema: str, table: str) -> Dict[str, str]:
    return dict(
        rows(
            conn,
            "select column_name::text, data_type::text from information_schema.columns "
            "where table_schema = %s and table_name = %s",
            (schema, table),
        )
    )


@pytest.mark.slow
class TestNativeTypes:
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {
            "full_types.sql": FULL_SQL,
            "upsert_types.sql": UPSERT_SQL,
            "time_types.sql": TIME_SQL,
        }

    def test_every_mapped_type(self, project: Any, pg_schema: str, pg: psycopg.Connection) -> None:
        tables = ["full_types", "upsert_types", "time_types"]
        run_dbt(["run"])
        for table in tables:
            assert pg_types(pg, pg_schema, table) == EXPECTED_TYPES, table
            assert read_back(pg, pg_schema, table) == expected_rows(1), table
        assert information_schema_types(pg, pg_schema, "full_types")["li"] == "ARRAY"

        run_dbt(["run", "--vars", "{step: 2}"])
        for table in tables:
            # the incremental runs keep the types: no on_schema_change difference
            assert pg_types(pg, pg_schema, table) == EXPECTED_TYPES, table
            assert read_back(pg, pg_schema, table) == expected_rows(2), table
        assert leftovers(pg, pg_schema) == []


class TestColumnTypes:
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {"override_types.sql": OVERRIDE_SQL, "unsupported_types.sql": UNSUPPORTED_SQL}

    def test_override_wins_and_unsupported_fails(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "override_types"])
        assert pg_types(pg, pg_schema, "override_types") == {
            "amount": "numeric(12,2)",
            "code": "character varying(8)",
            "huge": "text",
        }
        assert rows(pg, f'select amount, code, huge from "{pg_schema}".override_types') == [
            (Decimal("12.50"), "abc", "3")
        ]

        results = run_dbt(["run", "--select", "unsupported_types"], expect_pass=False)
        message = str(results[0].message)
        assert "column 'v'" in message and "column_types" in message, message
        assert not table_exists(pg, pg_schema, "unsupported_types")
        assert leftovers(pg, pg_schema) == []
