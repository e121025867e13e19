"""TPC-H: seven marts with byte-identical SQL under this adapter and dbt-postgres.

The data comes from DuckDB's TPC-H generator (``CALL dbgen(sf=...)``, the
extension shipped in the ``duckdb-extension-tpch`` wheel, installed from that
file: nothing downloads). It is written once into ``<work>/tpch-sf<sf>.duckdb``
and loaded into Postgres schema :data:`SOURCE_SCHEMA` by binary COPY through
the attach (``CREATE TABLE pg.<schema>.<t> AS SELECT ...``), then given its
primary keys and ANALYZEd. The tables of :data:`MIRRORED` get one more column,
a change-tracking timestamp (``<prefix>_updated_at timestamptz not null default
now()``, indexed): at load a function of the first key column
(:func:`tracking_value`), so each row has its own mark and the 1% change below
is undone exactly. A load of the same scale factor and columns is reused (the
schema's comment records both).

The dbt project (``bench/tpch/models``: Q1, Q3, Q5, Q9, Q10 and Q18 as marts
plus a wide fact of lineitem joined to orders) runs, interleaved in each repeat:

- this adapter: marts ``pg_full`` into Postgres, sources read through the
  attach (``database: pg``, the profile's postgres connection);
- dbt-postgres (``table``), sources in the same database, same dbt-core;
- this adapter with ``source_snapshot: run`` in the connection (reported as
  skipped, with the adapter's reason, if the adapter rejects the key);

at threads=4, and at threads=1 too outside ``--smoke``. Each method writes its
own result schema, dropped (untimed) before each run, so every run builds from
nothing. Then, at threads=4 (once in ``--smoke`` too):

- this adapter with the tables of :data:`MIRRORED` as persistent mirrors
  (``meta: {pg_snapshot: mirror, pg_mirror_key: <primary key>,
  pg_mirror_updated_at: <tracking column>}``) and ``source_snapshot: run`` for
  the others: a first run (its DuckDB file and result schema removed before, so
  the mirrors are built from nothing), recorded with the first runs above;
- the rerun: :func:`change_sql` changes 1% of lineitem in Postgres (untimed),
  then this adapter's mirror project and dbt-postgres (over its tables of this
  repeat) run again; its undo then puts the rows back (untimed), so every
  repeat starts from the same data. The rows Postgres read from lineitem
  during each mirror run (``pg_stat_user_tables``) show what the sync fetched.

Afterwards (untimed):

- results check: row counts and per-column checksums computed inside Postgres
  on each result schema must equal dbt-postgres' on the same data (see
  :func:`checksums` for the tolerance): the first runs against dbt-postgres'
  first run (its checksums taken before the change), the mirror's rerun against
  dbt-postgres' rerun;
- read / compute / write split of each mart under this adapter: its compiled
  SELECT runs once in DuckDB reading Postgres (read + compute) and once reading
  the generator's local copy (compute), whose result is then written into
  Postgres (write); other = model time - read - compute - write.
"""

import os
import re
import time
from importlib import metadata
from pathlib import Path
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

import duckdb

from benchlib.data import SCHEMA
from benchlib.data import duckdb_session
from benchlib.dbtrun import ADAPTER
from benchlib.dbtrun import POSTGRES
from benchlib.dbtrun import DbtProject
from benchlib.dbtrun import DbtRun
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import PEER
from benchlib.results import MethodId
from benchlib.results import Results
from benchlib.results import Step
from benchlib.suites import Suite
from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal

MODELS_DIR = Path(__file__).resolve().parents[2] / "tpch" / "models"
SOURCE_SCHEMA = f"{SCHEMA}_tpch"
WHEEL_PACKAGE = "duckdb-extension-tpch"

# table -> primary key (TPC-H specification, clause 1.4.2)
TABLES: Dict[str, Tuple[str, ...]] = {
    "region": ("r_regionkey",),
    "nation": ("n_nationkey",),
    "supplier": ("s_suppkey",),
    "customer": ("c_custkey",),
    "part": ("p_partkey",),
    "partsupp": ("ps_partkey", "ps_suppkey"),
    "orders": ("o_orderkey",),
    "lineitem": ("l_orderkey", "l_linenumber"),
}

# the tables mirrored by MIRROR_M (each >= 150,000 rows at SF 1) -> their change-
# tracking column; the smaller ones are snapshotted once per run
MIRRORED: Dict[str, str] = {
    "lineitem": "l_updated_at",
    "orders": "o_updated_at",
    "partsupp": "ps_updated_at",
    "part": "p_updated_at",
    "customer": "c_updated_at",
}
# the tracking column's value at load: this instant + the first key column in seconds
TRACKING_BASE = "timestamptz '2024-01-01 00:00:00+00'"
# the rerun's change: line 1 of every 25th order (1.0% of lineitem), quantity and
# price + 1 (exact in numeric, so change_sql(undo=True) restores the rows), marked now
CHANGED_ROWS = "l_linenumber = 1 and l_orderkey % 25 = 0"

