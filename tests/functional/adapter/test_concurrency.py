"""dbt-tests-adapter's concurrency suite (4 threads, a failing and a skipped model),
unchanged."""

import pytest
from dbt.tests.adapter.concurrency.test_concurrency import BaseConcurrency


@pytest.mark.slow
class TestConcurrency(BaseConcurrency):
    pass
