"""`pg_upsert_by_key`: merge a model's result into a PostgreSQL table by key
(docs/architecture.md "pg_upsert_by_key").

Every assertion reads PostgreSQL itself: checksums of the rows against a reference
computed by Postgres, pg_index, xmin (rows rewritten or not), pg_class leftovers
(`__dbt_stage`, `__dbt_tmp`, `__dbt_backup`), pg_locks, and statistics counters.
Scenarios that need two dbt processes at once, or the statements DuckDB sends to
Postgres (`pg_debug_show_queries`, printed on stderr), run `dbt` as a subprocess
on a small project written into a tmp dir.
"""

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Tuple

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.functional.helpers import adapter_responses
from tests.functional.helpers import checksum
from tests.functional.helpers import column_names
from tests.functional.helpers import leftovers
from tests.functional.helpers import qualified
from tests.functional.helpers import relation_oid
from tests.functional.helpers import result_message
from tests.functional.helpers import result_status
from tests.functional.helpers import rows
from tests.functional.helpers import run_results
from tests.functional.helpers import start_dbt_cli
from tests.functional.helpers import table_exists
from tests.functional.helpers import write_dbt_project

# --- models ---------------------------------------------------------------------------

# scenario 1: first build and --full-refresh
KEYED_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select i as id, 'v' || (i * {{ var('mult', 1) }}) as val from range({{ var('n', 1000) }}) t(i)
"""

# scenario 2: a 20,000-row source in Postgres, merged in full on every run
CUSTOMERS_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select * from {{ source('app', 'customers') }}
"""

CUSTOMERS_SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: customers
"""

CUSTOMERS_SETUP = """
create table __SRC__.customers (
  id integer primary key, name text, tier text, amount numeric(12, 2), updated_at timestamp
);
insert into __SRC__.customers
select i, 'customer ' || i, case when i % 7 = 0 then null else 'tier' || (i % 3) end,
       round((i * 7.31) % 10000, 2), timestamp '2024-01-01' + i * interval '1 minute'
from generate_series(1, 20000) i;
"""

# ~1% changed (200 rows, some to NULL), 0.5% new (100), 50 deleted from the source
# (an upsert never deletes: they stay in the target)
CUSTOMERS_CHANGE = """
update __SRC__.customers
   set name = name || ' (moved)', amount = amount + 1,
       tier = case when id % 200 = 0 then null else coalesce(tier, 'tier9') end,
       updated_at = updated_at + interval '1 day'
 where id % 100 = 0;
delete from __SRC__.customers where id % 400 = 7;
insert into __SRC__.customers
select i, 'customer ' || i, 'tier1', i / 100.0, timestamp '2024-03-01' + i * interval '1 second'
from generate_series(20001, 20100) i;
"""

CUSTOMER_COLUMNS = "id, name, tier, amount, updated_at"

# scenario 3: on_conflict modes (__MODE__ is replaced; '' = the default)
ON_CONFLICT_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id'__MODE__) }}
select cast(i as integer) as id, '{{ var("tag", "a") }}' || i as val
from range({{ var('lo', 0) }}, {{ var('hi', 100) }}) t(i)
"""

# scenario 4: merge_update_columns / merge_exclude_columns (__CONFIG__ is replaced)
MERGE_COLUMNS_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id', __CONFIG__) }}
{%- set tag = var('tag', '1') %}
select cast(i as integer) as id, '{{ tag }}a' || i as a, '{{ tag }}b' || i as b,
       '{{ tag }}c' || i as c
from range({{ var('lo', 0) }}, {{ var('hi', 100) }}) t(i)
"""

# scenario 5: NULL and duplicate keys (NULL at i = 3; 7 three times; 8 four times)
BAD_KEYS_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select
{%- if var('bad', false) %}
  case when i = 3 then null when i in (10, 11) then 7 when i in (12, 13, 14) then 8 else i end
{%- else %}
  i
{%- endif %} as id,
  '{{ var("tag", "v") }}' || i as val
from range({{ var('lo', 0) }}, {{ var('hi', 20) }}) t(i)
"""

# scenario 6: targets created outside dbt. Rows 50..74 are unchanged, 75..99 change,
# 100..149 are new (the targets hold 0..99)
EXTERNAL_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select cast(i as integer) as id,
       case when i < 75 then 'old' || i else 'new' || i end as val,
       cast(i * 2 as integer) as n
from range(50, 150) t(i)
"""

# scenario 7: failures after the stage is loaded
GUARDED_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id',
          on_schema_change=var('osc', 'ignore')) }}
select cast(i as integer) as id, '{{ var("tag", "ok") }}' || i as val
{%- if var('extra', false) %}, cast(i * 3 as integer) as extra{% endif %}
from range({{ var('lo', 0) }}, {{ var('hi', 100) }}) t(i)
"""

