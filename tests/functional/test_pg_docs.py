"""persist_docs and `dbt docs generate` for Postgres tables.

Models of the three write modes with ``persist_docs: {relation: true, columns: true}``:
their descriptions become Postgres comments (read back with obj_description /
col_description), and the catalog lists the Postgres tables with their Postgres
column types (format_type, as dbt-postgres' catalog), comments, owner and row
estimate. A DuckDB model keeps DuckDB's catalog.
"""

import json
from pathlib import Path
from typing import Any
from typing import Dict

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import rows

ROWS_SQL = """
select 1 as id, 'a' as name, 12.5::decimal(12, 2) as amount, ['x', 'y'] as tags,
       timestamp '2024-01-01' as at
union all
select 2, 'b', 1.25, [], timestamp '2024-01-02'
"""

FULL_SQL = "{{ config(materialized='pg_full', database='warehouse') }}\n" + ROWS_SQL
UPSERT_SQL = (
    "{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}\n"
    + ROWS_SQL
)
TIME_SQL = (
    "{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='at',"
    " begin='2024-01-01') }}\n" + ROWS_SQL
)
DUCKDB_SQL = "{{ config(materialized='table') }}\nselect 1 as id"

TABLE_DESCRIPTION = 'Orders, one row each: it\'s "quoted" -- and $$ safe'
COLUMN_DESCRIPTIONS = {"id": "The key", "name": "Customer's name", "amount": "In EUR; exact"}

SCHEMA_YML = """
version: 2
models:
{models}
"""
MODEL_YML = """
  - name: {name}
    description: {description}
    config:
      persist_docs: {{relation: true, columns: true}}
    columns:
      - name: id
        description: {id}
      - name: name
        description: {name_description}
      - name: amount
        description: {amount}
      - name: not_in_the_table
        description: ignored
"""

PG_MODELS = ["docs_full", "docs_upsert", "docs_time"]


def schema_yml() -> str:
    models = "".join(
        MODEL_YML.format(
            name=name,
            description=json.dumps(TABLE_DESCRIPTION),
            id=json.dumps(COLUMN_DESCRIPTIONS["id"]),
            name_description=json.dumps(COLUMN_DESCRIPTIONS["name"]),
            amount=json.dumps(COLUMN_DESCRIPTIONS["amount"]),
        )
        for name in PG_MODELS
    )
    return SCHEMA_YML.format(models=models)


def comments(conn: psycopg.Connection, schema: str, table: str) -> Dict[str, Any]:
    """The table comment (key '') and the column comments that are set."""
    oid = f'"{schema}"."{table}"'
    found: Dict[str, Any] = {"": rows(conn, "select obj_description(%s::regclass)", (oid,))[0][0]}
    for name, comment in rows(
        conn,
        "select attname::text, col_description(attrelid, attnum) from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped",
        (oid,),
    ):
        if comment is not None:
            found[name] = comment
    return found


@pytest.mark.slow
class TestPersistDocsAndCatalog:
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return {
            "docs_full.sql": FULL_SQL,
            "docs_upsert.sql": UPSERT_SQL,
            "docs_time.sql": TIME_SQL,
            "docs_duckdb.sql": DUCKDB_SQL,
            "schema.yml": schema_yml(),
        }

    def test_comments_and_catalog(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        expected = {"": TABLE_DESCRIPTION, **COLUMN_DESCRIPTIONS}
        run_dbt(["run"])
        for table in PG_MODELS:
            assert comments(pg, pg_schema, table) == expected, table
        # the incremental runs keep (rewrite) the comments
        run_dbt(["run"])
        for table in PG_MODELS:
            assert comments(pg, pg_schema, table) == expected, table

        run_dbt(["docs", "generate"])
        catalog = json.loads(Path(project.project_root, "target", "catalog.json").read_text())
        for table in PG_MODELS:
            node = catalog["nodes"][f"model.test.{table}"]
            assert node["metadata"]["type"] == "BASE TABLE"
            assert node["metadata"]["comment"] == TABLE_DESCRIPTION
            assert node["metadata"]["owner"] == rows(pg, "select current_user::text")[0][0]
            assert node["stats"]["row_count"]["value"] == 2, node["stats"]
            formatted = dict(
                rows(
                    pg,
                    "select attname::text, format_type(atttypid, atttypmod) from pg_attribute "
                    "where attrelid = %s::regclass and attnum > 0 and not attisdropped",
                    (f'"{pg_schema}"."{table}"',),
                )
            )
            types = {name: column["type"] for name, column in node["columns"].items()}
            assert types == formatted, table
            assert types["amount"] == "numeric(12,2)" and types["tags"] == "text[]"
            # types without modifiers read as information_schema.columns.data_type does
            data_types = dict(
                rows(
                    pg,
                    "select column_name::text, data_type::text from information_schema.columns "
                    "where table_schema = %s and table_name = %s",
                    (pg_schema, table),
                )
            )
            for name in ["id", "name", "at"]:
                assert types[name] == data_types[name], name
            assert node["columns"]["name"]["comment"] == COLUMN_DESCRIPTIONS["name"]

        duckdb_node = catalog["nodes"]["model.test.docs_duckdb"]
        assert duckdb_node["columns"]["id"]["type"] == "INTEGER"
