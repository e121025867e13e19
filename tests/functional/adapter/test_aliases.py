"""dbt-tests-adapter's alias suites, unchanged."""

from dbt.tests.adapter.aliases.test_aliases import BaseAliasErrors
from dbt.tests.adapter.aliases.test_aliases import BaseAliases


class TestAliases(BaseAliases):
    pass


class TestAliasErrors(BaseAliasErrors):
    pass
