"""Reports of one ``--rows`` value: JSON (everything), Markdown (ratio tables and
goals), PNG (rows/s per method with min-max bars).

Ratios: "speed vs ref" is the scenario reference's median time divided by the
method's median time (1.00 = as fast as the reference; 0.50 = takes twice as
long). Goals are the issue's targets, each computed from two measurements of
the same run; they are reported, not enforced (the exit status covers errors).
"""

import importlib.util
import json
import os
import platform
import statistics
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

from benchlib.data import GROUPS
from benchlib.results import KINDS
from benchlib.results import Measurement
from benchlib.results import Results
from benchlib.server import Postgres
from benchlib.suites import fixed
from benchlib.suites import incremental
from benchlib.suites import memory
from benchlib.suites import read
from benchlib.suites import tpch
from benchlib.suites import upsert
from benchlib.suites import write as write_suite

GOAL_ROWS = 10_000_000  # the size the issue states memory and incremental goals for
# "flat from 1M to 10M targets": the same change into a 10x larger target takes at
# most this much longer (a cost that follows the target would be ~10x)
FLAT_BOUND = 1.2
KIND_COLORS = {
    "reference": "#555555",
    "in-process": "#8c8cd9",
    "adapter": "#2a9d8f",
    "peer": "#e9a03b",
}


# --- machine -------------------------------------------------------------------