# scenario 9: key types. v=1 builds keys 0..199 (with a `legacy` column); v=2 sends
# 100..299 without `legacy`: of 100..199, i % 4 = 0 rows are unchanged (NULL = NULL
# included), i % 4 = 1 sets n to NULL, i % 4 = 2 sets n (from NULL when i % 5 = 0),
# i % 4 = 3 changes val; 200..299 are new.
KEY_TYPES_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key=__KEY__) }}
{%- set v = var('v', 1) %}
select 'k' || i as k_text,
       cast(i as integer) as k_int,
       cast('00000000-0000-0000-0000-' || lpad(cast(i as varchar), 12, '0') as uuid) as k_uuid,
       cast(date '2024-01-01' + cast(i as integer) as date) as k_date,
       'g' || (i % 10) as g,
       cast(i // 10 as integer) as h,
{%- if v == 1 %}
       'a' || i as val,
       case when i % 5 = 0 then null else i end as n,
       'L' || i as legacy
from range(0, 200) t(i)
{%- else %}
       case when i % 4 in (1, 3) then 'b' || i else 'a' || i end as val,
       case when i % 4 = 1 then null when i % 4 = 2 then i * 10
            when i % 5 = 0 then null else i end as n
from range(100, 300) t(i)
{%- endif %}
"""

KEY_TYPES = {
    "kt_text": "'k_text'",
    "kt_int": "'k_int'",
    "kt_uuid": "'k_uuid'",
    "kt_date": "'k_date'",
    "kt_composite": "['g', 'h']",
}

KEY_TYPES_COLUMNS = "k_text, k_int, k_uuid, k_date, g, h, val, n, legacy"

# what the key-type targets must hold after both runs, computed by Postgres
KEY_TYPES_EXPECTED = """
(select 'k' || i as k_text, i as k_int,
        ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid as k_uuid,
        date '2024-01-01' + i as k_date, 'g' || (i % 10) as g, i / 10 as h,
        case when i < 100 then 'a' || i when i % 4 in (1, 3) then 'b' || i
             else 'a' || i end as val,
        case when i < 100 then (case when i % 5 = 0 then null else i end)
             when i % 4 = 1 then null when i % 4 = 2 then i * 10
             when i % 5 = 0 then null else i end as n,
        case when i < 200 then 'L' || i end as legacy
 from generate_series(0, 299) i)
"""

# scenario 9: columns of the target that the model lacks
TARGET_ONLY_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select cast(i as integer) as id, 'new' || i as val from range(5, 12) t(i)
"""

# scenario 10: config errors
CONFIG_ERROR_MODELS = {
    "cfg_no_key": "database='warehouse'",
    "cfg_bad_key": "database='warehouse', unique_key=['id', 'nope']",
    "cfg_bad_on_conflict": "database='warehouse', unique_key='id', on_conflict='replace'",
    "cfg_both_lists": (
        "database='warehouse', unique_key='id', merge_update_columns=['val'], "
        "merge_exclude_columns=['n']"
    ),
    "cfg_ghost_column": "database='warehouse', unique_key='id', merge_update_columns=['ghost']",
    "cfg_not_postgres": "database=target.database, unique_key='id'",
    "cfg_combined": (
        "database='warehouse', unique_key=['id', 'nope'], on_conflict='replace', "
        "merge_update_columns=['ghost'], merge_exclude_columns=['val']"
    ),
    "cfg_combined_no_key": (
        "database='warehouse', on_conflict='replace', merge_exclude_columns=['ghost']"
    ),
    "cfg_combined_database": (
        "database=target.database, unique_key=['id', 'nope'], on_conflict='replace', "
        "merge_update_columns=['ghost'], merge_exclude_columns=['val']"
    ),
}

CONFIG_ERROR_SQL = """
{{ config(materialized='pg_upsert_by_key', __CONFIG__) }}
select cast(i as integer) as id, 'v' || i as val, i as n from range(3) t(i)
"""

PROBLEMS = {
    "no_key": "unique_key is required",
    "bad_key": "unique_key: nope is not a column of the model",
    "bad_on_conflict": "on_conflict=replace: use update (default), skip or fail",
    "both_lists": "merge_update_columns and merge_exclude_columns are mutually exclusive",
    "ghost_column": "merge_update_columns/merge_exclude_columns: ghost is not a column",
    "not_postgres": "is not a postgres connection",
}

# scenario 8 (subprocesses): each run upserts 'new' || i for its key ranges; runs
# write identical values where they overlap, so every serial order gives one result
CONCURRENT_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
{%- for r in var('__KIND__')[var('side')] %}
{% if not loop.first %}union all {% endif -%}
select cast(i as integer) as id, 'new' || i as val from range({{ r[0] }}, {{ r[1] }}) t(i)
{%- endfor %}
"""

CONCURRENT_RANGES = {
    "overlap": {"a": [[5000, 12000]], "b": [[8000, 15000]]},
    "disjoint": {"a": [[2000, 4000], [10000, 11000]], "b": [[6000, 8000], [11000, 12000]]},
}

# target -> which key ranges its two runs write
CONCURRENT_TARGETS = {
    "conc_pk": "overlap",
    "conc_heap": "overlap",
    "conc_pk_d": "disjoint",
    "conc_heap_d": "disjoint",
}

# scenarios 11 and 12 (subprocess): the usual incremental idiom on a Postgres source
CHANGED_ONLY_SQL = """
{{ config(materialized='pg_upsert_by_key', database='warehouse', unique_key='id') }}
select id, val, n, updated_at from {{ source('app', 'big_src') }}
{% if is_incremental() %}where updated_at > {{ pg_target_max('updated_at') }}{% endif %}
"""

CHANGED_ONLY_SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "__SRC__"
    tables:
      - name: big_src
"""

BIG_ROWS = 1_000_000

# a 1M-row target (built in Postgres, with a PK and an index on updated_at) and its
# source; then 900 source rows change and 100 are new: 1,000 changed keys
BIG_SETUP = """
create table __SRC__.big_src as
select i as id, 'v' || i as val, i % 97 as n,
       timestamptz '2024-01-01 00:00:00+00' + (i % 100000) * interval '1 second' as updated_at
from generate_series(1, __ROWS__) i;
create table __TGT__.big as table __SRC__.big_src;
alter table __TGT__.big add primary key (id);
create index on __TGT__.big (updated_at);
update __SRC__.big_src
   set val = val || ' changed', n = n + 1,
       updated_at = timestamptz '2024-06-01 00:00:00+00' + id * interval '1 millisecond'
 where id % 1000 = 0 and id <= 900000;
insert into __SRC__.big_src
select i, 'new ' || i, 1, timestamptz '2024-06-02 00:00:00+00'
from generate_series(__ROWS__ + 1, __ROWS__ + 100) i;
analyze __SRC__.big_src;
analyze __TGT__.big;
"""


# --- helpers --------------------------------------------------------------------------


def advisory_locks(conn: psycopg.Connection) -> int:
    """Advisory locks held or awaited in the whole server (none between runs)."""
    return int(rows(conn, "select count(*) from pg_locks where locktype = 'advisory'")[0][0])


def unique_indexes(conn: psycopg.Connection, schema: str, table: str) -> List[List[str]]:
    """The column lists of the unique indexes (primary key included) of a table."""
    found = rows(
        conn,
        "select array_agg(a.attname::text order by k.ord) from pg_index i "
        "cross join lateral unnest(i.indkey::int2[]) with ordinality k(attnum, ord) "
        "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum "
        "where i.indrelid = %s::regclass and i.indisunique group by i.indexrelid",
        (qualified(schema, table),),
    )
    return sorted(list(r[0]) for r in found)


def xmins(conn: psycopg.Connection, relation: str, key: str) -> Dict[Any, str]:
    """key -> xmin of every row: a row rewritten by UPDATE or DELETE + INSERT gets a new one."""
    return dict(rows(conn, f"select {key}, xmin::text from {relation}"))


def counts(response: Dict[str, Any]) -> Tuple[int, int]:
    """(rows_inserted, rows_updated) of an adapter_response."""
    return int(response["rows_inserted"]), int(response["rows_updated"])


def series_expected(ranges: Dict[str, Tuple[int, int]]) -> str:
    """A Postgres subquery of (id, val): for each val prefix its [lo, hi) ids, 'prefix' || id."""
    parts = [
        f"select i as id, '{prefix}' || i as val from generate_series({lo}, {hi - 1}) i"
        for prefix, (lo, hi) in ranges.items()
        if hi > lo
    ]
    return "(" + " union all ".join(parts) + ")"


# --- dbt as a subprocess --------------------------------------------------------------

SUBPROCESS_PROJECT = "upsert_by_key_test"


class DbtProject:
    """A dbt project in a tmp dir with targets `a` and `b` (one DuckDB file each),
    both writing to the test database; runs `dbt` in subprocesses."""

    def __init__(
        self,
        root: Path,
        pg_server: Any,
        schema: str,
        models: Dict[str, str],
        debug_queries: bool = False,
    ) -> None:
        self.root = root
        connection = pg_server.profile_connection()
        outputs = {}
        for target in ("a", "b"):
            output: Dict[str, Any] = {
                "path": str(root / f"{target}.duckdb"),
                "schema": schema,
                "threads": 4,
                "postgres": {"app": dict(connection), "warehouse": dict(connection)},
            }
            if debug_queries:
                # DuckDB prints every statement it sends to Postgres on stderr
                output["settings"] = {"pg_debug_show_queries": True}
            outputs[target] = output
        write_dbt_project(root, SUBPROCESS_PROJECT, models, root, outputs)

    def start(self, target: str, *args: str) -> subprocess.Popen:
        """Start `dbt <args>` on `target`; its output goes to <target>.out / <target>.err."""
        args = (*args, "--target", target, "--target-path", f"target_{target}")
        args = (*args, "--log-path", f"logs_{target}")
        with (
            open(self.root / f"{target}.out", "w") as out,
            open(self.root / f"{target}.err", "w") as err,
        ):
            return start_dbt_cli(args, self.root, self.root, stdout=out, stderr=err)

    def output(self, target: str) -> Tuple[str, str]:
        return (
            (self.root / f"{target}.out").read_text(),
            (self.root / f"{target}.err").read_text(),
        )

    def responses(self, target: str) -> Dict[str, Dict[str, Any]]:
        return adapter_responses(self.root, f"target_{target}")

    def statuses(self, target: str) -> Dict[str, str]:
        return {
            r["unique_id"].split(".")[-1]: r["status"]
            for r in run_results(self.root, f"target_{target}")
        }

    def compiled(self, target: str, model: str) -> str:
        path = self.root / f"target_{target}" / "compiled" / SUBPROCESS_PROJECT / "models"
        return (path / f"{model}.sql").read_text()


def wait(process: subprocess.Popen, timeout: float = 300) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


# --- 1. first build and --full-refresh ------------------------------------------------


class TestFirstBuildAndFullRefresh:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"keyed.sql": KEYED_SQL}

    def expected(self, pg: psycopg.Connection, n: int, mult: int) -> Tuple[int, str]:
        return checksum(
            pg,
            f"(select i::bigint as id, 'v' || (i * {mult}) as val "
            f"from generate_series(0, {n - 1}) i)",
            "id, val",
        )

    def test_first_build_then_full_refresh(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        target = qualified(pg_schema, "keyed")
        run_dbt(["run", "--select", "keyed"])
        assert checksum(pg, target, "id, val") == self.expected(pg, 1000, 1)
        assert unique_indexes(pg, pg_schema, "keyed") == [["id"]]
        assert counts(adapter_responses(project.project_root)["keyed"]) == (1000, 0)
        first_oid = relation_oid(pg, pg_schema, "keyed")

        # --full-refresh rebuilds: 400 keys disappear (an upsert would keep them)
        run_dbt(["run", "--select", "keyed", "--full-refresh", "--vars", "{n: 600, mult: 3}"])
        assert checksum(pg, target, "id, val") == self.expected(pg, 600, 3)
        assert relation_oid(pg, pg_schema, "keyed") != first_oid
        assert unique_indexes(pg, pg_schema, "keyed") == [["id"]]
        assert counts(adapter_responses(project.project_root)["keyed"]) == (600, 0)
        assert leftovers(pg, pg_schema) == []


# --- 2. ~1% changed and ~0.5% new keys of 20,000 --------------------------------------


class TestMergeOntoOldTable:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"customers_upsert.sql": CUSTOMERS_SQL, "sources.yml": CUSTOMERS_SOURCES_YML}

    def test_second_run_merges_the_change(
        self, project: Any, src_schema: str, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        src = qualified(src_schema, "customers")
        target = qualified(pg_schema, "customers_upsert")
        pg.execute(CUSTOMERS_SETUP.replace("__SRC__", f'"{src_schema}"'))

        run_dbt(["run", "--select", "customers_upsert"])
        first = checksum(pg, target, CUSTOMER_COLUMNS)
        assert first == checksum(pg, src, CUSTOMER_COLUMNS)
        assert first[0] == 20000
        old = qualified(src_schema, "old_customers")
        pg.execute(f"create table {old} as select {CUSTOMER_COLUMNS} from {target}")
        old_xmins = xmins(pg, target, "id")

        pg.execute(CUSTOMERS_CHANGE.replace("__SRC__", f'"{src_schema}"'))
        run_dbt(["run", "--select", "customers_upsert"])

        # the model result (the whole source) merged onto the old table, by Postgres
        reference = (
            f"(select {CUSTOMER_COLUMNS} from {old} o where not exists "
            f"(select 1 from {src} s where s.id = o.id) "
            f"union all select {CUSTOMER_COLUMNS} from {src})"
        )
        expected = checksum(pg, reference, CUSTOMER_COLUMNS)
        assert expected[0] == 20100
        assert checksum(pg, target, CUSTOMER_COLUMNS) == expected

        response = adapter_responses(project.project_root)["customers_upsert"]
        assert counts(response) == (100, 200)
        assert response["rows_affected"] == 300
        assert response["_message"] == "INSERT 100, UPDATE 200"

        # only the 200 changed rows were rewritten (ON CONFLICT ... WHERE distinct)
        new_xmins = xmins(pg, target, "id")
        rewritten = [k for k, x in old_xmins.items() if new_xmins[k] != x]
        assert len(rewritten) == 200
        assert all(k % 100 == 0 for k in rewritten)
        assert len(set(new_xmins) - set(old_xmins)) == 100
        assert leftovers(pg, pg_schema) == []


# --- 3. on_conflict -------------------------------------------------------------------


class TestOnConflictModes:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "oc_update.sql": ON_CONFLICT_SQL.replace("__MODE__", ""),
            "oc_skip.sql": ON_CONFLICT_SQL.replace("__MODE__", ", on_conflict='skip'"),
            "oc_fail.sql": ON_CONFLICT_SQL.replace("__MODE__", ", on_conflict='fail'"),
        }

    def test_update_skip_fail(self, project: Any, pg_schema: str, pg: psycopg.Connection) -> None:
        def table(name: str) -> str:
            return qualified(pg_schema, name)

        run_dbt(["run"])
        before_fail = checksum(pg, table("oc_fail"), "id, val")
        assert before_fail == checksum(pg, series_expected({"a": (0, 100)}), "id, val")

        # keys 50..99 exist, 100..149 are new
        results = run_dbt(["run", "--vars", "{lo: 50, hi: 150, tag: b}"], expect_pass=False)
        assert result_status(results, "oc_update") == "success"
        assert result_status(results, "oc_skip") == "success"
        assert result_status(results, "oc_fail") == "error"

        # update (the default): existing keys take the new values
        expected = series_expected({"a": (0, 50), "b": (50, 150)})
        assert checksum(pg, table("oc_update"), "id, val") == checksum(pg, expected, "id, val")
        # skip: existing rows are kept, new keys are inserted
        expected = series_expected({"a": (0, 100), "b": (100, 150)})
        assert checksum(pg, table("oc_skip"), "id, val") == checksum(pg, expected, "id, val")
        # fail: an error naming the conflicting keys, and nothing written (not even new keys)
        message = result_message(results, "oc_fail")
        assert "50 key(s)" in message and "on_conflict='fail'" in message, message
        assert "Nothing was written" in message
        assert re.search(r"\((5\d|6\d|7\d|8\d|9\d)\)", message), message
        assert checksum(pg, table("oc_fail"), "id, val") == before_fail

        found = adapter_responses(project.project_root)
        assert counts(found["oc_update"]) == (50, 50)
        assert counts(found["oc_skip"]) == (50, 0)
        assert leftovers(pg, pg_schema) == []
        assert advisory_locks(pg) == 0

        # fail with only new keys: written
        run_dbt(["run", "--select", "oc_fail", "--vars", "{lo: 100, hi: 150, tag: c}"])
        expected = series_expected({"a": (0, 100), "c": (100, 150)})
        assert checksum(pg, table("oc_fail"), "id, val") == checksum(pg, expected, "id, val")
        assert counts(adapter_responses(project.project_root)["oc_fail"]) == (50, 0)