ADAPTER_M = "this adapter, pg_full"
PEER_M = "dbt-postgres, table"
SNAPSHOT_M = "this adapter + source_snapshot: run"
MIRROR_M = f"this adapter + persistent mirror ({', '.join(MIRRORED)})"
MIRROR_THREADS = 4
RERUN = f"tpch_rerun_t{MIRROR_THREADS}"
# the data a result schema was built from: the load, or the load with the change
ORIGINAL = "original"
CHANGED = "changed"

# Relative tolerance of numeric checksums (see checksums()).
TOLERANCE = 1e-9


def tracking_value(table: str) -> str:
    """SQL (DuckDB and Postgres) of ``table``'s change-tracking value at load:
    :data:`TRACKING_BASE` + its first key column in seconds (at most a few rows
    share one, all before any change)."""
    return f"{TRACKING_BASE} + {TABLES[table][0]} * interval '1 second'"


def change_sql(schema: str, undo: bool = False) -> str:
    """The rerun's UPDATE of lineitem in ``schema`` (rows :data:`CHANGED_ROWS`):
    l_quantity and l_extendedprice + 1 and the tracking column now(); ``undo``: - 1
    and the tracking column back to its load value."""
    sign = "-" if undo else "+"
    mark = tracking_value("lineitem") if undo else "now()"
    return (
        f"update {quote_identifier(schema)}.lineitem set l_quantity = l_quantity {sign} 1, "
        f"l_extendedprice = l_extendedprice {sign} 1, {MIRRORED['lineitem']} = {mark} "
        f"where {CHANGED_ROWS}"
    )


def model_names() -> List[str]:
    """The marts of bench/tpch/models, in file-name order."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.sql"))


def method(base: str, threads: int) -> str:
    """A method's name at a thread count."""
    return f"{base}, threads={threads}"


def run_scenario(threads: int) -> str:
    return f"tpch_run_t{threads}"


def model_scenario(threads: int, model: str) -> str:
    return f"tpch_t{threads}_{model}"


def load_tpch_extension(con: duckdb.DuckDBPyConnection) -> str:
    """Make DuckDB's tpch extension available on ``con`` without network access:
    LOAD if installed, else INSTALL from the ``duckdb-extension-tpch`` wheel's file
    (``duckdb_extension_tpch/extensions/v<duckdb version>/tpch.duckdb_extension``).

    Returns:
        ``"loaded"`` or ``"installed from wheel"``.

    Raises:
        RuntimeError: neither worked; the message names the wheel to install.
    """
    try:
        con.execute("LOAD tpch")
        return "loaded"
    except duckdb.Error:
        pass
    version = duckdb.__version__
    try:
        import duckdb_extension_tpch as wheel

        base = os.path.dirname(os.path.abspath(wheel.__file__))
        path = os.path.join(base, "extensions", f"v{version}", "tpch.duckdb_extension")
    except ImportError:
        path = ""
    if not path or not os.path.isfile(path):
        raise RuntimeError(
            f"DuckDB's tpch extension is not installed: pip install '{WHEEL_PACKAGE}=={version}'"
        )
    con.execute(f"INSTALL {quote_literal(path)}")
    con.execute("LOAD tpch")
    return "installed from wheel"


def checksums(server: Any, schema: str, table: str) -> Tuple[int, Dict[str, Tuple[str, Any]]]:
    """Row count and one checksum per column of ``schema.table``, computed in Postgres.

    Numeric columns (integers, numeric, double precision) sum as numeric; two
    results match when they differ by at most :data:`TOLERANCE` relative
    (DuckDB's ``avg`` of a decimal is DOUBLE, Postgres' is exact numeric, so the
    last digits of an average differ). Every other column (text, date) sums
    ``hashtextextended(col::text, 0)`` and must be equal exactly. Both also count
    non-null values.

    Returns:
        (rows, {column: (kind, value)}) with kind ``numeric`` or ``text``.
    """
    with server.connect() as conn:
        cols = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, table),
        ).fetchall()
        if not cols:
            raise RuntimeError(f"{schema}.{table} does not exist")
        numeric = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}
        exprs, kinds = ["count(*)"], {}
        for name, data_type in cols:
            q = quote_identifier(name)
            if data_type in numeric:
                kinds[name] = "numeric"
                exprs.append(f"count({q})::text || ':' || coalesce(sum({q}::numeric), 0)::text")
            else:
                kinds[name] = "text"
                exprs.append(
                    f"count({q})::text || ':' || "
                    f"coalesce(sum(hashtextextended({q}::text, 0)::numeric), 0)::text"
                )
        relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        row = conn.execute(f"select {', '.join(exprs)} from {relation}").fetchone()  # type: ignore[arg-type]
    assert row is not None
    values = {name: (kinds[name], row[i + 1]) for i, (name, _) in enumerate(cols)}
    return int(row[0]), values


def _same(kind: str, a: str, b: str) -> bool:
    if kind == "text":
        return a == b
    count_a, sum_a = a.split(":", 1)
    count_b, sum_b = b.split(":", 1)
    x, y = float(sum_a), float(sum_b)
    return count_a == count_b and abs(x - y) <= TOLERANCE * max(1.0, abs(x), abs(y))


