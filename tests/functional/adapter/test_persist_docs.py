"""dbt-tests-adapter's persist_docs suites on DuckDB-resident models, unchanged."""

from dbt.tests.adapter.persist_docs.test_persist_docs import BasePersistDocs
from dbt.tests.adapter.persist_docs.test_persist_docs import BasePersistDocsCommentOnQuotedColumn


class TestPersistDocs(BasePersistDocs):
    pass


class TestPersistDocsCommentOnQuotedColumn(BasePersistDocsCommentOnQuotedColumn):
    pass
