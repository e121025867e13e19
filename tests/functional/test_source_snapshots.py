"""Source snapshots: with ``source_snapshot: run`` each Postgres source table the selected
models read is copied once per run into DuckDB, from one Postgres snapshot, and the
models read the copy; ``meta: {pg_snapshot: off}`` keeps a table's direct read.

Reads are counted in the server's statement log (``log_statement = 'all'``): DuckDB
reads an attached table with ``COPY (SELECT <columns> FROM <table> ...) TO STDOUT``:
one statement per read of these small tables (and per table inside the snapshot
load's transaction, whatever its size).
"""

import json
import os
import re
import threading
import time
from datetime import datetime
from typing import Any
from typing import Dict
from typing import Iterator
from typing import Tuple

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.conftest import base_profile
from tests.functional.helpers import checksum
from tests.functional.helpers import rows

SETUP_SQL = """
create table __SRC__.orders (
  id integer primary key, customer_id integer, amount numeric(12, 2), note text
);
insert into __SRC__.orders
select i, i % 20, round((i * 13.37) % 1000, 2), repeat('unused ', 5)
from generate_series(1, 3000) i;

create table __SRC__.customers (id integer primary key, name text, region text);
insert into __SRC__.customers
select i, 'customer ' || i, case when i % 2 = 0 then 'east' else 'west' end
from generate_series(0, 19) i;

create table __SRC__.items (id integer primary key, label text);
insert into __SRC__.items select i, 'item ' || i from generate_series(1, 100) i;

-- moved together by the concurrent writer: a.v = b.v in every committed state
create table __SRC__.counter_a (id integer primary key, v bigint);
create table __SRC__.counter_b (id integer primary key, v bigint);
insert into __SRC__.counter_a values (1, 0);
insert into __SRC__.counter_b values (1, 0);
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: orders
      - name: customers
      - name: items
        meta:
          pg_snapshot: off
      - name: items_query
        meta:
          pg_query: 'select id from "{{ target.schema }}_src".items where id < 5'
      - name: counter_a
        meta: {pg_snapshot: "{{ var('snap', 'run') }}"}
      - name: counter_b
        meta: {pg_snapshot: "{{ var('snap', 'run') }}"}
"""


def pg_full(select: str, pre_hook: str = "") -> str:
    # the hook runs in a transaction of its own, before the model's read
    hook = f", pre_hook={{'sql': {pre_hook!r}, 'transaction': false}}" if pre_hook else ""
    return "{{ config(materialized='pg_full', database='warehouse'" + hook + ") }}\n" + select


MODELS = {
    "sources.yml": SOURCES_YML,
    "order_totals.sql": pg_full(
        "select customer_id, sum(amount) as total, count(*) as n\n"
        "from {{ source('app', 'orders') }} group by customer_id"
    ),
    "region_totals.sql": pg_full(
        "select c.region, sum(o.amount) as total\n"
        "from {{ source('app', 'orders') }} o\n"
        "join {{ source('app', 'customers') }} c on c.id = o.customer_id\n"
        "group by c.region"
    ),
    "order_count.sql": pg_full("select count(*) as n from {{ source('app', 'orders') }}"),
    "customer_names.sql": pg_full("select id, name from {{ source('app', 'customers') }}"),
    "items_low.sql": pg_full("select id, label from {{ source('app', 'items') }} where id < 10"),
    "items_high.sql": pg_full("select id from {{ source('app', 'items') }} where id >= 90"),
    "items_query_model.sql": pg_full("select id from {{ source('app', 'items_query') }}"),
    # the two marts of the snapshot test: mart_b waits 1.5 s (in Postgres) before it
    # reads, while the writer keeps moving both counters
    "mart_a.sql": pg_full("select v from {{ source('app', 'counter_a') }}"),
    "mart_b.sql": pg_full(
        "select v from {{ source('app', 'counter_b') }}",
        pre_hook="select * from postgres_query('app', 'select pg_sleep(1.5)')",
    ),
}

