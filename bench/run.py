"""Benchmarks of dbt-duckdb-postgres: every write and read path against the
physical limit and the peers, in one command.

    python bench/run.py --rows 1000000 [--rows 10000000] [--only write,read,...] [--repeat 3]
    python bench/run.py --smoke          # CI: 10,000 rows, 1 repeat, outputs in a temp dir
    python bench/run.py --only tpch --tpch-sf 1   # TPC-H: this adapter vs dbt-postgres

It starts its own PostgreSQL (the embedded pgserver in ``bench/work/pgdata``,
or the server named by ``DBT_DUCKDB_PG_TEST_DSN``), generates the data set in
DuckDB and Postgres, runs each suite's methods ``--repeat`` times interleaved
(one progress line per step on stderr) and writes, per ``--rows`` value,
``<out>/<date>-<rows>.json``, ``.md`` (ratio tables and goals) and ``.png``
(rows/s per method, min-max bars). Absolute times are noisy on shared
machines, so every figure is also a ratio against a reference measured in the
same run. Exit status: 0 when every method ran and every check passed, else 1
(goals are reported, not enforced). See bench/README.md.
"""

import argparse
import atexit
import importlib.util
import shutil
import signal
import sys
import tempfile
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Callable
from typing import List
from typing import Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import report  # noqa: E402
from benchlib.data import Dataset  # noqa: E402
from benchlib.results import Results  # noqa: E402
from benchlib.server import Postgres  # noqa: E402
from benchlib.suites import Context  # noqa: E402
from benchlib.suites import all_suites  # noqa: E402

SMOKE_ROWS = 10_000
SMOKE_TPCH_SF = 0.1


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    suites = list(all_suites())
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description="Benchmark dbt-duckdb-postgres against the physical limit and its peers.",
    )
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help="rows of the data set; repeat for several sizes (default 1000000; 10000 with "
        "--smoke)",
    )
    parser.add_argument(
        "--only",
        default=",".join(suites),
        help=f"comma-separated suites to run (default all: {','.join(suites)})",
    )
    parser.add_argument(
        "--repeat", type=int, help="runs of each method (default 3; 1 with --smoke)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI check of the harness: 10,000 rows, 1 repeat, work and outputs in a temp dir",
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (default bench/results; a temp dir with --smoke)"
    )
    parser.add_argument(
        "--work", type=Path, help="work folder (default bench/work; a temp dir with --smoke)"
    )
    parser.add_argument(
        "--memory-limit", default="512MB", help="DuckDB memory_limit of the memory suite"
    )
    parser.add_argument(
        "--pandas-max-rows",
        type=int,
        default=1_000_000,
        help="largest data set pandas to_sql runs on (default 1000000)",
    )
    parser.add_argument(
        "--tpch-sf",
        type=float,
        help=f"TPC-H scale factor of the tpch suite (default 1; {SMOKE_TPCH_SF} with --smoke)",
    )
    parser.add_argument(
        "--unix-socket",
        action="store_true",
        help="clients reach the embedded server by its Unix socket, not by TCP on 127.0.0.1 "
        "(slower COPY: see bench/README.md)",
    )
    parser.add_argument("--debug", action="store_true", help="print tracebacks of failures")
    args = parser.parse_args(argv)
    args.rows = args.rows or [SMOKE_ROWS if args.smoke else 1_000_000]
    args.repeat = args.repeat or (1 if args.smoke else 3)
    args.tpch_sf = args.tpch_sf or (SMOKE_TPCH_SF if args.smoke else 1.0)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in args.only if s not in suites]
    if unknown:
        parser.error(f"--only: unknown suite(s) {unknown}; choose from {suites}")
    if args.repeat < 1 or any(r < 1000 for r in args.rows):
        parser.error("--repeat must be >= 1 and --rows >= 1000")
    if not 0 < args.tpch_sf <= 100:
        parser.error("--tpch-sf must be > 0 and <= 100")
    return args


