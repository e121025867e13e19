"""Partitioned targets (``partition_by``): native PostgreSQL range partitions, batches
replaced by partition swap (writes/partitions.sql).

Sources live in ``<test schema>_src`` with times relative to the current UTC day.
Every assertion reads PostgreSQL: pg_partitioned_table / pg_inherits / pg_class
(partitions, their oids and names), per-partition checksums against the source,
CHECK constraints, index partitions, and leftover ``__dbt_`` relations.
"""

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Dict
from typing import List
from typing import Tuple

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import checksum
from tests.functional.helpers import leftovers
from tests.functional.helpers import result_message
from tests.functional.helpers import rows

# 10 days before today x 12 rows (every 2 hours); 3 rows in the future; none today
EVENTS_SQL = """
set timezone = 'UTC';
create table __SRC__.events (id integer primary key, event_at timestamptz, amount numeric(12, 2));
insert into __SRC__.events
select d * 100 + h, current_date::timestamptz - d * interval '1 day'
       + h * interval '2 hours' + interval '17 minutes', round((d * 7.31 + h * 1.13)::numeric, 2)
from generate_series(1, 10) d, generate_series(0, 11) h;
insert into __SRC__.events
select 9000 + k, current_date::timestamptz + interval '2 days' + k * interval '1 hour', 1
from generate_series(1, 3) k;
create table __SRC__.days (id integer, d date, v integer);
insert into __SRC__.days
select k, current_date - (k % 70), k from generate_series(1, 700) k;
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: events
      - name: days
"""

# day partitions, day batches: every batch is one partition (swap)
EVENTS_PART_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          begin=var('begin'), partition_by={'field': 'event_at', 'granularity': 'day'}) }}
select id, event_at, amount from {{ source('app', 'events') }}
"""

# day partitions, hour batches: batches are not whole partitions (DELETE + INSERT)
EVENTS_HOURLY_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          batch_size='hour', begin=var('begin'),
          partition_by={'field': 'event_at', 'granularity': 'day'}) }}
select id, event_at, amount from {{ source('app', 'events') }}
"""

# pg_full, month partitions of a date column
DAYS_FULL_SQL = """
{{ config(materialized='pg_full', database='warehouse',
          partition_by={'field': 'd', 'granularity': 'month'},
          indexes=[{'columns': ['id', 'd'], 'unique': True}]) }}
select id, d, v * {{ var('mult', 1) }} as v from {{ source('app', 'days') }}
"""

# a DuckDB model reading the partitioned target through ref()
DAYS_SUMMARY_SQL = """
{{ config(materialized='table') }}
select count(*) as n, sum(v) as total from {{ ref('days_full') }}
"""

DAYS_TESTS_YML = """
version: 2
models:
  - name: days_full
    columns:
      - name: id
        data_tests: [unique, not_null]
      - name: d
        data_tests: [not_null]
"""

NULL_FULL_SQL = """
{{ config(materialized='pg_full', database='warehouse',
          partition_by={'field': 'd', 'granularity': 'day'}) }}
select 1 as id, date '2024-01-01' as d union all select 2, cast(null as date)
"""

BAD_CONFIG_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_at',
          partition_by={'field': 'other_at', 'granularity': 'week'},
          indexes=[{'columns': ['id'], 'unique': True}]) }}
