"""Multi-target writes: the ``pg_materialize`` post-hook and the ``pg_targets`` config
(docs/architecture.md "Multi-target post-hooks"; README "Several targets: pg_materialize").

The profile adds two connections to the usual `app` and `warehouse`: `replica`, a
second database on the test server, and `reader`, read_only. Source rows live in a
Postgres schema of their own (``<test schema>_src``); every assertion reads the copies
in Postgres (checksums against a reference computed by Postgres, xmin, pg_class).
"""

import re
import uuid
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Tuple

import psycopg
import pytest
from dbt.cli.main import cli
from dbt.tests.util import reset_metadata_vars
from dbt.tests.util import run_dbt
from dbt.tests.util import run_dbt_and_capture

from tests.conftest import base_profile
from tests.functional import helpers

# --- source tables (created with psycopg; __SRC__ is the source schema) ----------------

# events span the year before last and most of last year (all in the past), so an
# incremental_by_time target with batch_size='year' re-does last year and this year
SETUP_SQL = """
create table __SRC__.events (id integer primary key, grp integer, val text, event_at timestamp);
insert into __SRC__.events
select i, i % 7, 'v' || i,
       date_trunc('year', now() at time zone 'UTC') - interval '2 years' + i * interval '2 days'
from generate_series(1, 300) i;

-- every call of touch() leaves a row in audit and returns its id: a model that
-- selects touch() once per run proves how many times its SQL ran
create table __SRC__.audit (id bigint generated always as identity, at timestamptz default now());
create function __SRC__.touch() returns bigint language sql volatile
as $$ insert into __SRC__.audit default values returning id $$;
"""

# the start of last year: rows before it are outside an untouched target's window
LAST_YEAR = "date_trunc('year', now() at time zone 'UTC') - interval '1 year'"

# second run: changes inside last year, and new rows (still last year, in the past)
CHANGE_SQL = f"""
update __SRC__.events set val = val || '*' where id % 10 = 0 and event_at >= {LAST_YEAR};
insert into __SRC__.events
select i, i % 7, 'v' || i,
       date_trunc('year', now() at time zone 'UTC') - interval '2 years' + i * interval '2 days'
from generate_series(301, 320) i;
"""

COLUMNS = "id, grp, val, event_at"

# --- dbt project -----------------------------------------------------------------------

SOURCES_YML = """
version: 2
sources:
  - name: src
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: events
      - name: run
        meta:
          pg_query: >
            select "{{ target.schema }}_src".touch() as run_id
"""

EVENTS = "select id, grp, val, event_at from {{ source('src', 'events') }}"
# the events and this run's id (one touch() call per evaluation of the model SQL)
EVENTS_WITH_RUN = (
    "select e.id, e.grp, e.val, e.event_at, r.run_id\n"
    "from {{ source('src', 'events') }} e cross join {{ source('src', 'run') }} r"
)

IBT = {"event_time": "event_at", "batch_size": "year", "begin": "2000-01-01"}
UPS = {"unique_key": "id"}
MODE_CONFIGS = {"full": {}, "incremental_by_time": IBT, "upsert_by_key": UPS}
SHORT = {"full": "full", "incremental_by_time": "ibt", "upsert_by_key": "ups"}


def jinja_args(**kwargs: Any) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in kwargs.items())


def hook(connection: str, table: str, mode: str, **configs: Any) -> str:
    """One pg_materialize post-hook, as a Jinja string literal for config(post_hook=...)."""
    args = jinja_args(connection=connection, table=table, mode=mode, **configs)
    return '"{{ pg_materialize(' + args + ') }}"'


def model(select: str, hooks: List[str], **config: Any) -> str:
    """A model file: config(<config>, post_hook=[<hooks>]) and ``select``."""
    args = jinja_args(**config)
    if hooks:
        args += (", " if args else "") + "post_hook=[\n    " + ",\n    ".join(hooks) + "]"
    return "{{ config(" + args + ") }}\n" + select + "\n"


def replica_hooks(name: str) -> List[str]:
    """One replica target per write mode: <name>__full, <name>__ibt, <name>__ups."""
    return [
        hook("replica", f"{name}__{SHORT[mode]}", mode, **configs)
        for mode, configs in MODE_CONFIGS.items()
    ]


# scenario 1 and 2: every write mode after every kind of model
EVERY_MODEL = {
    "m_table": {"materialized": "table"},
    "m_view": {"materialized": "view"},
    "m_incr": {"materialized": "incremental", "unique_key": "id"},
    "m_pg_full": {"materialized": "pg_full", "database": "warehouse"},
    "m_pg_ibt": {"materialized": "pg_incremental_by_time", "database": "warehouse", **IBT},
    "m_pg_ups": {"materialized": "pg_upsert_by_key", "database": "warehouse", **UPS},
}
EVERY_MODEL_FILES = {
    f"{name}.sql": model(EVENTS, replica_hooks(name), **config)
    for name, config in EVERY_MODEL.items()
}
# every Postgres copy: (connection, table)
EVERY_TARGET = [
    ("replica", f"{name}__{short}") for name in EVERY_MODEL for short in SHORT.values()
] + [("warehouse", name) for name in EVERY_MODEL if name.startswith("m_pg_")]

