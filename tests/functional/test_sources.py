"""Sources in PostgreSQL (docs/architecture.md "Sources"): read through the attached catalog or,
with ``meta.pg_query``, as an inline ``postgres_query`` whose SQL runs on Postgres.

Source tables live in a Postgres schema of their own (``<test schema>_src``); the
models are `pg_full` models, so every assertion reads the result in Postgres.
"""

import json
import os
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import List

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import column_names
from tests.functional.helpers import columns
from tests.functional.helpers import rows

# --- source tables (created with psycopg; __SRC__ is the source schema) ----------------

SETUP_SQL = """
create table __SRC__.orders (
  id integer primary key, customer text, amount numeric(12, 2), ordered_at timestamptz
);
insert into __SRC__.orders
select i, 'customer ' || (i % 37), round((i * 13.37) % 1000, 2),
       timestamptz '2024-01-01 00:00:00+00' + i * interval '17 minutes'
from generate_series(1, 2000) i;

create table __SRC__.items (id integer primary key, label text);
insert into __SRC__.items select i, 'item ' || i from generate_series(1, 200) i;

-- every evaluation of audit_touch() leaves a row in audit: proof of rows evaluated
create table __SRC__.audit (id integer, at timestamptz default clock_timestamp());
create function __SRC__.audit_touch(i integer) returns integer
language plpgsql volatile as $$
begin
  insert into __SRC__.audit (id) values (i);
  return i;
end
$$;

-- cents whose sums DOUBLE cannot hold exactly, and values with > 15 significant digits
create table __SRC__.payments (grp integer, amount numeric(12, 2), big numeric(30, 8));
insert into __SRC__.payments
select i % 3, round(((i * 7919) % 1000003) / 100.0, 2),
       12345678901234.56789012 + i * 0.00000001
from generate_series(1, 1999) i;
insert into __SRC__.payments values (3, 0.10, 0.1), (3, 0.20, 0.2);

create table __SRC__.events (id integer, kind text, updated_at timestamptz);
insert into __SRC__.events
select i, 'fresh', now() - interval '30 minutes' - i * interval '1 minute'
from generate_series(1, 10) i;
insert into __SRC__.events
select 100 + i, 'stale', now() - interval '48 hours' - i * interval '1 minute'
from generate_series(1, 10) i;
create table __SRC__.fresh_events as select * from __SRC__.events where kind = 'fresh';
create table __SRC__.stale_events as select * from __SRC__.events where kind = 'stale';
"""

# --- dbt project ---------------------------------------------------------------------

# pg_query values exercise every character that could break a layer of quoting:
# single quotes, %, {}, $1, $$ and dollar quoting, backslashes, newlines, a comment
TRICKY_QUERY = """
select 1 as id,
       'it''s ''quoted''' as quotes,
       '100% sure, %s and %(name)s' as pct,
       '{} {0} {"a": []}' as braces,
       '$1, $2 and $$' as dollars,
       $q$dollar 'quoted' {} % $1$q$ as dollar_quoted,
       'line one
line two' as multiline,
       E'tab\\there' as escaped,
       'back\\slash' as backslash
-- a comment: don't, 100%, {}, $1
union all
select 2, '''', '%%', '}{', '$', $$'$$, '
', '', ''
"""

EXPECTED_TRICKY = [
    (
        1,
        "it's 'quoted'",
        "100% sure, %s and %(name)s",
        '{} {0} {"a": []}',
        "$1, $2 and $$",
        "dollar 'quoted' {} % $1",
        "line one\nline two",
        "tab\there",
        "back\\slash",
    ),
    (2, "'", "%%", "}{", "$", "'", "\n", "", ""),
]


def _indent(sql: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in sql.strip("\n").splitlines())


SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: orders
      - name: tricky
        meta:
          pg_query: |
