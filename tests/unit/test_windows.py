"""Time windows and batches of pg_incremental_by_time (pure functions, UTC), checked
against dbt-core's own MicrobatchBuilder where it defines the rule."""

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from dbt.materializations.incremental.microbatch import MicrobatchBuilder
from dbt.tests.util import patch_microbatch_end_time

from dbt.adapters.duckdb_postgres.windows import BATCH_SIZES
from dbt.adapters.duckdb_postgres.windows import add_periods
from dbt.adapters.duckdb_postgres.windows import ceil_time
from dbt.adapters.duckdb_postgres.windows import compute_window
from dbt.adapters.duckdb_postgres.windows import dbt_end_time
from dbt.adapters.duckdb_postgres.windows import floor_time
from dbt.adapters.duckdb_postgres.windows import parse_time
from dbt.adapters.duckdb_postgres.windows import plan_batches
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


MOMENTS = [
    utc(2024, 9, 17, 16, 6),
    utc(2024, 9, 17),
    utc(2024, 9, 1),
    utc(2024, 1, 1),
    utc(2024, 12, 31, 23, 59, 59),
    utc(2024, 2, 29, 12),
]


@pytest.mark.parametrize("size", BATCH_SIZES)
@pytest.mark.parametrize("moment", MOMENTS)
def test_floor_and_ceil_match_dbt(size, moment):
    assert floor_time(moment, size) == MicrobatchBuilder.truncate_timestamp(moment, size)
    assert ceil_time(moment, size) == MicrobatchBuilder.ceiling_timestamp(moment, size)


def test_ceil_time_keeps_boundaries():
    assert ceil_time(utc(2026, 5, 2), "day") == utc(2026, 5, 2)
    assert ceil_time(NOW, "day") == utc(2026, 5, 3)
    assert ceil_time(NOW, "hour") == utc(2026, 5, 2, 14)
    assert ceil_time(NOW, "month") == utc(2026, 6, 1)
    assert ceil_time(NOW, "year") == utc(2027, 1, 1)


def test_end_is_the_end_of_the_batch_holding_now():
    assert dbt_end_time("day", None, NOW) == utc(2026, 5, 3)
    assert dbt_end_time("day", utc(2026, 2, 3, 12), NOW) == utc(2026, 2, 4)
    assert dbt_end_time("hour", utc(2026, 2, 3, 12), NOW) == utc(2026, 2, 3, 12)


def test_end_follows_dbts_microbatch_clock():
    # dbt-tests-adapter's patch of MicrobatchBuilder.build_end_time moves our "now"
    with patch_microbatch_end_time("2020-01-03 13:57:00"):
        assert dbt_end_time("day", None, NOW) == utc(2020, 1, 4)
        window = compute_window("day", 0, utc(2020, 1, 1), None, False, None, None, NOW)
        assert (window.start, window.end) == (utc(2020, 1, 1), utc(2020, 1, 4))
    assert dbt_end_time("day", None, NOW) == utc(2026, 5, 3)


def test_incremental_window_with_lookback():
    window = compute_window("day", 2, None, utc(2026, 4, 29, 18), False, None, None, NOW)
    assert not window.full_build
    assert window.start == utc(2026, 4, 27)
    assert window.end == utc(2026, 5, 3)
    assert [b[0].day for b in window.batches] == [27, 28, 29, 30, 1, 2]
    # every batch is whole: the last one ends at the end of today, not at now
    assert window.batches[-1] == (utc(2026, 5, 2), utc(2026, 5, 3))


def test_lookback_never_goes_before_begin():
    window = compute_window("month", 5, utc(2026, 3, 1), utc(2026, 4, 9), False, None, None, NOW)
    assert window.start == utc(2026, 3, 1)
    # begin is floored to the batch: the whole first month
    window = compute_window("month", 5, utc(2026, 3, 9), utc(2026, 4, 9), False, None, None, NOW)
    assert window.start == utc(2026, 3, 1)