select 1 as id, timestamp '2024-01-01' as event_at, timestamp '2024-01-01' as other_at
"""


def begin_var() -> str:
    return (datetime.now(UTC).date() - timedelta(days=8)).isoformat()


def partitions(conn: psycopg.Connection, schema: str, table: str) -> Dict[str, int]:
    """{partition name: pg_class oid} of the partitioned table ``schema.table``."""
    found = rows(
        conn,
        "select c.relname::text, c.oid::int from pg_inherits h "
        "join pg_class c on c.oid = h.inhrelid where h.inhparent = %s::regclass order by 1",
        (f'"{schema}"."{table}"',),
    )
    return {name: oid for name, oid in found}


def partition_key(conn: psycopg.Connection, schema: str, table: str) -> Tuple[str, str]:
    """(strategy, key column) of a partitioned table."""
    found = rows(
        conn,
        "select pt.partstrat::text, a.attname::text from pg_partitioned_table pt "
        "join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0] "
        "where pt.partrelid = %s::regclass",
        (f'"{schema}"."{table}"',),
    )
    assert len(found) == 1, found
    return found[0]


def day_name(table: str, day: Any) -> str:
    return f"{table}__p{day:%Y%m%d}"


def per_partition(conn: psycopg.Connection, schema: str, table: str) -> Dict[str, Tuple[int, str]]:
    """{partition name: checksum of its rows}."""
    return {
        name: checksum(conn, f'"{schema}"."{name}"') for name in partitions(conn, schema, table)
    }


def source_day(conn: psycopg.Connection, src: str, day: Any) -> Tuple[int, str]:
    """Checksum of the source's rows of one UTC day (columns as the target has them)."""
    return checksum(
        conn,
        f'(select id, event_at, amount from "{src}".events '
        f"where event_at >= timestamptz '{day:%Y-%m-%d} 00:00:00+00' "
        f"and event_at < timestamptz '{day:%Y-%m-%d} 00:00:00+00' + interval '1 day')",
    )


class PartitionedProject:
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict:
        return {"vars": {"begin": begin_var()}}

    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return EVENTS_SQL


