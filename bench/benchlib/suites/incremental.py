"""Update path by time: re-process one day of 100 in an N-row Postgres table.

The ``pg_incremental_by_time`` model reads the attached ``src`` between
``pg_window_start()`` and ``pg_window_end()`` (literals, pushed into the scan).
Each repeat rebuilds it with ``--full-refresh`` (the ``pg_full`` swap: the
rebuild of the same model, measured in the same run), then re-processes day 50
with ``--event-time-start/--event-time-end``. Goal: the day takes at most 1/10
of the rebuild and moves at most ~2x the day's rows between Postgres and DuckDB.

Reference limit: the same DELETE + INSERT ... SELECT of the day run inside
Postgres by psql (nothing crosses to a client). Peer: stock dbt-duckdb
``microbatch`` (the source has ``event_time``, so dbt filters it to the batch)
on a copy of the table; next to it, the same model SQL and config under this
adapter (dbt-core drives the batch, the adapter's write layer replaces it) on
another copy. After the repeats, one more day run goes through the
counting proxy to measure what crossed, against the day's rows as binary COPY.
"""

from typing import List

from benchlib.data import DAY
from benchlib.data import SCHEMA
from benchlib.data import day_bounds
from benchlib.data import pg
from benchlib.dbtrun import ADAPTER
from benchlib.dbtrun import STOCK
from benchlib.proxy import CountingProxy
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import PEER
from benchlib.results import REFERENCE
from benchlib.results import Step
from benchlib.suites import Suite

SCENARIO = "incremental"
REF = "DELETE + INSERT ... SELECT in Postgres (psql)"
DAY_RUN = "pg_incremental_by_time, 1 day (model)"
REBUILD = "pg_incremental_by_time --full-refresh (model)"
MICROBATCH = "dbt-duckdb microbatch, 1 day (model)"
ADAPTER_MICROBATCH = "dbt-duckdb-postgres microbatch, 1 day (model)"

INCREMENTAL_SQL = """
{{ config(materialized='pg_incremental_by_time', database='pg', event_time='ts',
          batch_size='day', begin='2024-01-01') }}
select * from {{ source('pg', 'src') }}
where ts >= {{ pg_window_start('timestamptz') }} and ts < {{ pg_window_end('timestamptz') }}
"""
MICROBATCH_SQL = """
{{ config(materialized='incremental', incremental_strategy='microbatch', database='pg',
          event_time='ts', batch_size='day', begin='2024-01-01') }}
select * from {{ source('pg', 'src') }}
"""


def _sources(event_time: bool) -> list:
    table = {"name": "src", "config": {"event_time": "ts"}} if event_time else {"name": "src"}
    return [{"name": "pg", "database": "pg", "schema": SCHEMA, "tables": [table]}]