__TRICKY__
      - name: audited
        meta:
          pg_query: >
            select id, "{{ target.schema }}_src".audit_touch(id) as touched, label
            from "{{ target.schema }}_src".items
      - name: commented
        meta:
          pg_query: |
            select id, label from "{{ target.schema }}_src".items
            -- a trailing comment
      - name: exploding
        meta:
          pg_query: "select id, 1 / (id - id) as boom from \\"{{ target.schema }}_src\\".items"
      - name: cents_total
        meta:
          pg_query: >
            select grp, sum(amount) as total, count(*) as n
            from "{{ target.schema }}_src".payments group by grp
      - name: big_total
        meta:
          pg_query: >
            select grp, sum(big) as big_total
            from "{{ target.schema }}_src".payments group by grp
      - name: payment_totals
        meta:
          pg_query: >
            select grp, sum(amount) as total, sum(big) as big_total,
                   avg(amount::float8) as avg_float, count(*) as n
            from "{{ target.schema }}_src".payments group by grp
      - name: late_table
      - name: late_query
        meta:
          pg_query: select * from "{{ target.schema }}_src".late_table

  - name: fresh
    database: app
    schema: "{{ target.schema }}_src"
    loaded_at_field: updated_at
    freshness:
      warn_after: {count: 12, period: hour}
      error_after: {count: 72, period: hour}
    tables:
      - name: fresh_events
      - name: stale_events
      - name: fresh_query
        meta:
          pg_query: >
            select id, updated_at from "{{ target.schema }}_src".events where kind = 'fresh'
      - name: stale_query
        meta:
          pg_query: >
            select id, updated_at from "{{ target.schema }}_src".events where kind = 'stale'
""".replace("__TRICKY__", _indent(TRICKY_QUERY, 12))


def pg_full_model(select: str) -> str:
    return "{{ config(materialized='pg_full', database='warehouse') }}\n" + select + "\n"


MODELS = {
    "sources.yml": SOURCES_YML,
    "orders_copy.sql": pg_full_model("select * from {{ source('app', 'orders') }}"),
    "tricky_model.sql": pg_full_model("select * from {{ source('app', 'tricky') }}"),
    "audited_model.sql": pg_full_model("select * from {{ source('app', 'audited') }}"),
    "commented_model.sql": pg_full_model("select * from {{ source('app', 'commented') }}"),
    "exploding_model.sql": pg_full_model("select * from {{ source('app', 'exploding') }}"),
    "cents_model.sql": pg_full_model("select * from {{ source('app', 'cents_total') }}"),
    "big_model.sql": pg_full_model("select * from {{ source('app', 'big_total') }}"),
    "payments_model.sql": pg_full_model("select * from {{ source('app', 'payment_totals') }}"),
    "late_plain_model.sql": pg_full_model("select * from {{ source('app', 'late_table') }}"),
    "late_query_model.sql": pg_full_model("select * from {{ source('app', 'late_query') }}"),
}


# --- helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="class")
def src_setup_sql() -> str:
    """The source schema's tables (src_schema)."""
    return SETUP_SQL


def compiled_sql(project: Any, model: str) -> str:
    path = os.path.join(project.project_root, "target", "compiled", "test", "models", model)
    with open(f"{path}.sql") as f:
        return f.read()


class SourcesProject:
    """One dbt project with every source and model; each test selects what it needs."""

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return MODELS


# --- plain sources and pg_query sources ------------------------------------------------


