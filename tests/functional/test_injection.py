"""Names are never SQL: quotes in `alias`, `schema` and pg_materialize `table=` / `schema=`.

A payload that would end the identifier (``"``) or a string literal (``'``) and run
``drop table`` is used as a name in every place a model or post-hook names a
relation. The canary table must survive, and the server's own statement log
(``log_statement=all``) plus a ``sql_drop`` event trigger (whose log line no
rollback can undo) must show that no DROP of it was ever executed. A model whose
name carries the payload either builds a table with exactly that name or fails
with a clear error.
"""

import re
from typing import Any
from typing import Iterator
from typing import List

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.conftest import drop_schema
from tests.functional.helpers import leftovers
from tests.functional.helpers import result_status
from tests.functional.helpers import rows

CANARY_SCHEMA = "cnry"

# each ends the identifier (or literal) and drops the canary: through DuckDB's
# attached catalog (three-part name) or inside Postgres (two-part name)
DUCK_PAYLOAD = 'a"; drop table warehouse.cnry.canary; --'
PG_PAYLOAD = 'b"; drop table cnry.canary; --'
LITERAL_PAYLOAD = "c'; drop table warehouse.cnry.canary; --"
SCHEMA_PAYLOAD = 's"; drop table warehouse.cnry.canary; --'
# the rest of the statement parses after it, so an unescaped literal runs the DROP
SCHEMA_LITERAL_PAYLOAD = "q'; drop table warehouse.cnry.canary; select 'x"
# pg_materialize table= splits at the first dot:
# schema 'm"; drop table warehouse', table 'cnry.canary; --'
TABLE_PAYLOAD = 'm"; drop table warehouse.cnry.canary; --'
TARGET_SCHEMA_PAYLOAD = 't"; drop table cnry.canary; --'
LEGIT_NAME = 'my "quoted" table'


def _jinja(value: str) -> str:
    """``value`` as a Jinja string literal."""
    return repr(value)


def _pg_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (written out here, not the adapter's helper)."""
    return '"' + name.replace('"', '""') + '"'


FULL_ALIAS_SQL = f"""
{{{{ config(materialized='pg_full', database='warehouse', alias={_jinja(DUCK_PAYLOAD)},
           indexes=[{{'columns': ['id']}}]) }}}}
select i as id, 'v' || i as v from range(3) t(i)
"""

UPSERT_ALIAS_SQL = f"""
{{{{ config(materialized='pg_upsert_by_key', database='warehouse', alias={_jinja(PG_PAYLOAD)},
           unique_key='id') }}}}
select i as id, 'v' || (i * {{{{ var('mult', 1) }}}}) as v from range(3) t(i)
"""

TIME_ALIAS_SQL = f"""
{{{{ config(materialized='pg_incremental_by_time', database='warehouse',
           alias={_jinja(LITERAL_PAYLOAD)}, event_time='ts', begin='2024-01-01') }}}}
select cast(current_date as timestamp) - to_days(cast(i as integer)) as ts, i as id
from range(3) t(i)
"""

# a column and a role named with a payload: unique_key, indexes, merge columns, grants
COLUMN_PAYLOAD = 'k"; drop table cnry.canary; --'
ROLE_PAYLOAD = 'r"; drop table cnry.canary; --'
LEGIT_SQL = f"""
{{{{ config(materialized='pg_upsert_by_key', database='warehouse', alias={_jinja(LEGIT_NAME)},
           unique_key={_jinja(COLUMN_PAYLOAD)}, merge_update_columns=['v'],
           indexes=[{{'columns': [{_jinja(COLUMN_PAYLOAD)}, 'v']}}],
           grants={{'select': ['public', {_jinja(ROLE_PAYLOAD)}]}}) }}}}
select i as {_pg_ident(COLUMN_PAYLOAD)},
       'v' || (i * {{{{ var('mult', 1) }}}}) as v
from range(3) t(i)
"""

SCHEMA_SQL = f"""
{{{{ config(materialized='pg_full', database='warehouse', schema={_jinja(SCHEMA_PAYLOAD)}) }}}}
select 1 as id
"""

SCHEMA_LITERAL_SQL = f"""
{{{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id',
           schema={_jinja(SCHEMA_LITERAL_PAYLOAD)}) }}}}
select 1 as id
"""

# DuckDB-resident models written on by pg_materialize post-hooks (configured in YAML)
MAT_TABLE_SQL = """
{{ config(materialized='table') }}
select 1 as id, 'x' as v
"""

MAT_SCHEMA_SQL = MAT_TABLE_SQL


def _yaml_double_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _post_hook(**kwargs: str) -> str:
    args = ", ".join(f"{k}={_jinja(v)}" for k, v in kwargs.items())
    return _yaml_double_quoted("{{ pg_materialize(" + args + ") }}")


MODELS_YML = f"""
version: 2
models:
  - name: mat_table
    config:
      post_hook:
        - {_post_hook(connection="warehouse", table=TABLE_PAYLOAD, mode="full")}
  - name: mat_schema
    config:
      post_hook:
        - {
    _post_hook(
        connection="warehouse", schema=TARGET_SCHEMA_PAYLOAD, mode="upsert_by_key", unique_key="id"
    )
}
"""

# names used verbatim (dbt's default would prefix the target schema): the payload is
# the whole schema name
GENERATE_SCHEMA_NAME_SQL = """
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
"""

# schemas the models above create in Postgres (dropped afterwards)
CREATED_SCHEMAS = [
    SCHEMA_PAYLOAD,
    SCHEMA_LITERAL_PAYLOAD,
    TABLE_PAYLOAD.split(".", 1)[0],
    TARGET_SCHEMA_PAYLOAD,
]

# a quoted identifier or string literal in SQL text (doubled quotes inside)
_QUOTED = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'')