def check_requirements(args: argparse.Namespace) -> None:
    """The peers and the chart need bench/requirements.txt: required by --smoke (CI must
    install it); otherwise a warning, and the pandas peer / the chart are skipped."""
    modules = ["pandas", "sqlalchemy", "matplotlib"]
    if "tpch" in args.only:
        modules += ["duckdb_extension_tpch", "dbt.adapters.postgres"]
    missing = [m for m in modules if not importlib.util.find_spec(m)]
    if not missing:
        return
    message = f"missing {', '.join(missing)}: pip install -r {HERE / 'requirements.txt'}"
    if args.smoke:
        sys.exit(message)
    print(
        f"WARNING: {message}; the pandas peer and/or the chart are skipped, the tpch suite fails",
        file=sys.stderr,
    )


def run_rows(
    server: Postgres, args: argparse.Namespace, rows: int, work: Path, only: List[str]
) -> Results:
    """Generate the data set of ``rows`` rows and run the suites ``only`` on it."""
    results = Results(rows, args.repeat, args.debug)
    results.log(f"== {rows:,} rows, {args.repeat} repeat(s), suites: {', '.join(only)}")
    data = Dataset(server, rows, work)
    suites = all_suites()
    try:
        if any(suites[name].needs_dataset for name in only):
            created = results.run_once(
                "generate data in DuckDB and Postgres",
                lambda: data.create(
                    with_index_copy="read" in args.only, with_changes="upsert" in args.only
                ),
            )
            if not created:
                return results
        dbt_root = work / "dbt" / str(rows)
        dbt_root.mkdir(parents=True, exist_ok=True)
        ctx = Context(
            server,
            data,
            results,
            dbt_root,
            args.memory_limit,
            args.pandas_max_rows,
            args.smoke,
            tpch_sf=args.tpch_sf,
            work_dir=work,
        )
        for name in only:
            suite = suites[name](ctx)
            results.log(f"-- suite {name}")
            if not results.run_once(f"{name}: prepare", suite.prepare):
                continue
            steps = suite.steps()
            for repeat in range(args.repeat):
                for step in steps:
                    results.run_step(step, repeat)
            suite.finish()
    finally:
        data.cleanup()  # the COPY files (GBs at 10M rows)
    return results


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM / SIGHUP (a timeout, a closed terminal): exit like Ctrl-C does, so the
    running dbt subprocess is killed and the atexit handlers run (pgserver stops the
    embedded server; without this the default action kills the process and the server
    keeps running)."""
    raise SystemExit(128 + signum)


def _remove_unless_failed(folder: Path, has_failed: Callable[[], bool]) -> None:
    """At exit: remove ``folder``, or say where it is kept when the run failed."""
    if has_failed():
        print(f"kept for inspection: {folder}", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Optional[List[str]] = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    args = parse_args(argv)
    check_requirements(args)
    temp: Optional[Path] = None
    if args.smoke and (args.out is None or args.work is None):
        temp = Path(tempfile.mkdtemp(prefix="dbt_pg_bench_smoke_"))
    out = args.out or (temp / "results" if temp else HERE / "results")
    work = args.work or (temp / "work" if temp else HERE / "work")
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = datetime.now(UTC)
    failed = False
    if temp is not None:
        # registered before the server starts, so it runs after pgserver stops it at exit;
        # the smoke run's reports are printed, so its temp folder goes, unless something
        # failed (then its dbt logs are kept for a look; the path is printed)
        atexit.register(_remove_unless_failed, temp, lambda: failed)
    server = Postgres(work, unix_socket=args.unix_socket)
    only_tpch = args.only == ["tpch"]
    suites = all_suites()
    for i, rows in enumerate([args.rows[0]] if only_tpch else args.rows):
        # suites without the --rows data set (tpch) run with the first size only
        only = [s for s in args.only if i == 0 or suites[s].needs_dataset]
        results = run_rows(server, args, rows, work, only)
        # a TPC-H-only run does not depend on --rows: name its reports by scale factor
        label = f"tpch-sf{args.tpch_sf:g}" if only_tpch else None
        paths = report.write(results, server, out, started, command.strip(), label)
        results.log("wrote " + ", ".join(str(p) for p in paths))
        print(paths[1].read_text())
        failed = failed or results.failed
    if failed:
        print("FAILED: some methods or checks failed (see 'errors' above).", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
