"""`pg_full`: complete replacement of a PostgreSQL table (docs/architecture.md "pg_full").

Every assertion reads PostgreSQL itself: row counts, checksums of the rows,
pg_class / pg_indexes / privileges, and leftover `__dbt_tmp` / `__dbt_backup` tables.
"""

import json
import threading
import time
import uuid
from typing import Any
from typing import List
from typing import Tuple

import psycopg
import pytest
from dbt.tests.util import run_dbt
from dbt.tests.util import run_dbt_and_capture

from tests.functional.helpers import checksum
from tests.functional.helpers import index_definitions
from tests.functional.helpers import leftovers
from tests.functional.helpers import relation_oid
from tests.functional.helpers import result_message
from tests.functional.helpers import run_results
from tests.functional.helpers import table_exists

# --- models ---------------------------------------------------------------------------

FULL_MODEL_SQL = """
{{ config(
    materialized='pg_full',
    database='warehouse',
    indexes=[{'columns': ['id'], 'unique': True}, {'columns': ['grp', 'id'], 'type': 'btree'}],
    grants={'select': [var('reader')]},
    unlogged=True,
) }}
select i as id, i % 10 as grp, 'v' || cast(i * {{ var('mult', 1) }} as varchar) as val
from range({{ var('n', 1000) }}) t(i)
"""

# a DuckDB view downstream of the Postgres table
DOWNSTREAM_SQL = """
{{ config(materialized='view') }}
select grp, count(*) as n, sum(id) as total from {{ ref('full_model') }} group by grp
"""

# duplicate ids: its `unique` test must fail
DUP_MODEL_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i % 50 as id from range(100) t(i)
"""

TESTS_YML = """
version: 2
models:
  - name: full_model
    columns:
      - name: id
        data_tests: [unique, not_null]
  - name: dup_model
    columns:
      - name: id
        data_tests: [unique, not_null]
"""

# errors on a late row (DuckDB's error()) when var boom is set: the COPY has
# already sent earlier rows when it fails
FAIL_MODEL_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i as id,
{%- if var('boom', false) %}
  case when i < 5000 then i * 2 else error('boom at row ' || i) end as v
{%- else %}
  i as v
{%- endif %}
from range(10000) t(i)
"""

# fails on its very first build: there is no old table
FAIL_NEW_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i as id, cast(case when i < 9000 then '1' else 'x' end as integer) as v
from range(10000) t(i)
"""

READ_MODEL_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i as id, 'r' || cast(i * {{ var('mult', 1) }} as varchar) as val
from range({{ var('n', 3000) }}) t(i)
"""

