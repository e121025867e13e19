"""Time windows and batches for ``pg_incremental_by_time`` (all times UTC).

docs/architecture.md "pg_incremental_by_time": the window is ``[start, end)``;
explicit ``--event-time-start/--event-time-end`` win; else a first build or full
refresh runs from ``begin`` (or from the beginning of time) to now; else from
``floor(max(event_time) in target, batch_size) - lookback * batch_size`` to now.
The window is split at ``batch_size`` boundaries.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

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
    otherwise each of ``batches`` is DELETE + INSERT in its own transaction."""

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
        now: the current time (UTC).

    Raises:
        ValueError: only one of the explicit flags was given.
    """
    if (event_time_start is None) != (event_time_end is None):
        raise ValueError(
            "--event-time-start and --event-time-end must be given together "
            "(add the missing one, or drop both)"
        )
    if event_time_start is not None and event_time_end is not None:
        if target_max is None or full_refresh:
            return TimeWindow(event_time_start, event_time_end, True, [])
        return TimeWindow(
            event_time_start,
            event_time_end,
            False,
            split_batches(event_time_start, event_time_end, batch_size),
        )
    if target_max is None or full_refresh:
        return TimeWindow(begin, now, True, [])
    start = add_periods(floor_time(target_max, batch_size), batch_size, -lookback)
    if begin is not None and start < begin:
        start = begin
    return TimeWindow(start, now, False, split_batches(start, now, batch_size))
