"""Measurements, the steps that take them, and progress lines.

A *scenario* is one piece of work (e.g. "write N rows into a new table") with
a *reference* method measured in the same run; a *measurement* is one method
of a scenario, repeated. Every figure in the reports is a ratio to the
scenario's reference (or another method of the same run), never an absolute
time alone: absolute times are noisy on shared machines.
"""

import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Callable
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

# Kinds of method, in report order.
REFERENCE = "reference"
IN_PROCESS = "in-process"
ADAPTER = "adapter"
PEER = "peer"
KINDS = (REFERENCE, IN_PROCESS, ADAPTER, PEER)


@dataclass
class Scenario:
    """One piece of work.

    Attributes:
        key: short id (``write``, ``read_sel``...).
        suite: the suite measuring it.
        title: one line for reports.
        rows: rows of the work, for rows/s.
        reference: the method every ratio of this scenario is against.
        note: what the reports say about the scenario besides its title.
    """

    key: str
    suite: str
    title: str
    rows: int
    reference: str
    note: str = ""


@dataclass
class Measurement:
    """One method of a scenario over the repeats.

    Attributes:
        times: seconds per repeat (model time for dbt methods).
        command_times: whole ``dbt`` command seconds per repeat (dbt methods).
        rss_mb: peak RSS of the ``dbt`` process per repeat (dbt methods).
        rows: overrides the scenario's rows for rows/s (e.g. a full rebuild).
        info: anything else measured (transfer, row counts, notes).
        errors: one entry per failed attempt.
    """

    scenario: str
    method: str
    kind: str
    times: List[float] = field(default_factory=list)
    command_times: List[float] = field(default_factory=list)
    rss_mb: List[float] = field(default_factory=list)
    rows: Optional[int] = None
    info: Dict[str, Any] = field(default_factory=dict)
    errors: List[str] = field(default_factory=list)

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.times) if self.times else None

    def to_json(self, scenario_rows: int) -> Dict[str, Any]:
        rows = self.rows or scenario_rows
        out: Dict[str, Any] = {
            "scenario": self.scenario,
            "method": self.method,
            "kind": self.kind,
            "rows": rows,
            "times_s": [round(t, 4) for t in self.times],
        }
        if self.times:
            out.update(
                median_s=round(statistics.median(self.times), 4),
                min_s=round(min(self.times), 4),
                max_s=round(max(self.times), 4),
                rows_per_s=round(rows / statistics.median(self.times), 1),
            )
        if self.command_times:
            out["command_times_s"] = [round(t, 3) for t in self.command_times]
            out["command_median_s"] = round(statistics.median(self.command_times), 3)
        if self.rss_mb:
            out["peak_rss_mb"] = [round(r, 1) for r in self.rss_mb]
            out["peak_rss_mb_max"] = round(max(self.rss_mb), 1)
        if self.info:
            out["info"] = self.info
        if self.errors:
            out["errors"] = self.errors
        return out


MethodId = Tuple[str, str, str]  # (scenario key, method, kind)


@dataclass
class Step:
    """One timed action of a suite, run once per repeat.

    Attributes:
        label: names the step in failure lines (success lines list what it recorded).
        run: called with the repeat index (0-based); records its measurements.
        methods: the measurements it records; all fail together if it raises.
    """

    label: str
    run: Callable[[int], None]
    methods: List[MethodId]


class Results:
    """All scenarios and measurements of one ``--rows`` value, plus progress output."""

    def __init__(self, rows: int, repeat: int, debug: bool = False):
        self.rows = rows
        self.repeat = repeat
        self.debug = debug  # print tracebacks of failures
        self.scenarios: Dict[str, Scenario] = {}
        self.measurements: Dict[Tuple[str, str], Measurement] = {}
        self.suite_errors: List[str] = []
        self.started = time.perf_counter()
        self._last: List[str] = []

    # --- recording -----------------------------------------------------------

    def scenario(
        self, key: str, suite: str, title: str, rows: int, reference: str, note: str = ""
    ) -> None:
        """Declare a scenario (once, before its measurements)."""
        self.scenarios[key] = Scenario(key, suite, title, max(rows, 1), reference, note)

    def method(self, scenario: str, method: str, kind: str) -> Measurement:
        """The measurement of ``method`` in ``scenario`` (created on first use)."""
        key = (scenario, method)
        if key not in self.measurements:
            self.measurements[key] = Measurement(scenario, method, kind)
        return self.measurements[key]

    def record(
        self,
        scenario: str,
        method: str,
        kind: str,
        seconds: float,
        command_s: Optional[float] = None,
        rss_mb: Optional[float] = None,
        rows: Optional[int] = None,
    ) -> Measurement:
        """Add one repeat's time (and dbt command time / RSS) to a measurement."""
        m = self.method(scenario, method, kind)
        m.times.append(seconds)
        if command_s is not None:
            m.command_times.append(command_s)
        if rss_mb is not None:
            m.rss_mb.append(rss_mb)
        if rows is not None:
            m.rows = rows
        self._last.append(f"{method}: {seconds:.3f} s")
        return m

    def note(self, text: str) -> None:
        """Add ``text`` to the current step's progress line."""
        self._last.append(text)

    def summarize(self, text: str) -> None:
        """Replace the current step's progress line with ``text``."""
        self._last = [text]

    def find(self, scenario: str, method: str) -> Optional[Measurement]:
        """A measurement, or None when it was not taken."""
        return self.measurements.get((scenario, method))

    @property
    def failed(self) -> bool:
        return bool(self.suite_errors) or any(m.errors for m in self.measurements.values())

    # --- running -------------------------------------------------------------

    def log(self, message: str) -> None:
        """One progress line on stderr, with the elapsed time."""
        elapsed = time.perf_counter() - self.started
        print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)

    def run_step(self, step: Step, repeat: int) -> None:
        """Run ``step``; on an exception record it against each of its methods."""
        self._last = []
        try:
            step.run(repeat)
        except Exception as e:  # noqa: BLE001 - a failed method must not stop the run
            error = f"{type(e).__name__}: {e}".strip()
            for scenario, method, kind in step.methods:
                self.method(scenario, method, kind).errors.append(error)
            self.log(f"  r{repeat + 1}/{self.repeat} {step.label}: FAILED {error[:300]}")
            if self.debug:
                traceback.print_exc()
            return
        self.log(f"  r{repeat + 1}/{self.repeat} " + "; ".join(self._last))

    def run_once(self, label: str, fn: Callable[[], None]) -> bool:
        """Run an untimed action (setup, transfer measurement); record a failure
        as a suite error. Returns whether it succeeded."""
        started = time.perf_counter()
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            error = f"{label}: {type(e).__name__}: {e}"
            self.suite_errors.append(error)
            self.log(f"  FAILED {error[:300]}")
            if self.debug:
                traceback.print_exc()
            return False
        self.log(f"  {label} ({time.perf_counter() - started:.1f} s)")
        return True
