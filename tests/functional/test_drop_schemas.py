"""`dbt run-operation pg_drop_schemas`: the `schemas:` list form, read_only
connections left alone, and the arguments refused before anything is dropped
(macros/utils/drop_schemas.sql). The prefix form and dry_run: test_clone.py.
"""

import uuid
from typing import Any
from typing import Dict
from typing import List

import psycopg
import pytest
from dbt.tests.util import run_dbt
from dbt.tests.util import run_dbt_and_capture

from tests.functional import helpers


def existing(conn: psycopg.Connection, names: List[str]) -> List[str]:
    """Which of the schemas ``names`` exist in ``conn``'s database, sorted."""
    found = helpers.rows(
        conn, "select nspname::text from pg_namespace where nspname = any(%s) order by 1", (names,)
    )
    return [r[0] for r in found]


class TestDropSchemas:
    @pytest.fixture(scope="class")
    def dbt_profile_target(self, pg_server: Any, tmp_path_factory: Any) -> Dict[str, Any]:
        # a read_only connection first: dropping through it would fail the operation
        path = tmp_path_factory.mktemp("duckdb") / "dev.duckdb"
        return {
            "type": "duckdb_postgres",
            "path": str(path),
            "threads": 1,
            "postgres": {
                "reader": pg_server.profile_connection(read_only=True),
                "warehouse": pg_server.profile_connection(),
            },
        }

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"one.sql": "select 1 as id"}

    def test_schemas_list_and_refusals(self, project: Any, pg: psycopg.Connection) -> None:
        base = f"dbt_cloud_pr_{uuid.uuid4().hex[:8]}"
        doomed = [f"{base}_1", f"{base}_1_marts", f'{base}_1 "q"']
        kept = f"{base}_2"
        for name in [*doomed, kept]:
            pg.execute(f'create schema "{name.replace(chr(34), chr(34) * 2)}"')
            pg.execute(f'create table "{name.replace(chr(34), chr(34) * 2)}".t as select 1 as id')
        project.run_sql(f'create schema "{base}_1"')
        project.run_sql(f'create table "{base}_1".t as select 1 as id')

        # refused before anything is dropped
        for args in [
            "{prefix: ''}",
            "{prefix: '  '}",
            "{}",
            f"{{schemas: {base}_1}}",
            f"{{schemas: [{base}_1, pg_catalog]}}",
        ]:
            _, output = run_dbt_and_capture(
                ["run-operation", "pg_drop_schemas", "--args", args], expect_pass=False
            )
            assert "pg_drop_schemas" in output, (args, output)
            assert existing(pg, doomed) == sorted(doomed), args
        assert (
            "would match every schema"
            in run_dbt_and_capture(
                ["run-operation", "pg_drop_schemas", "--args", "{prefix: ''}"], expect_pass=False
            )[1]
        )

        # exact names: those go (in Postgres and DuckDB), the others stay
        names = ", ".join(f"'{n}'" for n in doomed)
        run_dbt(["run-operation", "pg_drop_schemas", "--args", f"{{schemas: [{names}]}}"])
        assert existing(pg, [*doomed, kept]) == [kept]
        found = project.run_sql(
            f"select count(*) from duckdb_schemas() where schema_name = '{base}_1'", fetch="one"
        )
        assert found == (0,)