class IncrementalSuite(Suite):
    name = "incremental"

    def prepare(self) -> None:
        day_rows = self.data.day_rows
        self.results.scenario(
            SCENARIO,
            self.name,
            f"re-process 1 day of 100 ({day_rows:,} rows) in a {self.rows:,}-row table",
            day_rows,
            REF,
        )
        start, end = day_bounds(DAY)
        self.where = f"ts >= '{start}' and ts < '{end}'"
        self.day_flags = ["--event-time-start", start[:10], "--event-time-end", end[:10]]
        self.drop("inc_day", "inc_stock", "inc_mb")
        self.incremental = self.project(
            "incremental", ADAPTER, {"inc_day": INCREMENTAL_SQL}, sources=_sources(False)
        )
        self.microbatch = self.project(
            "microbatch", STOCK, {"inc_stock": MICROBATCH_SQL}, sources=_sources(True)
        )
        self.adapter_microbatch = self.project(
            "adapter_microbatch", ADAPTER, {"inc_mb": MICROBATCH_SQL}, sources=_sources(True)
        )
        statements = []
        for table in ("inc_stock", "inc_mb"):  # the microbatch targets: equal copies
            statements += [
                f"create table {pg(table)} as select * from {pg('src')}",
                f"create index on {pg(table)} (ts)",
                f"vacuum analyze {pg(table)}",
            ]
        self.server.run_sql(statements)

    def steps(self) -> List[Step]:
        return [
            Step("dbt run --full-refresh", self._rebuild, [(SCENARIO, REBUILD, K_ADAPTER)]),
            Step("dbt run 1 day", self._day, [(SCENARIO, DAY_RUN, K_ADAPTER)]),
            Step("psql DELETE + INSERT SELECT", self._reference, [(SCENARIO, REF, REFERENCE)]),
            Step("dbt run microbatch 1 day", self._microbatch, [(SCENARIO, MICROBATCH, PEER)]),
            Step(
                "dbt run microbatch 1 day (this adapter)",
                self._adapter_microbatch,
                [(SCENARIO, ADAPTER_MICROBATCH, K_ADAPTER)],
            ),
        ]

    def _rebuild(self, repeat: int) -> None:
        run = self.incremental.run("run", "--full-refresh")
        self.record_model(run, "inc_day", SCENARIO, REBUILD, K_ADAPTER, rows=self.rows)
        self.expect_rows("inc_day", self.rows)

    def _day(self, repeat: int) -> None:
        run = self.incremental.run("run", *self.day_flags)
        self.record_model(run, "inc_day", SCENARIO, DAY_RUN, K_ADAPTER)
        self._check_day("inc_day", run.models["inc_day"].adapter_response)

    def _reference(self, repeat: int) -> None:
        seconds = self.server.psql(
            f"begin; delete from {pg('inc_day')} where {self.where}; "
            f"insert into {pg('inc_day')} select * from {pg('src')} where {self.where}; commit;"
        )
        self.results.record(SCENARIO, REF, REFERENCE, seconds)
        self.expect_rows("inc_day", self.rows)

    def _microbatch(self, repeat: int) -> None:
        run = self.microbatch.run("run", *self.day_flags)
        self.record_model(run, "inc_stock", SCENARIO, MICROBATCH, PEER)
        self._check_day("inc_stock", None)
        self.server.run_sql([f"vacuum analyze {pg('inc_stock')}"])

    def _adapter_microbatch(self, repeat: int) -> None:
        run = self.adapter_microbatch.run("run", *self.day_flags)
        self.record_model(run, "inc_mb", SCENARIO, ADAPTER_MICROBATCH, K_ADAPTER)
        self._check_day("inc_mb", run.models["inc_mb"].adapter_response)
        self.server.run_sql([f"vacuum analyze {pg('inc_mb')}"])

    def _check_day(self, table: str, response: object) -> None:
        """The table holds N rows and exactly one day's rows in the day."""
        self.expect_rows(table, self.rows)
        self.expect_rows(table, self.data.day_rows, f"where {self.where}")
        if isinstance(response, dict) and response.get("rows_inserted") not in (
            None,
            self.data.day_rows,
        ):
            raise RuntimeError(f"{table}: adapter response {response}")

    def finish(self) -> None:
        self.results.run_once("incremental: transfer of a 1-day run", self._transfer)

    def _transfer(self) -> None:
        """One day run through the counting proxy (whole dbt invocation: includes
        dbt's catalog queries), compared with the day's rows as binary COPY."""
        day_file = self.data.export("src", "binary", f"where {self.where}", name="day")
        day_bytes = day_file.stat().st_size
        with CountingProxy(self.server.host, self.server.port) as proxy:
            project = self.project(
                "incremental_proxy",
                ADAPTER,
                {"inc_day": INCREMENTAL_SQL},
                sources=_sources(False),
                pg_host=proxy.folder,
            )
            before = proxy.traffic()
            run = project.run("run", *self.day_flags)
            moved = proxy.traffic() - before
        run.model("inc_day")
        self.results.method(SCENARIO, DAY_RUN, K_ADAPTER).info["transfer"] = {
            **moved.to_json(),
            "day_rows": self.data.day_rows,
            "day_binary_copy_bytes": day_bytes,
            "moved_vs_day": round(
                (moved.bytes_from_server + moved.bytes_to_server) / max(day_bytes, 1), 2
            ),
        }
