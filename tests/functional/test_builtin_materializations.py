"""dbt's own `table` and `incremental` with ``database='warehouse'`` (a postgres
connection): written by the adapter's write layer, with its guarantees
(docs/architecture.md "dbt's table and incremental").

Every assertion reads PostgreSQL: checksums of the rows, pg_class / pg_indexes /
privileges, pg_stat_user_tables of the targets (rows inserted, updated, deleted),
row versions (xmin) of rows a run must not rewrite, leftover ``__dbt_`` tables, and
the server's statement log for what DuckDB read from a source.
"""

import json
import re
import time
import uuid
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Tuple

import psycopg
import pytest
from dbt.tests.util import patch_microbatch_end_time
from dbt.tests.util import run_dbt
from dbt.tests.util import run_dbt_and_capture

from tests.functional.helpers import checksum
from tests.functional.helpers import column_names
from tests.functional.helpers import index_definitions
from tests.functional.helpers import leftovers
from tests.functional.helpers import qualified
from tests.functional.helpers import relation_oid
from tests.functional.helpers import result_message
from tests.functional.helpers import rows
from tests.functional.helpers import run_results
from tests.functional.helpers import table_exists
from tests.functional.test_source_snapshots import ServerLog
from tests.functional.test_source_snapshots import statement_log  # noqa: F401 (a fixture)

# --- source tables (__SRC__ is the class's source schema) -----------------------------

# items: 20,000 rows at version 1 (the transfer test changes 100 of them);
# events: 3 days x 1,000 rows, every 80 s from midnight, v_text a number as text
SOURCE_SQL = """
create table __SRC__.items (id integer primary key, v integer, version integer);
insert into __SRC__.items select i, i % 1000, 1 from generate_series(1, 20000) i;
create table __SRC__.events (id integer primary key, ts timestamp, v_text text);
insert into __SRC__.events
select d * 10000 + i,
       timestamp '2024-01-01' + (d - 1) * interval '1 day' + i * interval '80 seconds',
       (i % 97)::text
from generate_series(1, 3) d, generate_series(0, 999) i;
analyze __SRC__.items;
analyze __SRC__.events;
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: items
      - name: events
        config:
          event_time: ts
"""

# --- models ---------------------------------------------------------------------------

TABLE_SQL = """
{{ config(materialized='table', database='warehouse',
          indexes=[{'columns': ['id'], 'unique': True}], unlogged=True,
          grants={'select': [var('reader')]}) }}
select i as id, 'v' || cast(i * {{ var('mult', 1) }} as varchar) as val
from range({{ var('n', 100) }}) t(i)
"""

# incremental models reading items: the literal filter reaches Postgres, so the
# incremental run's model result is the changed rows only
ITEMS_MODEL = """
{{{{ config(materialized='incremental', incremental_strategy='{strategy}', unique_key='id',
            database='warehouse') }}}}
select id, v, version from {{{{ source('app', 'items') }}}}
{{% if is_incremental() %}} where version > {{{{ var('since', 0) }}}} {{% endif %}}
"""

EVENTS_MICROBATCH_SQL = """
{{ config(materialized='incremental', incremental_strategy='microbatch', database='warehouse',
          event_time='ts', batch_size='day', begin='2024-01-01') }}
select id, ts, cast(v_text as integer) as v from {{ source('app', 'events') }}
"""

# `bad`: 'check' gives the row with id 7 a value the target's CHECK constraint (added
# by the test) refuses, after the model result has been staged (and, for delete+insert,
# after the DELETE); 'cast' fails a cast in DuckDB on a late row, during the stage COPY
FAILING_MODEL = """
{{{{ config(materialized='incremental', incremental_strategy='{strategy}', unique_key='id',
            database='warehouse') }}}}
select i as id,
{{%- if var('bad', '') == 'check' %}} case when i = 7 then -1 else i * 10 end
{{%- elif var('bad', '') == 'cast' %}} cast(case when i < 990 then '1' else 'x' end as integer)
{{%- else %}} i {{%- endif %}} as v
from range(1000) t(i)
"""

# run_kind shows is_incremental() per row
EMPTY_MODEL = """
{{{{ config(materialized='incremental', incremental_strategy='{strategy}', unique_key='id',
            database='warehouse') }}}}
select i as id, i * {{{{ var('mult', 1) }}}} as v,
       '{{{{ "inc" if is_incremental() else "full" }}}}' as run_kind
from range({{{{ var('n', 100) }}}}) t(i)
"""

