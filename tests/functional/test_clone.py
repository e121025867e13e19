"""`dbt clone` of Postgres-resident models into a CI job's PR schema, then
`pg_drop_schemas` (README "CI jobs"; macros/materializations/clone.sql).

Production is the `default` target (schema: the test schema); the CI job is the
`pr` target (schema ``dbt_cloud_pr_<hex>_1``) with ``--state`` pointing at
production's manifest. Assertions read Postgres (relkind, checksums, indexes) and
DuckDB's catalog.
"""

import shutil
import uuid
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional import helpers

SOURCES_YML = """
version: 2
sources:
  - name: src
    database: app
    schema: "{{ var('src_schema') }}"
    tables:
      - name: items
"""

SETUP_SQL = """
create table __SRC__.items (id integer primary key, val text, amount numeric(12, 2));
insert into __SRC__.items select i, 'v' || i, i * 1.25 from generate_series(1, 200) i;
"""

C_FULL = """
{{ config(materialized='pg_full', database='warehouse', indexes=[{'columns': ['val']}]) }}
select id, val, amount from {{ source('src', 'items') }}
"""
C_UPS = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select id, val, amount from {{ source('src', 'items') }}
"""
C_DUCK = """
{{ config(materialized='table') }}
select id, val from {{ source('src', 'items') }}
"""
MODELS = {
    "sources.yml": SOURCES_YML,
    "c_full.sql": C_FULL,
    "c_ups.sql": C_UPS,
    "c_duck.sql": C_DUCK,
}
PG_MODELS = ["c_full", "c_ups"]


def pg_schemas(conn: psycopg.Connection, prefix: str) -> List[str]:
    """Schemas of ``conn``'s database whose name starts with ``prefix``, sorted."""
    found = helpers.rows(
        conn,
        "select nspname::text from pg_namespace where left(nspname, length(%s)) = %s order by 1",
        (prefix, prefix),
    )
    return [r[0] for r in found]


def relkind(conn: psycopg.Connection, schema: str, table: str) -> Any:
    """pg_class.relkind of ``schema.table`` ('r' table, 'v' view), None when missing."""
    found = helpers.rows(
        conn,
        "select c.relkind::text from pg_class c where c.oid = to_regclass(%s)",
        (helpers.qualified(schema, table),),
    )
    return found[0][0] if found else None


def duckdb_schemas(project: Any, prefix: str) -> List[str]:
    """Schemas of the project's DuckDB database whose name starts with ``prefix``."""
    found = project.run_sql(
        "select schema_name from duckdb_schemas() where database_name = current_database() "
        f"and starts_with(schema_name, '{prefix}') order by 1",
        fetch="all",
    )
    return [r[0] for r in found]


@pytest.fixture(scope="class")
def pr_schema() -> str:
    """The CI job's PR schema: dbt Cloud's dbt_cloud_pr_<job>_<pr> (unique per class)."""
    return f"dbt_cloud_pr_{uuid.uuid4().hex[:8]}_1"


@pytest.fixture(scope="class")
def cleanup(pg_server: Any, pr_schema: str, unique_schema: str) -> Iterator[None]:
    """Drop the production and PR schemas in Postgres after the class."""
    yield
    with pg_server.connect() as conn:
        for prefix in (pr_schema[:-2], unique_schema):
            for schema in pg_schemas(conn, prefix):
                conn.execute(f'drop schema "{schema}" cascade')