def canary_drops(log_text: str, table: str = "canary") -> List[str]:
    """Lines of the server log showing a DROP of ``cnry.<table>``: a logged statement
    with ``drop table ... <table>`` outside any quoted identifier or literal (SQL
    actually sent), or the event trigger's report of the table being dropped."""
    drop = re.compile(rf"drop\s+table\s+(?:if\s+exists\s+)?(?:\w+\.)?\w+\.{table}\b", re.I)
    found = []
    for line in log_text.splitlines():
        if f"dropped object {CANARY_SCHEMA}.{table}" in line:
            found.append(line)
        elif "statement:" in line and drop.search(_QUOTED.sub(_unquote_plain, line)):
            found.append(line)
    return found


def _unquote_plain(match: "re.Match[str]") -> str:
    """A quoted plain word stays as the word (``"cnry"."canary"`` is the canary);
    any other quoted identifier or literal is removed (a payload inside a name)."""
    text = match.group(0)
    return text[1:-1] if re.fullmatch(r'"\w+"', text) else ""


class ServerLog:
    """The server's log file, read from Postgres itself (pg_read_file; superuser)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        current = rows(conn, "select pg_current_logfile()")[0][0]
        # pgserver starts the server with `pg_ctl -l <pgdata>/log` (no logging collector)
        self.path = current or "log"
        self.start = self.size()

    def size(self) -> int:
        return int(rows(self.conn, "select size from pg_stat_file(%s)", (self.path,))[0][0])

    def read_new(self) -> str:
        end = self.size()
        text = rows(
            self.conn, "select pg_read_file(%s, %s, %s)", (self.path, self.start, end - self.start)
        )[0][0]
        return str(text)


@pytest.fixture(scope="class")
def canary(pg_server: Any) -> Iterator[None]:
    """Schema cnry with table canary, every statement logged, and an event trigger
    logging each dropped object; all undone afterwards."""
    drop_schema(pg_server, CANARY_SCHEMA)
    with pg_server.connect() as conn:
        conn.execute(f"create schema {CANARY_SCHEMA}")
        conn.execute(f"create table {CANARY_SCHEMA}.canary as select 42 as alive")
        conn.execute(
            "create or replace function dbt_test_log_drops() returns event_trigger "
            "language plpgsql as $$ declare o record; begin "
            "for o in select * from pg_event_trigger_dropped_objects() loop "
            "raise log 'dropped object %', o.object_identity; end loop; end $$"
        )
        conn.execute("drop event trigger if exists dbt_test_log_drops")
        conn.execute(
            "create event trigger dbt_test_log_drops on sql_drop "
            "execute function dbt_test_log_drops()"
        )
        conn.execute(f"drop role if exists {_pg_ident(ROLE_PAYLOAD)}")
        conn.execute(f"create role {_pg_ident(ROLE_PAYLOAD)} nologin")
        conn.execute("alter system set log_statement = 'all'")
        conn.execute("select pg_reload_conf()")
    try:
        yield
    finally:
        with pg_server.connect() as conn:
            conn.execute("alter system reset log_statement")
            conn.execute("select pg_reload_conf()")
            conn.execute("drop event trigger if exists dbt_test_log_drops")
            conn.execute("drop function if exists dbt_test_log_drops()")
        drop_schema(pg_server, CANARY_SCHEMA)
        for schema in CREATED_SCHEMAS:
            with pg_server.connect() as conn:
                conn.execute(f"drop schema if exists {_pg_ident(schema)} cascade")
        with pg_server.connect() as conn:
            conn.execute(f"drop owned by {_pg_ident(ROLE_PAYLOAD)}")
            conn.execute(f"drop role {_pg_ident(ROLE_PAYLOAD)}")


def _exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists with exactly these names."""
    return bool(
        rows(
            conn,
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = %s",
            (schema, table),
        )[0][0]
    )