# scenario 7: second runs. Two incremental_by_time targets of one model (replica and
# warehouse), one after a dbt-duckdb incremental model, one after a
# pg_incremental_by_time model (whose own table is incremental too)
IBT_MODEL_FILES = {
    "t_table.sql": model(
        EVENTS,
        [
            hook("replica", "t_table__a", "incremental_by_time", **IBT),
            hook("warehouse", "t_table__b", "incremental_by_time", **IBT),
        ],
        materialized="table",
    ),
    "t_incr.sql": model(
        EVENTS,
        [hook("replica", "t_incr__a", "incremental_by_time", **IBT)],
        materialized="incremental",
        unique_key="id",
    ),
    "t_pg_ibt.sql": model(
        EVENTS,
        [hook("replica", "t_pg_ibt__a", "incremental_by_time", **IBT)],
        materialized="pg_incremental_by_time",
        database="warehouse",
        **IBT,
    ),
}
IBT_COPIES = [
    ("replica", "t_table__a"),
    ("warehouse", "t_table__b"),
    ("replica", "t_incr__a"),
    ("replica", "t_pg_ibt__a"),
    ("warehouse", "t_pg_ibt"),
]
UPS_MODEL_FILES = {
    "u_table.sql": model(
        EVENTS, [hook("replica", "u_table__a", "upsert_by_key", **UPS)], materialized="table"
    ),
    "u_pg_ups.sql": model(
        EVENTS,
        [hook("replica", "u_pg_ups__a", "upsert_by_key", **UPS)],
        materialized="pg_upsert_by_key",
        database="warehouse",
        **UPS,
    ),
}
UPS_COPIES = [("replica", "u_table__a"), ("replica", "u_pg_ups__a"), ("warehouse", "u_pg_ups")]
# scenario 3 and 8: two and three targets, the model SQL run once
ONCE_TWO = model(
    EVENTS_WITH_RUN,
    [hook("warehouse", "once_two", "full"), hook("replica", "once_two", "full")],
    materialized="table",
)
ONCE_THREE = model(
    EVENTS_WITH_RUN,
    [
        hook("warehouse", "once_three", "full"),
        hook("replica", "once_three_ups", "upsert_by_key", **UPS),
        hook("replica", "once_three_ibt", "incremental_by_time", **IBT),
    ],
    materialized="table",
)
# a pg_* model: its own table, then two targets that read it
ONCE_PG = model(
    EVENTS_WITH_RUN,
    [
        hook("replica", "once_pg", "full"),
        hook("replica", "once_pg_ibt", "incremental_by_time", **IBT),
    ],
    materialized="pg_upsert_by_key",
    database="warehouse",
    **UPS,
)
# every copy of each model: (connection, table, mode of its pg_materialize target or
# None for the model's own table)
ONCE_TARGETS = {
    "once_two": [("warehouse", "once_two", "full"), ("replica", "once_two", "full")],
    "once_three": [
        ("warehouse", "once_three", "full"),
        ("replica", "once_three_ups", "upsert_by_key"),
        ("replica", "once_three_ibt", "incremental_by_time"),
    ],
    "once_pg": [
        ("warehouse", "once_pg", None),
        ("replica", "once_pg", "full"),
        ("replica", "once_pg_ibt", "incremental_by_time"),
    ],
}

# scenario 4: pg_targets (model config and dbt_project.yml) vs the same post-hooks
SHORTHAND_TARGETS = [
    ("replica", "full", {}),
    ("replica", "upsert_by_key", UPS),
    ("warehouse", "incremental_by_time", IBT),
]
HOOKED = model(
    EVENTS,
    [
        hook(c, f"hooked_{i}", mode, **configs)
        for i, (c, mode, configs) in enumerate(SHORTHAND_TARGETS)
    ],
    materialized="table",
)
SHORTHAND = model(
    EVENTS,
    [],
    materialized="table",
    pg_targets=[
        {"connection": c, "table": f"short_{i}", "mode": mode, **configs}
        for i, (c, mode, configs) in enumerate(SHORTHAND_TARGETS)
    ],
)
MIRROR = model(EVENTS, [], materialized="table")
# the folder's targets: the table defaults to the model's name, the schema to the target's
FOLDER_TARGETS = [
    {"connection": "replica", "mode": "full"},
    {"connection": "warehouse", "mode": "upsert_by_key", "unique_key": "id"},
]

# scenario 5: the middle target fails at run time (a CHECK constraint the rows violate)
FAILING = model(
    EVENTS,
    [
        hook("warehouse", "fail_first", "full"),
        hook("replica", "fail_middle", "incremental_by_time", **IBT),
        hook("replica", "fail_last", "full"),
    ],
    materialized="table",
)

