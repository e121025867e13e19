"""Time windows and batches for ``pg_incremental_by_time`` (all times UTC).

The window of a run is ``[start, end)``, split at ``batch_size`` boundaries, with
dbt-core's microbatch rules (``dbt.materializations.incremental.microbatch``,
``MicrobatchBuilder``): ``--event-time-start`` and ``begin`` are floored to a
batch boundary, the end (``--event-time-end``, else "now") is ceiled to one, so
every batch is whole and the batch holding "now" is complete. "Now" is dbt's
microbatch clock (``MicrobatchBuilder.build_end_time``), which dbt-tests-adapter's
``patch_microbatch_end_time`` replaces.

The start: explicit ``--event-time-start`` wins; else a first build or full
refresh runs from ``begin`` (or from the beginning of time); else
``floor(max(event_time) in target, batch_size) - lookback * batch_size``, never
before ``begin``. Unlike dbt's microbatch (which starts ``lookback`` batches
before the end), resuming from the target's max lets a paused schedule catch up.

:func:`plan_batches` turns the batches into write steps: a batch with model rows
is written alone (DELETE + INSERT); each run of batches without model rows is one
step, a DELETE when the target has rows there, else skipped.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from typing import Dict
from typing import Iterable
from typing import List
from typing import Optional
from typing import Tuple
from typing import cast

from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal

BATCH_SIZES = ("hour", "day", "month", "year")


def parse_time(value: Any) -> Optional[datetime]:
    """Parse an ISO date/time (str, date or datetime) as a UTC datetime.

    Naive values are taken as UTC; aware ones are converted to UTC.

    Returns:
        The datetime, or None when ``value`` is None or empty.

    Raises:
        ValueError: the value is not an ISO 8601 date or date-time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip().replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def floor_time(moment: datetime, batch_size: str) -> datetime:
    """The start of the ``batch_size`` period containing ``moment`` (UTC)."""
    moment = moment.astimezone(UTC)
    if batch_size == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if batch_size == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if batch_size == "month":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if batch_size == "year":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    raise ValueError(f"batch_size={batch_size!r}: use one of {', '.join(BATCH_SIZES)}")


def add_periods(moment: datetime, batch_size: str, count: int) -> datetime:
    """``moment`` moved by ``count`` periods of ``batch_size`` (calendar months/years)."""
    if batch_size == "hour":
        return moment + timedelta(hours=count)
    if batch_size == "day":
        return moment + timedelta(days=count)
    months = count * (12 if batch_size == "year" else 1)
    if batch_size not in ("month", "year"):
        raise ValueError(f"batch_size={batch_size!r}: use one of {', '.join(BATCH_SIZES)}")
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = index // 12, index % 12 + 1
    # the 31st of a shorter month becomes its last day
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def ceil_time(moment: datetime, batch_size: str) -> datetime:
    """The first ``batch_size`` boundary at or after ``moment`` (UTC): ``moment``
    itself when it is on a boundary (dbt's ``MicrobatchBuilder.ceiling_timestamp``)."""
    floor = floor_time(moment, batch_size)
    return floor if floor == moment.astimezone(UTC) else add_periods(floor, batch_size, 1)


def dbt_end_time(batch_size: str, event_time_end: Optional[datetime], now: datetime) -> datetime:
    """The end of a run by dbt's microbatch clock, ceiled to ``batch_size``.

    Calls dbt-core's ``MicrobatchBuilder.build_end_time`` (``--event-time-end``,
    else ``now``, ceiled), the method dbt-tests-adapter's
    ``patch_microbatch_end_time`` replaces, so tests that fake dbt's "now" fake
    ours too. Its (patched) result is ceiled once more: ours are whole batches.
    Without that class (dbt-core < 1.9), the same rule is computed here.
    """
    try:
        from dbt.materializations.incremental.microbatch import MicrobatchBuilder
    except ImportError:  # pragma: no cover - dbt-core < 1.9
        return ceil_time(event_time_end or now, batch_size)
    # the builder needs only these parts of a model node
    config = SimpleNamespace(incremental_strategy="microbatch", batch_size=batch_size)
    model = cast(Any, SimpleNamespace(name="pg_incremental_by_time", config=config))
    builder = MicrobatchBuilder(model, False, None, event_time_end, default_end_time=now)
    end = parse_time(builder.build_end_time())
    assert end is not None
    return ceil_time(end, batch_size)


