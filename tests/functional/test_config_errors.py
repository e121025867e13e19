"""Config errors fail before anything is written, and fail only their own model.

- A misspelled config key of each write mode (on the model, in dbt_project.yml, or
  in a pg_materialize target) is a compilation error naming the key and the
  suggestion; a new target is not created, an existing one keeps its rows.
- A model whose `database` names no connection, or a read_only one, and a model
  reading a source whose `database` names no connection, fail on their own with
  the model, the key, the value and the valid connections in the message; the
  other models run and `dbt run` exits 1.
"""

import uuid
from pathlib import Path
from typing import Any
from typing import Dict
from typing import Iterator

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.conftest import base_profile
from tests.conftest import drop_schema
from tests.functional.helpers import checksum
from tests.functional.helpers import qualified
from tests.functional.helpers import result_message
from tests.functional.helpers import run_dbt_cli
from tests.functional.helpers import run_results
from tests.functional.helpers import table_exists
from tests.functional.helpers import write_dbt_project

# --- misspelled keys ------------------------------------------------------------------

# `__CONFIG__` is replaced by the model's configs; the values change with var('v'), so an
# existing target that a failed run had written would show it
TYPO_SQL = """
{{ config(__CONFIG__) }}
select cast(i as integer) as id, 'v' || (i * {{ var('v', 1) }}) as val,
       timestamp '2024-01-01' + to_days(cast(i as integer)) as at
from range(20) t(i)
"""

MODE_CONFIG = {
    "full": "materialized='pg_full', database='warehouse'",
    "incremental_by_time": (
        "materialized='pg_incremental_by_time', database='warehouse', event_time='at', "
        "begin='2024-01-01'"
    ),
    "upsert_by_key": "materialized='pg_upsert_by_key', database='warehouse', unique_key='id'",
}

# model -> (mode, misspelled config, the key it should be)
TYPOS = {
    "typo_unloged": ("full", "unloged=true", "unlogged"),
    "typo_indexs": ("full", "indexs=[{'columns': ['id']}]", "indexes"),
    "typo_batch_sise": ("incremental_by_time", "batch_sise='month'", "batch_size"),
    "typo_look_back": ("incremental_by_time", "look_back=2", "lookback"),
    "typo_on_conflct": ("upsert_by_key", "on_conflct='fail'", "on_conflict"),
    "typo_merge_update_column": (
        "upsert_by_key",
        "merge_update_column=['val']",
        "merge_update_columns",
    ),
}

# built once without the typo, then run again with it (var typo): rows unchanged
LATE_TYPOS = {
    "late_full": ("full", "grant={'select': ['public']}", "grants"),
    "late_ibt": ("incremental_by_time", "lookbak=1", "lookback"),
    "late_ups": ("upsert_by_key", "merge_exclude_colums=['val']", "merge_exclude_columns"),
}

# a typo set for a folder in dbt_project.yml
FOLDER_SQL = TYPO_SQL.replace("__CONFIG__", MODE_CONFIG["incremental_by_time"])

# a pg_materialize target with a misspelled key
HOOK_SQL = TYPO_SQL.replace(
    "__CONFIG__",
    "materialized='table', post_hook=[\"{{ pg_materialize(connection='warehouse', "
    "table='hook_copy', mode='incremental_by_time', event_time='at', batch_sise='day') }}\"]",
)


def typo_model(mode: str, typo: str) -> str:
    return TYPO_SQL.replace("__CONFIG__", f"{MODE_CONFIG[mode]}, {typo}")


def late_model(mode: str, typo: str) -> str:
    config = MODE_CONFIG[mode]
    return TYPO_SQL.replace(
        "{{ config(__CONFIG__) }}",
        f"{{{{ config({config}) }}}}\n"
        f"{{% if var('typo', false) %}}{{{{ config({typo}) }}}}{{% endif %}}",
    )


class TestMisspelledKeys:
    @pytest.fixture(scope="class")
    def models(self) -> Dict[str, Any]:
        files: Dict[str, Any] = {
            f"{name}.sql": typo_model(mode, typo) for name, (mode, typo, _) in TYPOS.items()
        }
        files.update(
            {f"{name}.sql": late_model(mode, typo) for name, (mode, typo, _) in LATE_TYPOS.items()}
        )
        files["folder"] = {"typo_folder.sql": FOLDER_SQL}
        files["typo_hook.sql"] = HOOK_SQL
        return files

    @pytest.fixture(scope="class")
    def project_config_update(self) -> Dict[str, Any]:
        return {"models": {"test": {"folder": {"+batch_sise": "month"}}}}

    def test_each_typo_fails_its_model_before_any_write(
        self, project: Any, pg_schema: str, pg: psycopg.Connection
    ) -> None:
        late = list(LATE_TYPOS)
        run_dbt(["run", "--select", *late])
        before = {name: checksum(pg, qualified(pg_schema, name)) for name in late}
        assert all(count == 20 for count, _ in before.values()), before

        results = run_dbt(["run", "--vars", "{typo: true, v: 2}"], expect_pass=False)
        statuses = {r.node.name: r.status for r in results}
        assert set(statuses.values()) == {"error"}, statuses
        assert len(statuses) == len(TYPOS) + len(LATE_TYPOS) + 2

        for name, (_, typo, key) in {**TYPOS, **LATE_TYPOS}.items():
            message = result_message(results, name)
            misspelt = typo.split("=")[0]
            assert "Compilation Error" in message, message
            assert f"{misspelt} is not a config: did you mean {key}?" in message, message

        message = result_message(results, "typo_folder")
        assert "batch_sise is not a config: did you mean batch_size?" in message, message
        message = result_message(results, "typo_hook")
        assert "unknown config batch_sise: did you mean batch_size?" in message, message
        assert f"warehouse.{pg_schema}.hook_copy" in message, message

        # nothing was written: no new target, and the existing ones keep their rows
        for name in [*TYPOS, "typo_folder", "hook_copy"]:
            assert not table_exists(pg, pg_schema, name), name
        after = {name: checksum(pg, qualified(pg_schema, name)) for name in late}
        assert after == before