# scenario 6: configuration errors, all caught before the first target is written
BAD_THIRD = model(
    EVENTS,
    [
        hook("replica", "bad_third_a", "full"),
        hook("warehouse", "bad_third_b", "upsert_by_key", **UPS),
        hook("replica", "bad_third_c", "incremental_by_time", event_time="no_such_column"),
    ],
    materialized="table",
)
# two good post-hooks, then a pg_targets entry with a misspelt config key
BAD_SHORTHAND = model(
    EVENTS,
    [hook("replica", "bad_short_a", "full"), hook("warehouse", "bad_short_b", "full")],
    materialized="table",
    pg_targets=[
        {
            "connection": "replica",
            "table": "bad_short_c",
            "mode": "upsert_by_key",
            "uniqe_key": "id",
        }
    ],
)
TO_READER = model(
    EVENTS,
    [hook("replica", "to_reader_a", "full"), hook("reader", "to_reader_b", "full")],
    materialized="table",
)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replica_db(pg_server: Any) -> Iterator[str]:
    """A second database on the test server, for the `replica` connection (a unique
    name: sessions sharing a DBT_DUCKDB_PG_TEST_DSN server do not collide)."""
    name = f"{pg_server.conninfo.get('dbname') or 'dbt_test'}_replica_{uuid.uuid4().hex[:8]}"
    with pg_server.connect() as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    yield name
    with pg_server.connect() as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="class")
def dbt_profile_target(pg_server: Any, replica_db: str, tmp_path_factory: Any) -> Dict[str, Any]:
    return base_profile(
        pg_server,
        tmp_path_factory,
        # an explicit `database` overrides the dbname of a DSN
        replica=pg_server.profile_connection(database=replica_db),
        reader=pg_server.profile_connection(read_only=True),
    )


@pytest.fixture(scope="class")
def src_setup_sql() -> str:
    """The source schema's tables (src_schema)."""
    return SETUP_SQL


@pytest.fixture(scope="class")
def target_schemas(pg_server: Any, replica_db: str, pg_schema: str) -> str:
    """The class's schema, created ahead in both databases: concurrent targets in a
    schema that does not exist yet fail (see TestConcurrentTargetsInNewSchema)."""
    for dbname in (pg_server.conninfo.get("dbname"), replica_db):
        with pg_server.connect(dbname=dbname) as conn:
            conn.execute(f'create schema if not exists "{pg_schema}"')
    return pg_schema


@pytest.fixture
def replica(pg_server: Any, replica_db: str) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to the replica database."""
    with pg_server.connect(dbname=replica_db) as conn:
        yield conn


# --- helpers ---------------------------------------------------------------------------

UNIQUE_ID_INDEX = "CREATE UNIQUE INDEX ON <t> USING btree (id)"


class Copies:
    """Reads the Postgres copies of a test class: the warehouse (test database) and
    the replica, each in the class's schema."""

    def __init__(self, pg: psycopg.Connection, replica: psycopg.Connection, schema: str):
        self.conns = {"warehouse": pg, "replica": replica}
        self.schema = schema

    def name(self, table: str) -> str:
        return helpers.qualified(self.schema, table)

    def rows(self, connection: str, sql: str) -> List[tuple]:
        return helpers.rows(self.conns[connection], sql)

    def checksum(self, connection: str, from_sql: str) -> Tuple[int, str]:
        """(row count, md5 of all rows as text in a stable order) of ``from_sql``."""
        return helpers.checksum(self.conns[connection], from_sql)

    def table_checksum(
        self, connection: str, table: str, columns: str = COLUMNS
    ) -> Tuple[int, str]:
        return self.checksum(connection, f"(select {columns} from {self.name(table)})")

    def oid(self, connection: str, table: str) -> int:
        return helpers.relation_oid(self.conns[connection], self.schema, table)

    def exists(self, connection: str, table: str) -> bool:
        return helpers.table_exists(self.conns[connection], self.schema, table)

    def columns(self, connection: str, table: str) -> List[tuple]:
        return helpers.columns(self.conns[connection], self.schema, table)

    def indexes(self, connection: str, table: str) -> List[str]:
        """Index definitions of ``table``, the index and table names replaced by <t>."""
        defs = helpers.index_definitions(self.conns[connection], self.schema, table)
        return sorted(re.sub(r"INDEX \S+ ON \S+", "INDEX ON <t>", d) for d in defs)

    def leftovers(self, connection: str) -> List[str]:
        """Tables named like a temporary, backup or stage table of a write."""
        return helpers.leftovers(self.conns[connection], self.schema)

    def first_xid(self, connection: str, table: str) -> int:
        """The oldest transaction id that wrote a row of ``table`` (xids are
        cluster-wide, so they order writes across the two databases)."""
        return int(
            self.rows(connection, f"select min(xmin::text::bigint) from {self.name(table)}")[0][0]
        )

    def xmins(self, connection: str, table: str, where: str) -> List[tuple]:
        return self.rows(
            connection, f"select id, xmin::text from {self.name(table)} where {where} order by id"
        )


@pytest.fixture
def copies(pg: psycopg.Connection, replica: psycopg.Connection, pg_schema: str) -> Copies:
    """The class's copies in the warehouse and the replica database."""
    return Copies(pg, replica, pg_schema)


def source_checksum(copies: Copies, src_schema: str, columns: str = COLUMNS) -> Tuple[int, str]:
    """The checksum every complete copy must have, computed by Postgres from the source."""
    return copies.checksum("warehouse", f'(select {columns} from "{src_schema}".events)')