READ_MODELS = [
    "order_totals",
    "region_totals",
    "order_count",
    "customer_names",
    "items_low",
    "items_high",
]


class ServerLog:
    """The server's log, read from Postgres (pg_read_file; superuser): what was logged
    since the last ``mark()``."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        current = rows(conn, "select pg_current_logfile()")[0][0]
        # pgserver starts the server with `pg_ctl -l <pgdata>/log` (no logging collector)
        self.path = current or "log"
        self.start = self.size()

    def size(self) -> int:
        return int(rows(self.conn, "select size from pg_stat_file(%s)", (self.path,))[0][0])

    def mark(self) -> None:
        self.start = self.size()

    def read_new(self) -> str:
        end = self.size()
        text = rows(
            self.conn, "select pg_read_file(%s, %s, %s)", (self.path, self.start, end - self.start)
        )[0][0]
        return str(text)

    def backends_of(self, schema: str, table: str) -> set:
        """The server process ids (``[pid]`` in the log line prefix) of the COPY
        statements that read ``schema.table`` since mark()."""
        return {
            int(re.search(r"\[(\d+)\]", line).group(1)) for line in self.copies_of(schema, table)
        }

    def copies_of(self, schema: str, table: str) -> list:
        """The COPY ... TO STDOUT statements that read ``schema.table`` since mark()."""
        name = f'"{schema}"."{table}"'
        return [
            line
            for line in self.read_new().splitlines()
            if re.search(r"statement: COPY \(SELECT .* FROM " + re.escape(name) + r"[ )]", line)
        ]


def changed_rows_fetches(log: ServerLog, table: str) -> list:
    """The COPY ... TO STDOUT statements since mark() that fetched the changed rows of
    the mirror of ``table`` (a filter on its change-tracking column, updated_at)."""
    return [
        line
        for line in log.read_new().splitlines()
        if "statement: COPY (SELECT" in line and f'."{table}" where "updated_at" >=' in line
    ]


@pytest.fixture(scope="class")
def statement_log(pg_server: Any) -> Iterator[None]:
    """Every statement logged for the class (undone afterwards)."""
    with pg_server.connect() as conn:
        conn.execute("alter system set log_statement = 'all'")
        conn.execute("select pg_reload_conf()")
    try:
        yield
    finally:
        with pg_server.connect() as conn:
            conn.execute("alter system reset log_statement")
            conn.execute("select pg_reload_conf()")


@pytest.fixture(scope="class")
def src_setup_sql() -> str:
    return SETUP_SQL


class SnapshotProject:
    @pytest.fixture(scope="class")
    def dbt_profile_target(
        self, pg_server: Any, tmp_path_factory: Any, statement_log: None
    ) -> Dict[str, Any]:
        """`app` snapshots its sources; `warehouse` (the same database) is written."""
        profile = base_profile(pg_server, tmp_path_factory)
        profile["postgres"]["app"]["source_snapshot"] = "run"
        return profile

    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return MODELS


def _snapshot_schemas(project: Any) -> int:
    """How many DuckDB schemas named __dbt_pg_snapshot exist (after a run: none)."""
    found = project.run_sql(
        "select count(*) from duckdb_schemas() where schema_name = '__dbt_pg_snapshot'",
        fetch="one",
    )
    return int(found[0])


class TestReadOncePerRun(SnapshotProject):
    def test_each_snapshotted_table_read_once(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        log = ServerLog(pg)
        run_dbt(["run", "--select", *READ_MODELS])
        # three models read orders, two read customers: one COPY each
        orders = log.copies_of(src_schema, "orders")
        assert len(orders) == 1, orders
        assert len(log.copies_of(src_schema, "customers")) == 1
        # only the columns some model uses cross the network
        assert '"note"' not in orders[0] and '"amount"' in orders[0]
        # meta pg_snapshot: off keeps the direct read: once per model
        assert len(log.copies_of(src_schema, "items")) == 2

        src = f'"{src_schema}"'
        expected = {
            "order_totals": f"(select customer_id, sum(amount) as total, count(*) as n "
            f"from {src}.orders group by customer_id)",
            "region_totals": f"(select c.region, sum(o.amount) as total from {src}.orders o "
            f"join {src}.customers c on c.id = o.customer_id group by c.region)",
            "order_count": f"(select count(*) as n from {src}.orders)",
            "customer_names": f"(select id, name from {src}.customers)",
            "items_low": f"(select id, label from {src}.items where id < 10)",
            "items_high": f"(select id from {src}.items where id >= 90)",
        }
        for model, sql in expected.items():
            got = checksum(pg, f'"{pg_schema}".{model}')
            assert got == checksum(pg, sql), model
            assert got[0] > 0, model
        # the local copies are gone after the run
        assert _snapshot_schemas(project) == 0

    def test_pg_query_source_runs_in_postgres(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--select", "items_query_model"])
        assert rows(pg, f'select count(*) from "{pg_schema}".items_query_model')[0][0] == 4
        path = os.path.join(
            project.project_root, "target", "compiled", "test", "models", "items_query_model.sql"
        )
        with open(path) as f:
            compiled = f.read()
        assert "postgres_query(" in compiled and "__dbt_pg_snapshot" not in compiled

    def test_second_run_reads_again(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        """Each invocation takes its own snapshot: a change between runs is seen."""
        pg.execute(f'update "{src_schema}".orders set amount = amount + 1 where id = 1')
        log = ServerLog(pg)
        run_dbt(["run", "--select", "order_count", "order_totals"])
        assert len(log.copies_of(src_schema, "orders")) == 1
        total = rows(pg, f'select sum(total) from "{pg_schema}".order_totals')[0][0]
        assert total == rows(pg, f'select sum(amount) from "{src_schema}".orders')[0][0]
        assert _snapshot_schemas(project) == 0

    def test_empty_yields_empty_models(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run", "--empty", "--select", "customer_names", "items_low"])
        for model in ("customer_names", "items_low"):
            assert rows(pg, f'select count(*) from "{pg_schema}".{model}')[0][0] == 0
        assert _snapshot_schemas(project) == 0


class _Writer:
    """Moves counter_a and counter_b together, one transaction per step, until stopped."""

    def __init__(self, pg_server: Any, schema: str):
        self.pg_server = pg_server
        self.schema = schema
        self.stop = threading.Event()
        self.steps = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.pg_server.connect() as conn:
            while not self.stop.is_set():
                with conn.transaction():
                    conn.execute(f'update "{self.schema}".counter_a set v = v + 1')
                    conn.execute(f'update "{self.schema}".counter_b set v = v + 1')
                self.steps += 1
                time.sleep(0.001)

    def __enter__(self) -> "_Writer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()


class TestOneSnapshotPerRun(SnapshotProject):
    def test_concurrent_writer_cannot_split_marts(
        self, project: Any, pg_server: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        log = ServerLog(pg)
        with _Writer(pg_server, src_schema) as writer:
            run_dbt(["run", "--select", "mart_a", "mart_b"])
        assert writer.steps > 10
        a = rows(pg, f'select v from "{pg_schema}".mart_a')[0][0]
        b = rows(pg, f'select v from "{pg_schema}".mart_b')[0][0]
        assert a == b
        # the two tables loaded at once, on two Postgres connections sharing one snapshot
        a_backends = log.backends_of(src_schema, "counter_a")
        b_backends = log.backends_of(src_schema, "counter_b")
        assert len(a_backends) == len(b_backends) == 1 and a_backends != b_backends
        assert _snapshot_schemas(project) == 0

    def test_control_direct_reads_disagree(
        self, project: Any, pg_server: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        """Without snapshots the same run splits (proof that the test above can fail)."""
        with _Writer(pg_server, src_schema) as writer:
            run_dbt(["run", "--select", "mart_a", "mart_b", "--vars", "{snap: off}"])
        assert writer.steps > 10
        a = rows(pg, f'select v from "{pg_schema}".mart_a')[0][0]
        b = rows(pg, f'select v from "{pg_schema}".mart_b')[0][0]
        assert b > a


# --- the per-table override and dbt build ----------------------------------------------

OVERRIDE_SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: orders
        meta:
          pg_snapshot: run
        columns:
          - name: customer_id
            data_tests: [not_null]
      - name: customers
      - name: items
        meta:
          pg_snapshot: always
"""

