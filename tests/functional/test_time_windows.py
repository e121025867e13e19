"""The time window of `pg_incremental_by_time` as dbt's microbatch defines it: explicit
bounds floored and ceiled to whole batches, the batch holding "now" written whole, and
write transactions that grow with the batches holding rows, not with the window.

Source tables live in ``<test schema>_src`` with times relative to the current UTC day.
Assertions read PostgreSQL: per-day aggregates of target and source, and a
statement-level trigger on the target that logs the transaction id of every INSERT,
UPDATE and DELETE reaching it (so write transactions are counted by Postgres itself).
"""

import re
import time
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
from dbt.tests.util import run_dbt

from tests.functional.helpers import leftovers

# 6 days before today x 24 rows (hourly, at :30), amounts from the hour and the day
ORDERS_SQL = """
set timezone = 'UTC';
create table __SRC__.orders (id integer primary key, ordered_at timestamptz,
                             amount numeric(12, 2));
insert into __SRC__.orders
select d * 100 + h, current_date::timestamptz - d * interval '1 day' + h * interval '1 hour'
       + interval '30 minutes', d * 10 + h
from generate_series(1, 6) d, generate_series(0, 23) h;
"""

# three rows 1000 days ago, nothing since
OLD_SQL = """
set timezone = 'UTC';
create table __SRC__.old_events (id integer primary key, event_at timestamptz, v integer);
insert into __SRC__.old_events
select k, current_date::timestamptz - interval '1000 days' + k * interval '2 hours', k
from generate_series(1, 3) k;
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: orders
      - name: old_events
"""

ORDERS_MODEL_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ordered_at',
          begin=var('begin')) }}
select id, ordered_at, amount from {{ source('app', 'orders') }}
"""

OLD_MODEL_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          begin=var('old_begin')) }}
select id, event_at, v from {{ source('app', 'old_events') }}
"""

# logs (transaction id, operation) of each statement writing the table it is attached to
WRITE_LOG_SQL = """
create table {log} (xid bigint, op text);
create function {log}_fn() returns trigger language plpgsql as $$
begin insert into {log} values (txid_current(), tg_op); return null; end $$;
create trigger dbt_write_log after insert or update or delete on {target}
for each statement execute function {log}_fn();
"""

BATCH_LINE = re.compile(r"pg_incremental_by_time \S+ batch(?:es)? [0-9-]+/[0-9]+ \[")


def today_utc() -> date:
    return datetime.now(UTC).date()


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def project_vars() -> Dict[str, Any]:
    today = today_utc()
    return {
        "begin": (today - timedelta(days=6)).isoformat(),
        "old_begin": (today - timedelta(days=1001)).isoformat(),
    }