def dbt_exit_code(project: Any, args: List[str]) -> int:
    """Run dbt's command line entry point (``dbt ...``) in-process; its exit code."""
    reset_metadata_vars()
    dirs = [
        "--project-dir",
        str(project.project_root),
        "--profiles-dir",
        str(project.profiles_dir),
    ]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args=[*args, *dirs], prog_name="dbt", standalone_mode=True)
    return int(exit_info.value.code or 0)


# --- 1, 2: every mode after every kind of model -------------------------------------


class TestEveryModeAfterEveryModel:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, **EVERY_MODEL_FILES}

    def test_first_run(
        self, project: Any, src_schema: str, target_schemas: str, copies: Copies
    ) -> None:
        # table, view, incremental and the three pg_* models, each followed by a full,
        # an incremental_by_time and an upsert_by_key target (no `transaction: false`)
        results = run_dbt(["run"])
        assert len(results) == len(EVERY_MODEL)
        assert all(r.status == "success" for r in results), [
            (r.node.name, r.message) for r in results
        ]
        expected = source_checksum(copies, src_schema)
        for connection, table in EVERY_TARGET:
            assert copies.table_checksum(connection, table) == expected, (connection, table)
        assert copies.columns("replica", "m_view__ups") == [
            ("id", "integer"),
            ("grp", "integer"),
            ("val", "text"),
            ("event_at", "timestamp without time zone"),
        ]
        # upsert_by_key targets get their unique index on the key
        for name in EVERY_MODEL:
            assert copies.indexes("replica", f"{name}__ups") == [UNIQUE_ID_INDEX]
        assert copies.leftovers("replica") == []


# --- 7: second runs (incremental paths, window per target) and --full-refresh ---------


class SecondRun:
    """Run the models, change the source, run again (incremental paths on every
    copy), then --full-refresh; every copy must equal the source after each run."""

    targets: List[Tuple[str, str]] = []  # the copies: (connection, table)
    model_files: Dict[str, str] = {}

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, **self.model_files}

    def first_run(self, copies: Copies, src_schema: str) -> Dict[Tuple[str, str], int]:
        """Run once; returns the oid of every copy."""
        results = run_dbt(["run"])
        assert all(r.status == "success" for r in results)
        self.assert_complete(copies, src_schema)
        return {t: copies.oid(*t) for t in self.targets}

    def second_run(self, copies: Copies, src_schema: str, oids: Dict[Any, int]) -> None:
        """Change the source, run again: the copies are written into, not rebuilt."""
        copies.conns["warehouse"].execute(CHANGE_SQL.replace("__SRC__", f'"{src_schema}"'))
        results = run_dbt(["run"])
        assert all(r.status == "success" for r in results), [
            (r.node.name, r.message) for r in results
        ]
        self.assert_complete(copies, src_schema)
        assert {t: copies.oid(*t) for t in self.targets} == oids

    def full_refresh(self, copies: Copies, src_schema: str, oids: Dict[Any, int]) -> None:
        """A row no incremental run removes, in every copy; --full-refresh rebuilds
        every copy without it."""
        for connection, table in self.targets:
            copies.conns[connection].execute(
                f"insert into {copies.name(table)} ({COLUMNS}) values "
                "(100000, 0, 'junk', timestamp '2001-01-01')"
            )
        results = run_dbt(["run", "--full-refresh"])
        assert all(r.status == "success" for r in results)
        self.assert_complete(copies, src_schema)
        assert all(copies.oid(*t) != oids[t] for t in self.targets)

    def assert_complete(self, copies: Copies, src_schema: str) -> None:
        expected = source_checksum(copies, src_schema)
        for connection, table in self.targets:
            assert copies.table_checksum(connection, table) == expected, (connection, table)


class TestSecondRunIncrementalByTime(SecondRun):
    targets = IBT_COPIES
    model_files = IBT_MODEL_FILES

    def test_window_per_target_and_full_refresh(
        self, project: Any, src_schema: str, target_schemas: str, copies: Copies
    ) -> None:
        oids = self.first_run(copies, src_schema)

        # two targets of one model at different points in time: `behind` loses last
        # year, so its window starts a year before `untouched`'s
        behind, untouched = ("replica", "t_table__a"), ("warehouse", "t_table__b")
        copies.conns["replica"].execute(
            f"delete from {copies.name(behind[1])} where event_at >= {LAST_YEAR}"
        )
        assert copies.table_checksum(*behind)[0] < 200
        before_window = f"event_at < {LAST_YEAR}"
        untouched_old = copies.xmins(*untouched, before_window)
        assert len(untouched_old) > 100

        self.second_run(copies, src_schema, oids)
        assert copies.table_checksum(*behind)[0] == 320
        # untouched's window started last year: its older rows were not rewritten
        assert copies.xmins(*untouched, before_window) == untouched_old

        self.full_refresh(copies, src_schema, oids)


class TestSecondRunUpsertByKey(SecondRun):
    targets = UPS_COPIES
    model_files = UPS_MODEL_FILES

    def test_merge_and_full_refresh(
        self, project: Any, src_schema: str, target_schemas: str, copies: Copies
    ) -> None:
        oids = self.first_run(copies, src_schema)
        # a row lost from one copy comes back with the next merge
        copies.conns["replica"].execute(f"delete from {copies.name('u_table__a')} where id = 7")
        self.second_run(copies, src_schema, oids)
        self.full_refresh(copies, src_schema, oids)