STRATEGIES = {"merge": "merge", "di": "delete+insert"}

# dbt's microbatch clock for TestMicrobatch (patch_microbatch_end_time sets the end of
# the last batch to exactly this): the batches are the three days of events
NOW = "2024-01-04 00:00:00"


# --- helpers --------------------------------------------------------------------------


@pytest.fixture(scope="class")
def src_setup_sql() -> str:
    return SOURCE_SQL


@pytest.fixture(scope="class")
def reader_role(pg_server: Any) -> Iterator[str]:
    """A Postgres role (nologin) for grants; dropped with its privileges afterwards."""
    role = f"dbt_reader_{uuid.uuid4().hex[:8]}"
    with pg_server.connect() as conn:
        conn.execute(f'create role "{role}" nologin')
    yield role
    with pg_server.connect() as conn:
        conn.execute(f'drop owned by "{role}"')
        conn.execute(f'drop role "{role}"')


def table_stats(conn: psycopg.Connection, schema: str, table: str) -> Tuple[int, int, int]:
    """(n_tup_ins, n_tup_upd, n_tup_del) of ``schema.table`` as the shared statistics
    hold them now (this backend's snapshot cleared first)."""
    conn.execute("select pg_stat_clear_snapshot()")
    found = rows(
        conn,
        "select n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables "
        "where relid = %s::regclass",
        (qualified(schema, table),),
    )[0]
    return int(found[0]), int(found[1]), int(found[2])


def settled_stats(
    conn: psycopg.Connection, schema: str, table: str, at_least: int, timeout: float = 30
) -> Tuple[int, int, int]:
    """table_stats once their sum is at least ``at_least`` and unchanged for a second.
    Backends report their counters asynchronously (PostgreSQL 15+: when idle, at most
    once a second, and when they exit), so a just-finished write may not show yet."""
    deadline = time.time() + timeout
    last = table_stats(conn, schema, table)
    while time.time() < deadline:
        time.sleep(1.0)
        now = table_stats(conn, schema, table)
        if now == last and sum(now) >= at_least:
            return now
        last = now
    raise AssertionError(f"statistics of {schema}.{table} did not settle: {last}")


def copy_selects(log_text: str, schema: str, table: str) -> List[str]:
    """The SELECTs of the ``COPY (SELECT ...) TO STDOUT`` statements in ``log_text``
    that read ``schema.table``: every read DuckDB made of it."""
    name = re.escape(qualified(schema, table))
    return re.findall(
        r"statement: COPY \((SELECT .* FROM " + name + r"[ )].*?)\) TO STDOUT", log_text
    )


def rows_sent(conn: psycopg.Connection, selects: List[str]) -> int:
    """How many rows those SELECTs return, run again in Postgres: the rows Postgres sent."""
    return sum(int(rows(conn, f"select count(*) from ({s}) q")[0][0]) for s in selects)


# the (start, end) of TestMicrobatch's three daily batches, as the reads' filters show them
DAYS = [
    ("2024-01-01 00:00:00", "2024-01-02 00:00:00"),
    ("2024-01-02 00:00:00", "2024-01-03 00:00:00"),
    ("2024-01-03 00:00:00", "2024-01-04 00:00:00"),
]


def batch_bounds(select: str) -> Tuple[str, str]:
    """The ``"ts" >= '<start>' AND "ts" < '<end>'`` range a source read carries."""
    match = re.search(r""""ts" >= '([^']+)' AND "ts" < '([^']+)'""", select)
    assert match, select
    return match.group(1), match.group(2)


def day_versions(conn: psycopg.Connection, target: str) -> Dict[str, str]:
    """Per day of ``ts`` in ``target``: the row versions (xmin) of its rows. A batch
    that is rewritten gets new ones."""
    found = rows(
        conn,
        f"select ts::date::text, string_agg(distinct xmin::text, ',') from {target} group by 1",
    )
    return dict((r[0], r[1]) for r in found)


# --- `table` into Postgres ------------------------------------------------------------