class TestPartitionedIncremental(PartitionedProject):
    """One day-partitioned target through a sequence of runs (in order)."""

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "events_part.sql": EVENTS_PART_SQL}

    def test_first_build_creates_partitions(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "events_part"])
        assert partition_key(db, pg_schema, "events_part") == ("r", "event_at")
        today = datetime.now(UTC).date()
        days = [today - timedelta(days=d) for d in range(8, 0, -1)]
        assert list(partitions(db, pg_schema, "events_part")) == [
            day_name("events_part", d) for d in days
        ]
        found = per_partition(db, pg_schema, "events_part")
        for day in days:
            assert found[day_name("events_part", day)] == source_day(db, src_schema, day)
            assert found[day_name("events_part", day)][0] == 12
        # the default index on event_at: on the parent, and one per partition named after it
        indexes = rows(
            db,
            "select tablename::text, indexname::text from pg_indexes where schemaname = %s "
            "order by 1",
            (pg_schema,),
        )
        assert {t for t, _ in indexes} == {"events_part"} | set(found)
        assert leftovers(db, pg_schema) == []

    def test_batch_swap_keeps_other_partitions(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        today = datetime.now(UTC).date()
        last = today - timedelta(days=1)
        before = per_partition(db, pg_schema, "events_part")
        oids = partitions(db, pg_schema, "events_part")
        # the last loaded day changes (a row updated, one added); an older day too,
        # which this run (window: the last loaded day and today) must not see
        db.execute(f'update "{src_schema}".events set amount = amount + 1000 where id = 105')
        db.execute(
            f'insert into "{src_schema}".events values '
            f"(5001, timestamptz '{last:%Y-%m-%d} 23:50:00+00', 50.01)"
        )
        db.execute(f'update "{src_schema}".events set amount = amount + 1000 where id = 305')
        results = run_dbt(["run", "--select", "events_part"])

        after = per_partition(db, pg_schema, "events_part")
        new_oids = partitions(db, pg_schema, "events_part")
        swapped = day_name("events_part", last)
        assert set(after) == set(before)
        for name in before:
            if name == swapped:
                continue
            # other partitions: the same table, the same rows
            assert new_oids[name] == oids[name] and after[name] == before[name], name
        # the batch's partition is a new table holding exactly the source's rows of that day
        assert new_oids[swapped] != oids[swapped]
        assert after[swapped] == source_day(db, src_schema, last)
        assert after[swapped][0] == 13
        # a new table, not a DELETE: its CHECK constraint (ATTACH without a scan) is there,
        # and it has no dead tuples to vacuum
        checks = rows(
            db,
            "select conname::text from pg_constraint where conrelid = %s::regclass "
            "and contype = 'c'",
            (f'"{pg_schema}"."{swapped}"',),
        )
        assert checks == [("dbt_partition_bound",)]
        # its index is a partition of the parent's index (created before ATTACH, renamed)
        index_parents = rows(
            db,
            "select ic.relname::text, pc.relname::text from pg_index x "
            "join pg_class ic on ic.oid = x.indexrelid "
            "join pg_inherits h on h.inhrelid = x.indexrelid "
            "join pg_class pc on pc.oid = h.inhparent "
            "where x.indrelid = %s::regclass",
            (f'"{pg_schema}"."{swapped}"',),
        )
        assert len(index_parents) == 1 and index_parents[0][0] == f"{swapped}_event_at_idx"
        assert leftovers(db, pg_schema) == []
        assert "INSERT 13, DELETE 12" in result_message(results, "events_part")

    def test_failure_mid_swap_leaves_target(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        last = datetime.now(UTC).date() - timedelta(days=1)
        swapped = day_name("events_part", last)
        before = per_partition(db, pg_schema, "events_part")
        oids = partitions(db, pg_schema, "events_part")
        # a view on the partition: DETACH succeeds, DROP of the old partition fails
        db.execute(f'create view "{pg_schema}".pin as select * from "{pg_schema}"."{swapped}"')
        db.execute(f'update "{src_schema}".events set amount = amount + 1 where id = 101')
        try:
            results = run_dbt(["run", "--select", "events_part"], expect_pass=False)
            assert "depend" in result_message(results, "events_part")
            assert per_partition(db, pg_schema, "events_part") == before
            assert partitions(db, pg_schema, "events_part") == oids
            assert leftovers(db, pg_schema) == []
        finally:
            db.execute(f'drop view "{pg_schema}".pin')
        run_dbt(["run", "--select", "events_part"])
        assert per_partition(db, pg_schema, "events_part")[swapped] == source_day(
            db, src_schema, last
        )

    def test_late_row_in_new_period_creates_partition(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        today = datetime.now(UTC).date()
        assert day_name("events_part", today) not in partitions(db, pg_schema, "events_part")
        db.execute(
            f"insert into \"{src_schema}\".events values (5002, now() - interval '1 second', 5)"
        )
        run_dbt(["run", "--select", "events_part"])
        found = per_partition(db, pg_schema, "events_part")
        assert found[day_name("events_part", today)] == source_day(db, src_schema, today)
        assert found[day_name("events_part", today)][0] == 1
        assert leftovers(db, pg_schema) == []

    def test_full_refresh_rebuilds_partitions(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        old = partitions(db, pg_schema, "events_part")
        run_dbt(["run", "--select", "events_part", "--full-refresh"])
        new = partitions(db, pg_schema, "events_part")
        assert set(new) == set(old)
        assert all(new[name] != old[name] for name in old)
        total = checksum(db, f'"{pg_schema}".events_part')
        reference = checksum(
            db,
            f'(select id, event_at, amount from "{src_schema}".events '
            f"where event_at >= timestamptz '{begin_var()} 00:00:00+00' and event_at < now())",
        )
        assert total == reference
        assert leftovers(db, pg_schema) == []


class TestPartitionedFallback(PartitionedProject):
    """Hour batches of day partitions: DELETE + INSERT on the partitioned table."""

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "events_hourly.sql": EVENTS_HOURLY_SQL}

    def test_hour_batches_delete_and_insert(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "events_hourly"])
        oids = partitions(db, pg_schema, "events_hourly")
        today = datetime.now(UTC).date()
        db.execute(
            f"insert into \"{src_schema}\".events values (5003, now() - interval '1 second', 7)"
        )
        run_dbt(["run", "--select", "events_hourly"])
        new = partitions(db, pg_schema, "events_hourly")
        # the partitions of earlier days are the same tables; today's was created
        assert {k: v for k, v in new.items() if k in oids} == oids
        assert day_name("events_hourly", today) in new
        total = checksum(db, f'"{pg_schema}".events_hourly')
        reference = checksum(
            db,
            f'(select id, event_at, amount from "{src_schema}".events '
            f"where event_at >= timestamptz '{begin_var()} 00:00:00+00' and event_at < now())",
        )
        assert total == reference
        assert leftovers(db, pg_schema) == []


class TestPartitionedFull(PartitionedProject):
    """pg_full with month partitions of a date column; ref() and dbt tests read it."""

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            "days_full.sql": DAYS_FULL_SQL,
            "days_summary.sql": DAYS_SUMMARY_SQL,
            "schema.yml": DAYS_TESTS_YML,
            "null_full.sql": NULL_FULL_SQL,
            "bad_config.sql": BAD_CONFIG_SQL,
        }

    def months(self, db: psycopg.Connection, src: str) -> List[str]:
        found = rows(
            db,
            f"select distinct to_char(date_trunc('month', d), 'YYYYMMDD') from \"{src}\".days "
            "order by 1",
        )
        return [f"days_full__p{r[0]}" for r in found]

    def test_build_rebuild_ref_and_tests(
        self, project: Any, src_schema: str, pg_schema: str, db: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "days_full"])
        assert partition_key(db, pg_schema, "days_full") == ("r", "d")
        first = partitions(db, pg_schema, "days_full")
        assert list(first) == self.months(db, src_schema)
        source = f'(select id, d, v from "{src_schema}".days)'
        assert checksum(db, f'"{pg_schema}".days_full') == checksum(db, source)

        run_dbt(["run", "--select", "days_full", "--vars", "{mult: 3}"])
        second = partitions(db, pg_schema, "days_full")
        assert list(second) == list(first)
        assert all(second[n] != first[n] for n in first)
        tripled = f'(select id, d, v * 3 as v from "{src_schema}".days)'
        assert checksum(db, f'"{pg_schema}".days_full') == checksum(db, tripled)
        assert leftovers(db, pg_schema) == []
        # the unique index cascaded to every partition, named after it
        index_tables = rows(
            db,
            "select tablename::text from pg_indexes where schemaname = %s order by 1",
            (pg_schema,),
        )
        assert [r[0] for r in index_tables] == sorted(["days_full"] + list(second))

        run_dbt(["run", "--select", "days_summary"])
        summary = project.run_sql("select n, total from {schema}.days_summary", fetch="one")
        expected = rows(db, f'select count(*), sum(v * 3) from "{src_schema}".days')[0]
        assert (int(summary[0]), int(summary[1])) == (int(expected[0]), int(expected[1]))
        results = run_dbt(["test", "--select", "days_full"])
        assert len(results) == 3 and all(r.status == "pass" for r in results)

    def test_null_partition_field_writes_nothing(
        self, project: Any, pg_schema: str, db: psycopg.Connection
    ) -> None:
        results = run_dbt(["run", "--select", "null_full"], expect_pass=False)
        message = result_message(results, "null_full")
        assert "1 row(s) of the model have a NULL partition_by field (d)" in message
        assert rows(db, "select to_regclass(%s)", (f'"{pg_schema}".null_full',)) == [(None,)]
        assert leftovers(db, pg_schema) == []

    def test_bad_config_names_keys(self, project: Any) -> None:
        results = run_dbt(["run", "--select", "bad_config"], expect_pass=False)
        message = result_message(results, "bad_config")
        assert "granularity=week: use day, month or year" in message
        assert "field=other_at must be the event_time column (event_at)" in message
        assert "the unique index on (id) does not include the partition_by field" in message
