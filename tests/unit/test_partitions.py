"""Partition names, bounds and step plans (dbt/adapters/duckdb_postgres/partitions.py)."""

from datetime import UTC
from datetime import datetime

from dbt.adapters.duckdb_postgres.partitions import bound_literal
from dbt.adapters.duckdb_postgres.partitions import parse_partition_name
from dbt.adapters.duckdb_postgres.partitions import partition_name
from dbt.adapters.duckdb_postgres.partitions import plan_step


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_names_and_bounds():
    assert partition_name("events", utc(2024, 2, 20)) == "events__p20240220"
    assert parse_partition_name("events", "events__p20240220") == utc(2024, 2, 20)
    assert parse_partition_name("events", "events__p2024022") is None
    assert parse_partition_name("events", "other__p20240220") is None
    assert bound_literal(utc(2024, 2, 1), "DATE") == "date '2024-02-01'"
    assert bound_literal(utc(2024, 2, 1), "TIMESTAMP") == "timestamp '2024-02-01 00:00:00'"
    assert (
        bound_literal(utc(2024, 2, 1), "TIMESTAMP WITH TIME ZONE")
        == "timestamptz '2024-02-01 00:00:00+00'"
    )


def test_aligned_step_swaps_model_and_existing_periods():
    plan = plan_step(
        "t",
        "day",
        "TIMESTAMP",
        "2024-01-01 00:00:00",
        "2024-01-04 00:00:00",
        ["2024-01-01 00:00:00", "2024-01-03 00:00:00", "2024-01-09 00:00:00"],
        ["t__p20240101", "t__p20240102", "t__p20240105"],
    )
    assert plan["aligned"]
    found = [(p.name, p.exists, p.rows) for p in plan["partitions"]]
    # day 2 has no model rows: its partition is dropped; day 3 is new; day 9 is outside
    assert found == [
        ("t__p20240101", True, True),
        ("t__p20240102", True, False),
        ("t__p20240103", False, True),
    ]
    assert plan["partitions"][0].as_dict("ts")["bound"] == (
        "for values from (timestamp '2024-01-01 00:00:00') to (timestamp '2024-01-02 00:00:00')"
    )


def test_hour_step_of_day_partitions_is_not_aligned():
    plan = plan_step(
        "t",
        "day",
        "TIMESTAMP",
        "2024-01-01 05:00:00",
        "2024-01-01 06:00:00",
        ["2024-01-01 00:00:00"],
        [],
    )
    assert not plan["aligned"]
    assert [(p.name, p.exists, p.rows) for p in plan["partitions"]] == [
        ("t__p20240101", False, True)
    ]


def test_month_partitions_of_a_month_step():
    plan = plan_step(
        "t", "month", "DATE", "2024-02-01", "2024-03-01", ["2024-02-01"], ["t__p20240201"]
    )
    assert plan["aligned"]
    assert plan["partitions"][0].as_dict("d")["check"] == (
        '"d" is not null and "d" >= date \'2024-02-01\' and "d" < date \'2024-03-01\''
    )


def test_a_partition_made_by_hand_means_delete_and_insert():
    plan = plan_step("t", "day", "DATE", "2024-01-01", "2024-01-02", ["2024-01-01"], ["t_manual"])
    assert not plan["aligned"]