class TestReadSources(SourcesProject):
    def test_plain_source_through_attached_catalog(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "orders_copy"])
        got = rows(pg, f'select * from "{pg_schema}".orders_copy order by id')
        expected = rows(pg, f'select * from "{src_schema}".orders order by id')
        assert len(got) == 2000
        assert got == expected
        # read in place through the attached catalog `app`
        assert f'"app"."{src_schema}"."orders"' in compiled_sql(project, "orders_copy")

    def test_pg_query_with_quotes_percent_braces_dollars_newlines(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "tricky_model"])
        got = rows(pg, f'select * from "{pg_schema}".tricky_model order by id')
        assert got == EXPECTED_TRICKY

    def test_pg_query_ending_in_a_comment(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "commented_model"])
        assert rows(pg, f'select count(*) from "{pg_schema}".commented_model') == [(200,)]
        run_dbt(["run", "--select", "commented_model", "--empty"])
        assert rows(pg, f'select count(*) from "{pg_schema}".commented_model') == [(0,)]

    def test_pg_query_renders_inline_and_copies_nothing_ahead(
        self, project: Any, src_schema: str, pg_schema: str
    ) -> None:
        run_dbt(["run", "--select", "tricky_model", "payments_model"])
        for model in ("tricky_model", "payments_model"):
            sql = compiled_sql(project, model)
            assert "from postgres_query('app', '" in sql, sql
        # the pg_query text is inside the postgres_query literal, quotes doubled
        assert "'it''''s ''''quoted''''''" in compiled_sql(project, "tricky_model")
        # nothing was staged in the local DuckDB database
        local = project.run_sql(
            "select database_name, schema_name, table_name from duckdb_tables() "
            "where database_name = current_database()",
            fetch="all",
        )
        assert list(local) == []


# --- --empty ------------------------------------------------------------------------


class TestEmptyPushedIntoRemoteSql(SourcesProject):
    def test_empty_evaluates_no_remote_row(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        audit = f'"{src_schema}".audit'
        # a normal run evaluates audit_touch() once per source row...
        run_dbt(["run", "--select", "audited_model"])
        assert rows(pg, f'select count(*) from "{pg_schema}".audited_model') == [(200,)]
        assert rows(pg, f"select count(distinct id) from {audit}") == [(200,)]

        # ...with --empty it evaluates none: the limit runs inside Postgres
        pg.execute(f"truncate {audit}")
        run_dbt(["run", "--select", "audited_model", "--empty"])
        assert rows(pg, f"select count(*) from {audit}") == [(0,)]
        assert rows(pg, f'select count(*) from "{pg_schema}".audited_model') == [(0,)]
        assert columns(pg, pg_schema, "audited_model") == [
            ("id", "integer"),
            ("touched", "integer"),
            ("label", "text"),
        ]
        sql = compiled_sql(project, "audited_model")
        assert "from postgres_query('app', '" in sql and "limit 0" in sql

    def test_empty_never_evaluates_a_failing_row(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        # every row of this pg_query divides by zero when Postgres evaluates it
        run_dbt(["run", "--select", "exploding_model"], expect_pass=False)
        run_dbt(["run", "--select", "exploding_model", "--empty"])
        assert rows(pg, f'select count(*) from "{pg_schema}".exploding_model') == [(0,)]
        assert column_names(pg, pg_schema, "exploding_model") == ["id", "boom"]


# --- exact NUMERIC --------------------------------------------------------------------


class TestExactNumeric(SourcesProject):
    def expected(self, pg: psycopg.Connection, src_schema: str, aggregate: str) -> List[tuple]:
        """``grp, <aggregate>`` over the payments table, computed by Postgres."""
        return rows(
            pg,
            f'select grp, {aggregate} from "{src_schema}".payments group by grp order by grp',
        )

    def test_sum_of_cents_is_exact(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "cents_model"])
        expected = self.expected(pg, src_schema, "sum(amount), count(*)")
        got = rows(pg, f'select grp, total, n from "{pg_schema}".cents_model order by grp')
        assert len(got) == 4
        assert all(isinstance(r[1], Decimal) for r in got), got
        assert got == expected  # Decimal == Decimal: exact
        assert got[3][1] == Decimal("0.30")  # 0.10 + 0.20
        assert dict(columns(pg, pg_schema, "cents_model"))["total"] == "numeric"
        # and Postgres agrees, numeric to numeric
        mismatches = rows(
            pg,
            f'select count(*) from "{pg_schema}".cents_model m join (select grp, sum(amount) t '
            f'from "{src_schema}".payments group by grp) s using (grp) where m.total <> s.t',
        )
        assert mismatches == [(0,)]

    def test_more_digits_than_double_holds_are_exact(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "big_model"])
        expected = self.expected(pg, src_schema, "sum(big)")
        # the sums really are beyond DOUBLE: a float round trip changes them
        assert all(Decimal(float(r[1])) != r[1] for r in expected[:3])
        got = rows(pg, f'select grp, big_total from "{pg_schema}".big_model order by grp')
        assert got == expected
        assert str(got[0][1]).startswith("8222222148222222.22148325")

    def test_several_numeric_columns_are_exact(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "payments_model"])
        expected = self.expected(pg, src_schema, "sum(amount), sum(big), count(*)")
        got = rows(
            pg, f'select grp, total, big_total, n from "{pg_schema}".payments_model order by grp'
        )
        types = dict(columns(pg, pg_schema, "payments_model"))
        # float8 results stay float8 (only unconstrained NUMERIC is cast)
        assert types["avg_float"] == "double precision"
        assert types["total"] == "numeric" and types["big_total"] == "numeric"
        assert got == expected


