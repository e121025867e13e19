"""Write paths: a new Postgres table of N rows from the DuckDB data set.

Reference limit: server-side ``COPY ... FROM '<file>' (FORMAT binary)`` of the
same rows. In-process reference: DuckDB ``CREATE TABLE pg.s.t AS SELECT`` through
the attached catalog. This adapter: a ``pg_full`` model (model time and whole
command). Peers: stock dbt-duckdb ``table`` with ``database`` = the attached
catalog; pandas ``DataFrame.to_sql(method='multi')`` through SQLAlchemy and
psycopg (up to 1M rows); psql ``\\copy`` from CSV. Every target is dropped
before its method runs, and its row count is checked after.
"""

import importlib.util
import time
from pathlib import Path
from typing import Any
from typing import List

import duckdb
import psycopg

from benchlib.data import PG_COLUMNS
from benchlib.data import SCHEMA
from benchlib.data import duckdb_session
from benchlib.data import pg
from benchlib.dbtrun import ADAPTER
from benchlib.dbtrun import STOCK
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import IN_PROCESS
from benchlib.results import PEER
from benchlib.results import REFERENCE
from benchlib.results import Step
from benchlib.suites import Suite

SCENARIO = "write"
COPY = "COPY FROM file, binary (server-side)"
CTAS = "DuckDB CTAS through the attach"
PG_FULL = "pg_full (model)"
PG_FULL_CMD = "pg_full (dbt command)"
STOCK_TABLE = "dbt-duckdb table (model)"
STOCK_TABLE_CMD = "dbt-duckdb table (dbt command)"
PANDAS = "pandas to_sql(method='multi')"
PSQL_CSV = "psql \\copy from CSV"

PG_FULL_SQL = """
{{ config(materialized='pg_full', database='pg') }}
select * from data.main.src
"""
STOCK_TABLE_SQL = """
{{ config(materialized='table', database='pg') }}
select * from data.main.src
"""


