"""`pg_incremental_by_time`: time-window DELETE + INSERT into PostgreSQL, batch by batch
(docs/architecture.md "pg_incremental_by_time").

Source tables live in a Postgres schema of their own (``<test schema>_src``) with
times relative to the current UTC time, so a run's window (which ends at the end of
the batch holding "now") is
a few batches. Every assertion reads PostgreSQL: row counts and checksums per
batch period of the target against a reference computed by Postgres from the
source (and from a snapshot of the target taken before the run), pg_indexes,
pg_class leftovers, and the queries DuckDB sent to Postgres.
"""

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Dict
from typing import List
from typing import Tuple

import psycopg
import pytest
from dbt.cli.exceptions import DbtUsageException
from dbt.tests.util import run_dbt

from tests.conftest import base_profile
from tests.functional.helpers import adapter_responses
from tests.functional.helpers import column_names
from tests.functional.helpers import index_definitions
from tests.functional.helpers import leftovers
from tests.functional.helpers import result_message
from tests.functional.helpers import table_exists

# --- source tables (created with psycopg, session time zone UTC; __SRC__ is the schema) --

# 10 days before today x 12 rows (every 2 hours), plus 3 rows in the future
EVENTS_SQL = """
create table __SRC__.events (id integer primary key, event_at timestamptz, amount numeric(12, 2));
insert into __SRC__.events
select d * 100 + h, current_date::timestamptz - d * interval '1 day'
       + h * interval '2 hours' + interval '17 minutes', round((d * 7.31 + h * 1.13)::numeric, 2)
from generate_series(1, 10) d, generate_series(0, 11) h;
insert into __SRC__.events
select 9000 + k, current_date::timestamptz + interval '2 days' + k * interval '1 hour', 1
from generate_series(1, 3) k;
"""

# hourly rows over the last 24 hours, naive UTC timestamps; 2 rows in the future
HOURLY_SQL = """
create table __SRC__.hourly (id integer primary key, ts timestamp, v integer);
insert into __SRC__.hourly
select k * 10 + j, date_trunc('hour', now() at time zone 'UTC') - k * interval '1 hour'
       + j * interval '20 minutes' + interval '1 minute', k * j
from generate_series(1, 24) k, generate_series(0, 2) j;
insert into __SRC__.hourly
select 9000 + k, (now() at time zone 'UTC') + k * interval '2 hours', 1
from generate_series(1, 2) k;
"""

# dates in the current month and the 6 before it; one date more than a month ahead
MONTHLY_SQL = """
create table __SRC__.monthly (id integer primary key, d date, v integer);
insert into __SRC__.monthly
select m * 10 + j,
       (date_trunc('month', current_date) - m * interval '1 month')::date + j * 6, m + j
from generate_series(1, 6) m, generate_series(0, 3) j;
insert into __SRC__.monthly
select k, date_trunc('month', current_date)::date, 100 + k from generate_series(1, 3) k;
insert into __SRC__.monthly values (9000, current_date + 40, 1);
"""

# 100 days before today x 1000 rows: the pushdown test's source
BIG_SQL = """
create table __SRC__.big (id integer, ts timestamptz, v integer);
insert into __SRC__.big
select d * 1000 + i, current_date::timestamptz - d * interval '1 day' + i * interval '80 seconds',
       i % 97
from generate_series(1, 100) d, generate_series(0, 999) i;
analyze __SRC__.big;
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: events
      - name: hourly
      - name: monthly
      - name: big
"""

# the end of every window of a day-batched model: the end of today (UTC)
DAY_END = "(date_trunc('day', now()) + interval '1 day')"

# --- models ---------------------------------------------------------------------------

# run_kind proves is_incremental() per row: 'full' rows were written by a first build
# or full refresh, 'inc' rows by an incremental batch
EVENTS_INC_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          lookback=var('lookback', 0), begin=var('begin')) }}
select id, event_at, amount, '{{ "inc" if is_incremental() else "full" }}' as run_kind
from {{ source('app', 'events') }}
"""

# no lookback config: the default, 0
EVENTS_DEFAULT_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          begin=var('begin')) }}
select id, event_at, amount, '{{ "inc" if is_incremental() else "full" }}' as run_kind
from {{ source('app', 'events') }}
"""

# lookback 4: a second run has 6 batches (4 days of lookback, the last day, today)
FAIL_MODEL_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          lookback=4, begin=var('begin')) }}
select id, event_at, amount from {{ source('app', 'events') }}
"""

NULL_MODEL_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          lookback=0, begin=var('begin')) }}
select id, event_at, amount from {{ source('app', 'events') }}
{%- if var('with_null', false) %}
union all select -1, cast(null as timestamptz), 0
{%- endif %}
"""


def schema_change_model(on_schema_change: str, v2_columns: str) -> str:
    """A model whose columns are ``id, event_at, amount, note`` and, with var v2,
    ``id, event_at, amount`` + ``v2_columns``."""
    return (
        "{{ config(materialized='pg_incremental_by_time', database='warehouse', "
        f"event_time='event_at', lookback=0, begin=var('begin'), "
        f"on_schema_change='{on_schema_change}') }}}}\n"
        "select id, event_at, amount,\n"
        "{%- if var('v2', false) %} " + v2_columns + "\n"
        "{%- else %} 'n' || id as note\n{%- endif %}\n"
        "from {{ source('app', 'events') }}\n"
    )


