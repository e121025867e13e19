"""dbt-tests-adapter's model contract suites, re-pointed at pg_full models in Postgres.

The models of each suite are the suite's own fixtures with
``materialized = "pg_full", database = "warehouse"``; the expected DDL is what
the adapter runs inside Postgres (explicit types from its type map, the contract's
constraints as dbt renders them, foreign keys named inside Postgres). The
rollback suite reads the table from Postgres (``warehouse.<schema>.my_model``):
dbt-tests-adapter's ``relation_from_name`` only knows the profile's own database.
"""

from typing import Any
from typing import Dict

import psycopg
import pytest
from dbt.tests.adapter.constraints import fixtures
from dbt.tests.adapter.constraints.test_constraints import BaseConstraintsRollback
from dbt.tests.adapter.constraints.test_constraints import BaseConstraintsRuntimeDdlEnforcement
from dbt.tests.adapter.constraints.test_constraints import BaseModelConstraintsRuntimeEnforcement
from dbt.tests.adapter.constraints.test_constraints import BaseTableConstraintsColumnsEqual
from dbt.tests.util import get_manifest
from dbt.tests.util import run_dbt
from dbt.tests.util import write_file

from tests.functional.helpers import leftovers
from tests.functional.helpers import rows


@pytest.fixture(scope="class", autouse=True)
def _clean_postgres_schema(pg_schema: str) -> None:
    """Every class writes to warehouse.<test schema>: dropped after the class."""


def pg_full(sql: str) -> str:
    """A suite's `materialized = "table"` model as a pg_full model in Postgres."""
    return sql.replace(
        'materialized = "table"', 'materialized = "pg_full",\n    database = "warehouse"'
    )