class TpchSuite(Suite):
    name = "tpch"
    needs_dataset = False  # its own data: run.py skips the generic data set for --only tpch

    def prepare(self) -> None:
        self.sf = self.ctx.tpch_sf
        self.threads = [4] if self.ctx.smoke else [4, 1]
        self.models = model_names()
        work = self.ctx.work_dir or self.ctx.dbt_root
        self.data_file = work / f"tpch-sf{self.sf:g}.duckdb"
        self._generate()
        self._load()
        counts = self.table_rows
        peer_version = _version("dbt-postgres")
        for t in self.threads:
            self.results.scenario(
                run_scenario(t),
                self.name,
                f"TPC-H SF {self.sf:g}: whole dbt run of {len(self.models)} marts, threads={t} "
                f"(dbt-postgres {peer_version})",
                counts["lineitem"],
                method(PEER_M, t),
            )
            for model in self.models:
                self.results.scenario(
                    model_scenario(t, model),
                    self.name,
                    f"TPC-H SF {self.sf:g}: {model}, threads={t} (model time)",
                    counts["lineitem"],
                    method(PEER_M, t),
                )
        changed = self._count(f"select count(*) from {self._lineitem} where {CHANGED_ROWS}")
        self.results.scenario(
            RERUN,
            self.name,
            f"TPC-H SF {self.sf:g}: whole dbt run of {len(self.models)} marts after "
            f"{changed:,} lineitem rows ({changed / counts['lineitem']:.1%}) changed, "
            f"threads={MIRROR_THREADS} (dbt-postgres {peer_version})",
            counts["lineitem"],
            method(PEER_M, MIRROR_THREADS),
        )
        sql = {m: (MODELS_DIR / f"{m}.sql").read_text() for m in self.models}
        tables = [{"name": t} for t in TABLES]
        pg_sources = [
            {"name": "tpch", "database": "pg", "schema": SOURCE_SCHEMA, "tables": tables}
        ]
        mirror_sources = [{**pg_sources[0], "tables": [_mirror_table(t) for t in TABLES]}]
        peer_sources = [
            {
                "name": "tpch",
                "database": self.server.database,
                "schema": SOURCE_SCHEMA,
                "tables": tables,
            }
        ]
        adapter_cfg = {"+materialized": "pg_full", "+database": "pg"}
        # method base -> (adapter, result schema, sources, models config, connection keys)
        self.variants: Dict[str, Tuple[str, str, list, dict, dict]] = {
            ADAPTER_M: (ADAPTER, f"{SOURCE_SCHEMA}_adapter", pg_sources, adapter_cfg, {}),
            PEER_M: (POSTGRES, f"{SOURCE_SCHEMA}_dbt_postgres", peer_sources, {}, {}),
            SNAPSHOT_M: (
                ADAPTER,
                f"{SOURCE_SCHEMA}_snapshots",
                pg_sources,
                adapter_cfg,
                {"source_snapshot": "run"},
            ),
            MIRROR_M: (
                ADAPTER,
                f"{SOURCE_SCHEMA}_mirror",
                mirror_sources,
                adapter_cfg,
                {"source_snapshot": "run"},
            ),
        }
        peer_cfg = {"+materialized": "table"}
        slug = {
            ADAPTER_M: "adapter",
            PEER_M: "dbt_postgres",
            SNAPSHOT_M: "snapshots",
            MIRROR_M: "mirror",
        }
        self.projects: Dict[Tuple[str, int], DbtProject] = {}
        for base, (adapter, schema, sources, cfg, connection) in self.variants.items():
            for t in [MIRROR_THREADS] if base == MIRROR_M else self.threads:
                self.projects[(base, t)] = DbtProject(
                    self.ctx.dbt_root,
                    f"tpch_{slug[base]}_t{t}",
                    adapter,
                    self.server,
                    None,
                    sql,
                    sources=sources,
                    schema=schema,
                    threads=t,
                    models_config=cfg or peer_cfg,
                    connection=connection,
                )
        self.ran: Dict[str, int] = {}  # result schema -> the last repeat a run succeeded in
        self.built_from: Dict[str, str] = {}  # result schema -> ORIGINAL or CHANGED data
        self.reference: Dict[str, Dict[str, Any]] = {}  # data -> dbt-postgres' checksums
        self.model_times: Dict[Tuple[str, int], Dict[str, float]] = {}
        self.skipped = _rejected_connection_key(self.server, {"source_snapshot": "run"})

    # --- data ------------------------------------------------------------------

    def _generate(self) -> None:
        """``CALL dbgen(sf)`` into the data file, unless it already holds that scale."""
        if self.data_file.exists():
            try:
                with duckdb.connect(str(self.data_file), read_only=True) as con:
                    con.execute("select count(*) from lineitem").fetchone()
                self.results.log(f"  reused {self.data_file}")
                return
            except duckdb.Error:
                self.data_file.unlink()
        partial = self.data_file.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        with duckdb.connect(str(partial)) as con:
            con.execute("set enable_progress_bar = false")
            load_tpch_extension(con)
            con.execute(f"call dbgen(sf = {float(self.sf)})")
        partial.rename(self.data_file)

    def _load(self) -> None:
        """Copy every table into Postgres (binary COPY through the attach), add the
        primary keys, ANALYZE; skipped when the schema already holds this load."""
        with duckdb.connect(str(self.data_file), read_only=True) as con:
            self.table_rows = {
                t: int(con.execute(f"select count(*) from {t}").fetchone()[0])  # type: ignore[index]
                for t in TABLES
            }
        tracking = ",".join(MIRRORED.values())
        marker = f"TPC-H sf={self.sf:g} tracking={tracking} " + " ".join(
            f"{t}={n}" for t, n in self.table_rows.items()
        )
        with self.server.connect() as conn:
            row = conn.execute(
                "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = %s",
                (SOURCE_SCHEMA,),
            ).fetchone()
        if row and row[0] == marker:
            self.results.log(f"  reused Postgres schema {SOURCE_SCHEMA} ({marker})")
            self._undo_left_change()
            return
        schema = quote_identifier(SOURCE_SCHEMA)
        self.server.run_sql([f"drop schema if exists {schema} cascade", f"create schema {schema}"])
        con = duckdb_session(self.server, None)
        try:
            con.execute(f"attach {quote_literal(str(self.data_file))} as tpch (read_only)")
            for table in TABLES:
                tracked = ""
                if table in MIRRORED:
                    tracked = f", {tracking_value(table)} as {MIRRORED[table]}"
                con.execute(
                    f"create table pg.{schema}.{table} as select *{tracked} from tpch.main.{table}"
                )
        finally:
            con.close()
        statements = []
        for table, key in TABLES.items():
            statements.append(f"alter table {schema}.{table} add primary key ({', '.join(key)})")
            if table in MIRRORED:
                column = MIRRORED[table]
                statements += [
                    f"alter table {schema}.{table} alter column {column} set default now(), "
                    f"alter column {column} set not null",
                    f"create index on {schema}.{table} ({column})",
                ]
        statements += [f"analyze {schema}.{t}" for t in TABLES]
        statements.append(f"comment on schema {schema} is {quote_literal(marker)}")
        self.server.run_sql(statements)

    @property
    def _lineitem(self) -> str:
        return f"{quote_identifier(SOURCE_SCHEMA)}.lineitem"

    def _count(self, sql: str) -> int:
        with self.server.connect() as conn:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0

    def _undo_left_change(self) -> None:
        """Undo the rerun's change if a killed run left it (rows marked after every
        load value)."""
        key = TABLES["lineitem"][0]
        last_load_value = (
            f"{TRACKING_BASE} + (select max({key}) from {self._lineitem}) * interval '1 second'"
        )
        column = MIRRORED["lineitem"]
        left = self._count(
            f"select count(*) from {self._lineitem} where {column} > {last_load_value}"
        )
        if left:
            self.server.run_sql([change_sql(SOURCE_SCHEMA, undo=True)])
            self.results.log(f"  undid the rerun's change a killed run left ({left} rows)")

    def _lineitem_reads(self) -> int:
        """Rows Postgres has read from lineitem (sequential + index fetches, from
        ``pg_stat_user_tables``), after waiting up to 5 s for other client backends
        to exit (a backend reports its counts when it exits)."""
        with self.server.connect() as conn:
            for _ in range(50):
                row = conn.execute(
                    "select count(*) from pg_stat_activity where datname = current_database() "
                    "and backend_type = 'client backend' and pid <> pg_backend_pid()"
                ).fetchone()
                if not row or not row[0]:
                    break
                time.sleep(0.1)
            conn.execute("select pg_stat_clear_snapshot()")
            row = conn.execute(
                "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
                "from pg_stat_user_tables where schemaname = %s and relname = 'lineitem'",
                (SOURCE_SCHEMA,),
            ).fetchone()
        return int(row[0]) if row else 0

    # --- timed steps -------------------------------------------------------------

    def steps(self) -> List[Step]:
        steps = []
        bases = [(ADAPTER_M, K_ADAPTER), (PEER_M, PEER), (SNAPSHOT_M, K_ADAPTER)]
        if self.ctx.smoke:  # the mirror project's first run loads snapshots of this kind
            bases.remove((SNAPSHOT_M, K_ADAPTER))
        for t in self.threads:
            for base, kind in bases:
                methods: List[MethodId] = [(run_scenario(t), method(base, t), kind)]
                methods += [(model_scenario(t, m), method(base, t), kind) for m in self.models]
                steps.append(
                    Step(f"dbt run tpch {method(base, t)}", self._runner(base, t, kind), methods)
                )
        t = MIRROR_THREADS
        name = method(MIRROR_M, t)
        methods = [(run_scenario(t), name, K_ADAPTER)]
        methods += [(model_scenario(t, m), name, K_ADAPTER) for m in self.models]
        steps.append(
            Step(f"dbt run tpch {name}, first run", self._runner(MIRROR_M, t, K_ADAPTER), methods)
        )
        rerun = [(RERUN, name, K_ADAPTER), (RERUN, method(PEER_M, t), PEER)]
        steps.append(Step(f"dbt rerun tpch after the change, threads={t}", self._rerun, rerun))
        return steps

    def _runner(self, base: str, threads: int, kind: str):
        schema = self.variants[base][1]
        project = self.projects[(base, threads)]
        name = method(base, threads)

        def run(repeat: int) -> None:
            if base == SNAPSHOT_M and self.skipped:
                self._skip(threads, self.skipped)
                return
            self.server.run_sql([f"drop schema if exists {quote_identifier(schema)} cascade"])
            if base == MIRROR_M:  # the mirrors are built from nothing
                for path in project.dir.glob(f"{project.name}.duckdb*"):
                    path.unlink()
            reads = self._lineitem_reads() if base == MIRROR_M else 0
            dbt_run = project.run("run")
            if base == SNAPSHOT_M and not dbt_run.ok:
                reason = _rejected_key(project, "source_snapshot")
                if reason:
                    self.skipped = reason
                    self._skip(threads, reason)
                    return
            self._record(dbt_run, threads, name, kind)
            self.ran[schema] = repeat
            self.built_from[schema] = ORIGINAL
            self.model_times[(base, threads)] = {m: dbt_run.model(m).seconds for m in self.models}
            if base == MIRROR_M:
                m = self.results.find(run_scenario(threads), name)
                assert m is not None
                m.info["lineitem_rows_read"] = self._lineitem_reads() - reads

        return run

    def _rerun(self, repeat: int) -> None:
        """The rerun after the change: this adapter's mirror project, then
        dbt-postgres over its tables of this repeat; the change is undone after."""
        t = MIRROR_THREADS
        mirror_schema, peer_schema = self.variants[MIRROR_M][1], self.variants[PEER_M][1]
        for base, schema in ((MIRROR_M, mirror_schema), (PEER_M, peer_schema)):
            if self.ran.get(schema) != repeat:
                raise RuntimeError(f"{method(base, t)} did not run in this repeat")
        if ORIGINAL not in self.reference:  # before dbt-postgres' tables change
            self.reference[ORIGINAL] = self._checksums(peer_schema)
        with self.server.connect() as conn:
            changed = conn.execute(change_sql(SOURCE_SCHEMA)).rowcount  # type: ignore[arg-type]
        self.built_from[mirror_schema] = self.built_from[peer_schema] = CHANGED
        try:
            reads = self._lineitem_reads()
            mirror_run = self.projects[(MIRROR_M, t)].run("run")
            read = self._lineitem_reads() - reads
            peer_run = self.projects[(PEER_M, t)].run("run")
        finally:
            self.server.run_sql([change_sql(SOURCE_SCHEMA, undo=True)])
        lines = []
        for base, kind, dbt_run in ((MIRROR_M, K_ADAPTER, mirror_run), (PEER_M, PEER, peer_run)):
            models_s = sum(dbt_run.model(m).seconds for m in self.models)  # raises on a failure
            m = self.results.record(
                RERUN, method(base, t), kind, dbt_run.command_s, dbt_run.command_s, dbt_run.rss_mb
            )
            m.info["models_s"] = round(models_s, 3)
            m.info["changed_rows"] = changed
            lines.append(f"{base}: dbt command {dbt_run.command_s:.2f} s")
        mirror = self.results.find(RERUN, method(MIRROR_M, t))
        assert mirror is not None
        mirror.info["lineitem_rows_read"] = read
        lines.append(f"{changed:,} lineitem rows changed, {read:,} read for the mirror")
        self.results.summarize("rerun: " + "; ".join(lines))

    def _record(self, run: DbtRun, threads: int, name: str, kind: str) -> None:
        for model in self.models:
            result = run.model(model)  # raises when the run failed
            self.results.record(model_scenario(threads, model), name, kind, result.seconds)
        self.results.record(
            run_scenario(threads), name, kind, run.command_s, run.command_s, run.rss_mb
        )
        models_s = sum(run.model(m).seconds for m in self.models)
        self.results.summarize(
            f"{name}: dbt command {run.command_s:.2f} s, models {models_s:.2f} s in total, "
            f"RSS {run.rss_mb:.0f} MiB"
        )

    def _skip(self, threads: int, reason: str) -> None:
        name = method(SNAPSHOT_M, threads)
        self.results.method(run_scenario(threads), name, K_ADAPTER).info["skipped"] = reason
        for model in self.models:
            m = self.results.method(model_scenario(threads, model), name, K_ADAPTER)
            m.info["skipped"] = "see the whole dbt run"
        self.results.note(f"{name}: skipped ({reason[:120]})")

    # --- after the repeats ---------------------------------------------------------

    def finish(self) -> None:
        self.results.run_once("tpch: results equal dbt-postgres'", self._check)
        if self.variants[ADAPTER_M][1] in self.ran:
            self.results.run_once("tpch: read / compute / write split", self._split)

    def _checksums(self, schema: str) -> Dict[str, Tuple[int, Dict[str, Tuple[str, Any]]]]:
        """:func:`checksums` of every mart in ``schema``."""
        return {m: checksums(self.server, schema, m) for m in self.models}

    def _check(self) -> None:
        """Every result schema that ran equals dbt-postgres' on the same data (row
        counts, checksums): the first runs its first run's, the mirror's rerun its
        rerun's."""
        reference = self.variants[PEER_M][1]
        if reference not in self.ran:
            raise RuntimeError("dbt-postgres did not run: nothing to compare with")
        if self.built_from[reference] not in self.reference:
            self.reference[self.built_from[reference]] = self._checksums(reference)
        problems = []
        for base, (_, schema, *_rest) in self.variants.items():
            if base == PEER_M or schema not in self.ran:
                continue
            data = self.built_from[schema]
            expected = self.reference.get(data)
            if expected is None:
                problems.append(f"{base}: no dbt-postgres result on the {data} data")
                continue
            equal = 0
            for model in self.models:
                rows, values = checksums(self.server, schema, model)
                exp_rows, exp_values = expected[model]
                bad = [
                    col
                    for col, (kind, value) in exp_values.items()
                    if col not in values or not _same(kind, values[col][1], value)
                ]
                bad += [col for col in values if col not in exp_values]
                if rows != exp_rows or bad:
                    problems.append(
                        f"{base} {model}: {rows} rows vs {exp_rows}; columns differing: {bad}"
                    )
                    check = f"DIFFERS: {rows:,} rows vs {exp_rows:,}, columns {bad}"
                else:
                    equal += 1
                    check = f"{rows:,} rows, {len(values)} columns equal"
                for t in self.threads if data == ORIGINAL else []:
                    m = self.results.find(model_scenario(t, model), method(base, t))
                    if m is not None:
                        m.info["check"] = check
            rerun = self.results.find(RERUN, method(base, MIRROR_THREADS))
            if data == CHANGED and rerun is not None:
                rerun.info["check"] = f"{equal} of {len(self.models)} marts equal"
        first = self.reference.get(ORIGINAL, {})
        for t in self.threads:
            for model in first:
                m = self.results.find(model_scenario(t, model), method(PEER_M, t))
                if m is not None:
                    m.info["result_rows"] = first[model][0]
        if problems:
            raise RuntimeError("; ".join(problems))

    def _split(self) -> None:
        """Each mart's compiled SELECT in DuckDB, materialized as a DuckDB temp table:
        reading Postgres through the attach (read + compute), reading the generator's
        local tables (compute), then that result written into Postgres by binary COPY
        (write, ``CREATE TABLE pg.<split schema>.<t> AS``); other = model time - the
        three (signed: near 0 or below is within the noise of a busy machine)."""
        base = ADAPTER_M
        threads = 1 if 1 in self.threads else self.threads[0]
        project = self.projects[(base, threads)]
        times = self.model_times.get((base, threads), {})
        path = project.dir / "split.duckdb"
        path.unlink(missing_ok=True)
        target = quote_identifier(f"{SOURCE_SCHEMA}_split")
        self.server.run_sql([f"drop schema if exists {target} cascade", f"create schema {target}"])
        con = duckdb_session(self.server, None, database=str(path))
        relation = re.compile(
            r'(?:"pg"|\bpg)\.(?:"'
            + re.escape(SOURCE_SCHEMA)
            + r'"|'
            + re.escape(SOURCE_SCHEMA)
            + r")\.",
            re.IGNORECASE,
        )
        try:
            con.execute(f"attach {quote_literal(str(self.data_file))} as tpch_local (read_only)")
            con.execute(f"select count(*) from pg.{SOURCE_SCHEMA}.region").fetchall()  # catalog
            for model in self.models:
                sql = project.compiled_sql(model)
                local_sql, replaced = relation.subn("tpch_local.main.", sql)
                if not replaced:
                    raise RuntimeError(f"{model}: no source relation found in the compiled SQL")
                read_compute = _timed(con, sql)
                compute = _timed(con, local_sql, keep=True)
                write = _timed_write(con, f"pg.{target}.{quote_identifier(model)}")
                split: Dict[str, Any] = {
                    "read_compute_s": round(read_compute, 3),
                    "compute_s": round(compute, 3),
                    "read_s": round(read_compute - compute, 3),
                    "write_s": round(write, 3),
                }
                if model in times:
                    split["model_s"] = round(times[model], 3)
                    split["other_s"] = round(times[model] - read_compute - write, 3)
                m = self.results.find(model_scenario(threads, model), method(base, threads))
                if m is not None:
                    m.info["split"] = split
        finally:
            con.close()
            path.unlink(missing_ok=True)
            path.with_suffix(".duckdb.wal").unlink(missing_ok=True)
            self.server.run_sql([f"drop schema if exists {target} cascade"])