OVERRIDE_MODELS = {
    "sources.yml": OVERRIDE_SOURCES_YML,
    "order_totals.sql": MODELS["order_totals.sql"],
    "order_count.sql": MODELS["order_count.sql"],
    "customer_names.sql": MODELS["customer_names.sql"],
    "items_low.sql": MODELS["items_low.sql"],
}


class TestMetaOverride:
    """The profile leaves `app` direct; one table opts in with meta.pg_snapshot."""

    @pytest.fixture(scope="class")
    def dbt_profile_target(
        self, pg_server: Any, tmp_path_factory: Any, statement_log: None
    ) -> Dict[str, Any]:
        return base_profile(pg_server, tmp_path_factory)

    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return OVERRIDE_MODELS

    def test_build_reads_opted_in_table_once(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        log = ServerLog(pg)
        results = run_dbt(
            ["build", "--select", "order_totals", "order_count", "customer_names", "source:app"]
        )
        assert all(str(r.status) in ("success", "pass") for r in results)
        # the source test and two models read orders: one copy
        assert len(log.copies_of(src_schema, "orders")) == 1
        assert len(log.copies_of(src_schema, "customers")) == 1  # direct, one reader
        got = checksum(pg, f'"{pg_schema}".order_count')
        assert got == checksum(pg, f'(select count(*) as n from "{src_schema}".orders)')
        assert _snapshot_schemas(project) == 0

    def test_bad_meta_value_fails_its_readers(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        results = run_dbt(["run", "--select", "items_low"], expect_pass=False)
        message = str(results[0].message)
        assert "meta.pg_snapshot" in message and "'always'" in message and "run, off" in message
        assert rows(pg, "select to_regclass(%s)", (f'"{pg_schema}".items_low',))[0][0] is None


# --- larger than memory_limit ----------------------------------------------------------

BIG_SETUP_SQL = """
create table __SRC__.wide (id integer, a text, b text, c text);
insert into __SRC__.wide
select i, md5(i::text), md5((i + 1)::text), md5((i + 2)::text)
from generate_series(1, 1500000) i;
"""

BIG_MODELS = {
    "sources.yml": """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables: [{name: wide}]
""",
    "wide_stats.sql": pg_full(
        "select count(*) as n, count(distinct a) as a, max(b) as b, min(c) as c\n"
        "from {{ source('app', 'wide') }}"
    ),
    "wide_ids.sql": pg_full("select sum(id) as s from {{ source('app', 'wide') }}"),
}


@pytest.mark.slow
class TestLargerThanMemoryLimit:
    """~180 MB of text into a DuckDB limited to 100 MB: the copy spills to the file."""

    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return BIG_SETUP_SQL

    @pytest.fixture(scope="class")
    def dbt_profile_target(self, pg_server: Any, tmp_path_factory: Any) -> Dict[str, Any]:
        profile = base_profile(pg_server, tmp_path_factory)
        profile["postgres"]["app"]["source_snapshot"] = "run"
        profile["settings"] = {"memory_limit": "100MB", "threads": 2}
        profile["threads"] = 2
        return profile

    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return BIG_MODELS

    def test_copy_spills_and_models_are_right(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run"])
        src = f'"{src_schema}".wide'
        expected = (
            f"(select count(*) as n, count(distinct a) as a, max(b) as b, min(c) as c from {src})"
        )
        assert checksum(pg, f'"{pg_schema}".wide_stats') == checksum(pg, expected)
        assert rows(pg, f'select s from "{pg_schema}".wide_ids')[0][0] == 1500000 * 1500001 // 2
        assert _snapshot_schemas(project) == 0


# --- dbt's event-time filter on the copy -------------------------------------------------

EVENTS_SETUP_SQL = """
create table __SRC__.events (id integer, kind text, ordered_at timestamp, payload text);
insert into __SRC__.events
select i, 'k' || (i % 3), timestamp '2024-01-01' + i * interval '1 hour', repeat('x', 20)
from generate_series(0, 24 * 6 - 1) i;
"""

EVENTS_MODELS = {
    "sources.yml": """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: events
        config: {event_time: ordered_at}
""",
    "events_mb.sql": "{{ config(materialized='incremental', incremental_strategy='microbatch',"
    " event_time='ordered_at', batch_size='day', begin='2024-01-01') }}\n"
    "select id, kind, ordered_at from {{ source('app', 'events') }}",
}


class TestEventTimeFilterOnCopy:
    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return EVENTS_SETUP_SQL

    @pytest.fixture(scope="class")
    def dbt_profile_target(
        self, pg_server: Any, tmp_path_factory: Any, statement_log: None
    ) -> Dict[str, Any]:
        profile = base_profile(pg_server, tmp_path_factory)
        profile["postgres"]["app"]["source_snapshot"] = "run"
        return profile

    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return EVENTS_MODELS

    def test_microbatch_batches_filter_the_copy(
        self, project: Any, src_schema: str, pg: psycopg.Connection
    ) -> None:
        log = ServerLog(pg)
        args = ["--event-time-start", "2024-01-02", "--event-time-end", "2024-01-04"]
        run_dbt(["run", "--select", "events_mb", *args])
        copies = log.copies_of(src_schema, "events")
        # two batches, one read, without the unused payload
        assert len(copies) == 1
        assert '"ordered_at"' in copies[0] and '"payload"' not in copies[0]
        got = project.run_sql(
            f"select count(*), min(id), max(id) from {project.test_schema}.events_mb", fetch="one"
        )
        assert tuple(got) == (48, 24, 71)
        assert _snapshot_schemas(project) == 0


# --- persistent incremental mirror -------------------------------------------------------

MIRROR_SETUP_SQL = """
create table __SRC__.accounts (
  id integer primary key, v text, updated_at timestamptz not null default clock_timestamp()
);
insert into __SRC__.accounts (id, v) select i, 'v' || i from generate_series(1, 200) i;
create table __SRC__.kept (like __SRC__.accounts including all);
insert into __SRC__.kept (id, v) select i, 'v' || i from generate_series(1, 20) i;
"""

MIRROR_MODELS = {
    "sources.yml": """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    loaded_at_field: updated_at
    tables:
      - name: accounts
        meta: {pg_snapshot: mirror, pg_mirror_key: id, pg_mirror_deletes: true}
      - name: kept
        meta: {pg_snapshot: mirror, pg_mirror_key: [id]}
""",
    "kept_copy.sql": pg_full("select id, v from {{ source('app', 'kept') }}"),
    "accounts_copy.sql": pg_full("select * from {{ source('app', 'accounts') }}"),
    "accounts_count.sql": pg_full("select count(*) as n from {{ source('app', 'accounts') }}"),
}


def _mirror_rows(project: Any) -> int:
    found = project.run_sql(
        'select count(*) from "__dbt_pg_mirror"."app.' + project.test_schema + '_src.accounts"',
        fetch="one",
    )
    return int(found[0])


class TestMirror:
    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return MIRROR_SETUP_SQL

    @pytest.fixture(scope="class")
    def dbt_profile_target(
        self, pg_server: Any, tmp_path_factory: Any, statement_log: None
    ) -> Dict[str, Any]:
        return base_profile(pg_server, tmp_path_factory)

    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return MIRROR_MODELS

    def _run_and_check(self, project: Any, pg: Any, src_schema: str, pg_schema: str, *args: str):
        log = ServerLog(pg)
        run_dbt(["run", *args])
        source = f'"{src_schema}".accounts'
        assert checksum(pg, f'"{pg_schema}".accounts_copy') == checksum(pg, source)
        n = rows(pg, f"select count(*) from {source}")[0][0]
        assert rows(pg, f'select n from "{pg_schema}".accounts_count')[0][0] == n
        assert _mirror_rows(project) == n  # the mirror persists after the run
        return log.copies_of(src_schema, "accounts"), changed_rows_fetches(log, "accounts")

    def test_mirror_follows_inserts_updates_deletes_ddl(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        src = f'"{src_schema}".accounts'
        first, fetched = self._run_and_check(project, pg, src_schema, pg_schema)
        assert len(first) == 1 and "WHERE" not in first[0] and not fetched  # a full copy

        pg.execute(f"update {src} set v = 'changed', updated_at = clock_timestamp() where id < 3")
        pg.execute(f"insert into {src} (id, v) values (1000, 'new')")
        pg.execute(f"delete from {src} where id = 50")
        later, fetched = self._run_and_check(project, pg, src_schema, pg_schema)
        # the key diff reads the keys only, through the attach
        assert len(later) == 1 and 'COPY (SELECT "id" FROM' in later[0], later
        # the changed rows: one query inside Postgres (a scan through the attach is
        # split into ctid ranges, each of which would fetch them again)
        assert len(fetched) == 1 and "ctid" not in fetched[0], fetched

        pg.execute(f"alter table {src} add column w integer default 7")
        after_ddl, fetched = self._run_and_check(project, pg, src_schema, pg_schema)
        assert len(after_ddl) == 1 and "WHERE" not in after_ddl[0] and '"w"' in after_ddl[0]
        assert not fetched

        refreshed, fetched = self._run_and_check(
            project, pg, src_schema, pg_schema, "--full-refresh"
        )
        assert len(refreshed) == 1 and "WHERE" not in refreshed[0] and not fetched

    def test_without_key_diff_deleted_rows_stay(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        src = f'"{src_schema}".kept'
        pg.execute(f"update {src} set v = 'changed', updated_at = clock_timestamp() where id = 1")
        pg.execute(f"delete from {src} where id = 2")
        log = ServerLog(pg)
        run_dbt(["run", "--select", "kept_copy"])
        # changes only (one query inside Postgres), no key diff
        assert log.copies_of(src_schema, "kept") == []
        assert len(changed_rows_fetches(log, "kept")) == 1
        got = dict(rows(pg, f'select id, v from "{pg_schema}".kept_copy'))
        assert got[1] == "changed" and got[2] == "v2" and len(got) == 20


# --- dbt source freshness of a mirror ----------------------------------------------------

FRESHNESS_MODELS = {
    "sources.yml": """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    loaded_at_field: updated_at
    freshness: {warn_after: {count: 12, period: hour}}
    tables:
      - name: accounts
        meta: {pg_snapshot: mirror, pg_mirror_key: id}
      - name: kept
  - name: lost
    database: nowhere
    schema: "{{ target.schema }}_src"
    loaded_at_field: updated_at
    freshness: {warn_after: {count: 12, period: hour}}
    tables: [{name: accounts}]
""",
    "accounts_copy.sql": pg_full("select id, v, updated_at from {{ source('app', 'accounts') }}"),
}


class TestMirrorFreshness:
    """`dbt source freshness` on a mirror reports the mirror (what models read): its
    max(loaded_at_field), with the source's own max and the lag in adapter_response."""

    @pytest.fixture(scope="class")
    def src_setup_sql(self) -> str:
        return MIRROR_SETUP_SQL

    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, str]:
        return FRESHNESS_MODELS

    def _freshness(self, project: Any, select: str) -> Dict[str, Any]:
        """Run `dbt source freshness --select <select>`: sources.json results by table."""
        run_dbt(["source", "freshness", "--select", select])
        with open(os.path.join(project.project_root, "target", "sources.json")) as f:
            results = json.load(f)["results"]
        return {r["unique_id"].split(".")[-1]: r for r in results}

    def _state(self, project: Any) -> Tuple[datetime, datetime]:
        """(high-water mark, synced_at) of the accounts mirror, from DuckDB."""
        # the state is keyed by the mirror's local identifier: <connection>.<schema>.<table>
        found = project.run_sql(
            'select high_water_mark::timestamptz, synced_at from "__dbt_pg_mirror".'
            f"\"__dbt_mirror_state\" where mirror = 'app.{project.test_schema}_src.accounts'",
            fetch="one",
        )
        return found[0], found[1]

    def test_freshness_reports_the_mirror_lag(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        src = f'"{src_schema}".accounts'

        def source_max() -> datetime:
            return rows(pg, f"select max(updated_at) from {src}")[0][0]

        # never synced: no rows the models could read; dbt reads null as "never loaded"
        result = self._freshness(project, "source:app.accounts")["accounts"]
        assert result["status"] == "warn"
        assert datetime.fromisoformat(result["max_loaded_at"]).year == 1
        response = result["adapter_response"]
        assert response["mirror"] == f"app.{src_schema}.accounts"
        assert "mirror_synced_at" not in response  # omitted when null
        assert datetime.fromisoformat(response["source_max_loaded_at"]) == source_max()

        run_dbt(["run"])
        synced_max = source_max()
        high_water_mark, synced_at = self._state(project)
        assert high_water_mark == synced_max

        # the source changes; the mirror does not until the next run
        pg.execute(f"update {src} set v = 'later', updated_at = clock_timestamp() where id < 4")
        changed_max = source_max()
        assert changed_max > synced_max
        result = self._freshness(project, "source:app.accounts")["accounts"]
        assert result["status"] == "pass"
        assert datetime.fromisoformat(result["max_loaded_at"]) == high_water_mark
        response = result["adapter_response"]
        assert datetime.fromisoformat(response["mirror_synced_at"]) == synced_at
        assert datetime.fromisoformat(response["source_max_loaded_at"]) == changed_max
        lag = (changed_max - synced_max).total_seconds()
        assert response["mirror_lag_seconds"] == pytest.approx(lag, abs=1e-6)
        snapshotted_at = datetime.fromisoformat(result["snapshotted_at"])
        assert result["max_loaded_at_time_ago_in_s"] == pytest.approx(
            (snapshotted_at - high_water_mark).total_seconds(), abs=1e-3
        )

        # a run refreshes the mirror: freshness follows it
        run_dbt(["run"])
        high_water_mark, synced_at = self._state(project)
        assert high_water_mark == changed_max
        result = self._freshness(project, "source:app.accounts")["accounts"]
        assert datetime.fromisoformat(result["max_loaded_at"]) == changed_max
        response = result["adapter_response"]
        assert datetime.fromisoformat(response["mirror_synced_at"]) == synced_at
        assert response["mirror_lag_seconds"] == 0
        # what the models read is what freshness reports
        copied = rows(pg, f'select max(updated_at) from "{pg_schema}".accounts_copy')[0][0]
        assert copied == changed_max

    def test_direct_source_reads_postgres(
        self, project: Any, src_schema: str, pg: psycopg.Connection
    ) -> None:
        result = self._freshness(project, "source:app.kept")["kept"]
        expected = rows(pg, f'select max(updated_at) from "{src_schema}".kept')[0][0]
        assert datetime.fromisoformat(result["max_loaded_at"]) == expected
        assert "mirror" not in result["adapter_response"]

    def test_unknown_database_names_source_and_connections(self, project: Any) -> None:
        # dbt-core leaves runtime errors out of sources.json: read the run's results
        results = run_dbt(["source", "freshness", "--select", "source:lost"], expect_pass=False)
        assert len(results) == 1 and str(results[0].status) == "runtime error"
        message = str(results[0].message)
        assert "source 'lost.accounts'" in message and "database='nowhere'" in message
        assert "'app', 'warehouse'" in message and "Binder" not in message
