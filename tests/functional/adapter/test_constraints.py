"""dbt-tests-adapter's model contract and constraint suites on DuckDB-resident models,
with DuckDB's type names and error messages as fixtures (as dbt-duckdb runs them).
The
columns-equal checks run through `table` only (the view and incremental variants
repeat them through other materializations and take as long)."""

import pytest
from dbt.tests.adapter.constraints.test_constraints import BaseConstraintsRollback
from dbt.tests.adapter.constraints.test_constraints import BaseConstraintsRuntimeDdlEnforcement
from dbt.tests.adapter.constraints.test_constraints import BaseModelConstraintsRuntimeEnforcement
from dbt.tests.adapter.constraints.test_constraints import BaseTableConstraintsColumnsEqual

# DuckDB's NOT NULL violation, e.g. 'NOT NULL constraint failed: my_model.id'
NOT_NULL_FAILED = ["NOT NULL constraint failed"]


class DuckDBColumnTypes:
    """The contract's column types as DuckDB names them."""

    @pytest.fixture
    def int_type(self):
        return "INT"

    @pytest.fixture
    def string_type(self):
        return "VARCHAR"

    @pytest.fixture
    def data_types(self, schema_int_type, int_type, string_type):
        # sql_column_value, schema_data_type, error_data_type
        return [
            ["1", schema_int_type, int_type],
            ["'1'", string_type, string_type],
            ["true", "bool", "BOOL"],
            ["'2013-11-03 00:00:00-07'::timestamp", "TIMESTAMP", "TIMESTAMP"],
            ["'2013-11-03 00:00:00-07'::timestamptz", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"],
            ["ARRAY['a','b','c']", "VARCHAR[]", "VARCHAR[]"],
            ["ARRAY[1,2,3]", "INTEGER[]", "INTEGER[]"],
            ["'1'::numeric", "numeric", "DECIMAL"],
            ["""'{"bar": "baz", "balance": 7.77, "active": false}'::json""", "json", "JSON"],
        ]


@pytest.mark.slow
class TestTableConstraintsColumnsEqual(DuckDBColumnTypes, BaseTableConstraintsColumnsEqual):
    pass


class TestTableConstraintsRuntimeDdlEnforcement(
    DuckDBColumnTypes, BaseConstraintsRuntimeDdlEnforcement
):
    pass


class TestTableConstraintsRollback(DuckDBColumnTypes, BaseConstraintsRollback):
    @pytest.fixture(scope="class")
    def expected_error_messages(self):
        return NOT_NULL_FAILED


class TestModelConstraintsRuntimeEnforcement(
    DuckDBColumnTypes, BaseModelConstraintsRuntimeEnforcement
):
    @pytest.fixture(scope="class")
    def expected_error_messages(self):
        return NOT_NULL_FAILED