# --- 3, 8: two and three targets, the model SQL runs once, one log line per target ----


class TestComputedOnceLoggedPerTarget:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            "once_two.sql": ONCE_TWO,
            "once_three.sql": ONCE_THREE,
            "once_pg.sql": ONCE_PG,
        }

    def test_model_sql_runs_once_and_all_copies_are_equal(
        self, project: Any, src_schema: str, pg_schema: str, target_schemas: str, copies: Copies
    ) -> None:
        results, output = run_dbt_and_capture(["run"])
        assert sorted(r.node.name for r in results) == sorted(ONCE_TARGETS)
        assert all(r.status == "success" for r in results)

        # touch() was called once per model: each model's SQL ran once
        assert copies.rows("warehouse", f'select count(*) from "{src_schema}".audit') == [(3,)]
        run_ids = {}
        for name, targets in ONCE_TARGETS.items():
            ids = {
                row[0]
                for connection, table, _mode in targets
                for row in copies.rows(connection, f"select run_id from {copies.name(table)}")
            }
            assert len(ids) == 1, (name, ids)  # every copy holds the same computation
            run_ids[name] = ids.pop()
            # every copy equals the source plus that run id, per Postgres
            run_id = f"{run_ids[name]}::bigint as run_id"
            expected = copies.checksum(
                "warehouse", f'(select {COLUMNS}, {run_id} from "{src_schema}".events)'
            )
            for connection, table, _mode in targets:
                got = copies.table_checksum(connection, table, COLUMNS + ", run_id")
                assert got == expected, (connection, table)
        assert sorted(run_ids.values()) == [1, 2, 3]

        # 8: one log line per target write: connection, table, mode, rows, seconds
        for name, targets in ONCE_TARGETS.items():
            for connection, table, mode in targets:
                if mode is None:
                    continue
                target = re.escape(f'"{connection}"."{pg_schema}"."{table}"')
                pattern = re.compile(
                    rf"pg_materialize \S*{name}\S* -> {target} \({mode}\): "
                    rf"INSERT 300\b.* in \d+\.\d\ds"
                )
                assert len(pattern.findall(output)) == 1, (connection, table, output)
        assert len(re.findall(r"pg_materialize \S+ -> ", output)) == 7


# --- 4: pg_targets in the model config and for a folder ------------------------------


class TestPgTargetsShorthand:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            "hooked.sql": HOOKED,
            "shorthand.sql": SHORTHAND,
            "mirrored": {"mirror_one.sql": MIRROR, "mirror_two.sql": MIRROR},
        }

    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict:
        return {"models": {"test": {"mirrored": {"+pg_targets": FOLDER_TARGETS}}}}

    def test_same_writes_as_post_hooks_in_list_order(
        self, project: Any, src_schema: str, target_schemas: str, copies: Copies
    ) -> None:
        results, output = run_dbt_and_capture(["run"])
        assert len(results) == 4 and all(r.status == "success" for r in results)
        expected = source_checksum(copies, src_schema)

        # pg_targets in the model config: the same tables as the equivalent post-hooks
        for i, (connection, _mode, _configs) in enumerate(SHORTHAND_TARGETS):
            hooked, short = f"hooked_{i}", f"short_{i}"
            assert copies.table_checksum(connection, short) == expected
            assert copies.table_checksum(connection, hooked) == expected
            assert copies.columns(connection, short) == copies.columns(connection, hooked)
            assert copies.indexes(connection, short) == copies.indexes(connection, hooked)
        assert copies.indexes("replica", "short_1") == [UNIQUE_ID_INDEX]
        # in list order: each target's rows were written by a later transaction
        for prefix in ("hooked", "short"):
            xids = [
                copies.first_xid(c, f"{prefix}_{i}")
                for i, (c, _m, _x) in enumerate(SHORTHAND_TARGETS)
            ]
            assert xids == sorted(xids) and len(set(xids)) == 3, (prefix, xids)

        # +pg_targets for a folder: every model in it, table named like the model
        for name in ("mirror_one", "mirror_two"):
            assert copies.table_checksum("replica", name) == expected
            assert copies.table_checksum("warehouse", name) == expected
            assert copies.indexes("warehouse", name) == [UNIQUE_ID_INDEX]
            assert copies.first_xid("replica", name) < copies.first_xid("warehouse", name)
        # ...and nothing outside the folder got the folder's targets
        assert not copies.exists("replica", "hooked") and not copies.exists("replica", "shorthand")
        lines = re.findall(r"pg_materialize \S+ -> (\S+) \((\w+)\)", output)
        assert len(lines) == 10
        short_lines = [line for line in lines if '"short_' in line[0]]
        assert [line[1] for line in short_lines] == [t[1] for t in SHORTHAND_TARGETS]


# --- 5: a failing middle target ----------------------------------------------------------