VIEW_MODEL_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i as id, 'w' || cast(i * {{ var('mult', 1) }} as varchar) as val
{%- if var('extra', false) %}, i * 3 as extra{% endif %}
from range(500) t(i)
"""

BAD_NOPE_SQL = """
{{ config(materialized='pg_full', database='nope') }}
select 1 as id
"""

BAD_MAIN_SQL = """
{{ config(materialized='pg_full', database=target.database) }}
select 1 as id
"""


# --- helpers --------------------------------------------------------------------------


def expected_full(conn: psycopg.Connection, n: int, mult: int) -> Tuple[int, str]:
    """The checksum full_model must have, computed by Postgres itself."""
    return checksum(
        conn,
        f"(select i::bigint as id, (i % 10)::bigint as grp, 'v' || (i * {mult}) as val "
        f"from generate_series(0, {n - 1}) i)",
    )


# --- build, rebuild, configs ----------------------------------------------------------


@pytest.fixture(scope="class")
def reader_role(pg_server: Any) -> Any:
    role = f"dbt_reader_{uuid.uuid4().hex[:8]}"
    with pg_server.connect() as conn:
        conn.execute(f'create role "{role}" nologin')
    yield role
    with pg_server.connect() as conn:
        conn.execute(f'drop owned by "{role}"')
        conn.execute(f'drop role "{role}"')


class TestPgFullBuild:
    @pytest.fixture(scope="class")
    def project_config_update(self, reader_role: str) -> dict:
        return {"vars": {"reader": reader_role}}

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "full_model.sql": FULL_MODEL_SQL,
            "downstream.sql": DOWNSTREAM_SQL,
            "dup_model.sql": DUP_MODEL_SQL,
            "schema.yml": TESTS_YML,
        }

    def test_build_and_rebuild(
        self, project: Any, pg_schema: str, pg: psycopg.Connection, reader_role: str
    ) -> None:
        target = f'"{pg_schema}".full_model'

        results, log = run_dbt_and_capture(["run", "--select", "full_model"])
        assert len(results) == 1
        assert checksum(pg, target) == expected_full(pg, 1000, 1)
        first_oid = relation_oid(pg, pg_schema, "full_model")

        # run_results.json and the log report the rows written
        assert "INSERT 1000" in log
        (result,) = run_results(project.project_root)
        assert result["adapter_response"]["rows_affected"] == 1000
        assert result["adapter_response"]["_message"] == "INSERT 1000"

        # rebuild: every row replaced (different values and count)
        vars_ = json.dumps({"reader": reader_role, "mult": 3, "n": 1500})
        results, log = run_dbt_and_capture(["run", "--select", "full_model", "--vars", vars_])
        assert checksum(pg, target) == expected_full(pg, 1500, 3)
        assert relation_oid(pg, pg_schema, "full_model") != first_oid
        assert "INSERT 1500" in log
        (result,) = run_results(project.project_root)
        assert result["adapter_response"]["rows_affected"] == 1500
        assert leftovers(pg, pg_schema) == []

    def test_indexes_grants_unlogged_analyze(
        self, project: Any, pg_schema: str, pg: psycopg.Connection, reader_role: str
    ) -> None:
        # state after test_build_and_rebuild's rebuild: configs apply to the new table
        defs = index_definitions(pg, pg_schema, "full_model")
        assert len(defs) == 2, defs
        assert any(d.startswith("CREATE UNIQUE INDEX") and d.endswith("btree (id)") for d in defs)
        assert any(
            not d.startswith("CREATE UNIQUE") and d.endswith("btree (grp, id)") for d in defs
        )

        row = pg.execute(
            "select has_table_privilege(%s, %s, 'select'), has_table_privilege(%s, %s, 'insert')",
            (reader_role, f'"{pg_schema}".full_model', reader_role, f'"{pg_schema}".full_model'),
        ).fetchone()
        assert row == (True, False)
        grants = pg.execute(
            "select privilege_type from information_schema.role_table_grants "
            "where grantee = %s and table_schema = %s and table_name = 'full_model'",
            (reader_role, pg_schema),
        ).fetchall()
        assert [g[0] for g in grants] == ["SELECT"]

        row = pg.execute(
            "select relpersistence, reltuples from pg_class where oid = %s::regclass",
            (f'"{pg_schema}".full_model',),
        ).fetchone()
        assert row is not None
        persistence, reltuples = row
        assert persistence == "u"
        # ANALYZE ran on the loaded table (a never-analyzed table has reltuples = -1;
        # a table this small is sampled completely)
        assert reltuples == 1500

    def test_downstream_duckdb_view_and_data_tests(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "downstream", "dup_model"])
        got = project.run_sql(
            f'select grp, n, total from "{project.test_schema}".downstream order by grp',
            fetch="all",
        )
        expected = pg.execute(
            f'select grp, count(*), sum(id) from "{pg_schema}".full_model '
            "group by grp order by grp"
        ).fetchall()
        assert [tuple(int(v) for v in r) for r in got] == [
            tuple(int(v) for v in r) for r in expected
        ]
        assert len(got) == 10

        results = run_dbt(["test", "--select", "full_model"])
        assert sorted(r.status for r in results) == ["pass", "pass"]

        # dup_model really has duplicates in Postgres; its unique test fails
        row = pg.execute(
            f'select count(*), count(distinct id) from "{pg_schema}".dup_model'
        ).fetchone()
        assert row == (100, 50)
        results = run_dbt(["test", "--select", "dup_model"], expect_pass=False)
        statuses = {r.node.name.split("_dup_model")[0]: r.status for r in results}
        assert statuses == {"unique": "fail", "not_null": "pass"}
        failures = [r.failures for r in results if r.status == "fail"]
        assert failures == [50]


# --- a failed load changes nothing ----------------------------------------------------


class TestPgFullFailedLoad:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"fail_model.sql": FAIL_MODEL_SQL, "fail_new.sql": FAIL_NEW_SQL}

    def test_failed_rebuild_keeps_old_table(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        target = f'"{pg_schema}".fail_model'
        run_dbt(["run", "--select", "fail_model"])
        before = checksum(pg, target)
        assert before[0] == 10000
        oid = relation_oid(pg, pg_schema, "fail_model")

        results = run_dbt(
            ["run", "--select", "fail_model", "--vars", "{boom: true}"], expect_pass=False
        )
        assert "boom at row" in result_message(results, "fail_model")

        assert checksum(pg, target) == before
        assert relation_oid(pg, pg_schema, "fail_model") == oid
        assert leftovers(pg, pg_schema) == []

    def test_failed_first_build_leaves_nothing(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "fail_new"], expect_pass=False)
        assert not table_exists(pg, pg_schema, "fail_new")
        assert leftovers(pg, pg_schema) == []


# --- readers never see a missing or empty table --------------------------------------


class TestPgFullConcurrentReader:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"read_model.sql": READ_MODEL_SQL}

    def test_reader_never_sees_missing_or_empty(
        self, project: Any, pg_schema: str, pg_server: Any
    ) -> None:
        run_dbt(["run", "--select", "read_model"])
        sql = f'select count(*) from "{pg_schema}".read_model'
        counts: List[int] = []
        errors: List[str] = []
        stop = threading.Event()

        def poll() -> None:
            with pg_server.connect() as conn:
                while not stop.is_set():
                    try:
                        row = conn.execute(sql).fetchone()
                        counts.append(int(row[0]) if row else -1)
                    except psycopg.Error as e:
                        errors.append(f"{type(e).__name__}: {e}")
                    time.sleep(0.002)

        reader = threading.Thread(target=poll, daemon=True)
        reader.start()
        try:
            for k in range(6):
                n = 3000 + (k % 2)
                run_dbt(["run", "--select", "read_model", "--vars", f"{{n: {n}, mult: {k}}}"])
        finally:
            stop.set()
            reader.join(timeout=30)

        assert errors == []
        assert len(counts) >= 50, f"only {len(counts)} polls"
        assert set(counts) <= {3000, 3001}, sorted(set(counts))
        assert set(counts) == {3000, 3001}  # both versions were seen
        with pg_server.connect() as conn:
            assert checksum(conn, f'"{pg_schema}".read_model')[0] == 3001
            assert leftovers(conn, pg_schema) == []


# --- dependent Postgres views ---------------------------------------------------------


class TestPgFullDependentView:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"view_model.sql": VIEW_MODEL_SQL}

    def test_view_survives_rebuild(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "view_model"])
        pg.execute(
            f'create view "{pg_schema}".dependent_v as '
            f'select id, val from "{pg_schema}".view_model where id % 2 = 0'
        )

        run_dbt(["run", "--select", "view_model", "--vars", "{mult: 7}"])
        expected = checksum(
            pg, "(select i::bigint as id, 'w' || (i * 7) as val from generate_series(0, 499) i)"
        )
        assert checksum(pg, f'"{pg_schema}".view_model') == expected
        assert table_exists(pg, pg_schema, "dependent_v")
        view_rows = checksum(pg, f'"{pg_schema}".dependent_v')
        assert view_rows == checksum(
            pg,
            "(select i::bigint as id, 'w' || (i * 7) as val "
            "from generate_series(0, 499) i where i % 2 = 0)",
        )
        assert leftovers(pg, pg_schema) == []

    def test_column_change_with_view_fails_cleanly(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        before = checksum(pg, f'"{pg_schema}".view_model')
        results = run_dbt(
            ["run", "--select", "view_model", "--vars", "{mult: 9, extra: true}"],
            expect_pass=False,
        )
        message = result_message(results, "view_model")
        assert "dependent_v" in message
        assert checksum(pg, f'"{pg_schema}".view_model') == before
        columns = pg.execute(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = 'view_model' order by ordinal_position",
            (pg_schema,),
        ).fetchall()
        assert [c[0] for c in columns] == ["id", "val"]
        assert table_exists(pg, pg_schema, "dependent_v")
        assert leftovers(pg, pg_schema) == []


# --- database must be a postgres connection -------------------------------------------


class TestPgFullInvalidDatabase:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"bad_nope.sql": BAD_NOPE_SQL, "bad_main.sql": BAD_MAIN_SQL}

    @pytest.mark.parametrize(
        "model",
        ["bad_nope", "bad_main"],
    )
    def test_not_a_postgres_connection(
        self, project: Any, pg_schema: str, pg: psycopg.Connection, model: str
    ) -> None:
        try:
            results = run_dbt(["run", "--select", model], expect_pass=False)
            message = result_message(results, model)
        except Exception as e:  # an error before any model ran aborts the invocation
            message = str(e)

        row = pg.execute("select count(*) from pg_class where relname like 'bad\\_%%'").fetchone()
        assert row == (0,)
        local = project.run_sql(
            "select count(*) from duckdb_tables() where table_name like 'bad_%'", fetch="one"
        )
        assert local[0] == 0

        assert "Compilation Error" in message
        assert "is not a postgres connection" in message
        assert "'app'" in message and "'warehouse'" in message