def machine_info(server: Postgres) -> Dict[str, Any]:
    """CPU, memory, OS, load and versions of everything measured."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib: Optional[float] = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for dist in (
        "dbt-duckdb-postgres",
        "dbt-core",
        "dbt-duckdb",
        "dbt-postgres",
        "duckdb",
        "psycopg",
        "pandas",
        "SQLAlchemy",
        "matplotlib",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    versions["postgres"] = server.version()
    versions["psql"] = server.psql_version()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "server": server.describe(),
        "versions": versions,
    }


def machine_line(machine: Dict[str, Any]) -> str:
    v = machine["versions"]
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB RAM, "
        f"{machine['os']}; load average {machine['load_average_at_end']} at the end; "
        f"PostgreSQL {v['postgres']} ({machine['server']}), DuckDB {v['duckdb']}, "
        f"dbt-core {v['dbt-core']}, dbt-duckdb {v['dbt-duckdb']}, "
        f"dbt-duckdb-postgres {v['dbt-duckdb-postgres']}, Python {machine['python']}"
    )


# --- ratios and goals ------------------------------------------------------------


def speed_vs_ref(results: Results, m: Measurement) -> Optional[float]:
    """Reference median time / method median time, or None."""
    scenario = results.scenarios[m.scenario]
    ref = results.find(m.scenario, scenario.reference)
    if ref is None or not ref.median or not m.median:
        return None
    return ref.median / m.median


@dataclass
class Goal:
    """One target of the issue, evaluated on this run."""

    name: str
    value: Optional[float]
    target: str
    ok: Optional[bool]
    detail: str = ""

    def to_json(self) -> Dict[str, Any]:
        return {
            "goal": self.name,
            "value": self.value,
            "target": self.target,
            "ok": self.ok,
            "detail": self.detail,
        }


def _median(results: Results, scenario: str, method: str) -> Optional[float]:
    m = results.find(scenario, method)
    return statistics.median(m.times) if m and m.times else None


W, INC = write_suite.SCENARIO, incremental.SCENARIO

# (goal, numerator time, denominator time, comparison, bound): time ratios of one run
RATIO_GOALS = [
    (
        "pg_full throughput vs in-process DuckDB CTAS",
        (W, write_suite.CTAS),
        (W, write_suite.PG_FULL),
        ">=",
        0.9,
    ),
    (
        "pg_full throughput vs server-side binary COPY",
        (W, write_suite.COPY),
        (W, write_suite.PG_FULL),
        ">=",
        0.8,
    ),
    (
        "pg_full throughput vs stock dbt-duckdb table (model time)",
        (W, write_suite.STOCK_TABLE),
        (W, write_suite.PG_FULL),
        ">=",
        1.0,
    ),
    (
        "pg_full throughput vs pandas to_sql",
        (W, write_suite.PANDAS),
        (W, write_suite.PG_FULL),
        ">=",
        10,
    ),
    (
        "selective pg_query read time vs psql (no index)",
        ("read_sel", read.QUERY_MODEL),
        ("read_sel", read.PSQL),
        "<=",
        1.3,
    ),
    (
        "selective pg_query read time vs psql (index on ts)",
        ("read_sel_idx", read.QUERY_MODEL),
        ("read_sel_idx", read.PSQL),
        "<=",
        1.3,
    ),
    (
        "re-process 1 day: time vs pg_full rebuild of the same model",
        (INC, incremental.DAY_RUN),
        (INC, incremental.REBUILD),
        "<=",
        0.1,
    ),
    (
        "incremental merge 1% + 0.5% into N rows: stock dbt-duckdb merge time / "
        "this adapter's, same model (model time)",
        ("upsert_a", upsert.MERGE),
        ("upsert_a", upsert.ADAPTER_MERGE),
        ">=",
        1.3,
    ),
    (
        "microbatch 1 day of 100: stock dbt-duckdb microbatch time / this adapter's, "
        "same model (model time)",
        (INC, incremental.MICROBATCH),
        (INC, incremental.ADAPTER_MICROBATCH),
        ">=",
        1.0,
    ),
    (
        "fixed cost: 1-row pg_full dbt run vs stock dbt-duckdb table (whole command)",
        ("fixed", fixed.FIXED_PG_FULL),
        ("fixed", fixed.FIXED_STOCK),
        "<=",
        1.15,
    ),
]


def _check(name: str, value: Optional[float], op: str, bound: float, detail: str = "") -> Goal:
    if value is None:
        return Goal(name, None, f"{op} {bound:g}", None, "not measured")
    value = round(value, 3)
    return Goal(
        name, value, f"{op} {bound:g}", value >= bound if op == ">=" else value <= bound, detail
    )


def goals(results: Results) -> List[Goal]:
    """The issue's goals, each a ratio of two measurements of this run."""
    out: List[Goal] = []
    for name, num, den, op, bound in RATIO_GOALS:
        a, b = _median(results, *num), _median(results, *den)
        out.append(_check(name, a / b if a is not None and b else None, op, bound))
    out.append(_vs_previous_run(results))
    agg = results.find("read_agg", read.QUERY_MODEL)
    transfer = (agg.info.get("transfer") or {}) if agg else {}
    out.append(
        _check(
            "aggregate through pg_query: rows Postgres sent by COPY",
            transfer.get("copy_rows_from_pg"),
            "<=",
            GROUPS,
            f"{GROUPS} groups; " + _transfer_detail(agg),
        )
    )
    day = results.find(INC, incremental.DAY_RUN)
    transfer = (day.info.get("transfer") or {}) if day else {}
    out.append(
        _check(
            "re-process 1 day: bytes moved both ways / the day's rows as binary COPY",
            transfer.get("moved_vs_day"),
            "<=",
            2.2,
            "target ~2x; " + _transfer_detail(day),
        )
    )
    small, large = _scaling_times(results, upsert.ADAPTER_MERGE)
    out.append(
        _check(
            "scaling: this adapter's incremental merge, same change into a 10x larger "
            "target (time large / small)",
            large / small if small and large is not None else None,
            "<=",
            FLAT_BOUND,
            "flat; a cost that follows the target would be ~10",
        )
    )
    no_limit = results.find("memory", memory.NO_LIMIT)
    rss = max(no_limit.rss_mb) if no_limit and no_limit.rss_mb else None
    out.append(_check("peak RSS of dbt run, pg_full (MiB)", rss, "<=", 1536))
    for m in results.measurements.values():
        if m.scenario == "memory" and m.method != memory.NO_LIMIT and m.rss_mb:
            limit = _mib(m.method) or 0.0
            one_row = results.find("fixed", fixed.FIXED_PG_FULL)
            base = max(one_row.rss_mb) if one_row and one_row.rss_mb else 300.0
            detail = f"bound = memory_limit {limit:.0f} MiB + dbt's 1-row RSS {base:.0f} MiB"
            out.append(
                _check(
                    f"peak RSS with {m.method.split(', ')[1].split()[0]} (MiB)",
                    max(m.rss_mb),
                    "<=",
                    round(limit + base),
                    detail,
                )
            )
    if all(s.suite == tpch.TpchSuite.name for s in results.scenarios.values()):
        out = []  # a TPC-H-only run measures none of the other goals
    for name, value, op, bound, detail in tpch.goals(results):
        goal = _check(name, value, op, bound or 0, detail)
        goal.detail = detail or goal.detail
        out.append(goal)
    return out