class TestFailingMiddleTarget:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, "failing.sql": FAILING}

    def test_earlier_targets_keep_data_later_ones_not_attempted(
        self,
        project: Any,
        src_schema: str,
        pg_schema: str,
        pg: psycopg.Connection,
        replica: psycopg.Connection,
        copies: Copies,
    ) -> None:
        old_row = "(1, 1, 'old', timestamp '2001-01-01')"
        pg.execute(f'create schema if not exists "{pg_schema}"')
        old_table = f"select * from (values {old_row}) t({COLUMNS})"
        pg.execute(f"create table {copies.name('fail_first')} as {old_table}")
        replica.execute(f'create schema "{pg_schema}"')
        # the middle target exists and refuses the model's rows (grp must be negative);
        # its one row makes the write incremental, with a window from the year before last
        replica.execute(
            f"create table {copies.name('fail_middle')} (id integer, "
            "grp integer check (grp < 0), val text, event_at timestamp)"
        )
        replica.execute(
            f"insert into {copies.name('fail_middle')} values (-1, -1, 'kept', "
            "date_trunc('year', now() at time zone 'UTC') - interval '2 years')"
        )
        kept = copies.table_checksum("replica", "fail_middle")
        replica.execute(f"create table {copies.name('fail_last')} as {old_table}")
        old_last = copies.table_checksum("replica", "fail_last")

        # dbt's command line entry point (in this process: it holds the DuckDB file)
        assert dbt_exit_code(project, ["run", "--select", "failing"]) == 1
        (result,) = [
            r
            for r in helpers.run_results(project.project_root)
            if r["unique_id"] == "model.test.failing"
        ]
        assert result["status"] == "error"
        message = result["message"]
        # the failing target is named: connection, schema, table, mode
        assert f"replica.{pg_schema}.fail_middle (mode=incremental_by_time)" in message, message
        assert "check constraint" in message, message

        # the first target has the new data; the failing one and the last are as they were
        assert copies.table_checksum("warehouse", "fail_first") == source_checksum(
            copies, src_schema
        )
        assert copies.table_checksum("replica", "fail_middle") == kept
        # not attempted: a full replacement of fail_last would have succeeded
        assert copies.table_checksum("replica", "fail_last") == old_last
        assert not copies.rows(
            "replica",
            "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            f"where nspname = '{pg_schema}' "
            "and relname not in ('fail_middle', 'fail_last')",
        )


# --- 6: configuration errors ---------------------------------------------------------------


class TestConfigErrorsBeforeAnyWrite:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "sources.yml": SOURCES_YML,
            "bad_third.sql": BAD_THIRD,
            "bad_shorthand.sql": BAD_SHORTHAND,
            "to_reader.sql": TO_READER,
        }

    def test_nothing_written_and_read_only_is_a_compile_error(
        self, project: Any, src_schema: str, copies: Copies
    ) -> None:
        results = run_dbt(["run"], expect_pass=False)
        messages = {r.node.name: r.message or "" for r in results}
        assert all(r.status == "error" for r in results), messages

        # the bad third target is named with its problem...
        bad = messages["bad_third"]
        assert "bad_third_c" in bad and "no_such_column" in bad, bad
        bad = messages["bad_shorthand"]
        assert "bad_short_c" in bad and "uniqe_key" in bad, bad
        # ...a read_only connection is a compilation error naming it
        bad = messages["to_reader"]
        assert "Compilation Error" in bad and "reader" in bad and "read_only" in bad, bad

        # and nothing was written to any target, not even the good ones before it
        for connection, table in [
            ("replica", "bad_third_a"),
            ("warehouse", "bad_third_b"),
            ("replica", "bad_short_a"),
            ("warehouse", "bad_short_b"),
            ("replica", "to_reader_a"),
            ("warehouse", "to_reader_b"),
        ]:
            assert not copies.exists(connection, table), (connection, table)


# --- concurrent targets in a schema that does not exist yet ---------------------------

# race_slow's target write holds its transaction open for seconds (the view sleeps in
# Postgres when read); race_fast's target is written meanwhile, into the same new schema
RACE_SLOW = model(
    "select t.id from range(10) t(id), postgres_query('app', 'select pg_sleep(8)') s",
    [hook("replica", "race_slow", "full")],
    materialized="view",
)
RACE_FAST = model(
    "select t.id from range(10) t(id), postgres_query('app', 'select pg_sleep(3)') s",
    [hook("replica", "race_fast", "full")],
    materialized="table",
)


class TestConcurrentTargetsInNewSchema:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"race_slow.sql": RACE_SLOW, "race_fast.sql": RACE_FAST}

    def test_two_models_create_the_target_schema_at_once(
        self, project: Any, pg_schema: str, copies: Copies
    ) -> None:
        assert not copies.rows(
            "replica", f"select 1 from pg_namespace where nspname = '{pg_schema}'"
        )
        run_dbt(["run"], expect_pass=None)
        assert copies.rows("replica", f"select count(*) from {copies.name('race_fast')}") == [
            (10,)
        ]
        assert copies.rows("replica", f"select count(*) from {copies.name('race_slow')}") == [
            (10,)
        ]


# --- target schemas through generate_schema_name; a CI job's PR target ------------------