def _timed(con: duckdb.DuckDBPyConnection, sql: str, keep: bool = False) -> float:
    """Seconds to materialize ``sql`` as temp table ``split_result`` (dropped unless
    ``keep``)."""
    started = time.perf_counter()
    con.execute(f"create or replace temp table split_result as {sql}")
    seconds = time.perf_counter() - started
    if not keep:
        con.execute("drop table split_result")
    return seconds


def _timed_write(con: duckdb.DuckDBPyConnection, target: str) -> float:
    """Seconds to write temp table ``split_result`` into Postgres table ``target`` (a
    new table, by binary COPY through the attach); both are dropped afterwards."""
    started = time.perf_counter()
    con.execute(f"create table {target} as select * from split_result")
    seconds = time.perf_counter() - started
    con.execute(f"drop table {target}")
    con.execute("drop table split_result")
    return seconds


def _rejected_connection_key(server: Any, extra: Dict[str, Any]) -> Optional[str]:
    """The adapter's own profile validation of the ``pg`` connection plus ``extra``:
    the problem naming an unknown key of ``extra``, or None when it is accepted
    (then the real ``dbt run`` decides). Saves a dbt start-up while the key is new."""
    from dbt.adapters.duckdb_postgres.credentials import parse_connection

    _, problems = parse_connection("pg", {**server.profile_connection(), **extra})
    for problem in problems:
        if "unknown key" in problem and any(key in problem for key in extra):
            return f"postgres connection 'pg': {problem}"
    return None


