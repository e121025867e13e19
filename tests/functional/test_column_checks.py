"""Columns PostgreSQL cannot take as the model gives them are refused before any write.

- A column name over 63 bytes (PostgreSQL would truncate it) is a compile error
  naming the column and the limit, in every write mode and in pg_materialize;
  nothing is created. 63 bytes exactly is fine. The same for a schema name.
- Under on_schema_change 'ignore' / 'append_new_columns' a column whose new type
  does not convert to the table's type is one error naming the column, both types
  and the settings that would handle it; the table keeps its rows. A type that
  converts (integer into a bigint column) is written as before; sync_all_columns alters it.
"""

from typing import Any

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import checksum
from tests.functional.helpers import columns
from tests.functional.helpers import leftovers
from tests.functional.helpers import node_result
from tests.functional.helpers import table_exists

LONG = "c" * 70
EXACT = "e" * 63


def _long_model(config: str) -> str:
    return f"{{{{ config({config}) }}}}\nselect 1 as id, current_date as ts, 2 as {LONG}\n"


LONG_FULL_SQL = _long_model("materialized='pg_full', database='warehouse'")
LONG_TIME_SQL = _long_model(
    "materialized='pg_incremental_by_time', database='warehouse', event_time='ts'"
)
LONG_UPSERT_SQL = _long_model(
    "materialized='pg_upsert_by_key', database='warehouse', unique_key='id'"
)
LONG_MAT_SQL = _long_model(
    "materialized='table', post_hook=\"{{ pg_materialize(connection='warehouse', "
    "table='long_mat_copy') }}\""
)
# with dbt's generate_schema_name: <target schema>_sss..., over 63 bytes
LONG_SCHEMA_SQL = """
{{ config(materialized='pg_full', database='warehouse', schema='s' * 30) }}
select 1 as id
"""
EXACT_SQL = f"""
{{{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ts') }}}}
select 1 as id, current_date as ts, 2 as {EXACT}
"""


@pytest.mark.slow
class TestLongColumnNames:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "long_full.sql": LONG_FULL_SQL,
            "long_time.sql": LONG_TIME_SQL,
            "long_upsert.sql": LONG_UPSERT_SQL,
            "long_mat.sql": LONG_MAT_SQL,
            "exact.sql": EXACT_SQL,
            "long_schema.sql": LONG_SCHEMA_SQL,
        }

    def test_refused_before_any_write(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        results = run_dbt(["run"], expect_pass=False)
        for name, table in [
            ("long_full", "long_full"),
            ("long_time", "long_time"),
            ("long_upsert", "long_upsert"),
            ("long_mat", "long_mat_copy"),
        ]:
            result = node_result(results, name)
            assert result.status == "error", name
            assert LONG in str(result.message) and "63 bytes" in str(result.message), (
                result.message
            )
            assert not table_exists(pg, pg_schema, table), name
        assert leftovers(pg, pg_schema) == []

        # a schema name over 63 bytes: refused, and not created (truncated) in Postgres
        result = node_result(results, "long_schema")
        assert result.status == "error"
        assert f"schema '{pg_schema}_{'s' * 30}'" in str(result.message), result.message
        assert "63 bytes" in str(result.message), result.message
        created = pg.execute(
            "select nspname from pg_namespace where nspname like %s", (f"{pg_schema}_s%",)
        ).fetchall()
        assert created == []

        # 63 bytes is the limit, not over it: built, and an incremental run finds it
        assert node_result(results, "exact").status == "success"
        run_dbt(["run", "--select", "exact"])
        assert [c[0] for c in columns(pg, pg_schema, "exact")] == ["id", "ts", EXACT]


# v (bigint: DuckDB's range) changes type on step 2 (to varchar, or var 'v_type')
RETYPED_UPSERT_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id',
          on_schema_change=var('osc', 'ignore')) }}
select i as id,
{%- if var('step', 1) == 1 %} i as v
{%- else %} cast(i * 10 as {{ var('v_type', 'varchar') }}) as v
{%- endif %}
from range(3) t(i)
"""

# the key itself changes type: the upsert's key join would compare integer = varchar
RETYPED_KEY_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id',
          on_schema_change='append_new_columns') }}
select {% if var('step', 1) == 1 %}i{% else %}cast(i as varchar){% endif %} as id, i as v
from range(3) t(i)
"""

RETYPED_TIME_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='ts',
          on_schema_change=var('osc', 'ignore'), lookback=2) }}
