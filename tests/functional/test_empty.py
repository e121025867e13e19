"""``--empty`` (dbt's CI flag: refs and sources read as ``limit 0``) never deletes or
updates rows of an existing target of the incremental write modes, materializations and
pg_materialize modes alike; it checks the columns, creates a missing target empty, and
writes nothing else. ``pg_full`` under ``--empty`` builds an empty table, as dbt's
``table`` does.

Assertions read PostgreSQL: checksums of every target before and after, columns, and the
write log of a statement-level trigger on each existing incremental target.
"""

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Dict

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import checksum
from tests.functional.helpers import column_names
from tests.functional.helpers import leftovers
from tests.functional.helpers import qualified
from tests.functional.helpers import result_message
from tests.functional.helpers import table_exists

# 3 days before today x 8 rows
ITEMS_SQL = """
set timezone = 'UTC';
create table __SRC__.items (id integer primary key, updated_at timestamptz, v integer);
insert into __SRC__.items
select d * 10 + k, current_date::timestamptz - d * interval '1 day' + k * interval '3 hours', k
from generate_series(1, 3) d, generate_series(0, 7) k;
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: items
"""

INC_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='updated_at',
          lookback=2, begin=var('begin')) }}
select id, updated_at, v from {{ source('app', 'items') }}
"""

UPS_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select id, updated_at, v from {{ source('app', 'items') }}
"""

# no ref or source: --empty does not limit it, the model has rows either way
LITERAL_UPS_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select 1 as id, '{{ var("literal", "a") }}' as v
"""

LITERAL_INC_SQL = """
{{ config(materialized='pg_incremental_by_time', database='warehouse', event_time='t') }}
select 1 as id, timestamptz '2024-05-01 10:00:00+00' as t
"""

FULL_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select id, updated_at, v from {{ source('app', 'items') }}
"""

# a DuckDB table copied by pg_materialize in both incremental modes
COPY_SQL = """
{{ config(materialized='table', post_hook=[
    "{{ pg_materialize(connection='warehouse', table='mat_inc', mode='incremental_by_time',
                       event_time='updated_at', lookback=2, begin=var('begin')) }}",
    "{{ pg_materialize(connection='warehouse', table='mat_ups', mode='upsert_by_key',
                       unique_key='id') }}"]) }}
select id, updated_at, v from {{ source('app', 'items') }}
"""


def schema_change_model(on_schema_change: str) -> str:
    """With var v2, the model gains a column ``extra``."""
    return (
        "{{ config(materialized='pg_incremental_by_time', database='warehouse', "
        "event_time='updated_at', begin=var('begin'), "
        f"on_schema_change='{on_schema_change}') }}}}\n"
        "select id, updated_at, v{% if var('v2', false) %}, v * 2 as extra{% endif %}\n"
        "from {{ source('app', 'items') }}\n"
    )


MODELS = {
    "sources.yml": SOURCES_YML,
    "inc_t.sql": INC_SQL,
    "ups_t.sql": UPS_SQL,
    "literal_ups.sql": LITERAL_UPS_SQL,
    "full_t.sql": FULL_SQL,
    "copy_t.sql": COPY_SQL,
    "osc_fail.sql": schema_change_model("fail"),
    "osc_append.sql": schema_change_model("append_new_columns"),
    # built for the first time under --empty
    "new_inc.sql": INC_SQL,
    "new_ups.sql": UPS_SQL,
    "new_literal.sql": LITERAL_INC_SQL,
}

# the Postgres tables that exist before the --empty runs and must not change
INCREMENTAL = ["inc_t", "ups_t", "literal_ups", "mat_inc", "mat_ups", "osc_fail", "osc_append"]

WRITE_LOG_SQL = """
create table if not exists {log} (tbl text, xid bigint, op text);
create or replace function {fn}() returns trigger language plpgsql as $$
begin insert into {log} values (tg_table_name, txid_current(), tg_op); return null; end $$;
create trigger dbt_write_log after insert or update or delete or truncate on {target}
for each statement execute function {fn}();
"""


def scalar(conn: psycopg.Connection, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


class TestEmptyWritesNothing:
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict:
        today = datetime.now(UTC).date()
        return {"vars": {"begin": (today - timedelta(days=5)).isoformat()}}

    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return ITEMS_SQL

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return MODELS

    def checksums(self, conn: psycopg.Connection, schema: str) -> Dict[str, Any]:
        return {name: checksum(conn, qualified(schema, name)) for name in INCREMENTAL}

    def test_empty_leaves_incremental_targets_unchanged(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        src = qualified(src_schema, "items")
        log = qualified(src_schema, "write_log")
        run_dbt(["run", "--exclude", "new_inc", "new_ups", "new_literal"])
        before = self.checksums(pg, pg_schema)
        assert before["inc_t"][0] == before["mat_inc"][0] == before["ups_t"][0] == 24
        assert checksum(pg, qualified(pg_schema, "full_t"))[0] == 24
        fn = qualified(src_schema, "log_write")
        for name in INCREMENTAL:
            pg.execute(WRITE_LOG_SQL.format(log=log, fn=fn, target=qualified(pg_schema, name)))

        # a normal run would now rewrite rows in every target
        pg.execute(f"update {src} set v = v + 100")
        pg.execute(f"insert into {src} values (999, now() - interval '1 minute', 7)")

        for args in (
            ["build", "--empty", "--vars", "{literal: b}"],
            ["run", "--empty", "--full-refresh"],
        ):
            results = run_dbt(args)
            assert {r.status for r in results} == {"success"}, args
            assert self.checksums(pg, pg_schema) == before, args
            assert scalar(pg, f"select count(*) from {log}") == 0, args

        # pg_full under --empty is an empty table, as dbt's `table` is
        assert checksum(pg, qualified(pg_schema, "full_t"))[0] == 0
        # missing targets are created, empty, with the model's columns
        for name in ("new_inc", "new_ups", "new_literal"):
            assert table_exists(pg, pg_schema, name)
            assert scalar(pg, f"select count(*) from {qualified(pg_schema, name)}") == 0
        assert column_names(pg, pg_schema, "new_inc") == ["id", "updated_at", "v"]
        assert column_names(pg, pg_schema, "new_literal") == ["id", "t"]
        assert leftovers(pg, pg_schema) == []

        # the columns are checked: a new column fails on_schema_change='fail'; other
        # settings only report the change they would make
        results = run_dbt(
            ["run", "--empty", "--select", "osc_fail", "osc_append", "--vars", "{v2: true}"],
            expect_pass=False,
        )
        statuses = {r.node.name: r.status for r in results}
        assert statuses == {"osc_fail": "error", "osc_append": "success"}
        assert "on_schema_change='fail'" in result_message(results, "osc_fail")
        assert column_names(pg, pg_schema, "osc_append") == ["id", "updated_at", "v"]
        assert self.checksums(pg, pg_schema) == before
        assert scalar(pg, f"select count(*) from {log}") == 0

        # without --empty the same runs write again (the triggers see it)
        run_dbt(["run", "--select", "inc_t", "ups_t"])
        assert checksum(pg, qualified(pg_schema, "inc_t")) != before["inc_t"]
        assert checksum(pg, qualified(pg_schema, "ups_t")) != before["ups_t"]
        assert scalar(pg, f"select count(distinct tbl) from {log}") == 2
        assert leftovers(pg, pg_schema) == []