class TestTable:
    @pytest.fixture(scope="class")
    def project_config_update(self, reader_role: str) -> dict:
        return {"vars": {"reader": reader_role}}

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"tbl.sql": TABLE_SQL}

    def test_dependent_view_kept_and_configs(
        self, project: Any, pg_schema: str, pg: psycopg.Connection, reader_role: str
    ) -> None:
        target = qualified(pg_schema, "tbl")

        def assert_configs() -> None:
            """unlogged, the unique index, the grant; nothing left behind."""
            assert rows(
                pg, "select relpersistence from pg_class where oid = %s::regclass", (target,)
            ) == [("u",)]
            defs = index_definitions(pg, pg_schema, "tbl")
            assert len(defs) == 1 and defs[0].startswith("CREATE UNIQUE INDEX"), defs
            assert defs[0].endswith("(id)"), defs
            assert rows(
                pg,
                "select has_table_privilege(%s, %s, 'select'), "
                "has_table_privilege(%s, %s, 'insert')",
                (reader_role, target, reader_role, target),
            ) == [(True, False)]
            assert leftovers(pg, pg_schema) == []

        run_dbt(["run"])
        assert checksum(pg, target) == checksum(
            pg, "(select i::bigint as id, 'v' || i as val from generate_series(0, 99) i)"
        )
        assert_configs()
        # a rebuild with nothing depending on the table swaps a new table in
        first_oid = relation_oid(pg, pg_schema, "tbl")
        run_dbt(["run"])
        assert relation_oid(pg, pg_schema, "tbl") != first_oid
        assert_configs()

        # a Postgres view on the table, made outside dbt
        view = qualified(pg_schema, "tbl_even")
        pg.execute(f"create view {view} as select id, val from {target} where id % 2 = 0")
        view_oid = relation_oid(pg, pg_schema, "tbl_even")

        vars_ = json.dumps({"reader": reader_role, "n": 150, "mult": 2})
        run_dbt(["run", "--vars", vars_])
        # the view is the same object and reads the new rows
        assert relation_oid(pg, pg_schema, "tbl_even") == view_oid
        assert checksum(pg, view) == checksum(
            pg,
            "(select i::bigint as id, 'v' || (i * 2) as val from generate_series(0, 149) i "
            "where i % 2 = 0)",
        )
        assert checksum(pg, target)[0] == 150
        assert_configs()


# --- transfer grows with the change ---------------------------------------------------


class TestTransferGrowsWithTheChange:
    """A 20,000-row target per strategy, then 60 source rows changed and 40 added: the
    incremental run's model result is those 100 rows (a literal filter Postgres
    applies). The targets' statistics count the rows each run touched."""

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            **{f"items_{k}.sql": ITEMS_MODEL.format(strategy=v) for k, v in STRATEGIES.items()},
        }

    def test_rows_touched_equal_rows_changed(
        self,
        project: Any,
        pg_schema: str,
        src_schema: str,
        pg: psycopg.Connection,
        statement_log: None,  # noqa: F811
    ) -> None:
        source = qualified(src_schema, "items")
        run_dbt(["run"])
        before = {k: settled_stats(pg, pg_schema, f"items_{k}", 20000) for k in STRATEGIES}
        for k in STRATEGIES:
            assert before[k][0] >= 20000, before

        pg.execute(f"update {source} set v = v + 5000, version = 2 where id % 333 = 0")  # 60
        pg.execute(f"insert into {source} select i, 7, 2 from generate_series(20001, 20040) i")
        log = ServerLog(pg)
        run_dbt(["run", "--vars", "since: 1"])
        text = log.read_new()

        # at least the 100 changed rows each: the run's counters have arrived
        after = {
            k: settled_stats(pg, pg_schema, f"items_{k}", sum(before[k]) + 100) for k in STRATEGIES
        }
        delta = {
            k: tuple(a - b for a, b in zip(after[k], before[k], strict=True)) for k in STRATEGIES
        }
        # merge: 40 inserted, 60 updated; delete+insert: 60 deleted, 100 inserted
        assert delta["merge"] == (40, 60, 0), delta
        assert delta["di"] == (100, 0, 60), delta

        for k in STRATEGIES:
            target = qualified(pg_schema, f"items_{k}")
            assert checksum(pg, target) == checksum(pg, source), k
            # DuckDB never read the target (stock dbt-duckdb copies its keys and ctids)
            assert copy_selects(text, pg_schema, f"items_{k}") == [], k
        # the source reads: only the 100 changed rows crossed the network, per model
        reads = copy_selects(text, src_schema, "items")
        assert reads and rows_sent(pg, reads) == 200, reads
        assert leftovers(pg, pg_schema) == []