select cast(current_date as timestamp) - to_days(cast(i as integer)) as ts,
{%- if var('step', 1) == 1 %} i as v
{%- else %} cast(i * 10 as {{ var('v_type', 'varchar') }}) as v
{%- endif %}
from range(3) t(i)
"""


@pytest.mark.slow
class TestRetypedColumns:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "retyped_upsert.sql": RETYPED_UPSERT_SQL,
            "retyped_key.sql": RETYPED_KEY_SQL,
            "retyped_time.sql": RETYPED_TIME_SQL,
        }

    def test_incompatible_type_is_one_clear_error(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run"])
        before = {
            name: checksum(pg, f'"{pg_schema}".{name}')
            for name in ["retyped_upsert", "retyped_key", "retyped_time"]
        }
        for osc in ["ignore", "append_new_columns"]:
            results = run_dbt(
                ["run", "--vars", f"{{step: 2, osc: {osc}}}"],
                expect_pass=False,
            )
            for name, column, old in [
                ("retyped_upsert", "v", "bigint"),
                ("retyped_key", "id", "bigint"),
                ("retyped_time", "v", "bigint"),
            ]:
                result = node_result(results, name)
                message = str(result.message)
                assert result.status == "error", name
                expected = f"column {column}: {old} in the table, text in the model"
                assert expected in message, message
                assert "sync_all_columns" in message and "--full-refresh" in message, message
                # nothing written: same rows, same column types
                assert checksum(pg, f'"{pg_schema}".{name}') == before[name], name
                assert dict(columns(pg, pg_schema, name))[column] == old, name
        assert leftovers(pg, pg_schema) == []

    def test_convertible_type_is_written_and_sync_alters_it(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        # integer converts to bigint on INSERT: 'ignore' writes the new values as bigint
        run_dbt(
            [
                "run",
                "--select",
                "retyped_upsert",
                "retyped_time",
                "--vars",
                "{step: 2, v_type: integer}",
            ]
        )
        for name in ["retyped_upsert", "retyped_time"]:
            assert dict(columns(pg, pg_schema, name))["v"] == "bigint", name
            values = pg.execute(f'select v from "{pg_schema}".{name} order by v').fetchall()
            assert [r[0] for r in values] == [0, 10, 20], name

        # sync_all_columns applies the incompatible change instead
        run_dbt(
            [
                "run",
                "--select",
                "retyped_upsert",
                "retyped_time",
                "--vars",
                "{step: 2, osc: sync_all_columns}",
            ]
        )
        for name in ["retyped_upsert", "retyped_time"]:
            assert dict(columns(pg, pg_schema, name))["v"] == "text", name
            values = pg.execute(f'select v from "{pg_schema}".{name} order by v').fetchall()
            assert [r[0] for r in values] == ["0", "10", "20"], name
        assert leftovers(pg, pg_schema) == []


# amount is decimal(12,2) on step 1 and decimal(12,3) on step 2 (1.125): Postgres
# would round 1.125 to 1.13 on INSERT into the numeric(12,2) column
RESCALED_SQL = """
{{ config(materialized='incremental', incremental_strategy='merge', database='warehouse',
          unique_key='id', on_schema_change=var('osc', 'ignore')) }}
select i as id,
{%- if var('step', 1) == 1 %} cast(i + 0.25 as decimal(12, 2)) as amount
{%- else %} cast(i + 0.125 as decimal(12, 3)) as amount
{%- endif %}
from range(3) t(i)
"""


class TestRescaledNumeric:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"rescaled.sql": RESCALED_SQL}

    def test_more_decimals_are_refused_not_rounded(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run"])
        before = checksum(pg, f'"{pg_schema}".rescaled')
        results = run_dbt(["run", "--vars", "{step: 2}"], expect_pass=False)
        message = str(node_result(results, "rescaled").message)
        assert "column amount: numeric(12,2) in the table, numeric(12,3) in the model" in message
        assert checksum(pg, f'"{pg_schema}".rescaled') == before
        assert leftovers(pg, pg_schema) == []

        # sync_all_columns widens the column: the values are written exactly
        run_dbt(["run", "--vars", "{step: 2, osc: sync_all_columns}"])
        amount_type = pg.execute(
            "select format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = %s::regclass and attname = 'amount'",
            (f'"{pg_schema}".rescaled',),
        ).fetchone()
        assert amount_type == ("numeric(12,3)",)
        values = pg.execute(f'select amount::text from "{pg_schema}".rescaled order by id')
        assert [r[0] for r in values.fetchall()] == ["0.125", "1.125", "2.125"]