class WriteSuite(Suite):
    name = "write"

    def prepare(self) -> None:
        n = self.rows
        self.results.scenario(
            SCENARIO, self.name, f"write {n:,} rows into a new Postgres table", n, COPY
        )
        self.binary_file = self.data.export("src", "binary")
        self.csv_file = self.data.export("src", "csv")
        self.pg_full = self.project("write_pg_full", ADAPTER, {"w_pg_full": PG_FULL_SQL})
        self.stock = self.project("write_stock", STOCK, {"w_stock": STOCK_TABLE_SQL})
        self.frame: Any = None
        skip = None
        if n > self.ctx.pandas_max_rows:
            skip = f"skipped: {n:,} rows > --pandas-max-rows {self.ctx.pandas_max_rows:,}"
        elif not all(importlib.util.find_spec(m) for m in ("pandas", "sqlalchemy")):
            skip = (
                "skipped: pandas/SQLAlchemy not installed (pip install -r bench/requirements.txt)"
            )
        if skip:
            self.results.method(SCENARIO, PANDAS, PEER).info["note"] = skip
            self.results.log(f"  pandas to_sql {skip}")
        else:
            self.frame = self._load_frame()
        self.server_side = self.data.server_can_read(self.binary_file)

    def _load_frame(self) -> Any:
        """The data set as a pandas DataFrame (untimed: the peer starts from it)."""
        with duckdb.connect(str(self.data.duckdb_path), read_only=True) as con:
            return con.execute("select * from src").df()

    def steps(self) -> List[Step]:
        steps = [
            Step("COPY FROM file", self._copy, [(SCENARIO, COPY, REFERENCE)]),
            Step("DuckDB CTAS", self._ctas, [(SCENARIO, CTAS, IN_PROCESS)]),
            Step(
                "dbt run pg_full",
                self._dbt_pg_full,
                [(SCENARIO, PG_FULL, K_ADAPTER), (SCENARIO, PG_FULL_CMD, K_ADAPTER)],
            ),
            Step(
                "dbt run dbt-duckdb table",
                self._dbt_stock,
                [(SCENARIO, STOCK_TABLE, PEER), (SCENARIO, STOCK_TABLE_CMD, PEER)],
            ),
            Step("psql \\copy CSV", self._psql_csv, [(SCENARIO, PSQL_CSV, PEER)]),
        ]
        if self.frame is not None:
            steps.append(Step("pandas to_sql", self._pandas, [(SCENARIO, PANDAS, PEER)]))
        return steps

    def finish(self) -> None:
        if not self.server_side:
            note = "the server cannot read the file: streamed by COPY FROM STDIN instead"
            self.results.method(SCENARIO, COPY, REFERENCE).info["note"] = note

    # --- methods -------------------------------------------------------------

    def _copy(self, repeat: int) -> None:
        self.drop("w_copy")
        with psycopg.connect(**self.server.conninfo()) as conn:
            started = time.perf_counter()
            conn.execute(f"create table {pg('w_copy')} ({PG_COLUMNS})")  # type: ignore[arg-type]
            if self.server_side:
                conn.execute(f"copy {pg('w_copy')} from '{self.binary_file}' (format binary)")  # type: ignore[arg-type]
            else:
                sql = f"copy {pg('w_copy')} from stdin (format binary)"
                _copy_from_file(conn, sql, self.binary_file)
            conn.commit()
            seconds = time.perf_counter() - started
        self.results.record(SCENARIO, COPY, REFERENCE, seconds)
        self.expect_rows("w_copy", self.rows)
        self.drop("w_copy")

    def _ctas(self, repeat: int) -> None:
        self.drop("w_ctas")
        con = duckdb_session(self.server, self.data.duckdb_path)
        try:
            started = time.perf_counter()
            con.execute(f"create table pg.{SCHEMA}.w_ctas as select * from data.main.src")
            seconds = time.perf_counter() - started
        finally:
            con.close()
        self.results.record(SCENARIO, CTAS, IN_PROCESS, seconds)
        self.expect_rows("w_ctas", self.rows)
        self.drop("w_ctas")

    def _dbt_pg_full(self, repeat: int) -> None:
        self.drop("w_pg_full")
        run = self.pg_full.run("run")
        self.record_model(run, "w_pg_full", SCENARIO, PG_FULL, K_ADAPTER, PG_FULL_CMD)
        self.expect_rows("w_pg_full", self.rows)
        self.drop("w_pg_full")

    def _dbt_stock(self, repeat: int) -> None:
        self.drop("w_stock")
        run = self.stock.run("run")
        self.record_model(run, "w_stock", SCENARIO, STOCK_TABLE, PEER, STOCK_TABLE_CMD)
        self.expect_rows("w_stock", self.rows)
        self.drop("w_stock")

    def _psql_csv(self, repeat: int) -> None:
        self.drop("w_psql")
        self.server.run_sql([f"create table {pg('w_psql')} ({PG_COLUMNS})"])
        seconds = self.server.psql(f"\\copy {pg('w_psql')} from '{self.csv_file}' (format csv)")
        self.results.record(SCENARIO, PSQL_CSV, PEER, seconds)
        self.expect_rows("w_psql", self.rows)
        self.drop("w_psql")

    def _pandas(self, repeat: int) -> None:
        import sqlalchemy

        self.drop("w_pandas")
        url = sqlalchemy.engine.URL.create(
            "postgresql+psycopg",
            username=self.server.user,
            password=self.server.password,
            database=self.server.database,
            query={"host": self.server.host, "port": str(self.server.port)},
        )
        engine = sqlalchemy.create_engine(url)
        try:
            started = time.perf_counter()
            # chunks of 5,000 rows x 7 columns stay under Postgres' 65,535 bind parameters
            self.frame.to_sql(
                "w_pandas",
                engine,
                schema=SCHEMA,
                if_exists="replace",
                index=False,
                method="multi",
                chunksize=5000,
            )
            seconds = time.perf_counter() - started
        finally:
            engine.dispose()
        self.results.record(SCENARIO, PANDAS, PEER, seconds)
        self.expect_rows("w_pandas", self.rows)
        self.drop("w_pandas")


def _copy_from_file(conn: psycopg.Connection, sql: str, path: Path) -> None:
    """Stream ``path`` into ``COPY ... FROM STDIN`` on ``conn``."""
    with conn.cursor().copy(sql) as copy, open(path, "rb") as f:  # type: ignore[arg-type]
        while chunk := f.read(1 << 20):
            copy.write(chunk)