@pytest.mark.slow
class TestInjection:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "full_alias.sql": FULL_ALIAS_SQL,
            "upsert_alias.sql": UPSERT_ALIAS_SQL,
            "time_alias.sql": TIME_ALIAS_SQL,
            "legit.sql": LEGIT_SQL,
            "schema_payload.sql": SCHEMA_SQL,
            "schema_literal.sql": SCHEMA_LITERAL_SQL,
            "mat_table.sql": MAT_TABLE_SQL,
            "mat_schema.sql": MAT_SCHEMA_SQL,
            "models.yml": MODELS_YML,
        }

    @pytest.fixture(scope="class")
    def macros(self) -> dict:
        return {"generate_schema_name.sql": GENERATE_SCHEMA_NAME_SQL}

    def test_payload_names_are_names(
        self, canary: None, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        log = ServerLog(pg)
        # positive control: a real DROP of a table in the canary schema is seen
        pg.execute(f"create table {CANARY_SCHEMA}.control (x int)")
        pg.execute(f"drop table {CANARY_SCHEMA}.control")

        run_dbt(["run"], expect_pass=None)
        # second run: the incremental paths and the pg_full swap of an existing table
        results = run_dbt(["run", "--vars", "{mult: 2}"], expect_pass=None)
        # the catalog queries of every schema, payloads included
        catalog = run_dbt(["docs", "generate"])
        new_log = log.read_new()
        control = canary_drops(new_log, "control")
        assert any("statement:" in line for line in control), new_log[-3000:]
        assert any("dropped object" in line for line in control), new_log[-3000:]
        assert rows(pg, f"select alive from {CANARY_SCHEMA}.canary") == [(42,)]
        assert canary_drops(new_log) == []

        for node in [
            "full_alias",
            "upsert_alias",
            "time_alias",
            "legit",
            "schema_payload",
            "schema_literal",
            "mat_table",
            "mat_schema",
        ]:
            assert result_status(results, node) == "success", node

        # every payload is exactly the name of a table that exists
        assert _exists(pg, pg_schema, DUCK_PAYLOAD)
        assert _exists(pg, pg_schema, PG_PAYLOAD)
        assert _exists(pg, pg_schema, LITERAL_PAYLOAD)
        assert _exists(pg, SCHEMA_PAYLOAD, "schema_payload")
        assert _exists(pg, SCHEMA_LITERAL_PAYLOAD, "schema_literal")
        schema, table = TABLE_PAYLOAD.split(".", 1)
        assert _exists(pg, schema, table)
        assert _exists(pg, TARGET_SCHEMA_PAYLOAD, "mat_schema")
        assert rows(
            pg, f"select id, v from {_pg_ident(pg_schema)}.{_pg_ident(PG_PAYLOAD)} order by id"
        ) == [
            (0, "v0"),
            (1, "v2"),
            (2, "v4"),
        ]
        # the catalog found the tables under their exact names
        assert catalog.nodes["model.test.schema_literal"].metadata.schema == SCHEMA_LITERAL_PAYLOAD
        assert catalog.nodes["model.test.full_alias"].metadata.name == DUCK_PAYLOAD
        for schema in [pg_schema, *CREATED_SCHEMAS]:
            assert leftovers(pg, schema) == []

    def test_legitimate_quoted_name(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        table = f"{_pg_ident(pg_schema)}.{_pg_ident(LEGIT_NAME)}"
        assert _exists(pg, pg_schema, LEGIT_NAME)
        assert rows(
            pg,
            "select has_table_privilege(%s, %s, 'select'), has_table_privilege(%s, %s, 'select')",
            ("public", table, ROLE_PAYLOAD, table),
        ) == [(True, True)]
        (index,) = rows(
            pg,
            "select indexdef from pg_indexes where schemaname = %s and tablename = %s "
            "and indexdef not like 'CREATE UNIQUE%%'",
            (pg_schema, LEGIT_NAME),
        )
        assert index[0].endswith(f"({_pg_ident(COLUMN_PAYLOAD)}, v)"), index
        assert rows(pg, f"select {_pg_ident(COLUMN_PAYLOAD)}, v from {table} order by 1") == [
            (0, "v0"),
            (1, "v2"),
            (2, "v4"),
        ]