# --- microbatch: dbt's batches, event_time filters, dbt retry -------------------------


class TestMicrobatch:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "events_mb.sql": EVENTS_MICROBATCH_SQL}

    def test_batches_read_their_rows_and_retry_reruns_the_failed_one(
        self,
        project: Any,
        pg_schema: str,
        src_schema: str,
        pg: psycopg.Connection,
        statement_log: None,  # noqa: F811
    ) -> None:
        source = qualified(src_schema, "events")
        target = qualified(pg_schema, "events_mb")
        expected = "(select id, ts, v_text::integer as v from {})"
        # one row of the second day does not cast: that batch fails
        pg.execute(f"update {source} set v_text = 'oops' where id = 20500")

        log = ServerLog(pg)
        with patch_microbatch_end_time(NOW):
            results = run_dbt(["run"], expect_pass=False)
        text = log.read_new()
        (result,) = results
        assert len(result.batch_results.successful) == 2, result.batch_results
        assert len(result.batch_results.failed) == 1, result.batch_results
        # the other two batches are written, the failed one is not
        assert checksum(pg, target) == checksum(
            pg, expected.format(f"{source} where ts::date <> date '2024-01-02'")
        )
        # dbt put each batch's event_time range on the source, and DuckDB passed it to
        # Postgres: one read per batch, each returning that day's 1,000 rows
        reads = copy_selects(text, src_schema, "events")
        assert sorted(batch_bounds(s) for s in reads) == DAYS, reads
        assert [rows_sent(pg, [s]) for s in reads] == [1000, 1000, 1000], reads

        # fix the row, retry: only the failed batch runs again
        pg.execute(f"update {source} set v_text = '42' where id = 20500")
        kept = day_versions(pg, target)
        log.mark()
        with patch_microbatch_end_time(NOW):
            (retried,) = run_dbt(["retry"])
        text = log.read_new()
        assert str(retried.status) == "success"
        assert retried.batch_results.failed == []
        # the rows of the two good days were not rewritten; the second day is there
        versions = day_versions(pg, target)
        assert {d: versions[d] for d in kept} == kept
        assert set(versions) == {"2024-01-01", "2024-01-02", "2024-01-03"}
        assert checksum(pg, target) == checksum(pg, expected.format(source))
        # each batch was its own transaction
        assert len(set(versions.values())) == 3, versions
        # the retry read the source for the second day only: its 1,000 rows
        reads = copy_selects(text, src_schema, "events")
        assert [batch_bounds(s) for s in reads] == [DAYS[1]], reads
        assert rows_sent(pg, reads) == 1000, reads
        # run_results.json: the retried batch and the two kept ones, none failed
        (node,) = run_results(project.project_root)
        batches = node["batch_results"]
        assert batches["failed"] == []
        assert sorted(b[0][:10] for b in batches["successful"]) == [d[0][:10] for d in DAYS]
        assert leftovers(pg, pg_schema) == []

    def test_rerun_of_a_batch_reports_the_rows_it_replaced(
        self, project: Any, pg_schema: str, src_schema: str, pg: psycopg.Connection
    ) -> None:
        """A batch's DELETE runs without a count first: the rows it removed come from the
        transaction's statistics (pg_stat_xact_user_tables) into the batch's result."""
        source = qualified(src_schema, "events")
        target = qualified(pg_schema, "events_mb")
        pg.execute(f"update {source} set v_text = '42' where v_text !~ '^[0-9]+$'")
        with patch_microbatch_end_time(NOW):
            run_dbt(["run", "--full-refresh"])
        day = "ts >= timestamptz '2024-01-02 00:00+00' and ts < timestamptz '2024-01-03 00:00+00'"
        ((in_day,),) = rows(pg, f"select count(*) from {target} where {day}")
        assert in_day == 1000
        before = day_versions(pg, target)
        table = checksum(pg, target)

        _, output = run_dbt_and_capture(
            ["run", "--event-time-start", "2024-01-02", "--event-time-end", "2024-01-03"]
        )
        # the day was deleted and written again, the other days untouched, same rows
        after = day_versions(pg, target)
        assert after["2024-01-02"] != before["2024-01-02"]
        assert {d: after[d] for d in ("2024-01-01", "2024-01-03")} == {
            d: before[d] for d in ("2024-01-01", "2024-01-03")
        }
        assert checksum(pg, target) == table
        # the batch reports the rows Postgres had in the day, not a count taken apart
        assert f"INSERT {in_day}, DELETE {in_day}" in output, output[-2000:]
        assert leftovers(pg, pg_schema) == []


