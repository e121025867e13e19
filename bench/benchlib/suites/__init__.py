"""What is measured: one module per suite, each a :class:`Suite`.

A suite declares its scenarios, prepares untimed state (tables, files, dbt
projects), returns the steps timed once per repeat (methods interleaved within
a repeat), and may take untimed measurements at the end (transfer through the
counting proxy, result checks).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Dict
from typing import List
from typing import Optional

from benchlib.data import Dataset
from benchlib.data import pg
from benchlib.dbtrun import DbtProject
from benchlib.dbtrun import DbtRun
from benchlib.results import Results
from benchlib.results import Step
from benchlib.server import Postgres


@dataclass
class Context:
    """What every suite works with.

    Attributes:
        dbt_root: folder of this ``--rows`` value's dbt projects.
        memory_limit: DuckDB ``memory_limit`` of the memory suite's limited run.
        pandas_max_rows: pandas ``to_sql`` runs only up to this many rows.
        smoke: a CI check of the harness: each code path once, so variants
            that only change parameters are left out (see bench/README.md).
        tpch_sf: TPC-H scale factor of the tpch suite.
        work_dir: the work folder (the tpch suite keeps its generated data there).
    """

    server: Postgres
    data: Dataset
    results: Results
    dbt_root: Path
    memory_limit: str
    pandas_max_rows: int
    smoke: bool = False
    tpch_sf: float = 1.0
    work_dir: Optional[Path] = None


class Suite:
    """Base class; subclasses set :attr:`name` and implement :meth:`steps`."""

    name = ""
    needs_dataset = True  # uses the generic data set (benchlib.data.Dataset)

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.server = ctx.server
        self.data = ctx.data
        self.results = ctx.results
        self.rows = ctx.data.rows

    def prepare(self) -> None:
        """Untimed setup before the first repeat."""

    def steps(self) -> List[Step]:
        """The timed steps of one repeat, in order."""
        raise NotImplementedError

    def finish(self) -> None:
        """Untimed measurements and checks after the last repeat."""

    # --- helpers -------------------------------------------------------------

    def project(
        self, name: str, adapter: str, models: Dict[str, str], **kwargs: Any
    ) -> DbtProject:
        """A dbt project of this suite (see :class:`benchlib.dbtrun.DbtProject`)."""
        return DbtProject(
            self.ctx.dbt_root, name, adapter, self.server, self.data.duckdb_path, models, **kwargs
        )

    def record_model(
        self,
        run: DbtRun,
        model: str,
        scenario: str,
        method: str,
        kind: str,
        command_method: Optional[str] = None,
        rows: Optional[int] = None,
    ) -> None:
        """Record ``model``'s time from ``run`` (plus the whole command as
        ``command_method`` when given).

        Raises:
            RuntimeError: the run failed.
        """
        result = run.model(model)
        m = self.results.record(
            scenario, method, kind, result.seconds, run.command_s, run.rss_mb, rows=rows
        )
        if result.adapter_response:
            m.info["adapter_response"] = result.adapter_response
        if command_method:
            self.results.record(scenario, command_method, kind, run.command_s, rows=rows)
        if not run.noted:
            self.results.note(f"dbt command {run.command_s:.2f} s, RSS {run.rss_mb:.0f} MiB")
            run.noted = True

    def count(self, table: str, where: str = "") -> int:
        """``count(*)`` of a benchmark table in Postgres."""
        with self.server.connect() as conn:
            row = conn.execute(f"select count(*) from {pg(table)} {where}").fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0

    def expect_rows(self, table: str, expected: int, where: str = "") -> None:
        """Check a result in Postgres.

        Raises:
            RuntimeError: the count differs.
        """
        found = self.count(table, where)
        if found != expected:
            raise RuntimeError(f"{pg(table)} {where}: {found} rows, expected {expected}")

    def drop(self, *tables: str) -> None:
        """Drop benchmark tables in Postgres if they exist."""
        self.server.run_sql([f"drop table if exists {pg(t)} cascade" for t in tables])


def all_suites() -> Dict[str, type]:
    """Suite name -> class, in run order."""
    from benchlib.suites.fixed import FixedCostSuite
    from benchlib.suites.incremental import IncrementalSuite
    from benchlib.suites.memory import MemorySuite
    from benchlib.suites.partition import PartitionSuite
    from benchlib.suites.read import ReadSuite
    from benchlib.suites.tpch import TpchSuite
    from benchlib.suites.upsert import UpsertSuite
    from benchlib.suites.write import WriteSuite

    suites = [
        WriteSuite,
        ReadSuite,
        IncrementalSuite,
        PartitionSuite,
        UpsertSuite,
        MemorySuite,
        FixedCostSuite,
        TpchSuite,
    ]
    return {s.name: s for s in suites}