def _rejected_key(project: DbtProject, key: str) -> Optional[str]:
    """The profile error line when dbt refused ``key`` as an unknown connection key."""
    log = (project.dir / "dbt_stdout.log").read_text(errors="replace")
    for line in log.splitlines():
        if "unknown key" in line and key in line:
            return line.strip()
    return None


def _mirror_table(table: str) -> Dict[str, Any]:
    """``table``'s entry in the mirror project's sources.yml: a persistent mirror
    keyed by its primary key when it is in :data:`MIRRORED`, else plain (then the
    connection's ``source_snapshot: run`` snapshots it)."""
    if table not in MIRRORED:
        return {"name": table}
    meta = {
        "pg_snapshot": "mirror",
        "pg_mirror_key": list(TABLES[table]),
        "pg_mirror_updated_at": MIRRORED[table],
    }
    return {"name": table, "meta": meta}


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


# --- report ----------------------------------------------------------------------


def goals(results: Results) -> List[Tuple[str, Optional[float], str, Optional[float], str]]:
    """The issue's TPC-H goals as (name, value, op, bound, detail); value None when
    not measured. Reported, not enforced."""
    out: List[Tuple[str, Optional[float], str, Optional[float], str]] = []
    peer = results.find(run_scenario(4), method(PEER_M, 4))
    if peer is None:
        return out
    snap = results.find(run_scenario(4), method(SNAPSHOT_M, 4))
    value = None
    detail = ""
    if snap is not None and snap.median and peer.median:
        value = peer.median / snap.median
    elif snap is not None and snap.info.get("skipped"):
        detail = "skipped: " + str(snap.info["skipped"])[:200]
    out.append(
        (
            "tpch whole dbt run, first run with snapshots: dbt-postgres time / adapter time "
            "(threads=4)",
            value,
            ">=",
            1.5,
            detail,
        )
    )
    mirror = results.find(RERUN, method(MIRROR_M, MIRROR_THREADS))
    peer_rerun = results.find(RERUN, method(PEER_M, MIRROR_THREADS))
    value, detail = None, "not measured"
    if mirror is not None and peer_rerun is not None and mirror.median and peer_rerun.median:
        value = peer_rerun.median / mirror.median
        detail = (
            f"threads={MIRROR_THREADS}; {mirror.info.get('changed_rows', 0):,} lineitem rows "
            f"changed, {mirror.info.get('lineitem_rows_read', 0):,} read from Postgres for "
            "the mirror's sync"
        )
    errors = [e for m in (mirror, peer_rerun) if m is not None for e in m.errors]
    if value is None and errors:
        detail = "failed: " + errors[0][:200]
    out.append(
        (
            "tpch rerun after 1% of lineitem changed, persistent mirror: dbt-postgres time / "
            "adapter time",
            value,
            ">=",
            5,
            detail,
        )
    )
    return out