# committed results, for goals against an earlier run (bench/results)
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


def _write_ratio(measurements: List[Dict[str, Any]]) -> Optional[float]:
    """pg_full's speed relative to DuckDB CTAS (CTAS median / pg_full median) in the
    measurements of one results JSON, or None when either is missing."""
    medians = {
        m["method"]: m.get("median_s")
        for m in measurements
        if m.get("scenario") == W and m.get("median_s")
    }
    ctas, full = medians.get(write_suite.CTAS), medians.get(write_suite.PG_FULL)
    return ctas / full if ctas and full else None


def _vs_previous_run(results: Results) -> Goal:
    """pg_full throughput "within 5% of the previous committed run": the ratio
    pg_full / DuckDB CTAS of this run over the same ratio in the newest committed
    ``<date>-<rows>.json`` of this size from an earlier day. A ratio to CTAS measured
    in the same run cancels most of the machine's speed and load, so two runs on
    the same machine compare; an absolute time would not."""
    name = "pg_full throughput vs DuckDB CTAS, relative to the previous committed run"
    now = _write_ratio(
        [
            {"scenario": m.scenario, "method": m.method, "median_s": m.median}
            for m in results.measurements.values()
        ]
    )
    today = datetime.now().date().isoformat()
    previous: Optional[float] = None
    detail = "no earlier committed run of this size measured it"
    for path in sorted(RESULTS_DIR.glob(f"*-{results.rows}.json"), reverse=True):
        if path.name.startswith(today):
            continue
        ratio = _write_ratio(json.loads(path.read_text()).get("measurements", []))
        if ratio:
            previous = ratio
            detail = f"vs {path.name}: {ratio:.3f} then, {now:.3f} now" if now else detail
            break
    value = now / previous if now and previous else None
    return _check(name, value, ">=", 0.95, detail)


def _mib(method: str) -> Optional[float]:
    """The memory_limit in MiB from a method name like '... memory_limit=512MB ...'."""
    text = method.split("memory_limit=", 1)[-1].split()[0].upper()
    units = {
        "KB": 1 / 1000,
        "MB": 1000**2 / 1024**2,
        "GB": 1000**3 / 1024**2,
        "KIB": 1 / 1024,
        "MIB": 1,
        "GIB": 1024,
    }
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            try:
                return float(text[: -len(unit)]) * units[unit]
            except ValueError:
                return None
    return None


def _transfer_detail(m: Optional[Measurement]) -> str:
    t = (m.info.get("transfer") or {}) if m else {}
    if not t:
        return ""
    parts = [
        f"from Postgres: {t['copy_rows_from_pg']:,} COPY rows + {t['query_rows_from_pg']:,} "
        f"query rows, {t['bytes_from_pg']:,} B",
        f"to Postgres: {t['bytes_to_pg']:,} B",
    ]
    if "round_trips" in t:
        parts.append(_round_trips_detail(t, "what crossed the proxy"))
    if "day_binary_copy_bytes" in t:
        parts.append(f"day = {t['day_rows']:,} rows / {t['day_binary_copy_bytes']:,} B")
    return "; ".join(parts)