# every way of naming a target's schema: schema=, table='<schema>.<table>', the
# connection's profile `schema` (connection `mirror`), and none (the target schema);
# from a DuckDB table (post-hooks and pg_targets) and from a pg_full model
# the source schema stays the production target's in a PR run (var src_schema)
FIXED_SOURCES_YML = SOURCES_YML.replace("{{ target.schema }}_src", "{{ var('src_schema') }}")
SCHEMA_MODELS = {
    "sources.yml": FIXED_SOURCES_YML,
    "sch_table.sql": model(
        EVENTS,
        [
            "\"{{ pg_materialize(connection='replica', schema='marts', mode='full') }}\"",
            hook("warehouse", "pub.sch_table_ups", "upsert_by_key", **UPS),
            "\"{{ pg_materialize(connection='mirror', mode='full') }}\"",
        ],
        materialized="table",
        pg_targets=[
            {
                "connection": "replica",
                "table": "sch_table_ibt",
                "mode": "incremental_by_time",
                **IBT,
            }
        ],
    ),
    "sch_full.sql": model(
        EVENTS,
        [hook("replica", "sch_full", "full")],
        materialized="pg_full",
        database="warehouse",
    ),
}


def schema_copies(target_schema: str) -> List[Tuple[str, str, str]]:
    """Every Postgres copy of SCHEMA_MODELS for a target schema, with dbt's default
    generate_schema_name: (connection, schema, table)."""
    return [
        ("replica", f"{target_schema}_marts", "sch_table"),
        ("warehouse", f"{target_schema}_pub", "sch_table_ups"),
        ("replica", f"{target_schema}_rep", "sch_table"),
        ("replica", target_schema, "sch_table_ibt"),
        ("warehouse", target_schema, "sch_full"),
        ("replica", target_schema, "sch_full"),
    ]


def schemas_with_prefix(conn: psycopg.Connection, prefix: str) -> List[str]:
    """The schemas of ``conn``'s database whose name starts with ``prefix``, sorted."""
    found = helpers.rows(
        conn,
        "select nspname::text from pg_namespace where left(nspname, length(%s)) = %s order by 1",
        (prefix, prefix),
    )
    return [r[0] for r in found]


@pytest.fixture(scope="class")
def class_schemas(pg_server: Any, replica_db: str, unique_schema: str) -> Iterator[str]:
    """The class's schema prefix: every schema starting with it, in both databases,
    is dropped before and after the class."""

    def drop_all() -> None:
        for dbname in (pg_server.conninfo.get("dbname"), replica_db):
            with pg_server.connect(dbname=dbname) as conn:
                for schema in schemas_with_prefix(conn, unique_schema):
                    conn.execute(f'drop schema "{schema}" cascade')

    drop_all()
    yield unique_schema
    drop_all()


def with_pr_target(profile: Dict[str, Any], pr_schema: str) -> Dict[str, Any]:
    """dbt-tests-adapter's profile plus a target `pr`: the same connections, target
    schema ``pr_schema`` (a dbt Cloud CI job's PR schema)."""
    outputs = profile["test"]["outputs"]
    outputs["pr"] = {**outputs["default"], "schema": pr_schema}
    return profile


def schema_profile(pg_server: Any, replica_db: str, tmp_path_factory: Any) -> Dict[str, Any]:
    """This module's profile plus `mirror`: the replica database with profile schema `rep`."""
    return base_profile(
        pg_server,
        tmp_path_factory,
        replica=pg_server.profile_connection(database=replica_db),
        mirror=pg_server.profile_connection(database=replica_db, schema="rep"),
    )


@pytest.mark.slow
class TestPrTargetNeverWritesProduction:
    @pytest.fixture(scope="class")
    def dbt_profile_target(
        self, pg_server: Any, replica_db: str, tmp_path_factory: Any
    ) -> Dict[str, Any]:
        return schema_profile(pg_server, replica_db, tmp_path_factory)

    @pytest.fixture(scope="class")
    def dbt_profile_data(self, dbt_profile_data: Dict[str, Any], unique_schema: str) -> Any:
        return with_pr_target(dbt_profile_data, f"{unique_schema}_pr_1_2")

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return SCHEMA_MODELS

    @pytest.fixture(scope="class")
    def project_config_update(self, unique_schema: str) -> dict:
        return {"vars": {"src_schema": f"{unique_schema}_src"}}

    def test_pr_copies_in_pr_schemas_production_unchanged(
        self, project: Any, class_schemas: str, src_schema: str, copies: Copies
    ) -> None:
        prod, pr = class_schemas, f"{class_schemas}_pr_1_2"
        results = run_dbt(["run"])
        assert all(r.status == "success" for r in results)
        expected = source_checksum(copies, src_schema)
        production = {}
        for connection, schema, table in schema_copies(prod):
            got = copies.checksum(connection, f'(select {COLUMNS} from "{schema}"."{table}")')
            assert got == expected, (connection, schema, table)
            production[(connection, schema, table)] = got

        # the source changes; the CI job builds its PR target, then again with --empty
        copies.conns["warehouse"].execute(CHANGE_SQL.replace("__SRC__", f'"{src_schema}"'))
        changed = source_checksum(copies, src_schema)
        results = run_dbt(["run", "--target", "pr"])
        assert all(r.status == "success" for r in results)
        for connection, schema, table in schema_copies(pr):
            got = copies.checksum(connection, f'(select {COLUMNS} from "{schema}"."{table}")')
            assert got == changed, (connection, schema, table)
        run_dbt(["run", "--target", "pr", "--empty"])

        # production copies: the same rows, and no schema but the PR ones was added
        for (connection, schema, table), before in production.items():
            after = copies.checksum(connection, f'(select {COLUMNS} from "{schema}"."{table}")')
            assert after == before, (connection, schema, table)
        for connection in ("warehouse", "replica"):
            found = schemas_with_prefix(copies.conns[connection], prod)
            expected_schemas = {
                s for c, s, _t in schema_copies(prod) + schema_copies(pr) if c == connection
            }
            assert set(found) - {f"{prod}_src"} == expected_schemas, (connection, found)