def markdown(results: Results) -> List[str]:
    """The TPC-H section: whole-command ratios, and per mart the model times of both
    tools, their ratio and this adapter's read / compute / write split."""
    threads = [t for t in (4, 1) if run_scenario(t) in results.scenarios]
    if not threads:
        return []
    lines = ["## TPC-H", ""]
    lines += [
        "Ratio = dbt-postgres time / this adapter's time (> 1: this adapter is faster). "
        "Split of this adapter's model time (each mart's SELECT run alone in DuckDB after "
        "the repeats, materialized as a temp table): compute = reading the local copies; "
        "read = reading Postgres through the attach - compute; write = that result into "
        "a new Postgres table (binary COPY); other = model time (threads=1 run when "
        "measured) - read - compute - write: dbt's and the materialization's own work "
        "(near 0 or negative: within the noise).",
        "",
        "| threads | this adapter s | dbt-postgres s | ratio | + snapshots s | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for t in threads:
        a = results.find(run_scenario(t), method(ADAPTER_M, t))
        p = results.find(run_scenario(t), method(PEER_M, t))
        s = results.find(run_scenario(t), method(SNAPSHOT_M, t))
        snap = "skipped" if s and s.info.get("skipped") else _s(s.median if s else None)
        rss = f"{max(a.rss_mb):.0f}" if a and a.rss_mb else "-"
        lines.append(
            f"| {t} | {_s(a.median if a else None)} | {_s(p.median if p else None)} | "
            f"{_ratio(p, a)} | {snap} | {rss} |"
        )
    skipped = next(
        (
            m.info["skipped"]
            for m in results.measurements.values()
            if m.scenario.startswith("tpch_run")
            and m.method.startswith(SNAPSHOT_M)
            and m.info.get("skipped")
        ),
        None,
    )
    if skipped:
        lines += ["", f"*+ snapshots* skipped: `{skipped}`"]
    lines += _mirror_lines(results)
    if len(threads) == 2:
        a4 = results.find(run_scenario(4), method(ADAPTER_M, 4))
        a1 = results.find(run_scenario(1), method(ADAPTER_M, 1))
        p4 = results.find(run_scenario(4), method(PEER_M, 4))
        p1 = results.find(run_scenario(1), method(PEER_M, 1))
        lines += [
            "",
            f"threads=1 / threads=4 whole command: this adapter {_ratio(a1, a4)}, "
            f"dbt-postgres {_ratio(p1, p4)}.",
        ]
    header = "| mart | rows |"
    rule = "|---|---:|"
    for t in threads:
        header += f" adapter s (t={t}) | dbt-postgres s (t={t}) | ratio (t={t}) |"
        rule += "---:|---:|---:|"
    header += " read s | compute s | write s | other s | check |"
    rule += "---:|---:|---:|---:|---|"
    lines += ["", header, rule]
    models = sorted(
        {k.split("_", 2)[2] for k in results.scenarios if k.startswith(f"tpch_t{threads[0]}_")}
    )
    for model in models:
        row = f"| {model} |"
        peer0 = results.find(model_scenario(threads[0], model), method(PEER_M, threads[0]))
        row += f" {peer0.info.get('result_rows', '-') if peer0 else '-'} |"
        split: Dict[str, Any] = {}
        check = ""
        for t in threads:
            a = results.find(model_scenario(t, model), method(ADAPTER_M, t))
            p = results.find(model_scenario(t, model), method(PEER_M, t))
            row += f" {_s(a.median if a else None)} | {_s(p.median if p else None)} |"
            row += f" {_ratio(p, a)} |"
            if a is not None:
                split = a.info.get("split") or split
                check = a.info.get("check") or check
        row += (
            f" {_s(split.get('read_s'))} | {_s(split.get('compute_s'))} |"
            f" {_s(split.get('write_s'))} | {_s(split.get('other_s'))} | {check or '-'} |"
        )
        lines.append(row)
    lines.append("")
    return lines


def _mirror_lines(results: Results) -> List[str]:
    """The persistent-mirror table of the TPC-H section: first run and rerun, this
    adapter's mirror project vs dbt-postgres (empty when not measured)."""
    t = MIRROR_THREADS
    first = results.find(run_scenario(t), method(MIRROR_M, t))
    rerun = results.find(RERUN, method(MIRROR_M, t))
    if first is None and rerun is None:
        return []
    changed = rerun.info.get("changed_rows") if rerun else None
    lines = [
        "",
        f"Persistent mirror, threads={t} (*{MIRROR_M}*; the other tables `source_snapshot: "
        "run`): the first run builds the mirrors from nothing (its DuckDB file removed), "
        f"the rerun follows a change of {_n(changed)} lineitem rows in Postgres; "
        "dbt-postgres rebuilds each time. *lineitem rows read* = rows Postgres read from "
        "lineitem during this adapter's run (`pg_stat_user_tables`).",
        "",
        "| run | this adapter + mirror s | dbt-postgres s | ratio | lineitem rows read | check |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, m, p in (
        ("first run", first, results.find(run_scenario(t), method(PEER_M, t))),
        ("rerun after 1% of lineitem changed", rerun, results.find(RERUN, method(PEER_M, t))),
    ):
        a = m.median if m else None
        read = m.info.get("lineitem_rows_read") if m else None
        check = (m.info.get("check") if m else None) or "-"
        lines.append(
            f"| {label} | {_s(a)} | {_s(p.median if p else None)} | {_ratio(p, m)} | "
            f"{_n(read)} | {check} |"
        )
    return lines


def _n(value: Optional[int]) -> str:
    return "-" if value is None else f"{value:,}"


def _s(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(num: Any, den: Any) -> str:
    if num is None or den is None or not num.median or not den.median:
        return "-"
    return f"{num.median / den.median:.2f}"