def _round_trips_detail(info: Dict[str, Any], scope: str) -> str:
    """``N Postgres round trips (C connections, <scope>)`` from a proxy count
    (``info``: ``round_trips`` and ``connections``, see benchlib.proxy.Traffic)."""
    return (
        f"{info['round_trips']:,} Postgres round trips "
        f"({info.get('connections', '?')} connection(s), {scope})"
    )


# --- writers -------------------------------------------------------------------


def write(
    results: Results,
    server: Postgres,
    out_dir: Path,
    started: datetime,
    command: str,
    label: Optional[str] = None,
) -> List[Path]:
    """Write ``<date>-<rows>.json``, ``.md`` and ``.png`` (when matplotlib is installed)
    into ``out_dir``; return the paths.

    Args:
        label: replaces ``<rows>`` in the file names and the title (e.g. ``tpch-sf1``
            for a run whose suites do not use the ``--rows`` data set).
    """
    stem = f"{started.date().isoformat()}-{label or results.rows}"
    # a second run of the same size on the same day keeps the first one's files
    run = 1
    while (out_dir / f"{stem}{'' if run == 1 else f'-{run}'}.json").exists():
        run += 1
    stem = stem if run == 1 else f"{stem}-{run}"
    machine = machine_info(server)
    goal_list = goals(results)
    data = {
        "meta": {
            "date": started.isoformat(timespec="seconds"),
            "rows": results.rows,
            "repeat": results.repeat,
            "command": command,
            "machine": machine,
        },
        "scenarios": [vars(s) for s in results.scenarios.values()],
        "measurements": [
            {
                **m.to_json(results.scenarios[m.scenario].rows),
                "speed_vs_ref": _round(speed_vs_ref(results, m)),
            }
            for m in _ordered(results)
        ],
        "goals": [g.to_json() for g in goal_list],
        "errors": results.suite_errors,
    }
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    png_path: Optional[Path] = out_dir / f"{stem}.png"
    if importlib.util.find_spec("matplotlib") is None:
        png_path = None  # run.py says so; --smoke requires it
    else:
        try:
            chart(results, png_path, label)
        except Exception as e:  # noqa: BLE001 - the tables still get written
            results.suite_errors.append(f"chart: {type(e).__name__}: {e}")
    md_path = out_dir / f"{stem}.md"
    md_path.write_text(
        markdown(results, machine, goal_list, command, png_path.name if png_path else None, label)
    )
    return [json_path, md_path] + ([png_path] if png_path else [])


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 3)


def _ordered(results: Results) -> List[Measurement]:
    """Measurements by scenario, then kind (reference first), then declaration order."""
    order = {key: i for i, key in enumerate(results.scenarios)}
    items = list(results.measurements.values())
    return sorted(items, key=lambda m: (order.get(m.scenario, 99), KINDS.index(m.kind)))


