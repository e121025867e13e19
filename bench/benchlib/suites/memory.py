"""Memory and fixed cost of ``dbt run``.

- memory: peak RSS of the ``dbt run`` process (``wait4``'s ``ru_maxrss``) for
  a ``pg_full`` model of N rows, without and with a DuckDB ``memory_limit``
  (profile ``settings``). Goal at 10M rows: <= 1.5 GB, bounded by the limit.
- fixed: whole-command time of ``dbt run`` for a 1-row ``pg_full`` model
  against the same model as a stock dbt-duckdb ``table`` in the attached
  Postgres. Goal: <= 1.15x.
"""

from typing import List

from benchlib.dbtrun import ADAPTER
from benchlib.dbtrun import STOCK
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import PEER
from benchlib.results import Step
from benchlib.suites import Suite

NO_LIMIT = "pg_full, no memory_limit (model)"
FIXED_PG_FULL = "pg_full, 1 row (dbt command)"
FIXED_STOCK = "dbt-duckdb table, 1 row (dbt command)"

MEMORY_SQL = """
{{ config(materialized='pg_full', database='pg') }}
select * from data.main.src
"""
ONE_ROW_SQL = """
{{ config(materialized='%s', database='pg') }}
select * from data.main.src where id = 1
"""


def limit_method(limit: str) -> str:
    """The name of the memory-limited method."""
    return f"pg_full, memory_limit={limit} (model)"


class MemorySuite(Suite):
    name = "memory"

    def prepare(self) -> None:
        self.results.scenario(
            "memory",
            self.name,
            f"peak RSS of dbt run: pg_full of {self.rows:,} rows",
            self.rows,
            NO_LIMIT,
        )
        self.limit = self.ctx.memory_limit
        self.no_limit = self.project("memory_no_limit", ADAPTER, {"w_mem": MEMORY_SQL})
        self.limited = self.project(
            "memory_limit", ADAPTER, {"w_mem": MEMORY_SQL}, settings={"memory_limit": self.limit}
        )

    def steps(self) -> List[Step]:
        limited = limit_method(self.limit)
        no_limit = Step(
            "dbt run pg_full",
            self._run(self.no_limit, NO_LIMIT),
            [("memory", NO_LIMIT, K_ADAPTER)],
        )
        with_limit = Step(
            f"dbt run pg_full memory_limit={self.limit}",
            self._run(self.limited, limited),
            [("memory", limited, K_ADAPTER)],
        )
        # smoke: the limited run covers the code path (the other differs in settings only)
        return [with_limit] if self.ctx.smoke else [no_limit, with_limit]

    def _run(self, project, method: str):
        def run(repeat: int) -> None:
            self.drop("w_mem")
            dbt_run = project.run("run")
            self.record_model(dbt_run, "w_mem", "memory", method, K_ADAPTER)
            self.expect_rows("w_mem", self.rows)
            self.drop("w_mem")

        return run


class FixedCostSuite(Suite):
    name = "fixed"

    def prepare(self) -> None:
        self.results.scenario(
            "fixed", self.name, "fixed cost: dbt run of a 1-row model", 1, FIXED_STOCK
        )
        self.adapter = self.project("fixed_pg_full", ADAPTER, {"one_row": ONE_ROW_SQL % "pg_full"})
        self.stock = self.project("fixed_stock", STOCK, {"one_row_stock": ONE_ROW_SQL % "table"})

    def steps(self) -> List[Step]:
        return [
            Step("dbt run 1-row pg_full", self._pg_full, [("fixed", FIXED_PG_FULL, K_ADAPTER)]),
            Step("dbt run 1-row table", self._stock, [("fixed", FIXED_STOCK, PEER)]),
        ]

    def _pg_full(self, repeat: int) -> None:
        run = self.adapter.run("run")
        model = run.model("one_row")
        m = self.results.record(
            "fixed", FIXED_PG_FULL, K_ADAPTER, run.command_s, rss_mb=run.rss_mb
        )
        m.info.setdefault("model_s", []).append(round(model.seconds, 3))
        self.expect_rows("one_row", 1)

    def _stock(self, repeat: int) -> None:
        run = self.stock.run("run")
        model = run.model("one_row_stock")
        m = self.results.record("fixed", FIXED_STOCK, PEER, run.command_s, rss_mb=run.rss_mb)
        m.info.setdefault("model_s", []).append(round(model.seconds, 3))
        self.expect_rows("one_row_stock", 1)