@pytest.mark.slow
class TestCloneIntoPrSchemaThenDrop:
    @pytest.fixture(scope="class")
    def dbt_profile_data(self, dbt_profile_data: Dict[str, Any], pr_schema: str) -> Any:
        outputs = dbt_profile_data["test"]["outputs"]
        outputs["pr"] = {**outputs["default"], "schema": pr_schema}
        return dbt_profile_data

    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return SETUP_SQL

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return MODELS

    @pytest.fixture(scope="class")
    def project_config_update(self, unique_schema: str) -> dict:
        return {"vars": {"src_schema": f"{unique_schema}_src"}}

    def test_clone_then_incremental_then_drop(
        self,
        project: Any,
        src_schema: str,
        pr_schema: str,
        cleanup: None,
        pg: psycopg.Connection,
    ) -> None:
        prod = project.test_schema
        results = run_dbt(["run"])
        assert all(r.status == "success" for r in results)
        production = {m: helpers.checksum(pg, helpers.qualified(prod, m)) for m in PG_MODELS}
        prod_oids = {m: helpers.relation_oid(pg, prod, m) for m in PG_MODELS}
        state = f"{project.project_root}/state"
        shutil.copytree(f"{project.project_root}/target", state)

        # a decoy that a LIKE 'dbt_cloud_pr_<hex>_1%' would match but the prefix does not
        decoy = pr_schema[:-2] + "x1"
        pg.execute(f'create schema "{decoy}"')

        # the CI job: clone every model into the PR schema
        results = run_dbt(["clone", "--state", state, "--target", "pr"])
        assert all(r.status == "success" for r in results), [
            (r.node.name, r.message) for r in results
        ]
        for m in PG_MODELS:
            assert relkind(pg, pr_schema, m) == "r", m  # a table copy, not a view
            assert helpers.checksum(pg, helpers.qualified(pr_schema, m)) == production[m], m
        # indexes came along: the upsert's unique key, pg_full's `indexes`
        assert any(
            "UNIQUE" in d and "(id)" in d
            for d in helpers.index_definitions(pg, pr_schema, "c_ups")
        )
        assert any("(val)" in d for d in helpers.index_definitions(pg, pr_schema, "c_full"))
        assert helpers.leftovers(pg, pr_schema) == []
        # the DuckDB model: dbt-duckdb's clone, a view on production's table
        assert project.run_sql(f'select count(*) from "{pr_schema}"."c_duck"', fetch="one") == (
            200,
        )

        # a CI run of the cloned upsert model writes the PR copy, not production
        pg.execute(f"update \"{src_schema}\".items set val = val || '*' where id <= 10")
        results = run_dbt(["run", "--target", "pr", "--select", "c_ups"])
        assert all(r.status == "success" for r in results)
        assert helpers.rows(
            pg, f"select count(*) from {helpers.qualified(pr_schema, 'c_ups')} where val like '%*'"
        ) == [(10,)]
        for m in PG_MODELS:
            assert helpers.checksum(pg, helpers.qualified(prod, m)) == production[m], m
            assert helpers.relation_oid(pg, prod, m) == prod_oids[m], m

        # a second clone is a no-op (the relation exists), as dbt's clone
        before = helpers.checksum(pg, helpers.qualified(pr_schema, "c_ups"))
        run_dbt(["clone", "--state", state, "--target", "pr"])
        assert helpers.checksum(pg, helpers.qualified(pr_schema, "c_ups")) == before

        # a clone that fails (--full-refresh, but a view depends on the PR table) rolls
        # back whole: the PR table keeps its rows, nothing is left behind
        pr_ups = helpers.qualified(pr_schema, "c_ups")
        pg.execute(f"create view {helpers.qualified(pr_schema, 'dep')} as select * from {pr_ups}")
        args = ["clone", "--state", state, "--target", "pr", "--full-refresh", "--select", "c_ups"]
        results = run_dbt(args, expect_pass=False)
        assert "depend" in helpers.result_message(results, "c_ups")
        assert helpers.checksum(pg, pr_ups) == before
        assert helpers.leftovers(pg, pr_schema) == []

        # dry run: lists, drops nothing
        drop_args = f"{{prefix: {pr_schema}}}"
        run_dbt(
            [
                "run-operation",
                "pg_drop_schemas",
                "--args",
                f"{{prefix: {pr_schema}, dry_run: true}}",
            ]
        )
        assert pg_schemas(pg, pr_schema) == [pr_schema]
        assert duckdb_schemas(project, pr_schema) == [pr_schema]
        assert relkind(pg, pr_schema, "c_ups") == "r"

        run_dbt(["run-operation", "pg_drop_schemas", "--args", drop_args])
        assert pg_schemas(pg, pr_schema) == []
        assert duckdb_schemas(project, pr_schema) == []
        # nothing else went: the decoy, production and its DuckDB schema
        assert pg_schemas(pg, decoy) == [decoy]
        for m in PG_MODELS:
            assert helpers.checksum(pg, helpers.qualified(prod, m)) == production[m], m
        assert duckdb_schemas(project, prod) == [prod]
