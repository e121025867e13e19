"""Fixed cost of ``dbt run`` and of each write.

- fixed: whole-command time of ``dbt run`` for a 1-row ``pg_full`` model
  against the same model as a stock dbt-duckdb ``table`` in the attached
  Postgres. Goal: <= 1.15x.
- fixed_writes: the fixed cost of each write path: the model changes one row
  (id 1 gets a new ``note``) of a 10,000-row Postgres target ``w1_<name>``
  (every (N/10,000)-th row of ``src``, so 100 rows a day, id 1 on day 0; a
  primary key on id for the methods that match rows by key). Methods: this
  adapter's ``pg_upsert_by_key``, ``pg_incremental_by_time`` for id 1's day
  (``--event-time-start/-end``: it rewrites the target's 100 rows of that
  day), ``pg_full`` (a rebuild: its fixed cost plus 10,000 rows), a DuckDB
  ``table`` model with a ``pg_materialize`` ``upsert_by_key`` post-hook; dbt's
  own ``table``, ``incremental`` append, delete+insert, merge and
  ``microbatch`` (the day) with ``database='pg'``, each under stock
  dbt-duckdb (peer) and, right after it, the same model under this adapter.
  Append adds the changed row as a second row of id 1 (no key). Reference:
  psql, one autocommit ``INSERT ... ON CONFLICT (id) DO UPDATE`` of the row.
  Model time from run_results.json. After each run the target is checked
  (its row count, the changed row) and put back (untimed). After the
  repeats each method runs once more through the counting proxy, untimed:
  its ``ReadyForQuery`` messages are its Postgres round trips, counted over
  the whole command (dbt's own catalog and relation-cache queries included).
"""

from dataclasses import dataclass
from typing import Any
from typing import Callable
from typing import List
from typing import Optional
from typing import Tuple

from benchlib.data import day_bounds
from benchlib.data import pg
from benchlib.data import row_sql
from benchlib.dbtrun import ADAPTER
from benchlib.dbtrun import STOCK
from benchlib.dbtrun import DbtProject
from benchlib.dbtrun import DbtRun
from benchlib.proxy import CountingProxy
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import PEER
from benchlib.results import REFERENCE
from benchlib.results import Step
from benchlib.suites import Suite
from benchlib.suites.upsert import UPDATE_COLUMNS

FIXED_PG_FULL = "pg_full, 1 row (dbt command)"
FIXED_STOCK = "dbt-duckdb table, 1 row (dbt command)"
ONE_ROW_SQL = """
{{ config(materialized='%s', database='pg') }}
select * from data.main.src where id = 1
"""

SCENARIO = "fixed_writes"
TARGET_ROWS = 10_000
NEW_NOTE = "fixed_writes change"
REF = "INSERT ... ON CONFLICT (id) DO UPDATE of the row (psql)"

# which rows a model selects (see Write.rows); %(target)s: the target's predicate
_SELECT = (
    "select id, ts, qty, amount, category, "
    f"case when id = 1 then '{NEW_NOTE}' else note end as note, flag\n"
)
_FROM = {
    "row": "from data.main.src where id = 1",
    "all": "from data.main.src where %(target)s",
    "window": "from data.main.src where %(target)s\n"
    "and ts >= {{ pg_window_start('timestamptz') }} and ts < {{ pg_window_end('timestamptz') }}",
    "batch": "from {{ source('data', 'src') }} where %(target)s",
}
# the DuckDB data set as a source with event_time, for dbt's microbatch filter
_SOURCES = [
    {
        "name": "data",
        "database": "data",
        "schema": "main",
        "tables": [{"name": "src", "config": {"event_time": "ts"}}],
    }
]
_BY_DAY = "event_time='ts', batch_size='day', begin='2024-01-01'"


@dataclass(frozen=True)
class Write:
    """One method of the fixed_writes scenario.

    Attributes:
        method: its name in reports.
        kind: REFERENCE, adapter or peer.
        target: the Postgres table it writes (also the model's name).
        profile: :data:`benchlib.dbtrun.ADAPTER` or ``STOCK``; "" for the psql reference.
        config: the model's ``config()`` arguments.
        rows: which rows the model selects (a key of ``_FROM``): ``row`` the
            changed row; ``all`` the target's rows, one changed (a rebuild);
            ``window`` the target's rows of id 1's day, by ``pg_window_start/end``;
            ``batch`` the same day, filtered by dbt's microbatch.
        key: the target has a primary key on id.
        added: rows the write adds to the target (append adds the changed row).
        smoke: runs in ``--smoke``.
    """

    method: str
    kind: str
    target: str
    profile: str = ADAPTER
    config: str = ""
    rows: str = "row"
    key: bool = False
    added: int = 0
    smoke: bool = False

    @property
    def by_day(self) -> bool:
        """Runs with ``--event-time-start/-end`` for id 1's day."""
        return self.rows in ("window", "batch")