@pytest.mark.parametrize("target_max, full_refresh", [(None, False), (utc(2026, 4, 1), True)])
def test_first_build_and_full_refresh_run_from_begin(target_max, full_refresh):
    begin = utc(2026, 1, 1)
    window = compute_window("day", 0, begin, target_max, full_refresh, None, None, NOW)
    assert window.full_build and window.batches == []
    assert (window.start, window.end) == (begin, utc(2026, 5, 3))
    # begin at 12:00 starts at the beginning of its day, as dbt's microbatch does
    noon = compute_window("day", 0, utc(2026, 1, 1, 12), target_max, full_refresh, None, None, NOW)
    assert noon.start == begin
    no_begin = compute_window("day", 0, None, target_max, full_refresh, None, None, NOW)
    assert no_begin.start is None


def test_explicit_flags_win():
    start, end = utc(2026, 2, 1), utc(2026, 2, 3)
    window = compute_window("day", 7, None, utc(2026, 4, 1), False, start, end, NOW)
    assert not window.full_build
    assert window.batches == [(start, utc(2026, 2, 2)), (utc(2026, 2, 2), end)]


def test_explicit_flags_are_floored_and_ceiled():
    # bounds at 12:00 rewrite whole days: [Feb 1, Feb 4)
    start, end = utc(2026, 2, 1, 12), utc(2026, 2, 3, 12)
    window = compute_window("day", 0, None, utc(2026, 4, 1), False, start, end, NOW)
    assert (window.start, window.end) == (utc(2026, 2, 1), utc(2026, 2, 4))
    assert [b[0].day for b in window.batches] == [1, 2, 3]
    first_build = compute_window("month", 0, None, None, False, start, end, NOW)
    assert first_build.full_build
    assert (first_build.start, first_build.end) == (utc(2026, 2, 1), utc(2026, 3, 1))


def test_explicit_flags_must_come_together():
    with pytest.raises(ValueError, match="must be given together"):
        compute_window("day", 0, None, None, False, utc(2026, 2, 1), None, NOW)


def test_as_dict_is_iso_utc():
    window = compute_window("day", 0, None, utc(2026, 5, 1, 8), False, None, None, NOW)
    assert window.as_dict()["batches"][0] == [
        "2026-05-01 00:00:00.000000",
        "2026-05-02 00:00:00.000000",
    ]


def days(first: datetime, count: int):
    return split_batches(first, add_periods(first, "day", count), "day")


def kinds(steps):
    return [(s.kind, s.first, s.last) for s in steps]


def test_plan_skips_empty_batches_and_merges_deletes():
    batches = days(utc(2026, 1, 1), 10)
    model = ["2026-01-01 00:00:00", "2026-01-10 00:00:00"]
    # the target has rows on days 1, 4 and 5 (no model rows there: one DELETE)
    target = ["2026-01-01 00:00:00", datetime(2026, 1, 4), "2026-01-05 00:00:00"]
    steps = plan_batches(batches, model, target, "day")
    assert kinds(steps) == [("write", 1, 1), ("delete", 2, 9), ("write", 10, 10)]
    assert (steps[1].start, steps[1].end) == (utc(2026, 1, 2), utc(2026, 1, 10))
    # nothing in the target between the model's days: one skipped range
    steps = plan_batches(batches, model, ["2026-01-01 00:00:00"], "day")
    assert kinds(steps) == [("write", 1, 1), ("skip", 2, 9), ("write", 10, 10)]
    assert steps[1].as_dict()["start"] == "2026-01-02 00:00:00.000000"


def test_plan_of_a_1000_day_gap_is_a_few_steps():
    batches = days(utc(2023, 1, 1), 1001)
    steps = plan_batches(batches, ["2023-01-01 00:00:00", "2025-09-27 00:00:00"], [], "day")
    assert kinds(steps) == [("write", 1, 1), ("skip", 2, 1000), ("write", 1001, 1001)]
    assert plan_batches(batches, [], [], "day")[0].kind == "skip"
    assert kinds(plan_batches(batches, [], ["2024-06-01 00:00:00"], "day")) == [
        ("delete", 1, 1001)
    ]


def test_plan_every_batch_with_rows_is_written_alone():
    batches = split_batches(utc(2026, 1, 1), utc(2026, 1, 1, 4), "hour")
    model = ["2026-01-01 00:00:00", "2026-01-01 01:00:00", "2026-01-01 03:00:00"]
    steps = plan_batches(batches, model, model, "hour")
    assert kinds(steps) == [("write", 1, 1), ("write", 2, 2), ("skip", 3, 3), ("write", 4, 4)]
