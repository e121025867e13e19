"""Every column type the write paths carry survives a first build and an incremental run.

A model with json, jsonb (from a pg_query source), arrays (of integers and
text), bytea, uuid, numeric, timestamptz, interval, text with quotes and NULLs
goes through pg_upsert_by_key and pg_incremental_by_time, twice each; the values
read back from PostgreSQL equal the originals (json compared as jsonb, numeric
exactly). The upsert's change detection must compare columns whose type has no
equality operator (json): only the row whose values changed is updated.
A table created outside dbt with every kind of type (xml, geometric, composite,
enum, domain, range, ...) checks the comparison expression itself.

DuckDB-only types (STRUCT, MAP, ENUM, HUGEINT, ...) are covered by
test_native_types.py.
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

from tests.functional.helpers import adapter_responses
from tests.functional.helpers import leftovers
from tests.functional.helpers import rows

# the source: jsonb and an exact numeric, read through pg_query
SRC_SETUP_SQL = """
create table __SRC__.docs (id integer primary key, doc jsonb, big numeric(30, 10));
insert into __SRC__.docs values
  (1, '{"b": [1, 2, {"c": null}], "a": "x''y"}', 12345678901234567890.0123456789),
  (2, null, null),
  (3, '{"new": true}', -0.0000000001);
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: docs
        meta:
          pg_query: select id, doc, big from "{{ target.schema }}_src".docs