def _dbt_pair(name: str, short: str, config: str, **fields: Any) -> List[Write]:
    """dbt's own materialization ``name`` with ``database='pg'`` under stock dbt-duckdb
    (peer, target ``w1_<short>_stock``), then the same model under this adapter
    (``w1_<short>``); ``fields``: further :class:`Write` attributes of both."""
    config = f"{config}, database='pg'"
    return [
        Write(f"dbt-duckdb {name} (model)", PEER, f"w1_{short}_stock", STOCK, config, **fields),
        Write(
            f"dbt-duckdb-postgres {name} (model)",
            K_ADAPTER,
            f"w1_{short}",
            ADAPTER,
            config,
            **fields,
        ),
    ]


def writes() -> List[Write]:
    """Every method of the scenario, in run order."""
    incremental = "materialized='incremental', incremental_strategy="
    mat_hook = (
        "{{ pg_materialize(connection='pg', table='w1_mat', mode='upsert_by_key', "
        "unique_key='id') }}"
    )
    rebuild = f"rebuild of all {TARGET_ROWS:,} rows"
    return [
        Write(REF, REFERENCE, "w1_ref", "", key=True, smoke=True),
        Write(
            "pg_upsert_by_key (model)",
            K_ADAPTER,
            "w1_upsert",
            config="materialized='pg_upsert_by_key', database='pg', unique_key='id'",
            key=True,
            smoke=True,
        ),
        Write(
            "table + pg_materialize upsert_by_key post-hook (model)",
            K_ADAPTER,
            "w1_mat",
            config=f"materialized='table', post_hook=[\"{mat_hook}\"]",
            key=True,
        ),
        Write(
            "pg_incremental_by_time, 1 day (model)",
            K_ADAPTER,
            "w1_time",
            config=f"materialized='pg_incremental_by_time', database='pg', {_BY_DAY}",
            rows="window",
        ),
        Write(
            f"pg_full, {rebuild} (model)",
            K_ADAPTER,
            "w1_full",
            config="materialized='pg_full', database='pg'",
            rows="all",
        ),
        *_dbt_pair(
            "incremental merge",
            "merge",
            f"{incremental}'merge', unique_key='id'",
            key=True,
            smoke=True,
        ),
        *_dbt_pair(
            "incremental delete+insert",
            "delins",
            f"{incremental}'delete+insert', unique_key='id'",
            key=True,
        ),
        *_dbt_pair("incremental append", "append", f"{incremental}'append'", added=1),
        *_dbt_pair(
            "microbatch, 1 day", "mb", f"{incremental}'microbatch', {_BY_DAY}", rows="batch"
        ),
        *_dbt_pair(f"table, {rebuild}", "table", "materialized='table'", rows="all"),
    ]