def split_batches(
    start: datetime, end: datetime, batch_size: str
) -> List[Tuple[datetime, datetime]]:
    """Split ``[start, end)`` at ``batch_size`` boundaries; empty when start >= end."""
    batches = []
    lower = start
    while lower < end:
        upper = min(add_periods(floor_time(lower, batch_size), batch_size, 1), end)
        batches.append((lower, upper))
        lower = upper
    return batches


@dataclass
class TimeWindow:
    """The window of one run: ``full_build`` replaces the target (one swap);
    otherwise its ``batches`` are written by the steps of :func:`plan_batches`."""

    start: Optional[datetime]
    end: datetime
    full_build: bool
    batches: List[Tuple[datetime, datetime]]

    def as_dict(self) -> Dict[str, Any]:
        """The window for Jinja: times as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC strings."""
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "full_build": self.full_build,
            "batches": [[_iso(a), _iso(b)] for a, b in self.batches],
        }


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def batch_bounds(batch: Any) -> Tuple[str, str]:
    """The bounds of a dbt microbatch batch as the write macros take them.

    Args:
        batch: dbt-core's batch context (``model.batch`` in the materialization:
            a mapping or object with ``event_time_start`` / ``event_time_end``,
            datetimes or ISO strings).

    Returns:
        (start, end) as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC.

    Raises:
        ValueError: the batch has no bounds (not run by dbt's microbatch runner).
    """
    get = batch.get if isinstance(batch, dict) else (lambda key: getattr(batch, key, None))
    start = parse_time(get("event_time_start"))
    end = parse_time(get("event_time_end"))
    if start is None or end is None:
        raise ValueError("the microbatch batch has no event_time_start / event_time_end")
    return str(_iso(start)), str(_iso(end))


def compute_window(
    batch_size: str,
    lookback: int,
    begin: Optional[datetime],
    target_max: Optional[datetime],
    full_refresh: bool,
    event_time_start: Optional[datetime],
    event_time_end: Optional[datetime],
    now: datetime,
) -> TimeWindow:
    """The window of a run (see the module docstring).

    Args:
        batch_size: hour|day|month|year.
        lookback: batches re-done before the last loaded one (>= 0).
        begin: earliest time for a first build or full refresh; None: no lower bound.
        target_max: max(event_time) in the target; None when it is missing or empty.
        full_refresh: whether a full refresh was asked for.
        event_time_start, event_time_end: dbt's explicit flags (both or neither).
        now: the current time (UTC), unless dbt's microbatch clock says otherwise
            (:func:`dbt_end_time`).

    Returns:
        The window; its start and end are on ``batch_size`` boundaries.

    Raises:
        ValueError: only one of the explicit flags was given.
    """
    if (event_time_start is None) != (event_time_end is None):
        raise ValueError(
            "--event-time-start and --event-time-end must be given together "
            "(add the missing one, or drop both)"
        )
    end = dbt_end_time(batch_size, event_time_end, now)
    first = None if begin is None else floor_time(begin, batch_size)
    if event_time_start is not None:
        start = floor_time(event_time_start, batch_size)
        if target_max is None or full_refresh:
            return TimeWindow(start, end, True, [])
        return TimeWindow(start, end, False, split_batches(start, end, batch_size))
    if target_max is None or full_refresh:
        return TimeWindow(first, end, True, [])
    start = add_periods(floor_time(target_max, batch_size), batch_size, -lookback)
    if first is not None and start < first:
        start = first
    return TimeWindow(start, end, False, split_batches(start, end, batch_size))