def _fmt_s(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _fmt_rate(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:.0f}"


def markdown(
    results: Results,
    machine: Dict[str, Any],
    goal_list: List[Goal],
    command: str,
    png: Optional[str],
    label: Optional[str] = None,
) -> str:
    """The Markdown report: goals, one table per scenario, scaling, chart, machine."""
    lines = [f"# dbt-duckdb-postgres benchmarks: {label or f'{results.rows:,} rows'}", ""]
    lines += [f"Command: `{command}` ({results.repeat} repeat(s), methods interleaved).", ""]
    lines += [f"Machine: {machine_line(machine)}.", ""]
    lines += [
        "Every ratio is against a reference measured in the same run. "
        "*speed vs ref* = reference time / method time (1.00 = as fast as the "
        "reference). Model times come from dbt's run_results.json; "
        "*dbt command* rows are the whole `dbt run` process.",
        "",
    ]
    lines += [
        "## Goals",
        "",
        "| goal | measured | target | result | detail |",
        "|---|---:|---|---|---|",
    ]
    for g in goal_list:
        status = "n/a" if g.ok is None else ("pass" if g.ok else "**FAIL**")
        value = "-" if g.value is None else f"{g.value:g}"
        lines.append(f"| {g.name} | {value} | {g.target} | {status} | {g.detail} |")
    if results.rows < GOAL_ROWS and not label:
        lines += [
            "",
            f"The memory and 1-day goals are stated for {GOAL_ROWS:,} rows; at "
            f"{results.rows:,} rows fixed costs weigh more.",
        ]
    lines.append("")
    lines += ["## Summary", "", *summary_table(results), ""]
    lines += tpch.markdown(results)
    lines += ["## Results", ""]
    for scenario in results.scenarios.values():
        ms = [m for m in _ordered(results) if m.scenario == scenario.key]
        if not ms:
            continue
        lines += [f"### {scenario.title}", "", f"Reference: {scenario.reference}.", ""]
        if scenario.note:
            lines += [scenario.note, ""]
        lines += [
            "| method | kind | median s | min-max s | rows/s | speed vs ref | "
            "peak RSS MiB | notes |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for m in ms:
            lines.append(_row(results, scenario.rows, m))
        lines.append("")
    scaling = _scaling_rows(results)
    if scaling:
        lines += [
            "## Upsert scaling",
            "",
            "Same change set into a target 10x larger: a "
            "ratio near 1 means the cost follows the change, near 10 the target.",
            "",
            "| method | small target s | large target s | large / small |",
            "|---|---:|---:|---:|",
            *scaling,
            "",
        ]
    if results.suite_errors:
        lines += ["## Errors", ""] + [f"- {e}" for e in results.suite_errors] + [""]
    if png:
        lines += ["## Chart", "", f"![rows/s per method]({png})", ""]
    else:
        lines += [
            "No chart: matplotlib is not installed (pip install -r bench/requirements.txt).",
            "",
        ]
    return "\n".join(lines)


def summary_table(results: Results) -> List[str]:
    """One compact table of every scenario and method: median time and speed vs ref."""
    lines = [
        "| scenario | method | kind | median s | speed vs ref |",
        "|---|---|---|---:|---:|",
    ]
    for scenario in results.scenarios.values():
        for m in _ordered(results):
            if m.scenario != scenario.key:
                continue
            speed = speed_vs_ref(results, m)
            value = "error" if m.errors else ("-" if speed is None else f"{speed:.2f}")
            if m.info.get("skipped"):
                value = "skipped"
            lines.append(
                f"| {scenario.title} | {m.method} | {m.kind} | {_fmt_s(m.median)} | {value} |"
            )
    return lines


def _row(results: Results, scenario_rows: int, m: Measurement) -> str:
    rows = m.rows or scenario_rows
    notes = []
    if m.errors:
        notes.append("**ERROR**: " + m.errors[0].replace("|", "/").replace("\n", " ")[:300])
    if m.info.get("note"):
        notes.append(m.info["note"])
    if m.info.get("skipped"):
        notes.append("skipped: " + str(m.info["skipped"]).replace("|", "/")[:300])
    if m.info.get("check"):
        notes.append("equal to dbt-postgres: " + m.info["check"])
    if m.info.get("split"):
        sp = m.info["split"]
        notes.append(
            f"split: read {sp['read_s']:.2f} s, compute {sp['compute_s']:.2f} s, "
            f"write {sp['write_s']:.2f} s"
            + (f", other {sp['other_s']:.2f} s" if "other_s" in sp else "")
        )
    if m.info.get("transfer"):
        notes.append(_transfer_detail(m))
    if m.rows:
        notes.append(f"{m.rows:,} rows")
    if "round_trips" in m.info:
        notes.append(_round_trips_detail(m.info, "whole command"))
    if m.info.get("model_s"):
        notes.append(f"model {statistics.median(m.info['model_s']):.3f} s")
    if not m.times:
        return f"| {m.method} | {m.kind} | - | - | - | - | - | {'; '.join(notes)} |"
    median = statistics.median(m.times)
    speed = speed_vs_ref(results, m)
    rss = f"{max(m.rss_mb):.0f}" if m.rss_mb else "-"
    return (
        f"| {m.method} | {m.kind} | {_fmt_s(median)} | {_fmt_s(min(m.times))}-"
        f"{_fmt_s(max(m.times))} | {_fmt_rate(rows / median)} | "
        f"{'-' if speed is None else f'{speed:.2f}'} | {rss} | {'; '.join(notes)} |"
    )


def _scaling_medians(results: Results) -> Dict[str, Dict[int, float]]:
    """Scaling scenario: method (without its ``-> <target rows>`` suffix) -> target
    rows -> median time, seconds."""
    by_base: Dict[str, Dict[int, float]] = {}
    for m in results.measurements.values():
        if m.scenario != "upsert_scale" or not m.times or " -> " not in m.method:
            continue
        base = m.method.rsplit(" -> ", 1)[0]
        by_base.setdefault(base, {})[int(m.info.get("target_rows", 0))] = statistics.median(
            m.times
        )
    return by_base


def _scaling_times(results: Results, method: str) -> Tuple[Optional[float], Optional[float]]:
    """(small target, large target) median times of ``method`` in the scaling
    scenario, or (None, None) when it did not run at both sizes."""
    times = _scaling_medians(results).get(method, {})
    if len(times) != 2:
        return None, None
    small, large = sorted(times)
    return times[small], times[large]


def _scaling_rows(results: Results) -> List[str]:
    rows = []
    for base, times in _scaling_medians(results).items():
        if len(times) == 2:
            small, large = sorted(times)
            rows.append(
                f"| {base} | {_fmt_s(times[small])} | {_fmt_s(times[large])} | "
                f"{times[large] / times[small]:.2f} |"
            )
    return rows


def chart(results: Results, path: Path, label: Optional[str] = None) -> None:
    """Horizontal bars of rows/s (log scale) per method, one panel per scenario;
    error bars span the fastest and slowest repeat; the label is speed vs ref."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for scenario in results.scenarios.values():
        if scenario.suite in ("memory", "fixed"):
            continue  # not throughput: see the tables
        if scenario.suite == "tpch" and not scenario.key.startswith("tpch_run"):
            continue  # per-mart times: see the TPC-H table
        ms = [m for m in _ordered(results) if m.scenario == scenario.key and m.times]
        if ms:
            panels.append((scenario, ms))
    if not panels:
        return
    heights = [len(ms) * 0.42 + 0.9 for _, ms in panels]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(11, sum(heights)), gridspec_kw={"height_ratios": heights}
    )
    axes = [axes] if len(panels) == 1 else list(axes)
    for ax, (scenario, ms) in zip(axes, panels, strict=True):
        labels, rates, lows, highs, colors = [], [], [], [], []
        for m in reversed(ms):
            rows = m.rows or scenario.rows
            median = statistics.median(m.times)
            rate = rows / median
            labels.append(m.method)
            rates.append(rate)
            lows.append(rate - rows / max(m.times))
            highs.append(rows / min(m.times) - rate)
            colors.append(KIND_COLORS.get(m.kind, "#999999"))
        ax.barh(labels, rates, xerr=[lows, highs], color=colors, capsize=3)
        ax.set_xscale("log")
        ax.set_title(scenario.title, fontsize=10, loc="left")
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
        for i, m in enumerate(reversed(ms)):
            speed = speed_vs_ref(results, m)
            if speed is not None:
                ax.text(rates[i], i, f"  {speed:.2f}x", va="center", fontsize=7)
        slowest = min(rate - low for rate, low in zip(rates, lows, strict=True))
        ax.set_xlim(left=max(slowest / 3, 1e-3), right=max(rates) * 8)
    axes[-1].set_xlabel("rows/s (log scale; label: speed vs reference; bars: min-max)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in KIND_COLORS.values()]
    fig.legend(handles, list(KIND_COLORS), loc="upper right", fontsize=8, ncol=4)
    title = label or f"{results.rows:,} rows"
    fig.suptitle(f"dbt-duckdb-postgres benchmarks, {title}", fontsize=11, x=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=110)
    plt.close(fig)
