"""dbt-tests-adapter's incremental suites on DuckDB-resident models, unchanged:
unique_key, incremental_predicates, on_schema_change and merge_exclude_columns of
dbt-duckdb's `incremental` materialization under the duckdb_postgres adapter type."""

import pytest
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import (
    BaseMergeExcludeColumns,
)
from dbt.tests.adapter.incremental.test_incremental_on_schema_change import (
    BaseIncrementalOnSchemaChange,
)
from dbt.tests.adapter.incremental.test_incremental_predicates import BaseIncrementalPredicates
from dbt.tests.adapter.incremental.test_incremental_unique_id import BaseIncrementalUniqueKey


@pytest.mark.slow
class TestIncrementalUniqueKey(BaseIncrementalUniqueKey):
    pass


class TestIncrementalPredicates(BaseIncrementalPredicates):
    pass


@pytest.mark.slow
class TestIncrementalOnSchemaChange(BaseIncrementalOnSchemaChange):
    pass


class TestMergeExcludeColumns(BaseMergeExcludeColumns):
    pass
