"""dbt-tests-adapter's base microbatch suite (BaseMicrobatch) run against
`pg_incremental_by_time`, by overriding fixtures only.

The suite fakes dbt's "now" with ``patch_microbatch_end_time`` (a patch of
``MicrobatchBuilder.build_end_time``); pg_incremental_by_time reads the same clock, so
each run's window ends at the end of the patched day. Overrides:
- the microbatch model is ``pg_incremental_by_time`` into the ``warehouse``
  Postgres connection (same event_time, batch_size and begin as the suite's);
- the suite counts rows of ``<test database>.<test schema>.microbatch_model``: an
  after-commit post-hook of the model makes that name a DuckDB view of the Postgres
  table, so the count reads Postgres;
- the input model and the inserted rows use ``TIMESTAMP '2020-01-01 00:00:00'``: the
  suite's ``'2020-01-01 00:00:00-0'`` is not a DuckDB timestamp (stock dbt-duckdb
  fails the same way).
"""

import pytest
from dbt.tests.adapter.incremental.test_incremental_microbatch import BaseMicrobatch

INPUT_MODEL_SQL = """
{{ config(materialized='table', event_time='event_time') }}
select 1 as id, TIMESTAMP '2020-01-01 00:00:00' as event_time
union all
select 2 as id, TIMESTAMP '2020-01-02 00:00:00' as event_time
union all
select 3 as id, TIMESTAMP '2020-01-03 00:00:00' as event_time
"""

MICROBATCH_MODEL_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='event_time',
          batch_size='day', begin=modules.datetime.datetime(2020, 1, 1, 0, 0, 0),
          post_hook=after_commit("create or replace view {{ target.database }}."
                                 ~ "{{ adapter.pg_quote(this.schema) }}.microbatch_model "
                                 ~ "as select * from {{ this }}")) }}
select * from {{ ref('input_model') }}
"""


@pytest.mark.slow
class TestMicrobatch(BaseMicrobatch):
    @pytest.fixture(scope="class")
    def input_model_sql(self) -> str:
        return INPUT_MODEL_SQL

    @pytest.fixture(scope="class")
    def microbatch_model_sql(self) -> str:
        return MICROBATCH_MODEL_SQL

    @pytest.fixture(scope="class")
    def insert_two_rows_sql(self, project) -> str:
        relation = project.adapter.Relation.create(
            database=project.database, schema=project.test_schema
        )
        return (
            f"insert into {relation}.input_model (id, event_time) values "
            "(4, TIMESTAMP '2020-01-04 00:00:00'), (5, TIMESTAMP '2020-01-05 00:00:00')"
        )
