"""Time windows and batches of pg_incremental_by_time (pure functions, UTC)."""

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from dbt.adapters.duckdb_postgres.windows import add_periods
from dbt.adapters.duckdb_postgres.windows import compute_window
from dbt.adapters.duckdb_postgres.windows import floor_time
from dbt.adapters.duckdb_postgres.windows import parse_time
from dbt.adapters.duckdb_postgres.windows import split_batches

NOW = datetime(2026, 5, 2, 13, 45, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-16", utc(2026, 11, 16)),
        ("2026-11-16T06:00:00", utc(2026, 11, 16, 6)),
        ("2026-11-16 05:30:00+05:30", utc(2026, 11, 16)),
        ("2026-11-16 00:00:00+00", utc(2026, 11, 16)),
        ("2026-11-16T00:00:00Z", utc(2026, 11, 16)),
        (date(2026, 1, 2), utc(2026, 1, 2)),
        (datetime(2026, 1, 2, 3), utc(2026, 1, 2, 3)),
        (None, None),
        ("", None),
    ],
)
def test_parse_time_is_utc(value, expected):
    assert parse_time(value) == expected


def test_parse_time_rejects_garbage():
    with pytest.raises(ValueError):
        parse_time("yesterday")


@pytest.mark.parametrize(
    "size, expected",
    [
        ("hour", utc(2026, 5, 2, 13)),
        ("day", utc(2026, 5, 2)),
        ("month", utc(2026, 5, 1)),
        ("year", utc(2026, 1, 1)),
    ],
)
def test_floor_time(size, expected):
    assert floor_time(NOW, size) == expected


def test_add_periods_crosses_years_and_short_months():
    assert add_periods(utc(2026, 11, 1), "month", 3) == utc(2027, 2, 1)
    assert add_periods(utc(2026, 1, 31), "month", 1) == utc(2026, 2, 28)
    assert add_periods(utc(2026, 3, 1), "month", -3) == utc(2025, 12, 1)
    assert add_periods(utc(2026, 1, 1), "year", -2) == utc(2024, 1, 1)
    assert add_periods(utc(2026, 1, 1), "hour", 25) == utc(2026, 1, 2, 1)


def test_split_batches_at_boundaries():
    batches = split_batches(utc(2026, 4, 30, 12), NOW, "day")
    assert batches == [
        (utc(2026, 4, 30, 12), utc(2026, 5, 1)),
        (utc(2026, 5, 1), utc(2026, 5, 2)),
        (utc(2026, 5, 2), NOW),
    ]
    assert split_batches(NOW, NOW, "day") == []


def test_incremental_window_with_lookback():
    window = compute_window("day", 2, None, utc(2026, 4, 29, 18), False, None, None, NOW)
    assert not window.full_build
    assert window.start == utc(2026, 4, 27)
    assert window.end == NOW
    assert [b[0].day for b in window.batches] == [27, 28, 29, 30, 1, 2]


def test_lookback_never_goes_before_begin():
    window = compute_window("month", 5, utc(2026, 3, 1), utc(2026, 4, 9), False, None, None, NOW)
    assert window.start == utc(2026, 3, 1)


@pytest.mark.parametrize("target_max, full_refresh", [(None, False), (utc(2026, 4, 1), True)])
def test_first_build_and_full_refresh_run_from_begin(target_max, full_refresh):
    begin = utc(2026, 1, 1)
    window = compute_window("day", 0, begin, target_max, full_refresh, None, None, NOW)
    assert window.full_build and window.batches == []
    assert (window.start, window.end) == (begin, NOW)
    no_begin = compute_window("day", 0, None, target_max, full_refresh, None, None, NOW)
    assert no_begin.start is None


def test_explicit_flags_win():
    start, end = utc(2026, 2, 1), utc(2026, 2, 3)
    window = compute_window("day", 7, None, utc(2026, 4, 1), False, start, end, NOW)
    assert not window.full_build
    assert window.batches == [(start, utc(2026, 2, 2)), (utc(2026, 2, 2), end)]


def test_explicit_flags_must_come_together():
    with pytest.raises(ValueError, match="must be given together"):
        compute_window("day", 0, None, None, False, utc(2026, 2, 1), None, NOW)


def test_as_dict_is_iso_utc():
    window = compute_window("day", 0, None, utc(2026, 5, 1, 8), False, None, None, NOW)
    assert window.as_dict()["batches"][0] == [
        "2026-05-01 00:00:00.000000",
        "2026-05-02 00:00:00.000000",
    ]
