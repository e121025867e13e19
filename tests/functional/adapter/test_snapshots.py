"""dbt-tests-adapter's snapshot suites on DuckDB-resident snapshots, unchanged."""

import pytest
from dbt.tests.adapter.simple_snapshot.test_snapshot import BaseSimpleSnapshot
from dbt.tests.adapter.simple_snapshot.test_snapshot import BaseSnapshotCheck


@pytest.mark.slow
class TestSimpleSnapshot(BaseSimpleSnapshot):
    pass


class TestSnapshotCheck(BaseSnapshotCheck):
    pass