# --- catalog metadata is fresh between invocations ------------------------------------


class TestFreshMetadata(SourcesProject):
    def test_table_created_after_first_invocation(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        # first invocation: the source schema's catalog is read and cached
        run_dbt(["run", "--select", "orders_copy", "payments_model"])

        pg.execute(
            f'create table "{src_schema}".late_table (id integer, amount numeric, note text)'
        )
        pg.execute(
            f'insert into "{src_schema}".late_table '
            "select i, i / 3.0, 'n' || i from generate_series(1, 30) i"
        )
        run_dbt(["run", "--select", "late_plain_model", "late_query_model"])
        expected = rows(pg, f'select id, amount, note from "{src_schema}".late_table order by id')
        for model in ("late_plain_model", "late_query_model"):
            got = rows(pg, f'select id, amount, note from "{pg_schema}".{model} order by id')
            assert len(got) == 30
            assert [(r[0], r[2]) for r in got] == [(r[0], r[2]) for r in expected]
        # through postgres_query the unconstrained numeric keeps its exact value (its
        # values have scale 20 and 16: the column has 20)
        got = rows(pg, f'select id, amount from "{pg_schema}".late_query_model order by id')
        assert got == [(r[0], r[1]) for r in expected]  # Decimal == Decimal: exact
        assert str(got[0][1]) == "0.33333333333333333333"

    def test_column_added_after_earlier_invocation(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        pg.execute(f'alter table "{src_schema}".late_table add column added integer default 7')
        run_dbt(["run", "--select", "late_plain_model", "late_query_model"])
        for model in ("late_plain_model", "late_query_model"):
            names = column_names(pg, pg_schema, model)
            assert names == ["id", "amount", "note", "added"], model


# --- dbt source freshness --------------------------------------------------------------


class TestSourceFreshness(SourcesProject):
    def test_freshness_pass_and_warn(
        self, project: Any, src_schema: str, pg: psycopg.Connection
    ) -> None:
        results = run_dbt(["source", "freshness", "--select", "source:fresh"])
        assert len(results) == 4
        with open(os.path.join(project.project_root, "target", "sources.json")) as f:
            sources = json.load(f)
        status = {r["unique_id"].split(".")[-1]: r["status"] for r in sources["results"]}
        assert status == {
            "fresh_events": "pass",
            "fresh_query": "pass",
            "stale_events": "warn",
            "stale_query": "warn",
        }
        # max_loaded_at is the Postgres max(updated_at), to the microsecond
        expected = dict(
            rows(pg, f'select kind, max(updated_at) from "{src_schema}".events group by kind')
        )
        for r in sources["results"]:
            name = r["unique_id"].split(".")[-1]
            got = datetime.fromisoformat(r["max_loaded_at"])
            assert got == expected[name.split("_")[0]], (name, got)
            assert r["max_loaded_at_time_ago_in_s"] > (
                12 * 3600 if name.startswith("stale") else 0
            )
