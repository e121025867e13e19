"""The choice of type for unconstrained numeric pg_query columns (no Postgres needed;
tests/functional/test_pg_query_numeric.py runs them against Postgres)."""

from dbt.adapters.duckdb_postgres.exact_numeric import UNMEASURED_SCALE
from dbt.adapters.duckdb_postgres.exact_numeric import NumericStats
from dbt.adapters.duckdb_postgres.exact_numeric import choose_scale
from dbt.adapters.duckdb_postgres.exact_numeric import choose_scales
from dbt.adapters.duckdb_postgres.exact_numeric import parse_stats
from dbt.adapters.duckdb_postgres.exact_numeric import read_expression
from dbt.adapters.duckdb_postgres.exact_numeric import stats_sql

LABEL = "pg_query source 'app.totals'"


def test_integer_digits() -> None:
    assert NumericStats(2, "12345678901234567.90").integer_digits == 17
    assert NumericStats(12, "0.123456789012").integer_digits == 0
    assert NumericStats(0, "0").integer_digits == 0
    assert NumericStats(0, "1").integer_digits == 1
    assert NumericStats(0, "123456789012345678901234567890").integer_digits == 30


def test_special_values() -> None:
    for text in ("NaN", "Infinity"):
        assert NumericStats(None, text).special
    assert not NumericStats(2, "1.50").special
    assert not NumericStats(None, None).special


def test_scale_is_the_largest_scale_when_it_fits() -> None:
    assert choose_scale("n", NumericStats(2, "12345678901234567.90")) == (2, "")
    assert choose_scale("n", NumericStats(12, "100000000.000000000001")) == (12, "")
    # 38 digits in all: fits exactly
    assert choose_scale("n", NumericStats(8, "9" * 30 + ".5")) == (8, "")
    assert choose_scale("n", NumericStats(38, "0.5")) == (38, "")


def test_nothing_to_measure_reads_at_the_unmeasured_scale() -> None:
    assert choose_scale("n", NumericStats(None, None)) == (UNMEASURED_SCALE, "")


def test_too_wide_names_the_column_and_the_casts() -> None:
    scale, problem = choose_scale("n", NumericStats(12, "123456789012345678901234567890"))
    assert scale == 0
    assert "column 'n' needs 42 digits (30 before the decimal point, up to 12 after)" in problem
    assert "::numeric(38,8) (rounds to 8 decimals)" in problem
    assert "::float8" in problem and "::text" in problem
    # more than 38 integer digits: no numeric(38, s) to suggest
    _, problem = choose_scale("n", NumericStats(0, "1" + "0" * 40))
    assert "needs 41 digits" in problem and "::numeric(" not in problem


def test_nan_is_a_problem() -> None:
    _, problem = choose_scale("n", NumericStats(2, "NaN"))
    assert "column 'n' holds NaN or Infinity" in problem
    assert "::float8 (approximate, keeps NaN and Infinity)" in problem


def test_choose_scales_raises_once_for_every_column() -> None:
    stats = {
        "a": NumericStats(2, "1.50"),
        "b": NumericStats(None, "NaN"),
        "c": NumericStats(20, "1" + "0" * 20),
    }
    scales, problem = choose_scales(LABEL, stats, ["a", "b", "c"])
    assert scales == {}
    assert problem.startswith(LABEL + ": ")
    assert "column 'b'" in problem and "column 'c'" in problem and "column 'a'" not in problem
    assert problem.endswith("Nothing was read or written.")
    # a column Postgres could not be asked about gets the unmeasured scale
    assert choose_scales(LABEL, {"a": NumericStats(2, "1.50")}, ["a", "z"]) == (
        {"a": 2, "z": UNMEASURED_SCALE},
        "",
    )


def test_stats_sql_and_parse() -> None:
    sql = stats_sql("select 1", ['my "col"', "n"])
    assert 'max(scale(_dbt_q."my ""col""")) as "_dbt_s0"' in sql
    assert 'max(abs(_dbt_q."n"))::text as "_dbt_m1"' in sql
    assert sql.endswith("from (\nselect 1\n) _dbt_q")
    assert parse_stats([2, "1.50", None, None], ["a", "b"]) == {
        "a": NumericStats(2, "1.50"),
        "b": NumericStats(None, None),
    }


def test_read_expression_checks_every_value() -> None:
    expression = read_expression(LABEL, "it's", 2)
    assert expression.startswith(
        """(case when scale("it's") <= 2 or "it's" is null then "it's" else ("""
    )
    assert expression.endswith(""")::integer end)::numeric(38,2) as "it's\"""")
    # the message is one Postgres literal, its quotes doubled
    assert """'pg_query source ''app.totals'': column "it''s" has a value""" in expression