def scalar(conn: psycopg.Connection, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def daily(conn: psycopg.Connection, from_sql: str, where: str = "true") -> Dict[date, Tuple]:
    """{UTC day: (rows, sum(amount), md5 of the rows)} of ``from_sql`` (columns id,
    ordered_at, amount)."""
    found = conn.execute(
        f"select (ordered_at at time zone 'UTC')::date, count(*), sum(amount), "
        f"md5(string_agg(row(id, ordered_at, amount)::text, '|' order by id)) "
        f"from {from_sql} t where {where} group by 1 order by 1"
    ).fetchall()
    return {r[0]: (int(r[1]), r[2], r[3]) for r in found}


def batch_lines(output: str) -> List[str]:
    """The per-step log lines of pg_incremental_by_time runs in ``output``."""
    return [line for line in output.splitlines() if BATCH_LINE.search(line)]


def write_transactions(conn: psycopg.Connection, log: str) -> int:
    """How many transactions wrote the logged table since the log was last emptied."""
    count = scalar(conn, f"select count(distinct xid) from {log}")
    conn.execute(f"truncate {log}")
    return int(count)


class WindowProject:
    source_sql = ORDERS_SQL

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict:
        return {"vars": project_vars()}

    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return self.source_sql


class TestBackfillBoundsAreWholeDays(WindowProject):
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "orders_inc.sql": ORDERS_MODEL_SQL}

    def test_bounds_at_noon_rewrite_whole_days(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        src, target = f'"{src_schema}".orders', f'"{pg_schema}".orders_inc'
        run_dbt(["run", "--select", "orders_inc"])
        assert daily(db, target) == daily(db, src)
        before = daily(db, target)

        today = today_utc()
        first, last = today - timedelta(days=4), today - timedelta(days=2)
        # every amount changes; the first day loses a morning row and the last day gains
        # an evening row: bounds used as given (12:00) would miss both
        db.execute(f"update {src} set amount = amount + 1")
        db.execute(f"delete from {src} where id = 405")
        db.execute(
            f"insert into {src} values (7001, timestamptz '{last} 18:45+00', 99.5), "
            f"(7002, timestamptz '{first} 00:00+00', 12.25)"
        )
        run_dbt(
            [
                "run",
                "--select",
                "orders_inc",
                "--event-time-start",
                f"{first}T12:00:00",
                "--event-time-end",
                f"{last}T12:00:00",
            ]
        )
        got, source = daily(db, target), daily(db, src)
        touched = [first, first + timedelta(days=1), last]
        for day in sorted(set(got) | set(source)):
            if day in touched:
                # rows, sum and checksum equal Postgres' own aggregate of the source
                assert got[day] == source[day], day
            else:
                assert got[day] == before[day] != source[day], day
        assert got[first][0] == 24  # 23 old rows + the one at midnight
        assert got[last][0] == 25
        assert leftovers(db, pg_schema) == []


class TestCurrentBatchIsComplete(WindowProject):
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "orders_inc.sql": ORDERS_MODEL_SQL}

    def test_rows_later_today_are_written(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        src, target = f'"{src_schema}".orders', f'"{pg_schema}".orders_inc'
        tomorrow = midnight(today_utc() + timedelta(days=1))
        later_today = f"timestamptz '{tomorrow.isoformat()}' - interval '1 second'"
        # later today (after now), and tomorrow (outside the window)
        db.execute(
            f"insert into {src} values (8001, {later_today}, 1), "
            f"(8002, timestamptz '{tomorrow.isoformat()}', 2)"
        )
        assert scalar(db, f"select ordered_at > now() from {src} where id = 8001")
        expected = f"ordered_at < timestamptz '{tomorrow.isoformat()}'"

        # first build
        run_dbt(["run", "--select", "orders_inc"])
        assert daily(db, target) == daily(db, src, expected)
        assert scalar(db, f"select count(*) from {target} where id = 8001") == 1

        # incremental run: a new row later today, and the first one changed
        db.execute(f"insert into {src} values (8003, {later_today} - interval '1 minute', 3)")
        db.execute(f"update {src} set amount = 10 where id = 8001")
        run_dbt(["run", "--select", "orders_inc"])
        assert daily(db, target) == daily(db, src, expected)
        assert scalar(db, f"select sum(amount) from {target} where id in (8001, 8003)") == 13

        # full refresh
        db.execute(f"insert into {src} values (8004, {later_today} - interval '2 minutes', 4)")
        run_dbt(["run", "--select", "orders_inc", "--full-refresh"])
        assert daily(db, target) == daily(db, src, expected)
        assert scalar(db, f"select count(*) from {target} where id in (8001, 8003, 8004)") == 3
        assert scalar(db, f"select count(*) from {target} where id = 8002") == 0


class TestOldTargetCatchesUp(WindowProject):
    source_sql = OLD_SQL

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "old_inc.sql": OLD_MODEL_SQL}

    def run_logged(self, capfd: Any, args: List[str]) -> Tuple[List[str], float]:
        """Run dbt; its per-step log lines and the seconds it took."""
        capfd.readouterr()
        started = time.monotonic()
        run_dbt(args)
        elapsed = time.monotonic() - started
        out, err = capfd.readouterr()
        return batch_lines(out + err), elapsed

    def test_1000_day_gap_takes_few_transactions(
        self, project: Any, capfd: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        src, target = f'"{src_schema}".old_events', f'"{pg_schema}".old_inc'
        log = f'"{src_schema}".write_log'
        columns = "id, event_at, v"
        run_dbt(["run", "--select", "old_inc"])
        assert scalar(db, f"select count(*) from {target}") == 3
        db.execute(WRITE_LOG_SQL.format(log=log, target=target))

        # the target's newest row is 1000 days old; a new row arrives today
        db.execute(f"insert into {src} values (100, date_trunc('day', now()), 100)")
        lines, long_run = self.run_logged(capfd, ["run", "--select", "old_inc"])
        # 1001 daily batches: the old day and today are written, the 999 between skipped
        assert write_transactions(db, log) == 2
        assert len(lines) == 3, lines
        assert "batches 2-1000/1001" in lines[1] and "skipped" in lines[1], lines
        same = f"(select {columns} from {{}} except all select {columns} from {{}}) x"
        assert scalar(db, "select count(*) from " + same.format(src, target)) == 0
        assert scalar(db, "select count(*) from " + same.format(target, src)) == 0

        # a one-batch run, for scale: the long window is not many times slower
        lines, one_batch = self.run_logged(capfd, ["run", "--select", "old_inc"])
        assert write_transactions(db, log) == 1 and len(lines) == 1, lines
        assert long_run < 2 * one_batch + 5, (long_run, one_batch)

        # the old rows leave the source; a backfill over all 1002 days deletes them in
        # one transaction (no model rows from then to yesterday) and rewrites today
        db.execute(f"delete from {src} where id < 100")
        start = today_utc() - timedelta(days=1001)
        lines, _ = self.run_logged(
            capfd,
            [
                "run",
                "--select",
                "old_inc",
                "--event-time-start",
                start.isoformat(),
                "--event-time-end",
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            ],
        )
        assert write_transactions(db, log) == 2
        assert len(lines) == 2, lines
        assert "batches 1-1001/1002" in lines[0] and "deleted 3" in lines[0], lines
        assert scalar(db, f"select array_agg(id) from {target}") == [100]

        # a backfill of a range without rows anywhere writes nothing: one skipped range
        first, last = today_utc() - timedelta(days=500), today_utc() - timedelta(days=400)
        lines, _ = self.run_logged(
            capfd,
            [
                "run",
                "--select",
                "old_inc",
                "--event-time-start",
                first.isoformat(),
                "--event-time-end",
                last.isoformat(),
            ],
        )
        assert write_transactions(db, log) == 0
        assert len(lines) == 1 and "batches 1-100/100" in lines[0] and "skipped" in lines[0]
        assert scalar(db, f"select array_agg(id) from {target}") == [100]
        assert leftovers(db, pg_schema) == []