# --- failure atomicity ----------------------------------------------------------------


class TestFailureLeavesTargetUnchanged:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {f"fail_{k}.sql": FAILING_MODEL.format(strategy=v) for k, v in STRATEGIES.items()}

    @pytest.mark.parametrize("bad", ["check", "cast"])
    def test_failed_run_changes_nothing(
        self, project: Any, pg_schema: str, pg: psycopg.Connection, bad: str
    ) -> None:
        tables = [f"fail_{k}" for k in STRATEGIES]
        if not table_exists(pg, pg_schema, tables[0]):
            run_dbt(["run"])
            for table in tables:
                pg.execute(
                    f"alter table {qualified(pg_schema, table)} add constraint v_not_negative "
                    "check (v >= 0)"
                )
        before = {t: checksum(pg, qualified(pg_schema, t)) for t in tables}
        assert all(b[0] == 1000 for b in before.values()), before

        results = run_dbt(["run", "--vars", json.dumps({"bad": bad})], expect_pass=False)
        for table in tables:
            message = result_message(results, table)
            if bad == "check":
                assert "v_not_negative" in message, message
            else:
                assert "Could not convert string 'x'" in message, message
            assert checksum(pg, qualified(pg_schema, table)) == before[table], table
        assert leftovers(pg, pg_schema) == []


# --- --full-refresh and --empty on an existing incremental target ---------------------


class TestFullRefreshAndEmpty:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        models = {f"inc_{k}.sql": EMPTY_MODEL.format(strategy=v) for k, v in STRATEGIES.items()}
        models["new_di.sql"] = EMPTY_MODEL.format(strategy="delete+insert")
        return models

    def test_empty_never_deletes_and_full_refresh_rebuilds(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        tables = [f"inc_{k}" for k in STRATEGIES]
        select = ["--select", *tables]

        def expected(n: int, mult: int, kind: str, extra: bool) -> Tuple[int, str]:
            sql = (
                f"select i::bigint as id, (i * {mult})::bigint as v, '{kind}' as run_kind "
                f"from generate_series(0, {n - 1}) i"
            )
            if extra:
                sql += " union all select -5, -5, 'psql'"
            return checksum(pg, f"({sql})")

        run_dbt(["run", *select])
        for table in tables:
            target = qualified(pg_schema, table)
            assert checksum(pg, target) == expected(100, 1, "full", False)
            # a row the model does not make: only a full refresh removes it
            pg.execute(f"insert into {target} values (-5, -5, 'psql')")

        # --empty (with or without --full-refresh): an existing target keeps every row
        for flags in (["--empty"], ["--empty", "--full-refresh"]):
            run_dbt(["run", *select, *flags, "--vars", "{n: 200, mult: 3}"])
            for table in tables:
                target = qualified(pg_schema, table)
                assert checksum(pg, target) == expected(100, 1, "full", True), (flags, table)

        # an incremental run: the model's rows replace theirs, the extra row stays
        run_dbt(["run", *select, "--vars", "{n: 150, mult: 2}"])
        oids = {}
        for table in tables:
            target = qualified(pg_schema, table)
            assert checksum(pg, target) == expected(150, 2, "inc", True), table
            oids[table] = relation_oid(pg, pg_schema, table)

        # --full-refresh: rebuilt from the model alone, is_incremental() false
        run_dbt(["run", *select, "--full-refresh", "--vars", "{n: 120, mult: 4}"])
        for table in tables:
            target = qualified(pg_schema, table)
            assert checksum(pg, target) == expected(120, 4, "full", False), table
            assert relation_oid(pg, pg_schema, table) != oids[table]
        assert leftovers(pg, pg_schema) == []

        # --empty on a missing target creates it, empty, with the model's columns
        run_dbt(["run", "--select", "new_di", "--empty"])
        assert rows(pg, f"select count(*) from {qualified(pg_schema, 'new_di')}") == [(0,)]
        assert column_names(pg, pg_schema, "new_di") == ["id", "v", "run_kind"]
        (result,) = run_results(project.project_root)
        assert result["status"] == "success"
