"""Read paths: Postgres -> DuckDB.

Scenarios, each against psql running the same query on Postgres as
``COPY (<query>) TO STDOUT (FORMAT binary)`` into /dev/null (the fastest way a
client can receive those rows):

- full read of ``src`` into a DuckDB table: a dbt model over an attached-table
  source, and DuckDB CTAS in-process (no dbt);
- selective read, 1% of rows by time range, without and with an index on
  ``ts`` (``src`` / ``src_idx``): a ``pg_query`` source and an attached-table
  source with a WHERE;
- aggregate (GROUP BY the 20 categories) through a ``pg_query`` source and
  through the attached table.

All dbt models (``table`` materializations in the project's DuckDB file) run
in one ``dbt run`` per repeat; each model's time comes from run_results.json.
After the repeats, each model's compiled SQL runs once more in-process
through the counting proxy: rows and bytes that crossed from Postgres.
"""

import time
from typing import Dict
from typing import List
from typing import Tuple

import duckdb

from benchlib.data import DAY
from benchlib.data import GROUPS
from benchlib.data import SCHEMA
from benchlib.data import day_bounds
from benchlib.data import duckdb_session
from benchlib.data import pg
from benchlib.dbtrun import ADAPTER
from benchlib.proxy import CountingProxy
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import IN_PROCESS
from benchlib.results import REFERENCE
from benchlib.results import Step
from benchlib.suites import Suite

PSQL = "psql COPY TO STDOUT (binary) > /dev/null"
FULL_MODEL = "attached source -> DuckDB table (model)"
FULL_CTAS = "DuckDB CTAS from the attach"
QUERY_MODEL = "pg_query source (model)"
ATTACH_WHERE_MODEL = "attached source + WHERE (model)"
ATTACH_GROUP_MODEL = "attached source + GROUP BY (model)"

AGG_SQL = (
    "select category, count(*) as n, sum(amount) as amount, avg(qty) as avg_qty "
    "from {table} group by category"
)


def _selective_sql(table: str) -> str:
    start, end = day_bounds(DAY)
    return f"select * from {table} where ts >= '{start}' and ts < '{end}'"