SCHEMA_MODELS = {
    # ignore and fail: a column is added
    "osc_ignore.sql": schema_change_model("ignore", "'n' || id as note, id * 10 as extra"),
    "osc_fail.sql": schema_change_model("fail", "'n' || id as note, id * 10 as extra"),
    "osc_append.sql": schema_change_model(
        "append_new_columns", "'n' || id as note, id * 10 as extra"
    ),
    # sync: note is dropped, extra is added
    "osc_sync.sql": schema_change_model("sync_all_columns", "id * 10 as extra"),
}

HOURLY_SQL_MODEL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ts',
          batch_size='hour', lookback=0) }}
select id, ts, v, '{{ "inc" if is_incremental() else "full" }}' as run_kind
from {{ source('app', 'hourly') }}
"""

MONTHLY_SQL_MODEL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='d',
          batch_size='month', lookback=0, begin=var('month_begin')) }}
select id, d, v, '{{ "inc" if is_incremental() else "full" }}' as run_kind
from {{ source('app', 'monthly') }}
"""

# the window bounds in the model's own filter on a Postgres source
BIG_WINDOW_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ts',
          lookback=0, begin=var('big_begin')) }}
select id, ts, v from {{ source('app', 'big') }}
where ts >= {{ pg_window_start('timestamptz') }} and ts < {{ pg_window_end('timestamptz') }}
"""

# no filter in the model: only the materialization's clamp to the window
# every problem a config can have, several per model
BAD_COMBO_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='nope',
          batch_size='week', lookback=-1, begin='soon') }}
select 1 as id, timestamp '2024-01-01' as event_at
"""

BAD_MISSING_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', batch_size='fortnight',
          lookback=2, begin='2024-13-45') }}
select 1 as id, timestamp '2024-01-01' as event_at
"""

BAD_TYPE_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='id') }}
select 1 as id, timestamp '2024-01-01' as event_at
"""

BAD_DB_SQL = """
{{ config(materialized='pg_incremental_by_time', database=target.database,
          event_time='event_at') }}
select 1 as id, timestamp '2024-01-01' as event_at
"""


# --- helpers --------------------------------------------------------------------------


def today_utc() -> date:
    return datetime.now(UTC).date()


def month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def base_vars() -> Dict[str, Any]:
    """Project vars: the `begin` configs, relative to today (UTC)."""
    today = today_utc()
    return {
        "begin": (today - timedelta(days=8)).isoformat(),
        "month_begin": month_start(today, 5).isoformat(),
        "big_begin": (today - timedelta(days=100)).isoformat(),
    }


def ts(moment: datetime) -> str:
    """A timestamptz literal for Postgres."""
    return f"timestamptz '{moment.isoformat()}'"


def period(moment: datetime) -> str:
    """``moment`` as Postgres prints a period key of :func:`groups` (session time zone UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") + ("+00" if moment.tzinfo else "")


def groups(
    conn: psycopg.Connection, from_sql: str, time_col: str, unit: str, cols: str
) -> Dict[str, Tuple[int, str]]:
    """{period: (rows, md5 of the rows)} of ``from_sql``, per ``unit`` of ``time_col`` (UTC)."""
    rows = conn.execute(
        f"select date_trunc('{unit}', {time_col})::text, count(*), "
        f"md5(string_agg(row({cols})::text, '|' order by row({cols})::text)) "
        f"from {from_sql} t group by 1 order by 1"
    ).fetchall()
    return {str(r[0]): (int(r[1]), str(r[2])) for r in rows}


def run_kinds(
    conn: psycopg.Connection, table: str, time_col: str, unit: str
) -> Dict[str, List[str]]:
    """{period: sorted distinct run_kind values} of ``table``."""
    rows = conn.execute(
        f"select date_trunc('{unit}', {time_col})::text, array_agg(distinct run_kind::text) "
        f"from {table} group by 1 order by 1"
    ).fetchall()
    return {str(r[0]): sorted(r[1]) for r in rows}


def scalar(conn: psycopg.Connection, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def snapshot(conn: psycopg.Connection, src: str, table: str, name: str) -> str:
    """Copy ``table`` to ``<src>.<name>`` (replacing it); returns the copy's name."""
    copy = f'"{src}".{name}'
    conn.execute(f"drop table if exists {copy}")
    conn.execute(f"create table {copy} as select * from {table}")
    return copy


class IncrementalProject:
    """A project with the source schema (``<test schema>_src``) holding ``source_sql``."""

    source_sql = EVENTS_SQL

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict:
        return {"vars": base_vars()}

    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        """The source tables, with times computed in UTC (as the windows are)."""
        return "set timezone = 'UTC';\n" + self.source_sql


# --- first build, incremental runs, lookback, backfill, full refresh -----------------


