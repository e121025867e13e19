"""Memory of ``dbt run``: peak RSS of the ``dbt run`` process (``wait4``'s
``ru_maxrss``) for a ``pg_full`` model of N rows, without and with a DuckDB
``memory_limit`` (profile ``settings``). Goal at 10M rows: <= 1.5 GB, bounded
by the limit (plus dbt's own RSS, the 1-row run of the fixed suite).
"""

from typing import List

from benchlib.dbtrun import ADAPTER
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import Step
from benchlib.suites import Suite

NO_LIMIT = "pg_full, no memory_limit (model)"

MEMORY_SQL = """
{{ config(materialized='pg_full', database='pg') }}
select * from data.main.src
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