# a project's generate_schema_name: custom schemas as `<target>__<custom>__<model>`
# (so the node is passed too); no custom schema: the target schema
OVERRIDE_MACRO = """
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}
  {%- else -%}{{ target.schema }}__{{ custom_schema_name | trim }}__{{ node.name }}{%- endif -%}
{%- endmacro %}
"""


class TestGenerateSchemaNameOverride:
    @pytest.fixture(scope="class")
    def dbt_profile_target(
        self, pg_server: Any, replica_db: str, tmp_path_factory: Any
    ) -> Dict[str, Any]:
        return schema_profile(pg_server, replica_db, tmp_path_factory)

    @pytest.fixture(scope="class")
    def macros(self) -> dict:
        return {"generate_schema_name.sql": OVERRIDE_MACRO}

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return SCHEMA_MODELS

    @pytest.fixture(scope="class")
    def project_config_update(self, unique_schema: str) -> dict:
        return {"vars": {"src_schema": f"{unique_schema}_src"}}

    def test_project_override_names_the_schemas(
        self, project: Any, class_schemas: str, src_schema: str, copies: Copies
    ) -> None:
        results = run_dbt(["run"])
        assert all(r.status == "success" for r in results)
        s = class_schemas
        expected = source_checksum(copies, src_schema)
        for connection, schema, table in [
            ("replica", f"{s}__marts__sch_table", "sch_table"),
            ("warehouse", f"{s}__pub__sch_table", "sch_table_ups"),
            ("replica", f"{s}__rep__sch_table", "sch_table"),
            ("replica", s, "sch_table_ibt"),
            ("replica", s, "sch_full"),
        ]:
            got = copies.checksum(connection, f'(select {COLUMNS} from "{schema}"."{table}")')
            assert got == expected, (connection, schema, table)


# --- pg_targets do not depend on run_hooks -------------------------------------------

# a project's own run_hooks (dbt-duckdb's loop) and a materialization of its own
PROJECT_RUN_HOOKS = """
{% macro run_hooks(hooks, inside_transaction=True) %}
  {% for hook in hooks | selectattr('transaction', 'equalto', inside_transaction) %}
    {% set rendered = render(hook.get('sql')) | trim %}
    {% if (rendered | length) > 0 %}
      {% call statement(auto_begin=inside_transaction) %}{{ rendered }}{% endcall %}
    {% endif %}
  {% endfor %}
{% endmacro %}

{% materialization plain_table, default %}
  {% call statement('main') %}create or replace table {{ this }} as ({{ sql }}){% endcall %}
  {{ adapter.commit() }}
  {{ return({'relations': [this.incorporate(type='table')]}) }}
{% endmaterialization %}
"""
RUN_HOOKS_TARGETS = [{"connection": "replica", "mode": "full"}]
RUN_HOOKS_MODELS = {
    "rh_table.sql": model(EVENTS, [], materialized="table", pg_targets=RUN_HOOKS_TARGETS),
    "rh_view.sql": model(EVENTS, [], materialized="view", pg_targets=RUN_HOOKS_TARGETS),
    "rh_pg_ups.sql": model(
        EVENTS,
        [hook("replica", "rh_pg_ups_hooked", "full")],
        materialized="pg_upsert_by_key",
        database="warehouse",
        pg_targets=RUN_HOOKS_TARGETS,
        **UPS,
    ),
    "rh_plain.sql": model(EVENTS, [], materialized="plain_table", pg_targets=RUN_HOOKS_TARGETS),
}


class TestPgTargetsWithProjectRunHooks:
    @pytest.fixture(scope="class")
    def macros(self) -> dict:
        return {"project_hooks.sql": PROJECT_RUN_HOOKS}

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"sources.yml": SOURCES_YML, **RUN_HOOKS_MODELS}

    def test_written_by_the_materialization_or_a_loud_failure(
        self, project: Any, src_schema: str, target_schemas: str, copies: Copies
    ) -> None:
        results = run_dbt(["run"], expect_pass=False)
        statuses = {r.node.name: str(r.status) for r in results}
        expected = source_checksum(copies, src_schema)
        # the project's run_hooks runs the hooks; the materializations write pg_targets
        for name in ("rh_table", "rh_view", "rh_pg_ups"):
            assert statuses[name] == "success", (name, helpers.result_message(results, name))
            assert copies.table_checksum("replica", name) == expected, name
        assert copies.table_checksum("replica", "rh_pg_ups_hooked") == expected
        # a materialization that does not write them: the model fails, naming the cause
        assert statuses["rh_plain"] == "error"
        message = helpers.result_message(results, "rh_plain")
        assert "pg_targets of rh_plain were not written" in message, message
        assert "plain_table" in message, message
        assert not copies.exists("replica", "rh_plain")
