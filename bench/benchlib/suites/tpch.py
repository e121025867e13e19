"""TPC-H: seven marts with byte-identical SQL under this adapter and dbt-postgres.

The data comes from DuckDB's TPC-H generator (``CALL dbgen(sf=...)``, the
extension shipped in the ``duckdb-extension-tpch`` wheel, installed from that
file: nothing downloads). It is written once into ``<work>/tpch-sf<sf>.duckdb``
and loaded into Postgres schema :data:`SOURCE_SCHEMA` by binary COPY through
the attach (``CREATE TABLE pg.<schema>.<t> AS SELECT ...``), then given its
primary keys and ANALYZEd. A load of the same scale factor is reused (the
schema's comment records it).

The dbt project (``bench/tpch/models``: Q1, Q3, Q5, Q9, Q10 and Q18 as marts
plus a wide fact of lineitem joined to orders) runs, interleaved in each repeat:

- this adapter: marts ``pg_full`` into Postgres, sources read through the
  attach (``database: pg``, the profile's postgres connection);
- dbt-postgres (``table``), sources in the same database, same dbt-core;
- this adapter with ``source_snapshot: run`` in the connection: reported as
  skipped, with the adapter's reason, while the adapter rejects the key;

at threads=4, and at threads=1 too outside ``--smoke``. Each method writes its
own result schema, dropped (untimed) before each run, so every run builds from
nothing. Afterwards (untimed):

- results check: row counts and per-column checksums computed inside Postgres
  on each result schema must equal dbt-postgres' (see :func:`checksums` for the
  tolerance);
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

ADAPTER_M = "this adapter, pg_full"
PEER_M = "dbt-postgres, table"
SNAPSHOT_M = "this adapter + source_snapshot: run"

# Relative tolerance of numeric checksums (see checksums()).
TOLERANCE = 1e-9


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
        sql = {m: (MODELS_DIR / f"{m}.sql").read_text() for m in self.models}
        tables = [{"name": t} for t in TABLES]
        pg_sources = [
            {"name": "tpch", "database": "pg", "schema": SOURCE_SCHEMA, "tables": tables}
        ]
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
        }
        peer_cfg = {"+materialized": "table"}
        self.projects: Dict[Tuple[str, int], DbtProject] = {}
        for base, (adapter, schema, sources, cfg, connection) in self.variants.items():
            for t in self.threads:
                slug = {ADAPTER_M: "adapter", PEER_M: "dbt_postgres", SNAPSHOT_M: "snapshots"}
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
        self.ran: Dict[str, bool] = {}  # result schema -> a run succeeded
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
        marker = f"TPC-H sf={self.sf:g} " + " ".join(
            f"{t}={n}" for t, n in self.table_rows.items()
        )
        with self.server.connect() as conn:
            row = conn.execute(
                "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = %s",
                (SOURCE_SCHEMA,),
            ).fetchone()
        if row and row[0] == marker:
            self.results.log(f"  reused Postgres schema {SOURCE_SCHEMA} ({marker})")
            return
        schema = quote_identifier(SOURCE_SCHEMA)
        self.server.run_sql([f"drop schema if exists {schema} cascade", f"create schema {schema}"])
        con = duckdb_session(self.server, None)
        try:
            con.execute(f"attach {quote_literal(str(self.data_file))} as tpch (read_only)")
            for table in TABLES:
                con.execute(f"create table pg.{schema}.{table} as select * from tpch.main.{table}")
        finally:
            con.close()
        statements = []
        for table, key in TABLES.items():
            statements.append(f"alter table {schema}.{table} add primary key ({', '.join(key)})")
        statements += [f"analyze {schema}.{t}" for t in TABLES]
        statements.append(f"comment on schema {schema} is {quote_literal(marker)}")
        self.server.run_sql(statements)

    # --- timed steps -------------------------------------------------------------

    def steps(self) -> List[Step]:
        steps = []
        for t in self.threads:
            for base, kind in ((ADAPTER_M, K_ADAPTER), (PEER_M, PEER), (SNAPSHOT_M, K_ADAPTER)):
                methods: List[MethodId] = [(run_scenario(t), method(base, t), kind)]
                methods += [(model_scenario(t, m), method(base, t), kind) for m in self.models]
                steps.append(
                    Step(f"dbt run tpch {method(base, t)}", self._runner(base, t, kind), methods)
                )
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
            dbt_run = project.run("run")
            if base == SNAPSHOT_M and not dbt_run.ok:
                reason = _rejected_key(project, "source_snapshot")
                if reason:
                    self.skipped = reason
                    self._skip(threads, reason)
                    return
            self._record(dbt_run, threads, name, kind)
            self.ran[schema] = True
            self.model_times[(base, threads)] = {m: dbt_run.model(m).seconds for m in self.models}

        return run

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

    def _check(self) -> None:
        """Every result schema that ran equals dbt-postgres' (row counts, checksums)."""
        reference = self.variants[PEER_M][1]
        if reference not in self.ran:
            raise RuntimeError("dbt-postgres did not run: nothing to compare with")
        expected = {m: checksums(self.server, reference, m) for m in self.models}
        problems = []
        for base, (_, schema, *_rest) in self.variants.items():
            if base == PEER_M or schema not in self.ran:
                continue
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
                for t in self.threads:
                    m = self.results.find(model_scenario(t, model), method(base, t))
                    if m is not None:
                        m.info["check"] = f"{rows:,} rows, {len(values)} columns equal"
        for t in self.threads:
            for model in self.models:
                m = self.results.find(model_scenario(t, model), method(PEER_M, t))
                if m is not None:
                    m.info["result_rows"] = expected[model][0]
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
    out.append(
        (
            "tpch rerun after 1% of lineitem changed, persistent mirror: dbt-postgres time / "
            "adapter time",
            None,
            ">=",
            5,
            "not measured: the suite has no mirror rerun yet",
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


def _s(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(num: Any, den: Any) -> str:
    if num is None or den is None or not num.median or not den.median:
        return "-"
    return f"{num.median / den.median:.2f}"