# the referenced model of the column-level foreign key: a unique index on id
FOREIGN_KEY_MODEL_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select 1 as id
"""

# what the adapter runs for my_model with the column-level constraints (names of
# my_model and foreign_key_model are replaced by the suite before comparing)
EXPECTED_COLUMN_DDL = """
create table <model_identifier> (
  "id" integer not null primary key check ((id > 0)) check (id >= 1)
    references <foreign_key_model_identifier> (id) unique,
  "color" text,
  "date_day" text
);
insert into <model_identifier>
select "id" as "id", "color" as "color", "date_day" as "date_day" from (
-- depends_on: <foreign_key_model_identifier>
select
  'blue' as color,
  1 as id,
  '2019-01-01' as date_day
) _dbt_model;
"""

EXPECTED_MODEL_DDL = """
create table <model_identifier> (
  "id" integer not null,
  "color" text,
  "date_day" text,
  check ((id > 0)),
  check (id >= 1),
  primary key (id),
  constraint strange_uniqueness_requirement unique (color, date_day),
  foreign key (id) references <foreign_key_model_identifier> (id)
);
insert into <model_identifier>
select "id" as "id", "color" as "color", "date_day" as "date_day" from (
-- depends_on: <foreign_key_model_identifier>
select
  'blue' as color,
  1 as id,
  '2019-01-01' as date_day
) _dbt_model;
"""


class TestPgTableConstraintsColumnsEqual(BaseTableConstraintsColumnsEqual):
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {
            "my_model_wrong_order.sql": pg_full(fixtures.my_model_wrong_order_sql),
            "my_model_wrong_name.sql": pg_full(fixtures.my_model_wrong_name_sql),
            "constraints_schema.yml": fixtures.model_schema_yml,
        }

    # DuckDB computes the model, so the contract's types are DuckDB's
    @pytest.fixture
    def string_type(self) -> str:
        return "VARCHAR"

    @pytest.fixture
    def int_type(self) -> str:
        return "INTEGER"

    @pytest.fixture
    def data_types(self, schema_int_type: str, int_type: str, string_type: str) -> list:
        return [
            ["1", schema_int_type, int_type],
            ["'1'", string_type, string_type],
            ["true", "bool", "BOOLEAN"],
            ["'2013-11-03 00:00:00-07'::timestamptz", "timestamptz", "TIMESTAMP WITH TIME ZONE"],
            ["'2013-11-03 00:00:00-07'::timestamp", "timestamp", "TIMESTAMP"],
            ["ARRAY['a','b','c']", "text[]", "VARCHAR[]"],
            ["ARRAY[1,2,3]", "int[]", "INTEGER[]"],
            ["'1'::numeric", "numeric", "DECIMAL(18,3)"],
            ["""'{"bar": "baz", "balance": 7.77, "active": false}'::json""", "json", "JSON"],
        ]


class TestPgConstraintsRuntimeDdlEnforcement(BaseConstraintsRuntimeDdlEnforcement):
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {
            "my_model.sql": pg_full(fixtures.my_model_wrong_order_depends_on_fk_sql),
            "foreign_key_model.sql": FOREIGN_KEY_MODEL_SQL,
            "constraints_schema.yml": fixtures.model_fk_constraint_schema_yml,
        }

    @pytest.fixture(scope="class")
    def expected_sql(self) -> str:
        return EXPECTED_COLUMN_DDL


class TestPgModelConstraintsRuntimeEnforcement(BaseModelConstraintsRuntimeEnforcement):
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {
            "my_model.sql": pg_full(fixtures.my_model_wrong_order_depends_on_fk_sql),
            "foreign_key_model.sql": pg_full(fixtures.foreign_key_model_sql),
            "constraints_schema.yml": fixtures.constrained_model_schema_yml,
        }

    @pytest.fixture(scope="class")
    def expected_sql(self) -> str:
        return EXPECTED_MODEL_DDL


class TestPgConstraintsRollback(BaseConstraintsRollback):
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {
            "my_model.sql": pg_full(fixtures.my_model_sql),
            "constraints_schema.yml": fixtures.model_schema_yml,
        }

    @pytest.fixture(scope="class")
    def null_model_sql(self) -> str:
        return pg_full(fixtures.my_model_with_nulls_sql)

    def test__constraints_enforcement_rollback(
        self,
        project: Any,
        expected_color: str,
        expected_error_messages: list,
        null_model_sql: str,
        pg_schema: str,
        pg: psycopg.Connection,
    ) -> None:
        # the suite's steps, with the table read from Postgres
        assert len(run_dbt(["run", "-s", "my_model"])) == 1
        write_file(null_model_sql, "models", "my_model.sql")
        failing_results = run_dbt(["run", "-s", "my_model"], expect_pass=False)
        assert len(failing_results) == 1

        # the previous table and its row are still there, nothing is left behind
        assert rows(pg, f'select id, color from "{pg_schema}".my_model') == [(1, expected_color)]
        assert leftovers(pg, pg_schema) == []
        manifest = get_manifest(project.project_root)
        assert manifest.nodes["model.test.my_model"].config.contract.enforced is True
        self.assert_expected_error_messages(failing_results[0].message, expected_error_messages)


# --- a contract on an incremental mode: the first build creates the constraints,
# later runs insert into the constrained table

UPSERT_CONTRACT_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select * from (values (1, 'a'), (2, 'b')
{%- if var('step', 1) == 2 %}, (3, null){% endif %}) v(id, name)
"""

UPSERT_CONTRACT_YML = """
version: 2
models:
  - name: upsert_contract
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}, {type: primary_key}]
      - name: name
        data_type: varchar
        constraints: [{type: not_null}]
"""


class TestPgUpsertContract:
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {"upsert_contract.sql": UPSERT_CONTRACT_SQL, "schema.yml": UPSERT_CONTRACT_YML}

    def test_violating_row_fails_and_leaves_the_target(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        table = f'"{pg_schema}".upsert_contract'
        run_dbt(["run"])
        constraints = rows(
            pg,
            "select contype::text, conname::text from pg_constraint "
            "where conrelid = %s::regclass order by 1",
            (table,),
        )
        assert constraints == [("p", "upsert_contract_pkey")]
        not_null = rows(
            pg,
            "select attname::text from pg_attribute where attrelid = %s::regclass "
            "and attnum > 0 and attnotnull order by 1",
            (table,),
        )
        assert not_null == [("id",), ("name",)]

        results = run_dbt(["run", "--vars", "{step: 2}"], expect_pass=False)
        assert "violates not-null constraint" in str(results[0].message)
        assert rows(pg, f"select id, name from {table} order by id") == [(1, "a"), (2, "b")]
        assert leftovers(pg, pg_schema) == []

        # a full refresh rebuilds it with the same constraints (names after the table)
        run_dbt(["run", "--full-refresh"])
        assert rows(
            pg, "select conname::text from pg_constraint where conrelid = %s::regclass", (table,)
        ) == [("upsert_contract_pkey",)]