class FixedCostSuite(Suite):
    name = "fixed"

    def prepare(self) -> None:
        self.results.scenario(
            "fixed", self.name, "fixed cost: dbt run of a 1-row model", 1, FIXED_STOCK
        )
        self.adapter = self.project("fixed_pg_full", ADAPTER, {"one_row": ONE_ROW_SQL % "pg_full"})
        self.stock = self.project("fixed_stock", STOCK, {"one_row_stock": ONE_ROW_SQL % "table"})
        self._prepare_writes()

    def steps(self) -> List[Step]:
        steps = [
            Step(
                "dbt run 1-row pg_full",
                self._one_row(self.adapter, "one_row", FIXED_PG_FULL, K_ADAPTER),
                [("fixed", FIXED_PG_FULL, K_ADAPTER)],
            ),
            Step(
                "dbt run 1-row table",
                self._one_row(self.stock, "one_row_stock", FIXED_STOCK, PEER),
                [("fixed", FIXED_STOCK, PEER)],
            ),
        ]
        for w in self.writes:
            steps.append(
                Step(f"{SCENARIO} {w.method}", self._write_step(w), [(SCENARIO, w.method, w.kind)])
            )
        return steps

    def finish(self) -> None:
        with CountingProxy(self.server.host, self.server.port) as proxy:
            for w in self.writes:
                self.results.run_once(
                    f"{SCENARIO}: round trips of {w.method}",
                    lambda w=w: self._round_trips(w, proxy),
                )

    # --- fixed: a 1-row model, whole command -------------------------------------

    def _one_row(
        self, project: DbtProject, model: str, method: str, kind: str
    ) -> Callable[[int], None]:
        def run(repeat: int) -> None:
            dbt_run = project.run("run")
            result = dbt_run.model(model)
            m = self.results.record(
                "fixed", method, kind, dbt_run.command_s, rss_mb=dbt_run.rss_mb
            )
            m.info.setdefault("model_s", []).append(round(result.seconds, 3))
            self.expect_rows(model, 1)

        return run

    # --- fixed_writes: a 1-row change of each write path ---------------------------

    def _prepare_writes(self) -> None:
        self.target_rows = min(TARGET_ROWS, self.rows)
        step = max(self.rows // TARGET_ROWS, 1)
        # every step-th row of src: the target spans the data set's 100 days
        self.target_where = f"(id - 1) % {step} = 0 and id <= {step * self.target_rows}"
        start, end = day_bounds(0)  # the day of id 1
        self.day_flags = ["--event-time-start", start[:10], "--event-time-end", end[:10]]
        with self.server.connect() as conn:
            row = conn.execute(
                f"select count(*) from {pg('src')} where {self.target_where} and ts < '{end}'"  # type: ignore[arg-type]
            ).fetchone()
        self.day_rows = int(row[0]) if row else 0
        self.results.scenario(
            SCENARIO,
            self.name,
            f"fixed cost of each write: a 1-row change into a {self.target_rows:,}-row target",
            1,
            REF,
            note=(
                "Round trips: `ReadyForQuery` messages from Postgres in one more run of the "
                "method through the counting proxy (untimed): the whole command, so a dbt "
                "method's count includes dbt's own queries of the run (schema and relation "
                "cache, catalog lookups of the attach), not only its write; each connection "
                "adds one. `pg_incremental_by_time` and `microbatch` rewrite id 1's day "
                f"({self.day_rows:,} rows); `pg_full` and `table` rebuild all "
                f"{self.target_rows:,} rows; append adds the changed row as a second id 1."
            ),
        )
        self.writes = [w for w in writes() if w.smoke or not self.ctx.smoke]
        self.drop(*(w.target for w in self.writes))
        statements = []
        for w in self.writes:
            statements.append(
                f"create table {pg(w.target)} as select * from {pg('src')} "
                f"where {self.target_where}"
            )
            if w.key:
                statements.append(f"alter table {pg(w.target)} add primary key (id)")
            statements.append(f"vacuum analyze {pg(w.target)}")
        self.server.run_sql(statements)
        self.projects = {w.target: self._project(w) for w in self.writes if w.profile}
        updates = ", ".join(f"{c} = excluded.{c}" for c in UPDATE_COLUMNS)
        self.reference_sql = (
            f"insert into {pg('w1_ref')} as t select id, ts, qty, amount, category, "
            f"'{NEW_NOTE}' as note, flag from (select {row_sql('1', self.rows, 'postgres')}) r "
            f"on conflict (id) do update set {updates};\n"
        )

    def _project(self, w: Write, host: Optional[str] = None) -> DbtProject:
        """The dbt project of ``w`` (``host``: the libpq host of ``pg``, e.g. a proxy)."""
        sql = (
            "{{ config("
            + w.config
            + ") }}\n"
            + _SELECT
            + _FROM[w.rows] % {"target": self.target_where}
        )
        sources = _SOURCES if w.rows == "batch" else None
        return self.project(
            f"fixed_{w.target}", w.profile, {w.target: sql}, sources=sources, pg_host=host
        )

    def _execute(self, w: Write, host: Optional[str] = None) -> Tuple[float, Optional[DbtRun]]:
        """Run ``w`` once (``host``: see :meth:`_project`): (psql seconds, None) for the
        reference, else (0, the dbt run)."""
        if w.kind == REFERENCE:
            return self.server.psql(self.reference_sql, host=host), None
        project = self.projects[w.target] if host is None else self._project(w, host)
        return 0.0, project.run("run", *(self.day_flags if w.by_day else []))

    def _write_step(self, w: Write) -> Callable[[int], None]:
        rows = {"all": self.target_rows, "window": self.day_rows, "batch": self.day_rows}

        def run(repeat: int) -> None:
            try:
                seconds, dbt_run = self._execute(w)
                if dbt_run is None:
                    self.results.record(SCENARIO, w.method, w.kind, seconds)
                else:
                    self.record_model(
                        dbt_run, w.target, SCENARIO, w.method, w.kind, rows=rows.get(w.rows)
                    )
                self._check(w)
            finally:
                self._reset(w)

        return run

    def _round_trips(self, w: Write, proxy: CountingProxy) -> None:
        """Run ``w`` once through ``proxy``; record its round trips and connections."""
        before = proxy.traffic()
        try:
            _, dbt_run = self._execute(w, proxy.folder)
            if dbt_run is not None:
                dbt_run.model(w.target)  # raises when the run failed
            moved = proxy.traffic() - before
            self._check(w)
        finally:
            self._reset(w)
        info = self.results.method(SCENARIO, w.method, w.kind).info
        info["round_trips"] = moved.round_trips
        info["connections"] = moved.connections

    def _check(self, w: Write) -> None:
        """The target holds its rows (plus an appended one) and the changed row."""
        self.expect_rows(w.target, self.target_rows + w.added)
        self.expect_rows(w.target, 1, f"where id = 1 and note = '{NEW_NOTE}'")

    def _reset(self, w: Write) -> None:
        """Put id 1 back as it is in ``src`` (untimed; also drops an appended row)."""
        self.server.run_sql(
            [
                f"delete from {pg(w.target)} where id = 1",
                f"insert into {pg(w.target)} select * from {pg('src')} where id = 1",
            ]
        )
