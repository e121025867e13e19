"""The README's performance tables, generated from committed bench results.

    python bench/readme_tables.py            # rewrite the block in README.md
    python bench/readme_tables.py --check    # exit 1 when README.md is out of date

The block between ``<!-- bench-tables:begin -->`` and ``<!-- bench-tables:end -->``
in README.md is replaced by, for each result set (per row count, largest first,
the newest ``bench/results/<date>-<rows>.json`` and each older one that measured
scenarios the newer ones did not; then the newest ``<date>-tpch-*.json``): the
command, date and machine of the run, one row per scenario (the reference,
this adapter's methods and the peers, each with its median time and speed vs
the reference measured in the same run), and the run's goals with pass / FAIL.
Nothing is copied by hand: rerun the bench, commit its JSON, run this script.
"""

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEGIN = "<!-- bench-tables:begin -->"
END = "<!-- bench-tables:end -->"
# <date>-<rows>.json and <date>-tpch-<label>.json, as bench/run.py names them
_SIZED = re.compile(r"^(\d{4}-\d{2}-\d{2})-(\d+)(?:-(\d+))?\.json$")
_TPCH = re.compile(r"^(\d{4}-\d{2}-\d{2})-tpch-.+\.json$")


def _run_order(path: Path) -> Tuple[str, int, str]:
    """Sort key of a result file: its date, then the run of that day
    (``<date>-<rows>-2.json`` is the day's second run of that size)."""
    match = _SIZED.match(path.name)
    if match:
        return (match.group(1), int(match.group(3) or 1), path.name)
    return (path.name[:10], 1, path.name)


def latest_results(folder: Path) -> List[Path]:
    """The result files to show: per row count (largest first), the newest file,
    then each older one that measured a scenario no newer file of that size has
    (a run of some suites does not hide the figures of the others); then the
    newest TPC-H result. File names carry the date (bench/run.py)."""
    sized: Dict[int, List[Path]] = {}
    tpch: Optional[Path] = None
    for path in sorted(folder.glob("*.json"), key=_run_order):  # later last
        match = _SIZED.match(path.name)
        if match:
            sized.setdefault(int(match.group(2)), []).append(path)
        elif _TPCH.match(path.name):
            tpch = path
    shown: List[Path] = []
    for rows in sorted(sized, reverse=True):
        covered: set = set()
        for path in reversed(sized[rows]):
            keys = {s["key"] for s in json.loads(path.read_text())["scenarios"]}
            if keys - covered:
                shown.append(path)
                covered |= keys
    return shown + ([tpch] if tpch else [])


def _seconds(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _method(m: Dict[str, Any]) -> str:
    """`method median (speed vs ref)`, or the method and why it has no time."""
    if m.get("median_s") is None:
        return f"{m['method']}: not measured"
    speed = m.get("speed_vs_ref")
    ratio = "" if speed is None or m["kind"] == "reference" else f" ({speed:.2f}x)"
    return f"{m['method']} {_seconds(m['median_s'])}{ratio}"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def result_tables(path: Path) -> List[str]:
    """The Markdown of one result file: header, scenario table, goals table."""
    data = json.loads(path.read_text())
    meta = data["meta"]
    machine = meta.get("machine", {})
    versions = machine.get("versions", {})
    load = machine.get("load_average_at_end")
    lines = [
        f"#### `{path.name}`",
        "",
        f"`{meta.get('command', '?')}` on {meta.get('date', '?')[:10]}, "
        f"{meta.get('repeat', '?')} repeat(s); {machine.get('cpu', '?')}, "
        f"{machine.get('cores', '?')} cores, {machine.get('memory_gib', '?')} GiB, "
        f"load average {load} at the end; PostgreSQL {versions.get('postgres', '?')}, "
        f"DuckDB {versions.get('duckdb', '?')}, dbt-core {versions.get('dbt-core', '?')}.",
        "",
        "| scenario | reference | this adapter (speed vs ref) | peers (speed vs ref) |",
        "|---|---|---|---|",
    ]
    by_scenario: Dict[str, List[Dict[str, Any]]] = {}
    for m in data["measurements"]:
        by_scenario.setdefault(m["scenario"], []).append(m)
    for scenario in data["scenarios"]:
        ms = by_scenario.get(scenario["key"], [])
        if not ms:
            continue
        reference = [_method(m) for m in ms if m["kind"] == "reference"]
        ours = [_method(m) for m in ms if m["kind"] == "adapter"]
        peers = [_method(m) for m in ms if m["kind"] in ("peer", "in-process")]
        lines.append(
            f"| {_cell(scenario['title'])} | {_cell('; '.join(reference) or '-')} | "
            f"{_cell('; '.join(ours) or '-')} | {_cell('; '.join(peers) or '-')} |"
        )
    goals = data.get("goals", [])
    if goals:
        met = sum(1 for g in goals if g.get("ok"))
        lines += [
            "",
            f"Goals: {met} of {len(goals)} met.",
            "",
            "| goal | measured | target | result |",
            "|---|---:|---|---|",
        ]
        for g in goals:
            status = "n/a" if g.get("ok") is None else ("pass" if g["ok"] else "**FAIL**")
            value = "-" if g.get("value") is None else f"{g['value']:g}"
            lines.append(f"| {_cell(g['goal'])} | {value} | {g['target']} | {status} |")
    return lines + [""]


def block(folder: Path) -> str:
    """The generated README block (markers included)."""
    lines = [
        BEGIN,
        "<!-- generated by bench/readme_tables.py from bench/results/*.json: do not edit -->",
        "",
    ]
    for path in latest_results(folder):
        lines += result_tables(path)
    return "\n".join(lines + [END])


def render(readme: str, folder: Path) -> str:
    """``readme`` with its block replaced.

    Raises:
        ValueError: the README has no begin / end markers.
    """
    start = readme.find(BEGIN)
    end = readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {BEGIN} ... {END} block")
    return readme[:start] + block(folder) + readme[end + len(END) :]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    current = args.readme.read_text()
    wanted = render(current, args.results)
    if args.check:
        if wanted != current:
            print(
                f"{args.readme}: the performance tables are out of date; "
                "run python bench/readme_tables.py",
                file=sys.stderr,
            )
            return 1
        return 0
    args.readme.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