# --- 4. merge_update_columns / merge_exclude_columns ----------------------------------


class TestMergeColumns:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            "mc_update_cols.sql": MERGE_COLUMNS_SQL.replace(
                "__CONFIG__", "merge_update_columns=['a']"
            ),
            "mc_exclude_cols.sql": MERGE_COLUMNS_SQL.replace(
                "__CONFIG__", "merge_exclude_columns=['b']"
            ),
            "mc_both.sql": MERGE_COLUMNS_SQL.replace(
                "__CONFIG__", "merge_update_columns=['a'], merge_exclude_columns=['b']"
            ),
        }

    @staticmethod
    def expected(old: str, new: str) -> str:
        """Keys 0..49 untouched, 50..99 existing (columns from `old`/`new` as given),
        100..149 new; a column list like "'2a', '1b', '2c'" per part."""
        return (
            "(select i as id, '1a' || i as a, '1b' || i as b, '1c' || i as c "
            "from generate_series(0, 49) i union all "
            f"select i, {old} from generate_series(50, 99) i union all "
            f"select i, {new} from generate_series(100, 149) i)"
        )

    def test_only_listed_columns_change(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        results = run_dbt(["run"], expect_pass=False)
        assert result_status(results, "mc_update_cols") == "success"
        assert result_status(results, "mc_exclude_cols") == "success"

        # both lists: a config error, nothing created
        assert result_status(results, "mc_both") == "error"
        message = result_message(results, "mc_both")
        assert "mutually exclusive" in message, message
        assert not table_exists(pg, pg_schema, "mc_both")

        run_dbt(
            [
                "run",
                "--select",
                "mc_update_cols",
                "mc_exclude_cols",
                "--vars",
                "{lo: 50, hi: 150, tag: '2'}",
            ]
        )
        all_new = "'2a' || i, '2b' || i, '2c' || i"
        only_a = self.expected("'2a' || i, '1b' || i, '1c' || i", all_new)
        assert checksum(pg, qualified(pg_schema, "mc_update_cols"), "id, a, b, c") == checksum(
            pg, only_a, "id, a, b, c"
        )
        all_but_b = self.expected("'2a' || i, '1b' || i, '2c' || i", all_new)
        assert checksum(pg, qualified(pg_schema, "mc_exclude_cols"), "id, a, b, c") == checksum(
            pg, all_but_b, "id, a, b, c"
        )
        found = adapter_responses(project.project_root)
        assert counts(found["mc_update_cols"]) == (50, 50)
        assert counts(found["mc_exclude_cols"]) == (50, 50)


# --- 5. NULL and duplicate keys -------------------------------------------------------


class TestNullAndDuplicateKeys:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"bad_keys.sql": BAD_KEYS_SQL}

    @staticmethod
    def assert_key_error(message: str) -> None:
        assert "1 row(s) with a NULL key" in message, message
        assert "2 duplicated key(s)" in message, message
        assert "(7) x3" in message and "(8) x4" in message, message
        assert "Nothing was written" in message

    def test_first_build_refused(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        results = run_dbt(["run", "--vars", "{bad: true}"], expect_pass=False)
        self.assert_key_error(result_message(results, "bad_keys"))
        assert not table_exists(pg, pg_schema, "bad_keys")
        assert leftovers(pg, pg_schema) == []

    def test_incremental_run_refused(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        target = qualified(pg_schema, "bad_keys")
        run_dbt(["run"])
        before = checksum(pg, target, "id, val")
        assert before[0] == 20

        # new values for existing keys and new keys 20..29, with NULL and duplicate keys
        results = run_dbt(
            ["run", "--vars", "{bad: true, tag: w, lo: 0, hi: 30}"], expect_pass=False
        )
        self.assert_key_error(result_message(results, "bad_keys"))
        assert checksum(pg, target, "id, val") == before
        assert leftovers(pg, pg_schema) == []
        assert advisory_locks(pg) == 0


# --- 6. targets created outside dbt ---------------------------------------------------


class TestTargetCreatedOutsideDbt:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"ext_pk.sql": EXTERNAL_SQL, "ext_heap.sql": EXTERNAL_SQL}

    def test_on_conflict_and_delete_insert_paths(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        pg.execute(f'create schema if not exists "{pg_schema}"')
        # columns in another order than the model's; ext_heap has no index at all
        for table, key in (("ext_pk", "primary key"), ("ext_heap", "")):
            pg.execute(
                f"create table {qualified(pg_schema, table)} (val text, n int, id int {key})"
            )
            pg.execute(
                f"insert into {qualified(pg_schema, table)} (id, val, n) "
                "select i, 'old' || i, i * 2 from generate_series(0, 99) i"
            )
        before = {t: xmins(pg, qualified(pg_schema, t), "id") for t in ("ext_pk", "ext_heap")}

        run_dbt(["run"])

        expected = checksum(
            pg,
            "(select i as id, case when i < 75 then 'old' || i else 'new' || i end as val, "
            "i * 2 as n from generate_series(0, 149) i)",
            "id, val, n",
        )
        for table in ("ext_pk", "ext_heap"):
            assert checksum(pg, qualified(pg_schema, table), "id, val, n") == expected, table
        found = adapter_responses(project.project_root)

        # the primary key: INSERT ... ON CONFLICT, which leaves unchanged rows (50..74) alone
        assert counts(found["ext_pk"]) == (50, 25)
        after = xmins(pg, qualified(pg_schema, "ext_pk"), "id")
        assert [k for k in range(100) if after[k] != before["ext_pk"][k]] == list(range(75, 100))
        assert unique_indexes(pg, pg_schema, "ext_pk") == [["id"]]

        # no unique index: UPDATE ... FROM the stage + INSERT of new keys, which also leaves
        # unchanged rows (50..74) alone; new keys (100..149) are inserted
        assert counts(found["ext_heap"]) == (50, 25)
        after = xmins(pg, qualified(pg_schema, "ext_heap"), "id")
        assert [k for k in range(100) if after[k] != before["ext_heap"][k]] == list(range(75, 100))
        assert unique_indexes(pg, pg_schema, "ext_heap") == []
        assert leftovers(pg, pg_schema) == []


# --- 7. a failure after the stage is loaded -------------------------------------------


class TestFailureAfterStaging:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"guarded.sql": GUARDED_SQL}

    def test_check_constraint_violation_in_the_final_insert(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        target = qualified(pg_schema, "guarded")
        run_dbt(["run"])
        pg.execute(f"alter table {target} add constraint guarded_val check (val not like 'bad%')")
        before = checksum(pg, target, "id, val")
        before_xmins = xmins(pg, target, "id")

        # staged fine; Postgres rejects the rows in INSERT ... ON CONFLICT
        results = run_dbt(["run", "--vars", "{lo: 50, hi: 150, tag: bad}"], expect_pass=False)
        message = result_message(results, "guarded")
        assert "guarded_val" in message, message
        assert checksum(pg, target, "id, val") == before
        assert xmins(pg, target, "id") == before_xmins
        assert leftovers(pg, pg_schema) == []
        assert advisory_locks(pg) == 0

    def test_on_schema_change_fail_after_staging(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        target = qualified(pg_schema, "guarded")
        before = checksum(pg, target, "id, val")

        results = run_dbt(
            ["run", "--vars", "{lo: 50, hi: 150, tag: new, extra: true, osc: fail}"],
            expect_pass=False,
        )
        message = result_message(results, "guarded")
        assert "on_schema_change='fail'" in message and "extra" in message, message
        assert checksum(pg, target, "id, val") == before
        assert column_names(pg, pg_schema, "guarded") == ["id", "val"]
        assert leftovers(pg, pg_schema) == []
        assert advisory_locks(pg) == 0

        # the next run goes through
        run_dbt(
            ["run", "--vars", "{lo: 50, hi: 150, tag: new, extra: true, osc: append_new_columns}"]
        )
        assert column_names(pg, pg_schema, "guarded") == ["id", "val", "extra"]
        expected = checksum(
            pg,
            "(select i as id, case when i < 50 then 'ok' || i else 'new' || i end as val, "
            "case when i >= 50 then i * 3 end as extra from generate_series(0, 149) i)",
            "id, val, extra",
        )
        assert checksum(pg, target, "id, val, extra") == expected


# --- 8. two runs on the same target at the same time ----------------------------------


@pytest.mark.slow
class TestConcurrentRuns:
    """Two `dbt run` processes (separate DuckDB files) upsert into the same four targets
    at once. A connection of the test holds each target's advisory lock until all eight
    writes (2 processes x 4 targets) wait on it, so both runs are inside their write at
    the same time; then it lets them go."""

    ROWS = 10000

    @pytest.fixture(scope="class")
    def concurrent(self, pg_server: Any, pg_schema: str, tmp_path_factory: Any) -> Any:
        models = {
            f"{name}.sql": CONCURRENT_SQL.replace("__KIND__", kind)
            for name, kind in CONCURRENT_TARGETS.items()
        }
        project = DbtProject(tmp_path_factory.mktemp("concurrent"), pg_server, pg_schema, models)
        with pg_server.connect() as conn:
            conn.execute(f'create schema "{pg_schema}"')
            for name in CONCURRENT_TARGETS:
                key = "primary key" if "_pk" in name else ""
                conn.execute(f"create table {qualified(pg_schema, name)} (id int {key}, val text)")
                conn.execute(
                    f"insert into {qualified(pg_schema, name)} "
                    f"select i, 'old' || i from generate_series(0, {self.ROWS - 1}) i"
                )

        holder = psycopg.connect(**pg_server.conninfo)  # not autocommit: holds the locks
        for name in CONCURRENT_TARGETS:  # the adapter's lock key: the target's Postgres name
            holder.execute(
                "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (qualified(pg_schema, name),),
            )
        processes = {}
        max_waiting = 0
        try:
            for side in ("a", "b"):
                dbt_vars = json.dumps({"side": side, **CONCURRENT_RANGES})
                processes[side] = project.start(side, "run", "--vars", dbt_vars)
            deadline = time.time() + 240
            with pg_server.connect() as conn:
                while time.time() < deadline:
                    waiting = rows(
                        conn,
                        "select count(*) from pg_locks where locktype = 'advisory' "
                        "and not granted",
                    )[0][0]
                    max_waiting = max(max_waiting, int(waiting))
                    if waiting >= 2 * len(CONCURRENT_TARGETS):
                        break
                    if any(p.poll() is not None for p in processes.values()):
                        break
                    time.sleep(0.2)
        finally:
            holder.rollback()  # releases the locks
            holder.close()
            codes = {side: wait(p) for side, p in processes.items()}
        return project, codes, max_waiting

    @staticmethod
    def serial_result(pg: psycopg.Connection, kind: str, rows_: int) -> Tuple[int, str]:
        """The table after both runs one after the other (either order), by Postgres."""
        ranges = CONCURRENT_RANGES[kind]["a"] + CONCURRENT_RANGES[kind]["b"]
        written = " or ".join(f"i between {lo} and {hi - 1}" for lo, hi in ranges)
        top = max(hi for _, hi in ranges)
        return checksum(
            pg,
            f"(select i as id, case when {written} then 'new' || i else 'old' || i end as val "
            f"from generate_series(0, {max(top, rows_) - 1}) i where i < {rows_} or {written})",
            "id, val",
        )

    def check(self, concurrent: Any, pg: psycopg.Connection, pg_schema: str, kind: str) -> None:
        project, _, max_waiting = concurrent
        assert max_waiting == 2 * len(CONCURRENT_TARGETS), "the runs did not overlap"
        for side in ("a", "b"):
            statuses = project.statuses(side)
            for name, name_kind in CONCURRENT_TARGETS.items():
                if name_kind == kind:
                    assert statuses[name] == "success", (name, side, project.output(side)[0])
        for name, name_kind in CONCURRENT_TARGETS.items():
            if name_kind == kind:
                got = checksum(pg, qualified(pg_schema, name), "id, val")
                assert got == self.serial_result(pg, kind, self.ROWS), name
        assert leftovers(pg, pg_schema) == []
        assert advisory_locks(pg) == 0

    def test_disjoint_keys(self, concurrent: Any, pg_schema: str, pg: psycopg.Connection) -> None:
        self.check(concurrent, pg, pg_schema, "disjoint")

    def test_overlapping_keys(
        self, concurrent: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        self.check(concurrent, pg, pg_schema, "overlap")


# --- 9. key types, NULLs, unchanged rows, columns only in the target ------------------


class TestKeyTypesAndNulls:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            f"{name}.sql": KEY_TYPES_SQL.replace("__KEY__", key) for name, key in KEY_TYPES.items()
        }

    def test_key_types_composite_keys_and_nulls(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        run_dbt(["run"])
        key_columns = {
            "kt_text": ["k_text"],
            "kt_int": ["k_int"],
            "kt_uuid": ["k_uuid"],
            "kt_date": ["k_date"],
            "kt_composite": ["g", "h"],
        }
        types = {
            (r[0], r[1]): r[2]
            for r in rows(
                pg,
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = %s",
                (pg_schema,),
            )
        }
        before = {}
        for name, keys in key_columns.items():
            assert unique_indexes(pg, pg_schema, name) == [keys], name
            assert types[(name, "k_uuid")] == "uuid"
            assert types[(name, "k_date")] == "date"
            assert types[(name, "k_int")] == "integer"
            before[name] = xmins(pg, qualified(pg_schema, name), "k_int")

        # v=2 has no `legacy` column: on_schema_change='ignore' keeps the target's values
        run_dbt(["run", "--vars", "{v: 2}"])
        expected = checksum(pg, KEY_TYPES_EXPECTED, KEY_TYPES_COLUMNS)
        assert expected[0] == 300
        found = adapter_responses(project.project_root)
        for name in key_columns:
            target = qualified(pg_schema, name)
            assert checksum(pg, target, KEY_TYPES_COLUMNS) == expected, name
            assert counts(found[name]) == (100, 75), name
            # unchanged rows (0..99 not sent; i % 4 = 0 sent unchanged) keep their xmin
            after = xmins(pg, target, "k_int")
            rewritten = sorted(k for k, x in before[name].items() if after[k] != x)
            assert rewritten == [i for i in range(100, 200) if i % 4 != 0], name
        assert leftovers(pg, pg_schema) == []


class TestTargetOnlyColumns:
    """A column of the target that the model does not have keeps its values
    (on_schema_change='ignore'), whichever write path is taken."""

    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {"only_pk.sql": TARGET_ONLY_SQL, "only_heap.sql": TARGET_ONLY_SQL}

    @pytest.mark.parametrize(
        "table",
        [
            "only_pk",
            "only_heap",
        ],
    )
    def test_target_only_column_is_kept(
        self, project: Any, pg_schema: str, pg: psycopg.Connection, table: str
    ) -> None:
        target = qualified(pg_schema, table)
        pg.execute(f'create schema if not exists "{pg_schema}"')
        key = "primary key" if table == "only_pk" else ""
        pg.execute(f"create table {target} (note text, id int {key}, val text)")
        pg.execute(
            f"insert into {target} select 'note' || i, i, 'old' || i from generate_series(0, 9) i"
        )
        run_dbt(["run", "--select", table])
        lost = rows(pg, f"select id from {target} where id < 10 and note is null order by id")
        assert lost == [], "notes of these keys were lost"
        expected = checksum(
            pg,
            "(select i as id, case when i < 5 then 'old' || i else 'new' || i end as val, "
            "case when i < 10 then 'note' || i end as note from generate_series(0, 11) i)",
            "id, val, note",
        )
        assert checksum(pg, target, "id, val, note") == expected
        assert leftovers(pg, pg_schema) == []


# --- 10. config errors ----------------------------------------------------------------


class TestConfigErrors:
    @pytest.fixture(scope="class")
    def models(self) -> dict:
        return {
            f"{name}.sql": CONFIG_ERROR_SQL.replace("__CONFIG__", config)
            for name, config in CONFIG_ERROR_MODELS.items()
        }

    @pytest.fixture(scope="class")
    def messages(self, project: Any, pg_schema: str) -> Dict[str, str]:
        results = run_dbt(["run"], expect_pass=False)
        assert {r.node.name: str(r.status) for r in results} == {
            name: "error" for name in CONFIG_ERROR_MODELS
        }
        return {r.node.name: str(r.message) for r in results}

    @pytest.mark.parametrize("problem", sorted(PROBLEMS))
    def test_each_problem_is_named(self, messages: Dict[str, str], problem: str) -> None:
        message = messages[f"cfg_{problem}"]
        assert "Compilation Error" in message, message
        assert PROBLEMS[problem] in message, message

    @pytest.mark.parametrize(
        "model, problems",
        [
            ("cfg_combined", ["bad_key", "bad_on_conflict", "both_lists", "ghost_column"]),
            ("cfg_combined_no_key", ["no_key", "bad_on_conflict", "ghost_column"]),
            (
                "cfg_combined_database",
                ["not_postgres", "bad_key", "bad_on_conflict", "both_lists", "ghost_column"],
            ),
        ],
    )
    def test_problems_are_reported_together(
        self, messages: Dict[str, str], model: str, problems: List[str]
    ) -> None:
        message = messages[model]
        assert message.count("Compilation Error") == 1, message
        for problem in problems:
            assert PROBLEMS[problem] in message, (problem, message)

    def test_nothing_written(
        self, project: Any, messages: Dict[str, str], pg: psycopg.Connection
    ) -> None:
        assert rows(pg, "select count(*) from pg_class where relname like 'cfg\\_%'") == [(0,)]
        local = project.run_sql(
            "select count(*) from duckdb_tables() where table_name like 'cfg_%'", fetch="one"
        )
        assert local[0] == 0


# --- 11 + 12. pg_target_max: only the change crosses the network ----------------------


def copy_reads(stderr: str) -> List[str]:
    """The SELECTs of every `COPY (<select>) TO STDOUT` DuckDB sent to Postgres
    (printed by pg_debug_show_queries): every row Postgres sent back to DuckDB."""
    return re.findall(r"COPY \((SELECT .*?)\) TO STDOUT \(FORMAT \"binary\"\);", stderr, re.S)


def copy_writes(stderr: str) -> List[str]:
    """The tables of every `COPY <table> FROM STDIN` DuckDB sent: every load into Postgres."""
    return re.findall(r"COPY (\S+) FROM STDIN", stderr)


TABLE_STATS = "seq_scan, seq_tup_read, coalesce(idx_tup_fetch, 0), n_tup_ins, n_tup_upd, n_tup_del"


class TestOnlyTheChangeIsTransferred:
    """A 1,000,000-row target and source built in Postgres; 1,000 source rows changed.
    One subprocess `dbt run` with pg_debug_show_queries shows the statements DuckDB sent."""

    @pytest.fixture(scope="class")
    def changed_only(
        self, pg_server: Any, pg_schema: str, src_schema: str, tmp_path_factory: Any
    ) -> Iterator[Dict[str, Any]]:
        models = {
            "big.sql": CHANGED_ONLY_SQL,
            "sources.yml": CHANGED_ONLY_SOURCES_YML.replace("__SRC__", src_schema),
        }
        project = DbtProject(
            tmp_path_factory.mktemp("changed_only"),
            pg_server,
            pg_schema,
            models,
            debug_queries=True,
        )
        target = qualified(pg_schema, "big")
        with pg_server.connect() as conn:
            conn.execute(f'create schema "{pg_schema}"')
            conn.execute(
                BIG_SETUP.replace("__SRC__", f'"{src_schema}"')
                .replace("__TGT__", f'"{pg_schema}"')
                .replace("__ROWS__", str(BIG_ROWS))
            )
            old_max = rows(conn, f"select max(updated_at) from {target}")[0][0]

            def stats() -> Dict[str, tuple]:
                conn.execute("select pg_stat_force_next_flush()")
                found = {
                    "target": rows(
                        conn,
                        f"select {TABLE_STATS} from pg_stat_user_tables "
                        "where relid = %s::regclass",
                        (target,),
                    )[0],
                    "database": rows(
                        conn,
                        "select tup_inserted, tup_updated, tup_deleted from pg_stat_database "
                        "where datname = current_database()",
                    )[0],
                }
                return found

            time.sleep(1.2)  # this session's setup statistics reach the shared counters
            before = stats()
            process = project.start("a", "run")
            code = wait(process)
            # the subprocess's backends report their counters when they exit
            deadline = time.time() + 30
            after = stats()
            while time.time() < deadline:
                time.sleep(0.5)
                again = stats()
                if again == after and after["target"][4] - before["target"][4] >= 900:
                    break
                after = again
        stdout, stderr = project.output("a")
        assert code == 0, stdout
        yield {
            "project": project,
            "stderr": stderr,
            "old_max": old_max,
            "before": before,
            "after": after,
            "target": target,
            "source": qualified(src_schema, "big_src"),
        }

    def test_literal_filter_reads_only_changed_rows(
        self, changed_only: Dict[str, Any], pg: psycopg.Connection, src_schema: str
    ) -> None:
        project = changed_only["project"]
        # the compiled model has a literal, not a subquery over the target
        compiled = project.compiled("a", "big")
        match = re.search(r"where updated_at > timestamptz '([^']+)'", compiled)
        assert match, compiled
        assert "select" not in compiled.split("where")[-1].lower(), compiled
        assert rows(pg, "select %s::timestamptz = %s", (match.group(1), changed_only["old_max"]))[
            0
        ] == (True,)

        # every read of the source carries the literal filter, and those reads return
        # exactly the 1,000 changed rows of the 1,000,100
        source_reads = [s for s in copy_reads(changed_only["stderr"]) if f'"{src_schema}"' in s]
        assert source_reads, changed_only["stderr"][-3000:]
        sent = 0
        for select in source_reads:
            assert '"updated_at" >' in select, select
            sent += rows(pg, f"select count(*) from ({select}) q")[0][0]
        assert sent == 1000
        assert rows(pg, f"select count(*) from {changed_only['source']}")[0][0] == BIG_ROWS + 100

        assert counts(project.responses("a")["big"]) == (100, 900)

    def test_transfer_grows_with_the_change(
        self, changed_only: Dict[str, Any], pg: psycopg.Connection, pg_schema: str
    ) -> None:
        target, source = changed_only["target"], changed_only["source"]
        # the result: the target equals the source again
        columns = "id, val, n, updated_at"
        for a, b in ((target, source), (source, target)):
            assert rows(
                pg,
                f"select count(*) from (select {columns} from {a} except all "
                f"select {columns} from {b}) d",
            ) == [(0,)]

        # into Postgres: one load, into the stage: the model's rows, i.e. the 1,000 rows
        # read from the source (all of them new or changed: 1,000 rows written)
        stderr = changed_only["stderr"]
        assert copy_writes(stderr) == [f'"{pg_schema}"."big__dbt_stage"']
        assert changed_only["project"].responses("a")["big"]["rows_affected"] == 1000

        # back from Postgres: every COPY ... TO STDOUT re-run (with the dropped stage
        # recreated, empty, inside a rolled-back transaction) returns ~1,000 rows in all
        reads = copy_reads(stderr)
        sent = 0
        with pg.transaction(force_rollback=True):
            pg.execute(f'create table "{pg_schema}".big__dbt_stage (like {target})')
            for select in reads:
                sent += rows(pg, f"select count(*) from ({select}) q")[0][0]
        assert 1000 <= sent < 1100, (sent, reads)

        # Postgres wrote the change into the target and never scanned it whole
        before, after = changed_only["before"]["target"], changed_only["after"]["target"]
        seq_scan, seq_tup_read, idx_tup_fetch, ins, upd, dele = (
            a - b for a, b in zip(after, before, strict=True)
        )
        assert (ins, upd, dele) == (100, 900, 0)
        assert (seq_scan, seq_tup_read) == (0, 0)
        assert idx_tup_fetch < 5000
        before, after = changed_only["before"]["database"], changed_only["after"]["database"]
        assert (
            sum(a - b for a, b in zip(after, before, strict=True)) < 5000
        )  # tuples written, all tables
        assert leftovers(pg, pg_schema) == []