class ReadSuite(Suite):
    name = "read"

    def prepare(self) -> None:
        n = self.rows
        add = self.results.scenario
        add("read_full", self.name, f"full read of {n:,} rows into DuckDB", n, PSQL)
        add("read_sel", self.name, "selective read: 1% by time range, no index", n // 100, PSQL)
        add(
            "read_sel_idx",
            self.name,
            "selective read: 1% by time range, index on ts",
            n // 100,
            PSQL,
        )
        add("read_agg", self.name, f"aggregate: GROUP BY {GROUPS} groups over {n:,} rows", n, PSQL)
        start, end = day_bounds(DAY)
        where = f"where ts >= timestamptz '{start}' and ts < timestamptz '{end}'"
        # model -> (scenario, method); the query the psql reference runs per scenario
        self.models: Dict[str, Tuple[str, str]] = {
            "r_full": ("read_full", FULL_MODEL),
            "r_sel_query": ("read_sel", QUERY_MODEL),
            "r_sel_attach": ("read_sel", ATTACH_WHERE_MODEL),
            "r_selidx_query": ("read_sel_idx", QUERY_MODEL),
            "r_selidx_attach": ("read_sel_idx", ATTACH_WHERE_MODEL),
            "r_agg_query": ("read_agg", QUERY_MODEL),
            "r_agg_attach": ("read_agg", ATTACH_GROUP_MODEL),
        }
        self.psql_queries = {
            "read_full": f"select * from {pg('src')}",
            "read_sel": _selective_sql(pg("src")),
            "read_sel_idx": _selective_sql(pg("src_idx")),
            "read_agg": AGG_SQL.format(table=pg("src")),
        }
        agg_attach = AGG_SQL.format(table="{{ source('pg', 'src') }}")
        sql = {
            "r_full": "select * from {{ source('pg', 'src') }}",
            "r_sel_query": "select * from {{ source('pgq', 'sel') }}",
            "r_sel_attach": "select * from {{ source('pg', 'src') }} " + where,
            "r_selidx_query": "select * from {{ source('pgq', 'sel_idx') }}",
            "r_selidx_attach": "select * from {{ source('pg', 'src_idx') }} " + where,
            "r_agg_query": "select * from {{ source('pgq', 'agg') }}",
            "r_agg_attach": agg_attach,
        }
        models = {
            name: "{{ config(materialized='table') }}\n" + body for name, body in sql.items()
        }
        sources = [
            {
                "name": "pg",
                "database": "pg",
                "schema": SCHEMA,
                "tables": [{"name": "src"}, {"name": "src_idx"}],
            },
            {
                "name": "pgq",
                "database": "pg",
                "schema": SCHEMA,
                "tables": [
                    {"name": "sel", "meta": {"pg_query": self.psql_queries["read_sel"]}},
                    {"name": "sel_idx", "meta": {"pg_query": self.psql_queries["read_sel_idx"]}},
                    {"name": "agg", "meta": {"pg_query": self.psql_queries["read_agg"]}},
                ],
            },
        ]
        self.project_ = self.project("read_models", ADAPTER, models, sources=sources)

    def steps(self) -> List[Step]:
        steps = [
            Step(f"psql {key}", self._psql_step(key), [(key, PSQL, REFERENCE)])
            for key in self.psql_queries
        ]
        steps.append(
            Step("DuckDB CTAS from attach", self._ctas, [("read_full", FULL_CTAS, IN_PROCESS)])
        )
        methods = [(scenario, method, K_ADAPTER) for scenario, method in self.models.values()]
        steps.append(Step("dbt run (7 read models)", self._dbt, methods))
        return steps

    def _psql_step(self, key: str):
        def run(repeat: int) -> None:
            sql = f"copy ({self.psql_queries[key]}) to stdout (format binary)"
            self.results.record(key, PSQL, REFERENCE, self.server.psql(sql))

        return run

    def _ctas(self, repeat: int) -> None:
        path = self.ctx.dbt_root / "read_ctas.duckdb"
        path.unlink(missing_ok=True)
        con = duckdb_session(self.server, None, database=str(path))
        try:
            started = time.perf_counter()
            con.execute(f"create table r_full as select * from pg.{SCHEMA}.src")
            seconds = time.perf_counter() - started
            copied = con.execute("select count(*) from r_full").fetchone()
        finally:
            con.close()
            path.unlink(missing_ok=True)
        if not copied or copied[0] != self.rows:
            raise RuntimeError(f"CTAS read {copied} rows, expected {self.rows}")
        self.results.record("read_full", FULL_CTAS, IN_PROCESS, seconds)

    def _dbt(self, repeat: int) -> None:
        run = self.project_.run("run")
        for model, (scenario, method) in self.models.items():
            self.record_model(run, model, scenario, method, K_ADAPTER)

    def finish(self) -> None:
        self.results.run_once("read: check model results", self._check)
        self.results.run_once("read: transfer through the counting proxy", self._transfer)

    def _check(self) -> None:
        """Each model table in the project's DuckDB file has the expected rows."""
        expected = {
            "read_full": self.rows,
            "read_sel": self.rows // 100,
            "read_sel_idx": self.rows // 100,
            "read_agg": GROUPS,
        }
        path = self.project_.dir / f"{self.project_.name}.duckdb"
        with duckdb.connect(str(path), read_only=True) as con:
            for model, (scenario, _) in self.models.items():
                row = con.execute(f"select count(*) from {SCHEMA}.{model}").fetchone()
                if not row or row[0] != expected[scenario]:
                    raise RuntimeError(f"{model}: {row} rows, expected {expected[scenario]}")

    def _transfer(self) -> None:
        """Run each model's compiled SELECT in-process through the proxy and
        record what crossed from Postgres (the attach's catalog is loaded first,
        so only the query's own traffic counts)."""
        with CountingProxy(self.server.host, self.server.port) as proxy:
            con = duckdb_session(self.server, None, host=proxy.folder)
            try:
                con.execute(f"select count(*) from pg.{SCHEMA}.src where false").fetchall()
                for model, (scenario, method) in self.models.items():
                    if scenario == "read_full":
                        continue  # all rows, by definition; not worth forwarding N rows
                    sql = self.project_.compiled_sql(model)
                    before = proxy.traffic()
                    con.execute(f"create or replace temp table t as {sql}")
                    moved = proxy.traffic() - before
                    m = self.results.method(scenario, method, K_ADAPTER)
                    m.info["transfer"] = moved.to_json()
            finally:
                con.close()