@dataclass
class BatchStep:
    """One step of an incremental run over the batches ``first..last`` (1-based,
    inclusive) spanning ``[start, end)``.

    kind: ``write`` (one batch with model rows: DELETE + INSERT), ``delete`` (batches
    without model rows where the target has rows: one DELETE), ``skip`` (no rows in
    the model or the target: nothing to do)."""

    kind: str
    first: int
    last: int
    start: datetime
    end: datetime

    def as_dict(self) -> Dict[str, Any]:
        """The step for Jinja: times as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC strings."""
        return {
            "kind": self.kind,
            "first": self.first,
            "last": self.last,
            "start": _iso(self.start),
            "end": _iso(self.end),
        }


def plan_batches(
    batches: List[Tuple[datetime, datetime]],
    model_batches: Iterable[Any],
    target_batches: Iterable[Any],
    batch_size: str,
) -> List[BatchStep]:
    """The steps that write ``batches`` (see :class:`BatchStep`), in time order.

    Each batch with model rows is a ``write`` step of its own (one transaction per
    batch, as before); each maximal run of consecutive batches without model rows
    is one step: ``delete`` when the target has rows in any of them (one DELETE of
    the whole run, which holds no model rows), else ``skip``.

    Args:
        batches: the window's batches, consecutive, in time order.
        model_batches, target_batches: times (ISO strings or datetimes, UTC) inside
            the batches that hold rows of the model result and of the target, e.g.
            ``date_trunc(batch_size, event_time)`` of each group.
        batch_size: hour|day|month|year.

    Raises:
        ValueError: a time is not an ISO date/time.
    """
    model = {floor_time(_utc(t), batch_size) for t in model_batches}
    target = {floor_time(_utc(t), batch_size) for t in target_batches}
    steps: List[BatchStep] = []
    run: List[int] = []  # indexes of the current run of batches without model rows

    def close_run() -> None:
        if run:
            kind = (
                "delete"
                if any(_batch_key(batches[i], batch_size) in target for i in run)
                else "skip"
            )
            steps.append(
                BatchStep(kind, run[0] + 1, run[-1] + 1, batches[run[0]][0], batches[run[-1]][1])
            )
            run.clear()

    for index, batch in enumerate(batches):
        if _batch_key(batch, batch_size) in model:
            close_run()
            steps.append(BatchStep("write", index + 1, index + 1, batch[0], batch[1]))
        else:
            run.append(index)
    close_run()
    return steps


def time_literal(value: str, dtype: Optional[str]) -> str:
    """A time literal valid in DuckDB and PostgreSQL.

    Args:
        value: a UTC time, 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        dtype: the event_time column's type (DuckDB or Postgres spelling), or None.

    Returns:
        ``timestamptz '<value>+00'`` for a time-zone-aware column, else
        ``timestamp '<value>'``.
    """
    kind = (dtype or "").upper()
    if "TIME ZONE" in kind or "TIMESTAMPTZ" in kind:
        return f"timestamptz {quote_literal(value + '+00')}"
    return f"timestamp {quote_literal(value)}"


def window_condition(column: str, dtype: Optional[str], start: Optional[str], end: str) -> str:
    """``"et" >= <start> and "et" < <end>``: the rows of the window [start, end).

    Args:
        column: the event_time column, unquoted.
        dtype: its type (see :func:`time_literal`).
        start: the lower bound (UTC, 'YYYY-MM-DD HH:MM:SS[.ffffff]'), or None for none.
        end: the upper bound, exclusive.

    Returns:
        A condition valid in DuckDB and PostgreSQL (literals typed like the
        column: the window is UTC).
    """
    quoted = quote_identifier(column)
    parts = [] if start is None else [f"{quoted} >= {time_literal(start, dtype)}"]
    parts.append(f"{quoted} < {time_literal(end, dtype)}")
    return " and ".join(parts)


def _batch_key(batch: Tuple[datetime, datetime], batch_size: str) -> datetime:
    return floor_time(batch[0], batch_size)


def _utc(value: Any) -> datetime:
    moment = parse_time(value)
    if moment is None:
        raise ValueError(f"{value!r} is not a time")
    return moment