"""

TRICKY_TEXT = 'it\'s "quoted" \\ back; $$ %s {} -- é 🦆\nline 2'

# step 1 rows 1 and 2; step 2 changes only the json of row 1 and adds row 3
ROWS_SQL = """
select r.*, d.doc as jb, d.big
from (
  select 1 as id,
         '{"a": {{ var('step', 1) }}, "s": "it''s"}'::json as j,
         [1, 2, 3]::integer[] as int_arr,
         ['a', 'b''c', 'd"e']::varchar[] as text_arr,
         '\\x00\\xff\\x27'::blob as bin,
         uuid '6f1c7a3e-3b7a-4f0e-9d3c-2a1b0c9d8e7f' as uid,
         12345.678901::decimal(18, 6) as amount,
         timestamptz '2024-01-01 12:00:00+02' as at_tz,
         interval '1 day 2 hours 3 microseconds' as span,
         {{ tricky }} as label,
         cast(current_date as timestamp) - interval 1 day as ts
  union all
  select 2, null, null, null, null, null, null, null, null, null,
         cast(current_date as timestamp)
  {% if var('step', 1) == 2 %}
  union all
  select 3, '[]'::json, []::integer[], []::varchar[], ''::blob,
         uuid '00000000-0000-0000-0000-000000000000', -0.000001::decimal(18, 6),
         timestamptz '1999-12-31 23:59:59.999999+00', interval '-5 seconds', '',
         cast(current_date as timestamp) + interval 1 hour
  {% endif %}
) r
left join {{ source('app', 'docs') }} d on d.id = r.id
"""


# the text reaches the model as a project var (YAML carries it exactly)
TRICKY_SET = "{% set tricky = adapter.pg_literal(var('tricky')) %}\n"

UPSERT_SQL = (
    "{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}\n"
    + TRICKY_SET
    + ROWS_SQL
)

# lookback=1: the incremental run re-writes yesterday's batch too (row 1 changes)
TIME_SQL = (
    "{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ts',"
    " begin='2020-01-01', lookback=1) }}\n" + TRICKY_SET + ROWS_SQL
)

# read back with every value in a form Python compares exactly
READ_SQL = """
select id, j::jsonb, int_arr, text_arr, bin, uid, amount, at_tz, span, label, jb::jsonb, big
from {table} order by id
"""

UTC = datetime.UTC
ROW_1 = [
    1,
    {"a": 1, "s": "it's"},
    [1, 2, 3],
    ["a", "b'c", 'd"e'],
    b"\x00\xff\x27",
    uuid.UUID("6f1c7a3e-3b7a-4f0e-9d3c-2a1b0c9d8e7f"),
    Decimal("12345.678901"),
    datetime.datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
    datetime.timedelta(days=1, hours=2, microseconds=3),
    TRICKY_TEXT,
    {"a": "x'y", "b": [1, 2, {"c": None}]},
    Decimal("12345678901234567890.0123456789"),
]
ROW_2 = [2] + [None] * 11
ROW_3 = [
    3,
    [],
    [],
    [],
    b"",
    uuid.UUID(int=0),
    Decimal("-0.000001"),
    datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime.timedelta(seconds=-5),
    "",
    {"new": True},
    Decimal("-0.0000000001"),
]


def expected_rows(step: int) -> List[tuple]:
    if step == 1:
        return [tuple(ROW_1), tuple(ROW_2)]
    changed = list(ROW_1)
    changed[1] = {"a": 2, "s": "it's"}
    return [tuple(changed), tuple(ROW_2), tuple(ROW_3)]


def read_back(conn: psycopg.Connection, schema: str, table: str) -> List[tuple]:
    found = rows(conn, READ_SQL.format(table=f'"{schema}"."{table}"'))
    # the read-back numeric has the column's scale: compare values, not digits shown
    return [tuple(v.normalize() if isinstance(v, Decimal) else v for v in r) for r in found]


def normalized(expected: List[tuple]) -> List[tuple]:
    return [tuple(v.normalize() if isinstance(v, Decimal) else v for v in r) for r in expected]


@pytest.mark.slow
class TestTypeRoundTrip:
    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return SRC_SETUP_SQL

    @pytest.fixture(scope="class")
    def project_config_update(self) -> Dict[str, Any]:
        return {"vars": {"tricky": TRICKY_TEXT}}

    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {
            "sources.yml": SOURCES_YML,
            "upsert_types.sql": UPSERT_SQL,
            "time_types.sql": TIME_SQL,
        }

    def test_first_build_and_incremental_run(
        self, src_schema: str, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run"])
        for table in ["upsert_types", "time_types"]:
            assert read_back(pg, pg_schema, table) == normalized(expected_rows(1)), table

        run_dbt(["run", "--vars", "{step: 2}"])
        for table in ["upsert_types", "time_types"]:
            assert read_back(pg, pg_schema, table) == normalized(expected_rows(2)), table
        # change detection through json: only row 1 changed, row 2 (all NULL) and the
        # unchanged json of the others were not rewritten
        upsert = adapter_responses(project.project_root)["upsert_types"]
        assert (upsert["rows_inserted"], upsert["rows_updated"]) == (1, 1), upsert
        assert leftovers(pg, pg_schema) == []

        # a third run with the same data updates nothing
        run_dbt(["run", "--vars", "{step: 2}", "--select", "upsert_types"])
        upsert = adapter_responses(project.project_root)["upsert_types"]
        assert (upsert["rows_inserted"], upsert["rows_updated"]) == (0, 0), upsert
        assert read_back(pg, pg_schema, "upsert_types") == normalized(expected_rows(2))

    def test_postgres_types_of_the_target(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        types = dict(
            rows(
                pg,
                "select a.attname::text, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped",
                (f'"{pg_schema}".upsert_types',),
            )
        )
        assert types["j"] == "jsonb"
        assert types["int_arr"] == "integer[]"
        assert types["bin"] == "bytea"
        assert types["uid"] == "uuid"
        assert types["amount"] == "numeric(18,6)"
        assert types["at_tz"] == "timestamp with time zone"
        assert types["span"] == "interval"


# --- the comparison of every kind of Postgres type -----------------------------------

EXOTIC_SETUP_SQL = """
create type __S__.mood as enum ('sad', 'happy');
create type __S__.pair as (a integer, b json);
create domain __S__.jdom as json;
create domain __S__.posint as integer check (value > 0);
create table __S__.exotic (
  id integer primary key, j json, jb jsonb, x xml, p point, bx box, l line, c circle,
  pa path, pl polygon, ja json[], xa xml[], pa2 point[], m __S__.mood, ma __S__.mood[],
  pr __S__.pair, jd __S__.jdom, pi __S__.posint, r int4range, mr int4multirange,
  vc varchar(10), vca varchar[], tv tsvector, mo money, ip inet, ci cidr, vb bit varying,
  t text, n numeric
);
insert into __S__.exotic values
  (1, '{"a": 1}', '{"a": 1}', __XML1__, '(1,2)', '((0,0),(1,1))', '{1,-1,0}', '<(0,0),1>',
   '[(0,0),(1,1)]', '((0,0),(1,1),(1,0))', array['{"a": 1}'::json], array[__XML1__::xml],
   array['(1,2)'::point], 'sad', array['sad'::__S__.mood], row(1, '{"a": 1}'), '{"d": 1}', 1,
   '[1,5)', '{[1,2)}', 'abc', array['x'], 'a b', 1.5, '10.0.0.1', '10.0.0.0/8', b'101', 'x', 1.5),
  (2, '{"a": 2}', '{"a": 2}', __XML2__, '(2,2)', '((0,0),(2,2))', '{1,-1,1}', '<(0,0),2>',
   '[(0,0),(2,2)]', '((0,0),(2,2),(2,0))', array['{"a": 2}'::json], array[__XML2__::xml],
   array['(2,2)'::point], 'happy', array['happy'::__S__.mood], row(2, '{"a": 2}'), '{"d": 2}', 2,
   '[2,5)', '{[2,3)}', 'abd', array['y'], 'a c', 2.5, '10.0.0.2', '11.0.0.0/8', b'111', 'y', 2.5);