class TestIncrementalRuns(IncrementalProject):
    """One target through a sequence of runs (the tests run in order)."""

    COLS = "id, event_at, amount, run_kind"

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "events_inc.sql": EVENTS_INC_SQL}

    def reference(self, src: str, snap: str, start: datetime, end: str = DAY_END) -> str:
        """The expected target after an incremental run over [start, end): source
        rows in the window written by this run, the snapshot's rows elsewhere."""
        return (
            f"(select id, event_at, amount, 'inc'::varchar as run_kind from \"{src}\".events "
            f"where event_at >= {ts(start)} and event_at < {end} "
            f"union all select id, event_at, amount, run_kind from {snap} "
            f"where event_at < {ts(start)} or event_at >= {end})"
        )

    def full_reference(self, src: str) -> str:
        begin = base_vars()["begin"]
        return (
            f"(select id, event_at, amount, 'full'::varchar as run_kind from \"{src}\".events "
            f"where event_at >= timestamptz '{begin} 00:00:00+00' and event_at < {DAY_END})"
        )

    def assert_nothing_outside(self, conn: psycopg.Connection, src: str, target: str) -> None:
        """Rows before `begin` or after now exist in the source, never in the target."""
        begin = base_vars()["begin"]
        outside = f"event_at < timestamptz '{begin} 00:00:00+00' or event_at >= {DAY_END}"
        assert scalar(conn, f'select count(*) from "{src}".events where {outside}') == 27
        assert scalar(conn, f"select count(*) from {target} where {outside}") == 0

    def test_first_build(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".events_inc'
        run_dbt(["run", "--select", "events_inc"])

        expected = groups(db, self.full_reference(src_schema), "event_at", "day", self.COLS)
        assert len(expected) == 8 and sum(n for n, _ in expected.values()) == 96
        assert groups(db, target, "event_at", "day", self.COLS) == expected
        # is_incremental() was false: every row says 'full'
        assert {tuple(v) for v in run_kinds(db, target, "event_at", "day").values()} == {("full",)}
        self.assert_nothing_outside(db, src_schema, target)

        indexes = index_definitions(db, pg_schema, "events_inc")
        assert [d.split(" USING ")[1] for d in indexes] == ["btree (event_at)"]
        response = adapter_responses(project.project_root)["events_inc"]
        assert response["rows_inserted"] == 96 and response["rows_deleted"] == 0
        assert leftovers(db, pg_schema) == []

    def test_second_run_processes_recent_batches(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".events_inc'
        snap = snapshot(db, src_schema, target, "snap_events")
        start = scalar(db, f"select date_trunc('day', max(event_at)) from {target}")
        assert start.date() == today_utc() - timedelta(days=1)

        # new rows late in the last loaded day and just now; a change to an old row
        # (5 days ago) that this run must not see
        db.execute(
            f'insert into "{src_schema}".events values '
            f"(5001, {ts(start)} + interval '23 hours 50 minutes', 50.01), "
            "(5002, now() - interval '2 seconds', 50.02), "
            "(5003, now() - interval '1 second', 50.03)"
        )
        db.execute(f'update "{src_schema}".events set amount = amount + 1000 where id = 503')
        run_dbt(["run", "--select", "events_inc"])

        expected = groups(
            db, self.reference(src_schema, snap, start), "event_at", "day", self.COLS
        )
        assert groups(db, target, "event_at", "day", self.COLS) == expected
        # the days before the window were not rewritten; the window's were (is_incremental())
        kinds = run_kinds(db, target, "event_at", "day")
        for day, values in kinds.items():
            assert values == (["inc"] if day >= period(start) else ["full"]), (day, values)
        assert scalar(db, f"select amount from {target} where id = 503") < 1000
        assert scalar(db, f"select count(*) from {target} where id in (5001, 5002, 5003)") == 3
        self.assert_nothing_outside(db, src_schema, target)

        # run_results.json: rows deleted are the window's old rows, inserted its new ones
        response = adapter_responses(project.project_root)["events_inc"]
        window = f"event_at >= {ts(start)} and event_at < {DAY_END}"
        assert response["rows_deleted"] == scalar(
            db, f"select count(*) from {snap} where event_at >= {ts(start)}"
        )
        assert response["rows_deleted"] == 12
        assert response["rows_inserted"] == scalar(
            db, f'select count(*) from "{src_schema}".events where {window}'
        )
        assert response["rows_inserted"] == 15
        assert leftovers(db, pg_schema) == []

    def test_unchanged_source_is_idempotent(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".events_inc'
        before = groups(db, target, "event_at", "day", self.COLS)
        run_dbt(["run", "--select", "events_inc"])
        assert groups(db, target, "event_at", "day", self.COLS) == before
        response = adapter_responses(project.project_root)["events_inc"]
        assert response["rows_deleted"] == response["rows_inserted"] > 0

    def test_lookback_picks_up_late_rows(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".events_inc'
        snap = snapshot(db, src_schema, target, "snap_events")
        last = scalar(db, f"select date_trunc('day', max(event_at)) from {target}")
        start = last - timedelta(days=2)  # lookback=2
        # late-arriving rows: one inside the lookback, one a day before it
        db.execute(
            f'insert into "{src_schema}".events values '
            f"(6001, {ts(start)} + interval '1 day 5 hours', 60.01), "
            f"(6002, {ts(start)} - interval '1 day' + interval '5 hours', 60.02)"
        )
        run_dbt(["run", "--select", "events_inc", "--vars", "{lookback: 2}"])

        expected = groups(
            db, self.reference(src_schema, snap, start), "event_at", "day", self.COLS
        )
        assert groups(db, target, "event_at", "day", self.COLS) == expected
        assert scalar(db, f"select count(*) from {target} where id = 6001") == 1
        assert scalar(db, f"select count(*) from {target} where id = 6002") == 0
        kinds = run_kinds(db, target, "event_at", "day")
        assert [d for d, k in kinds.items() if k == ["inc"]] == [
            d for d in kinds if d >= period(start)
        ]
        assert len([d for d in kinds if d >= period(start)]) >= 3

    def test_backfill_explicit_range(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".events_inc'
        snap = snapshot(db, src_schema, target, "snap_events")
        # every source row changes; only the explicit range may be rewritten
        db.execute(f'update "{src_schema}".events set amount = amount + 0.5')
        first = today_utc() - timedelta(days=7)
        end = today_utc() - timedelta(days=5)
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        run_dbt(
            [
                "run",
                "--select",
                "events_inc",
                "--event-time-start",
                first.isoformat(),
                "--event-time-end",
                end.isoformat(),
            ]
        )
        expected = groups(
            db,
            self.reference(src_schema, snap, start, f"timestamptz '{end.isoformat()} 00:00+00'"),
            "event_at",
            "day",
            self.COLS,
        )
        got = groups(db, target, "event_at", "day", self.COLS)
        assert got == expected
        old = groups(db, snap, "event_at", "day", self.COLS)
        changed = sorted(day for day in got if got[day] != old[day])
        assert changed == [f"{first} 00:00:00+00", f"{first + timedelta(days=1)} 00:00:00+00"]
        response = adapter_responses(project.project_root)["events_inc"]
        assert response["rows_deleted"] == response["rows_inserted"] == 24
        assert "in 2 batch(es)" in response["_message"]

        # one flag alone is refused (by dbt's own flag validation), and nothing changes
        before = groups(db, target, "event_at", "day", self.COLS)
        for flag in ("--event-time-start", "--event-time-end"):
            with pytest.raises(DbtUsageException) as error:
                run_dbt(["run", "--select", "events_inc", flag, first.isoformat()])
            assert "--event-time-start" in str(error.value)
            assert "--event-time-end" in str(error.value)
        assert groups(db, target, "event_at", "day", self.COLS) == before

    def test_full_refresh(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".events_inc'
        run_dbt(["run", "--select", "events_inc", "--full-refresh"])
        expected = groups(db, self.full_reference(src_schema), "event_at", "day", self.COLS)
        assert groups(db, target, "event_at", "day", self.COLS) == expected
        # the late row outside the lookback and the old change are in now; all 'full'
        assert scalar(db, f"select count(*) from {target} where id = 6002") == 1
        assert scalar(db, f"select amount from {target} where id = 503") > 1000
        assert {tuple(v) for v in run_kinds(db, target, "event_at", "day").values()} == {("full",)}
        self.assert_nothing_outside(db, src_schema, target)
        indexes = index_definitions(db, pg_schema, "events_inc")
        assert [d.split(" USING ")[1] for d in indexes] == ["btree (event_at)"]
        assert leftovers(db, pg_schema) == []


class TestDefaultLookback(IncrementalProject):
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "events_default.sql": EVENTS_DEFAULT_SQL}

    def test_default_lookback_is_zero(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".events_default'
        run_dbt(["run", "--select", "events_default"])
        last = scalar(db, f"select date_trunc('day', max(event_at)) from {target}")
        run_dbt(["run", "--select", "events_default"])
        # only the last loaded day (and today, empty) is redone
        kinds = run_kinds(db, target, "event_at", "day")
        assert [d for d, k in kinds.items() if k == ["inc"]] == [period(last)], kinds
        response = adapter_responses(project.project_root)["events_default"]
        assert response["rows_deleted"] == response["rows_inserted"] == 12


# --- a failing batch in the middle ----------------------------------------------------


class TestFailingBatch(IncrementalProject):
    COLS = "id, event_at, amount"

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            "fail_model.sql": FAIL_MODEL_SQL,
            "clean_twin.sql": FAIL_MODEL_SQL,
        }

    def test_failed_batch_keeps_earlier_batches_and_rerun_completes(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".fail_model'
        src = f'"{src_schema}".events'
        run_dbt(["run", "--select", "fail_model"])
        # Postgres refuses negative amounts in the target: a batch holding one fails there
        db.execute(f"alter table {target} add constraint amount_positive check (amount >= 0)")
        snap = snapshot(db, src_schema, target, "snap_fail")

        last = scalar(db, f"select date_trunc('day', max(event_at)) from {target}")
        start = last - timedelta(days=4)  # lookback=4: batches start .. today
        bad_day = last - timedelta(days=2)  # the third batch
        db.execute(f"update {src} set amount = amount + 1 where event_at >= {ts(start)}")
        db.execute(
            f"update {src} set amount = -1 where id = (select min(id) from {src} "
            f"where event_at >= {ts(bad_day)} and event_at < {ts(bad_day + timedelta(days=1))})"
        )
        results = run_dbt(["run", "--select", "fail_model"], expect_pass=False)
        assert "amount_positive" in result_message(results, "fail_model")

        # the two batches before the bad day are committed (new values); the bad day and
        # the batches after it kept the old rows; nothing before the window changed
        got = groups(db, target, "event_at", "day", self.COLS)
        new = groups(
            db, f"(select * from {src} where event_at < {DAY_END})", "event_at", "day", self.COLS
        )
        old = groups(db, snap, "event_at", "day", self.COLS)
        committed = [period(start), period(start + timedelta(days=1))]
        for day in sorted(set(got) | set(old)):
            assert got[day] == (new[day] if day in committed else old[day]), day
        assert new[committed[0]] != old[committed[0]]
        assert leftovers(db, pg_schema) == []

        # fix the source: the rerun resumes and ends like one clean run of the same data
        db.execute(f"update {src} set amount = 1 where amount < 0")
        run_dbt(["run", "--select", "fail_model", "clean_twin"])
        got = groups(db, target, "event_at", "day", self.COLS)
        assert got == groups(db, f'"{pg_schema}".clean_twin', "event_at", "day", self.COLS)
        begin = base_vars()["begin"]
        assert got == groups(
            db,
            f"(select * from {src} where event_at >= timestamptz '{begin} 00:00+00' "
            f"and event_at < {DAY_END})",
            "event_at",
            "day",
            self.COLS,
        )
        assert leftovers(db, pg_schema) == []


# --- NULL event_time ------------------------------------------------------------------


class TestNullEventTime(IncrementalProject):
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "null_model.sql": NULL_MODEL_SQL}

    def test_null_event_time_fails_and_writes_nothing(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".null_model'
        cols = "id, event_at, amount"
        with_null = ["run", "--select", "null_model", "--vars", "{with_null: true}"]

        # first build
        results = run_dbt(with_null, expect_pass=False)
        message = result_message(results, "null_model")
        assert "NULL event_time" in message and "event_at" in message
        assert not table_exists(db, pg_schema, "null_model")
        assert leftovers(db, pg_schema) == []

        # incremental run
        run_dbt(["run", "--select", "null_model"])
        before = groups(db, target, "event_at", "day", cols)
        assert sum(n for n, _ in before.values()) == 96
        db.execute(f'update "{src_schema}".events set amount = amount + 1')
        results = run_dbt(with_null, expect_pass=False)
        assert "NULL event_time" in result_message(results, "null_model")
        assert groups(db, target, "event_at", "day", cols) == before
        assert scalar(db, f"select count(*) from {target} where event_at is null") == 0
        assert leftovers(db, pg_schema) == []


# --- on_schema_change -----------------------------------------------------------------


class TestOnSchemaChange(IncrementalProject):
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, **SCHEMA_MODELS}

    def test_on_schema_change(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        names = ["osc_ignore", "osc_fail", "osc_append", "osc_sync"]
        run_dbt(["run", "--select", *names])
        before = {
            name: groups(db, f'"{pg_schema}".{name}', "event_at", "day", "t.*") for name in names
        }
        start = scalar(
            db, f"select date_trunc('day', max(event_at)) from \"{pg_schema}\".osc_fail"
        )
        snaps = {
            name: snapshot(db, src_schema, f'"{pg_schema}".{name}', f"snap_{name}")
            for name in ("osc_ignore", "osc_append", "osc_sync")
        }
        db.execute(f'update "{src_schema}".events set amount = amount + 1')

        # one thread: concurrent schema changes hit a race (TestConcurrentSchemaChange)
        results = run_dbt(
            ["run", "--threads", "1", "--select", *names, "--vars", "{v2: true}"],
            expect_pass=False,
        )
        statuses = {r.node.name: r.status for r in results}
        assert statuses == {
            "osc_ignore": "success",
            "osc_fail": "error",
            "osc_append": "success",
            "osc_sync": "success",
        }
        message = result_message(results, "osc_fail")
        assert "on_schema_change='fail'" in message and "extra" in message

        # fail: nothing written
        assert column_names(db, pg_schema, "osc_fail") == ["id", "event_at", "amount", "note"]
        assert (
            groups(db, f'"{pg_schema}".osc_fail', "event_at", "day", "t.*") == before["osc_fail"]
        )

        src = f'"{src_schema}".events'
        window = f"event_at >= {ts(start)} and event_at < {DAY_END}"
        expect = {
            "osc_ignore": ["id", "event_at", "amount", "note"],
            "osc_append": ["id", "event_at", "amount", "note", "extra"],
            "osc_sync": ["id", "event_at", "amount", "extra"],
        }
        for name, columns in expect.items():
            table = f'"{pg_schema}".{name}'
            assert column_names(db, pg_schema, name) == columns, name
            # the window holds the source's new rows in the new shape; older rows kept
            # their values and have NULL in an added column
            in_window = ", ".join(
                {"note": "'n' || id", "extra": "id * 10"}.get(c, c) + f" as {c}" for c in columns
            )
            old = ", ".join(c if c != "extra" else "null::integer as extra" for c in columns)
            reference = (
                f"(select {in_window} from {src} where {window} "
                f"union all select {old} from {snaps[name]} where event_at < {ts(start)})"
            )
            cols = ", ".join(columns)
            assert groups(db, table, "event_at", "day", cols) == groups(
                db, reference, "event_at", "day", cols
            ), name
            assert scalar(db, f"select count(*) from {table} where event_at >= {ts(start)}") > 0
        assert leftovers(db, pg_schema) == []


CONCURRENT_MODELS = {
    f"osc_append_{k}.sql": schema_change_model(
        "append_new_columns", "'n' || id as note, id * 10 as extra"
    )
    for k in range(4)
}


class TestConcurrentSchemaChange(IncrementalProject):
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, **CONCURRENT_MODELS}

    def test_parallel_models_add_columns(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        names = [name[: -len(".sql")] for name in CONCURRENT_MODELS]
        run_dbt(["run", "--select", *names])
        results = run_dbt(["run", "--threads", "4", "--select", *names, "--vars", "{v2: true}"])
        assert {r.status for r in results} == {"success"}
        for name in names:
            assert column_names(db, pg_schema, name)[-1] == "extra"
            assert scalar(db, f'select count(extra) from "{pg_schema}".{name}') == 12


# --- config errors --------------------------------------------------------------------


class TestConfigErrors(IncrementalProject):
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "bad_combo.sql": BAD_COMBO_SQL,
            "bad_missing.sql": BAD_MISSING_SQL,
            "bad_type.sql": BAD_TYPE_SQL,
            "bad_db.sql": BAD_DB_SQL,
        }

    def test_each_model_gets_one_error_listing_every_problem(
        self, project: Any, pg_schema: str, db: psycopg.Connection
    ) -> None:
        results = run_dbt(["run"], expect_pass=False)
        assert {r.node.name: r.status for r in results} == {
            "bad_combo": "error",
            "bad_missing": "error",
            "bad_type": "error",
            "bad_db": "error",
        }

        def problems(name: str) -> List[str]:
            message = result_message(results, name)
            assert "Compilation Error" in message or "Invalid config" in message, message
            assert message.count("Invalid config for") == 1, message
            return [line.strip()[2:] for line in message.splitlines() if line.strip()[:2] == "- "]

        combo = problems("bad_combo")
        assert len(combo) == 4, combo
        assert any(p.startswith("event_time=nope is not a column") for p in combo), combo
        assert any("id, event_at" in p for p in combo), combo  # the columns are listed
        assert any(p.startswith("batch_size=week") for p in combo), combo
        assert any(p.startswith("lookback=-1") for p in combo), combo
        assert any(p.startswith("begin='soon'") for p in combo), combo

        missing = problems("bad_missing")
        assert len(missing) == 3, missing
        assert any(p.startswith("event_time is required") for p in missing), missing
        assert any(p.startswith("batch_size=fortnight") for p in missing), missing
        assert any(p.startswith("begin='2024-13-45'") for p in missing), missing

        wrong_type = problems("bad_type")
        assert len(wrong_type) == 1 and "must be a date, timestamp or timestamptz" in wrong_type[0]

        message = result_message(results, "bad_db")
        assert "is not a postgres connection" in message
        assert "'app'" in message and "'warehouse'" in message

        # nothing was written anywhere
        assert scalar(db, "select count(*) from pg_class where relname like 'bad\\_%'") == 0
        local = project.run_sql(
            "select count(*) from duckdb_tables() where table_name like 'bad_%'", fetch="one"
        )
        assert local[0] == 0


# --- batch sizes hour and month; timestamp and date columns ---------------------------


class TestHourAndMonthBatches(IncrementalProject):
    source_sql = HOURLY_SQL + MONTHLY_SQL

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            "hourly_inc.sql": HOURLY_SQL_MODEL,
            "monthly_inc.sql": MONTHLY_SQL_MODEL,
        }

    def test_hour_batches_on_timestamp_and_month_batches_on_date(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        hourly = f'"{pg_schema}".hourly_inc'
        monthly = f'"{pg_schema}".monthly_inc'
        src_hourly = f'"{src_schema}".hourly'
        src_monthly = f'"{src_schema}".monthly'
        run_dbt(["run", "--select", "hourly_inc", "monthly_inc"])

        # first builds: hourly has no begin (everything before now), monthly starts at begin
        hourly_cols, monthly_cols = "id, ts, v, run_kind", "id, d, v, run_kind"
        hour_end = "(date_trunc('hour', now() at time zone 'UTC') + interval '1 hour')"
        assert groups(db, hourly, "ts", "hour", hourly_cols) == groups(
            db,
            f"(select id, ts, v, 'full'::varchar as run_kind from {src_hourly} "
            f"where ts < {hour_end})",
            "ts",
            "hour",
            hourly_cols,
        )
        assert scalar(db, f"select count(*) from {hourly}") == 72
        month_begin = base_vars()["month_begin"]
        assert groups(db, monthly, "d", "month", monthly_cols) == groups(
            db,
            f"(select id, d, v, 'full'::varchar as run_kind from {src_monthly} "
            f"where d >= date '{month_begin}' and d <= current_date)",
            "d",
            "month",
            monthly_cols,
        )
        assert scalar(db, f"select count(*) from {monthly}") == 23
        types = {
            name: scalar(
                db,
                "select data_type from information_schema.columns where table_schema = "
                f"'{pg_schema}' and table_name = '{name}_inc' and column_name = '{col}'",
            )
            for name, col in (("hourly", "ts"), ("monthly", "d"))
        }
        assert types == {"hourly": "timestamp without time zone", "monthly": "date"}

        hourly_snap = snapshot(db, src_schema, hourly, "snap_hourly")
        monthly_snap = snapshot(db, src_schema, monthly, "snap_monthly")
        hour_start = scalar(db, f"select date_trunc('hour', max(ts)) from {hourly}")
        month_first = scalar(db, f"select date_trunc('month', max(d))::date from {monthly}")
        assert month_first == month_start(today_utc(), 0)
        # new rows in the last loaded hour / month, changes to old rows outside the windows
        db.execute(
            f"insert into {src_hourly} values (8001, timestamp '{hour_start}' + "
            "interval '59 minutes', 81)"
        )
        db.execute(f"update {src_hourly} set v = v + 1000 where ts < timestamp '{hour_start}'")
        db.execute(f"insert into {src_monthly} values (8001, current_date, 81)")
        db.execute(f"update {src_monthly} set v = v + 1000")
        run_dbt(["run", "--select", "hourly_inc", "monthly_inc"])

        expected_hourly = groups(
            db,
            f"(select id, ts, v, 'inc'::varchar as run_kind from {src_hourly} "
            f"where ts >= timestamp '{hour_start}' and ts < {hour_end} "
            f"union all select * from {hourly_snap} where ts < timestamp '{hour_start}')",
            "ts",
            "hour",
            hourly_cols,
        )
        assert groups(db, hourly, "ts", "hour", hourly_cols) == expected_hourly
        kinds = run_kinds(db, hourly, "ts", "hour")
        assert [h for h, k in kinds.items() if k == ["inc"]] == [
            h for h in kinds if h >= period(hour_start)
        ]
        assert len(kinds) >= 24
        response = adapter_responses(project.project_root)["hourly_inc"]
        assert response["rows_deleted"] == 3 and response["rows_inserted"] == 4
        # the last loaded hour is written; the current one, empty in source and target, is not
        assert re.search(
            r"in [23] batch\(es\) \(1 transaction\(s\), [12] skipped\)", response["_message"]
        ), response

        expected_monthly = groups(
            db,
            f"(select id, d, v, 'inc'::varchar as run_kind from {src_monthly} "
            f"where d >= date '{month_first}' and d <= current_date "
            f"union all select * from {monthly_snap} where d < date '{month_first}')",
            "d",
            "month",
            monthly_cols,
        )
        assert groups(db, monthly, "d", "month", monthly_cols) == expected_monthly
        kinds = run_kinds(db, monthly, "d", "month")
        assert len(kinds) == 6
        assert [m for m, k in kinds.items() if k == ["inc"]] == [max(kinds)]
        assert scalar(db, f"select count(*) from {monthly} where v > 1000") == 4
        response = adapter_responses(project.project_root)["monthly_inc"]
        assert response["rows_deleted"] == 3 and response["rows_inserted"] == 4
        assert "in 1 batch(es) (1 transaction(s), 0 skipped)" in response["_message"], response
        # the future rows never reach the targets
        assert scalar(db, f"select count(*) from {hourly} where id >= 9000") == 0
        assert scalar(db, f"select count(*) from {monthly} where id >= 9000") == 0


# --- the window reaches Postgres as literal filters -----------------------------------


def copies_of(output: str, schema: str, table: str) -> List[str]:
    """The SELECTs of the `COPY (SELECT ...) TO STDOUT` statements that DuckDB sent to
    Postgres reading ``schema.table`` (printed by pg_debug_show_queries)."""
    pattern = re.compile(
        r"COPY \((SELECT .*? FROM \"" + re.escape(schema) + r"\"\.\"" + table + r"\".*?)\) "
        r"TO STDOUT"
    )
    return pattern.findall(output)


class TestWindowPushdown(IncrementalProject):
    """100 days x 1000 rows; an incremental run's window is 1 day, and what Postgres
    is asked to return is that day: 1/100 of the table."""

    source_sql = BIG_SQL

    @pytest.fixture(scope="class")
    def dbt_profile_target(self, pg_server: Any, tmp_path_factory: Any) -> Dict[str, Any]:
        return {
            **base_profile(pg_server, tmp_path_factory),
            "threads": 1,
            # the postgres extension prints every query it sends to Postgres
            "settings": {"pg_debug_show_queries": True},
        }

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            "big_window.sql": BIG_WINDOW_SQL,
        }

    def rows_requested(self, conn: psycopg.Connection, selects: List[str]) -> int:
        """How many rows Postgres returns for the SELECTs it received."""
        return sum(int(scalar(conn, f"select count(*) from ({sql}) q")) for sql in selects)

    def check(
        self,
        project: Any,
        model: str,
        capfd: Any,
        src_schema: str,
        pg_schema: str,
        db: psycopg.Connection,
    ) -> None:
        target = f'"{pg_schema}".{model}'
        src = f'"{src_schema}".big'
        total = scalar(db, f"select count(*) from {src}")
        assert total == 100_000

        capfd.readouterr()
        run_dbt(["run", "--select", model])
        out, err = capfd.readouterr()
        first = copies_of(out + err, src_schema, "big")
        assert first, "no COPY of the source was captured"
        # the first build reads all of it (begin is 100 days ago)
        assert self.rows_requested(db, first) == total
        assert scalar(db, f"select count(*) from {target}") == total

        day = today_utc() - timedelta(days=1)
        run_dbt(["run", "--select", model])
        out, err = capfd.readouterr()
        second = copies_of(out + err, src_schema, "big")
        assert second, "no COPY of the source was captured"
        # the bounds are literal filters in the SQL Postgres received...
        bounds = set()
        for sql in second:
            for op, literal in re.findall(r"\"ts\" (>=|<) '([^']+)'", sql):
                bounds.add((op, scalar(db, f"select '{literal}'::timestamptz")))
        lower = {value for op, value in bounds if op == ">="}
        assert lower == {datetime(day.year, day.month, day.day, tzinfo=UTC)}, second
        assert {op for op, _ in bounds} == {">=", "<"}, second
        # ...so Postgres returns the window's rows only: 1000 of 100000
        requested = self.rows_requested(db, second)
        assert requested == 1000, f"{requested} of {total} rows requested"
        assert requested * 100 == total

        written = f"(select * from {src} where ts < {DAY_END})"
        expected = groups(db, written, "ts", "day", "id, ts, v")
        assert groups(db, target, "ts", "day", "id, ts, v") == expected
        response = adapter_responses(project.project_root)[model]
        assert response["rows_deleted"] == response["rows_inserted"] == 1000

    def test_window_macros_push_bounds_to_postgres(
        self, project: Any, capfd: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        self.check(project, "big_window", capfd, src_schema, pg_schema, db)


def analyze_counts(conn: psycopg.Connection, table: str) -> Tuple[int, int]:
    """(manual ANALYZEs, autovacuum analyzes) of ``table`` (quoted, qualified)."""
    conn.execute("select pg_stat_clear_snapshot()")
    row = conn.execute(
        "select analyze_count, autoanalyze_count from pg_stat_user_tables "
        "where relid = %s::regclass",
        (table,),
    ).fetchone()
    assert row is not None, table
    return int(row[0]), int(row[1])


class TestAnalyzeWhenStale(IncrementalProject):
    """ANALYZE follows autovacuum's rule: a run changing 1 day of 100 leaves the
    statistics as they are; a backfill changing more than 10% + 50 rows of the
    table refreshes them before the run ends."""

    source_sql = BIG_SQL

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "big_window.sql": BIG_WINDOW_SQL}

    def test_analyze_only_when_stale(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".big_window'
        run_dbt(["run", "--select", "big_window"])
        assert scalar(db, f"select count(*) from {target}") == 100_000
        # the first build is a full replacement: its new table is analyzed
        assert (
            scalar(db, f"select reltuples from pg_class where oid = '{target}'::regclass")
            == 100_000
        )
        manual, auto = analyze_counts(db, target)
        assert manual == 1

        # 1 day of 100: 1,000 rows deleted and 1,000 inserted, under the threshold
        run_dbt(["run", "--select", "big_window"])
        response = adapter_responses(project.project_root)["big_window"]
        assert response["rows_deleted"] == response["rows_inserted"] == 1000
        assert analyze_counts(db, target) == (manual, auto)

        # a 20-day backfill: 40,000 rows changed > 50 + 0.1 x 100,000
        first = today_utc() - timedelta(days=20)
        run_dbt(
            [
                "run",
                "--select",
                "big_window",
                "--event-time-start",
                first.isoformat(),
                "--event-time-end",
                today_utc().isoformat(),
            ]
        )
        response = adapter_responses(project.project_root)["big_window"]
        assert response["rows_deleted"] == response["rows_inserted"] == 20_000
        assert analyze_counts(db, target)[0] == manual + 1
        expected = groups(
            db,
            f'(select * from "{src_schema}".big where ts < {DAY_END})',
            "ts",
            "day",
            "id, ts, v",
        )
        assert groups(db, target, "ts", "day", "id, ts, v") == expected