# --- bad databases and sources (dbt in a subprocess: its exit code) --------------------

GOOD_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select i as id from range(5) t(i)
"""

BAD_DATABASE_SQL = """
{{ config(materialized='pg_full', database='__DATABASE__') }}
select 1 as id
"""

SOURCES_YML = """
version: 2
sources:
  - name: appdb
    database: appdb
    schema: public
    tables:
      - name: orders
"""

BAD_SOURCE_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select * from {{ source('appdb', 'orders') }}
"""

BAD_MODELS = {
    "bad_nope": BAD_DATABASE_SQL.replace("__DATABASE__", "nope"),
    "bad_reader": BAD_DATABASE_SQL.replace("__DATABASE__", "reader"),
    "bad_source": BAD_SOURCE_SQL,
}


@pytest.fixture(scope="module")
def bad_project(pg_server: Any, tmp_path_factory: Any) -> Iterator[Dict[str, Any]]:
    """A project with two good pg_full models and the three bad ones, in a new schema."""
    root: Path = tmp_path_factory.mktemp("config_errors")
    schema = f"config_errors_{uuid.uuid4().hex[:8]}"
    output = {
        **base_profile(
            pg_server, tmp_path_factory, reader=pg_server.profile_connection(read_only=True)
        ),
        "schema": schema,
        "threads": 2,
    }
    output.pop("type")
    models = {"good_a.sql": GOOD_SQL, "good_b.sql": GOOD_SQL, "sources.yml": SOURCES_YML}
    models.update({f"{name}.sql": sql for name, sql in BAD_MODELS.items()})
    write_dbt_project(root, "config_errors", models, root, {"dev": output})
    yield {"root": root, "schema": schema}
    drop_schema(pg_server, schema)


def run_with(bad_project: Dict[str, Any], pg: psycopg.Connection, bad: str) -> Dict[str, Any]:
    """`dbt run` of the two good models and model ``bad`` in a fresh schema: the exit
    code, each model's status and message, and which good tables exist afterwards."""
    schema = bad_project["schema"]
    pg.execute(f'drop schema if exists "{schema}" cascade')
    done = run_dbt_cli(
        ["run", "--select", "good_a", "good_b", bad], bad_project["root"], bad_project["root"]
    )
    results = run_results(bad_project["root"])
    return {
        "rc": done.returncode,
        "output": done.stdout + done.stderr,
        "status": {r["unique_id"].split(".")[-1]: r["status"] for r in results},
        "message": {r["unique_id"].split(".")[-1]: r["message"] or "" for r in results},
        "tables": [t for t in ("good_a", "good_b", bad) if table_exists(pg, schema, t)],
    }


def assert_only_bad_failed(run: Dict[str, Any], bad: str) -> str:
    assert run["rc"] == 1, run["output"]
    assert run["status"] == {"good_a": "success", "good_b": "success", bad: "error"}, run
    assert run["tables"] == ["good_a", "good_b"], run
    return str(run["message"][bad])


@pytest.mark.slow
def test_database_naming_no_connection_fails_that_model_only(
    bad_project: Dict[str, Any], pg: psycopg.Connection
) -> None:
    message = assert_only_bad_failed(run_with(bad_project, pg, "bad_nope"), "bad_nope")
    assert "model bad_nope" in message or "bad_nope" in message, message
    assert "database='nope' is not a postgres connection" in message, message
    assert all(f"'{name}'" in message for name in ("app", "warehouse", "reader")), message


@pytest.mark.slow
def test_read_only_database_fails_that_model_only(
    bad_project: Dict[str, Any], pg: psycopg.Connection
) -> None:
    run = run_with(bad_project, pg, "bad_reader")
    message = assert_only_bad_failed(run, "bad_reader")
    assert "bad_reader" in message, message
    assert "database='reader'" in message and "read_only" in message, message
    assert "'app', 'warehouse'" in message or "'warehouse', 'app'" in message, message
    assert "read-only transaction" not in run["output"], run["output"]


@pytest.mark.slow
def test_source_naming_no_connection_fails_that_model_only(
    bad_project: Dict[str, Any], pg: psycopg.Connection
) -> None:
    run = run_with(bad_project, pg, "bad_source")
    message = assert_only_bad_failed(run, "bad_source")
    assert "source 'appdb.orders': database='appdb' is not a postgres connection" in message
    assert all(f"'{name}'" in message for name in ("app", "warehouse", "reader")), message
    assert "Binder Error" not in run["output"], run["output"]