"""

# writes, for the table exotic, the casts chosen and whether `is distinct from` through
# them finds each row equal to itself and different from the other row
DIFFERS_MACRO_SQL = """
{% macro check_differs(schema) %}
  {%- set relation = api.Relation.create(database='warehouse', schema=schema,
                                         identifier='exotic') -%}
  {%- set table = relation.pg_name() -%}
  {%- set casts = adapter.pg_comparison_casts(relation) -%}
  {%- set columns = [] -%}
  {%- for name in casts if name != 'id' -%}{%- do columns.append(name) -%}{%- endfor -%}
  {%- set pairs = [] -%}
  {%- set each = [] -%}
  {%- for name in columns -%}
    {%- set quoted = adapter.pg_literal(name) -%}
    {%- do pairs.append('(' ~ quoted ~ ', ' ~ adapter.pg_literal(casts[name]) ~ ')') -%}
    {%- set differs = adapter.pg_differs([name], casts, 't.', 's.') -%}
    {%- do each.append('(' ~ quoted ~ ', (select count(*) from ' ~ table ~ ' t join '
                       ~ table ~ ' s on t.id <> s.id where ' ~ differs ~ '))') -%}
  {%- endfor -%}
  {%- set differs = adapter.pg_differs(columns, casts, 't.', 's.') -%}
  {%- set sql -%}
    create table {{ adapter.pg_quote(schema) }}.differs_result as
    select
      (select count(*) from {{ table }} t join {{ table }} s on t.id = s.id
        where {{ differs }}) as self_differs,
      (select count(*) from {{ table }} t join {{ table }} s on t.id <> s.id
        where {{ differs }}) as other_differs;
    create table {{ adapter.pg_quote(schema) }}.differs_casts as
    select * from (values {{ pairs | join(', ') }}) v(name, cast_to);
    create table {{ adapter.pg_quote(schema) }}.differs_each as
    select * from (values {{ each | join(', ') }}) v(name, differing_pairs)
  {%- endset -%}
  {%- do pg_execute('warehouse', sql) -%}
  {%- do adapter.pg_commit() -%}
{% endmacro %}
"""


@pytest.mark.slow
class TestComparisonOfEveryType:
    @pytest.fixture(scope="class")
    def macros(self) -> Dict[str, str]:
        return {"check_differs.sql": DIFFERS_MACRO_SQL}

    def test_is_distinct_from_works_for_every_type(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        pg.execute(f'create schema if not exists "{pg_schema}"')
        # xml values need a server built with libxml; without it the xml columns hold
        # NULLs (the type and its cast are still checked)
        try:
            pg.execute("select '<a/>'::xml")
            xml_values = ["'<a>1</a>'", "'<a>2</a>'"]
        except psycopg.errors.FeatureNotSupported:
            xml_values = ["null", "null"]
        setup = EXOTIC_SETUP_SQL.replace("__S__", f'"{pg_schema}"')
        setup = setup.replace("__XML1__", xml_values[0]).replace("__XML2__", xml_values[1])
        pg.execute(setup)
        run_dbt(["run-operation", "check_differs", "--args", f"{{schema: {pg_schema}}}"])

        # both rows differ in every column: equal to itself, different from the other
        assert rows(pg, f'select * from "{pg_schema}".differs_result') == [(0, 2)]
        each = dict(rows(pg, f'select name, differing_pairs from "{pg_schema}".differs_each'))
        if xml_values[0] == "null":
            assert (each.pop("x"), each.pop("xa")) == (0, 0)
        assert all(n == 2 for n in each.values()), each

        casts = dict(rows(pg, f'select name, cast_to from "{pg_schema}".differs_casts'))
        casts = {k: v or "" for k, v in casts.items()}
        assert casts["j"] == "::jsonb"
        for name in ["x", "p", "bx", "l", "c", "pa", "pl", "ja", "xa", "pa2", "pr", "jd"]:
            assert casts[name] == "::text", name
        for name in ["jb", "m", "ma", "pi", "r", "mr", "vc", "vca", "tv", "mo", "ip", "ci"]:
            assert casts[name] == "", name
        for name in ["vb", "t", "n"]:
            assert casts[name] == "", name
