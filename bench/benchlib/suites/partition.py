"""Partition swap: re-process 1 day of 100, 10 times, in an N-row Postgres table.

Two ``pg_incremental_by_time`` models read the same attached ``src`` (window
literals pushed into the scan) into two targets: ``part_plain`` (a plain table,
each run a DELETE + INSERT of the day) and ``part_swap`` (``partition_by`` day:
each run loads the day into a new table and swaps it for the day's partition,
DETACH/DROP + ATTACH). Each repeat rebuilds both with ``--full-refresh``, then
re-processes day 50 ten times (``--event-time-start/--event-time-end``); every
day run's model time is one sample. The size of each target
(``pg_total_relation_size``, summed over ``pg_partition_tree`` for the
partitioned one, whose parent holds nothing) is taken after the build and
after the ten runs: DELETE leaves dead tuples that only VACUUM reclaims, a
swap leaves none.

The reference is the DELETE + INSERT model (the adapter's path for a plain
table); ``--smoke`` re-processes the day twice instead of ten times.
"""

from typing import List

from benchlib.data import DAY
from benchlib.data import SCHEMA
from benchlib.data import day_bounds
from benchlib.data import pg
from benchlib.dbtrun import ADAPTER
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import Step
from benchlib.suites import Suite

SCENARIO = "partition_swap"
PLAIN = "pg_incremental_by_time DELETE + INSERT, 1 day (model)"
SWAP = "pg_incremental_by_time partition swap, 1 day (model)"
RUNS = 10
SMOKE_RUNS = 2

PLAIN_SQL = """
{{ config(materialized='pg_incremental_by_time', database='pg', event_time='ts',
          batch_size='day', begin='2024-01-01') }}
select * from {{ source('pg', 'src') }}
where ts >= {{ pg_window_start('timestamptz') }} and ts < {{ pg_window_end('timestamptz') }}
"""
SWAP_SQL = """
{{ config(materialized='pg_incremental_by_time', database='pg', event_time='ts',
          batch_size='day', begin='2024-01-01',
          partition_by={'field': 'ts', 'granularity': 'day'}) }}
select * from {{ source('pg', 'src') }}
where ts >= {{ pg_window_start('timestamptz') }} and ts < {{ pg_window_end('timestamptz') }}
"""
SOURCES = [{"name": "pg", "database": "pg", "schema": SCHEMA, "tables": [{"name": "src"}]}]


class PartitionSuite(Suite):
    name = "partition"

    def prepare(self) -> None:
        self.runs = SMOKE_RUNS if self.ctx.smoke else RUNS
        day_rows = self.data.day_rows
        self.results.scenario(
            SCENARIO,
            self.name,
            f"re-process 1 day of 100 ({day_rows:,} rows), {self.runs} times, in a "
            f"{self.rows:,}-row table: DELETE + INSERT vs partition swap",
            day_rows,
            PLAIN,
        )
        start, end = day_bounds(DAY)
        self.where = f"ts >= '{start}' and ts < '{end}'"
        self.day_flags = ["--event-time-start", start[:10], "--event-time-end", end[:10]]
        self.drop("part_plain", "part_swap")
        self.dbt = self.project(
            "partition",
            ADAPTER,
            {"part_plain": PLAIN_SQL, "part_swap": SWAP_SQL},
            sources=SOURCES,
        )

    def steps(self) -> List[Step]:
        return [
            Step("plain: build + day runs", self._plain, [(SCENARIO, PLAIN, K_ADAPTER)]),
            Step("partitioned: build + day runs", self._swap, [(SCENARIO, SWAP, K_ADAPTER)]),
        ]

    def _plain(self, repeat: int) -> None:
        self._runs("part_plain", PLAIN)

    def _swap(self, repeat: int) -> None:
        self._runs("part_swap", SWAP)

    def _runs(self, model: str, method: str) -> None:
        """Rebuild ``model`` (untimed), then re-process the day ``self.runs`` times,
        each a sample; the target's size after the build and after the runs goes
        into the method's info."""
        self.dbt.run("run", "--select", model, "--full-refresh").model(model)
        self.expect_rows(model, self.rows)
        built = self.size(model)
        times = []
        for _ in range(self.runs):
            run = self.dbt.run("run", "--select", model, *self.day_flags)
            self.record_model(run, model, SCENARIO, method, K_ADAPTER)
            times.append(run.model(model).seconds)
            self.expect_rows(model, self.rows)
            self.expect_rows(model, self.data.day_rows, f"where {self.where}")
        after = self.size(model)
        info = self.results.method(SCENARIO, method, K_ADAPTER).info
        info.setdefault("size_after_build_bytes", []).append(built)
        info.setdefault(f"size_after_{self.runs}_runs_bytes", []).append(after)
        info.setdefault("size_growth", []).append(round(after / max(built, 1), 3))
        self.results.summarize(
            f"{method}: {len(times)} runs, median {sorted(times)[len(times) // 2]:.3f} s; "
            f"size {built / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB"
        )

    def size(self, table: str) -> int:
        """Bytes of ``table`` with its indexes and TOAST, over all its partitions."""
        with self.server.connect() as conn:
            # pg_partition_tree lists nothing for a table that is not partitioned
            row = conn.execute(
                "select coalesce(sum(pg_total_relation_size(relid)), "
                "pg_total_relation_size(%s::regclass)) from pg_partition_tree(%s::regclass)",
                (pg(table), pg(table)),
            ).fetchone()
        return int(row[0]) if row else 0
