"""Write options: every config key of every write mode, every kind of bad value, and
typo suggestions; and the check of a source's database (pure Python: no Postgres,
no DuckDB)."""

import re
from datetime import date
from typing import Any
from typing import Dict
from typing import List

import pytest
from dbt_common.exceptions import CompilationError

from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.options import FullOptions
from dbt.adapters.duckdb_postgres.options import IncrementalByTimeOptions
from dbt.adapters.duckdb_postgres.options import ModelConfigs
from dbt.adapters.duckdb_postgres.options import PostgresIndexConfig
from dbt.adapters.duckdb_postgres.options import UpsertByKeyOptions
from dbt.adapters.duckdb_postgres.options import dbt_config_keys
from dbt.adapters.duckdb_postgres.options import edit_distance
from dbt.adapters.duckdb_postgres.options import known_keys
from dbt.adapters.duckdb_postgres.options import model_raw_configs
from dbt.adapters.duckdb_postgres.options import suggest
from dbt.adapters.duckdb_postgres.options import validate_write_options
from dbt.adapters.duckdb_postgres.relation import _source_problem

COLUMNS = [["id", "INTEGER"], ["val", "VARCHAR"], ["n", "BIGINT"], ["at", "TIMESTAMP"]]
LABEL = "pg_x model warehouse.s.t"
IBT = {"event_time": "at"}
UPS = {"unique_key": "id"}


def problems(mode: str, raw: Dict[str, Any], columns: Any = COLUMNS) -> List[str]:
    """The problems validate_write_options reports, one per line of its one error."""
    with pytest.raises(CompilationError) as info:
        validate_write_options(mode, raw, LABEL, columns)
    message = str(info.value.msg)
    assert message.startswith(f"Invalid config for {LABEL}:\n"), message
    return [line[4:] for line in message.splitlines()[1:]]


def one_problem(mode: str, raw: Dict[str, Any], columns: Any = COLUMNS) -> str:
    found = problems(mode, raw, columns)
    assert len(found) == 1, found
    return found[0]


# --- defaults and every key -----------------------------------------------------------


def test_full_defaults():
    options = validate_write_options("full", {}, LABEL, COLUMNS)
    assert isinstance(options, FullOptions)
    assert options.as_dict() == {
        "mode": "full",
        "label": LABEL,
        "indexes": [],
        "grants": {},
        "unlogged": False,
        "on_schema_change": "ignore",
        "column_types": {},
        "event_time": None,
        "event_time_type": None,
        "batch_size": None,
        "lookback": 0,
        "begin": None,
        "unique_key": [],
        "on_conflict": "update",
        "update_columns": None,
        "exclude_columns": [],
        "incremental_predicates": [],
        "batch_start": None,
        "batch_end": None,
        "partition_by": None,
    }


def test_builtin_modes_only_for_model_configs():
    """append / delete_insert / microbatch are dbt's incremental strategies: a
    model's own configs take them, pg_materialize targets do not."""
    raw = {"unique_key": "id", "incremental_predicates": ["id > 1"]}
    model = ModelConfigs(raw, list(raw))
    options = validate_write_options("delete_insert", model, "m").as_dict()
    assert options["unique_key"] == ["id"]
    assert options["incremental_predicates"] == ["id > 1"]
    with pytest.raises(CompilationError, match="mode=append is not a write mode"):
        validate_write_options("append", {}, "pg_materialize target")


def test_incremental_predicates_alias_and_type():
    raw: Dict[str, Any] = {"unique_key": "id", "predicates": "id != 2"}
    model = ModelConfigs(raw, list(raw))
    options = validate_write_options("upsert_by_key", model, "m").as_dict()
    assert options["incremental_predicates"] == ["id != 2"]
    raw = {"unique_key": "id", "incremental_predicates": 3}
    bad = ModelConfigs(raw, list(raw))
    with pytest.raises(CompilationError, match="incremental_predicates=3 \\(a number\\)"):
        validate_write_options("delete_insert", bad, "m")


def test_column_types():
    options = validate_write_options(
        "full", {"column_types": {"id": " numeric(12,2) "}}, LABEL, COLUMNS
    )
    assert options.column_types == {"id": "numeric(12,2)"}
    # names match the model's columns case-insensitively, as the DDL applies them
    options = validate_write_options("full", {"column_types": {"VAL": "text"}}, LABEL, COLUMNS)
    assert options.column_types == {"VAL": "text"}


@pytest.mark.parametrize(
    "raw,problem",
    [
        ("numeric", "column_types=numeric: expected a mapping"),
        ({"id": 3}, "column_types: id=3 (a number): expected a Postgres type"),
        ({"id": "int; drop table x"}, "expected a Postgres type"),
        ({"nope": "text"}, "column_types: nope is not a column of the model"),
    ],
)
def test_column_types_problems(raw, problem):
    with pytest.raises(CompilationError, match=re.escape(problem)):
        validate_write_options("full", {"column_types": raw}, LABEL, COLUMNS)


def test_every_shared_key():
    raw = {
        "indexes": [{"columns": ["id"], "unique": True}, {"columns": ["val"], "type": "hash"}],
        "grants": {"select": ["reporter", "other"], "insert": "loader"},
        "unlogged": True,
        "on_schema_change": "append_new_columns",
    }
    options = validate_write_options("full", raw, LABEL, COLUMNS).as_dict()
    assert options["indexes"] == [
        PostgresIndexConfig(columns=["id"], unique=True),
        PostgresIndexConfig(columns=["val"], type="hash"),
    ]
    assert options["grants"] == raw["grants"]
    assert options["unlogged"] is True
    assert options["on_schema_change"] == "append_new_columns"


def test_every_incremental_by_time_key():
    raw = {"event_time": "at", "batch_size": "month", "lookback": 3, "begin": "2024-01-01"}
    options = validate_write_options("incremental_by_time", raw, LABEL, COLUMNS)
    assert isinstance(options, IncrementalByTimeOptions)
    values = options.as_dict()
    assert values["mode"] == "incremental_by_time"
    assert (values["event_time"], values["event_time_type"]) == ("at", "TIMESTAMP")
    assert values["batch_size"] == "month"
    assert (values["lookback"], values["begin"]) == (3, "2024-01-01")


def test_incremental_by_time_defaults_and_alias():
    values = validate_write_options(
        "incremental_by_time", {"time_column": "at"}, LABEL, COLUMNS
    ).as_dict()
    assert values["event_time"] == "at"
    assert (values["batch_size"], values["lookback"], values["begin"]) == ("day", 0, None)


def test_incremental_by_time_without_columns_skips_column_checks():
    values = validate_write_options("incremental_by_time", {"event_time": "x"}, LABEL).as_dict()
    assert (values["event_time"], values["event_time_type"]) == ("x", None)


def test_begin_as_a_date_and_lookback_as_a_whole_float():
    raw = {"event_time": "at", "begin": date(2024, 1, 1), "lookback": 2.0}
    values = validate_write_options("incremental_by_time", raw, LABEL, COLUMNS).as_dict()
    assert values["begin"] == date(2024, 1, 1) and values["lookback"] == 2


def test_every_upsert_by_key_key():
    raw = {"unique_key": ["id", "n"], "on_conflict": "skip", "merge_update_columns": ["val"]}
    options = validate_write_options("upsert_by_key", raw, LABEL, COLUMNS)
    assert isinstance(options, UpsertByKeyOptions)
    values = options.as_dict()
    assert values["unique_key"] == ["id", "n"]
    assert (values["on_conflict"], values["update_columns"]) == ("skip", ["val"])
    assert values["exclude_columns"] == []

    values = validate_write_options(
        "upsert_by_key", {"unique_key": "id", "merge_exclude_columns": ["n"]}, LABEL, COLUMNS
    ).as_dict()
    assert values["unique_key"] == ["id"]
    assert (values["update_columns"], values["exclude_columns"]) == (None, ["n"])


def test_as_dict_is_a_new_dict_each_time():
    options = validate_write_options("full", {}, LABEL, COLUMNS)
    first = options.as_dict()
    first["indexes"].append("x")
    assert options.as_dict()["indexes"] == []


# --- bad values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, raw, expected",
    [
        # shared
        ("full", {"indexes": {"columns": ["id"]}}, "indexes={'columns': ['id']} (a mapping)"),
        ("full", {"indexes": "id"}, "indexes=id: expected a list"),
        ("full", {"indexes": [{"cols": ["id"]}]}, "indexes: invalid entry {'cols': ['id']}"),
        ("full", {"indexes": [{"columns": ["id"], "type": "x; drop"}]}, "type='x; drop'"),
        ("full", {"indexes": [{"columns": ["ghost"]}]}, "indexes: ghost is not a column"),
        ("full", {"grants": ["select"]}, "grants=['select'] (a list): expected a mapping"),
        ("full", {"grants": {"read": "r"}}, "grants: privilege read is not a table privilege"),
        ("full", {"grants": {"select": 1}}, "grants: select=1 (a number): expected a grantee"),
        ("full", {"unlogged": "yes"}, "unlogged=yes: expected true or false"),
        ("full", {"on_schema_change": "drop"}, "on_schema_change=drop: use ignore, fail"),
        ("full", {"on_schema_change": 1}, "on_schema_change=1 (a number): use ignore"),
        # incremental_by_time
        ("incremental_by_time", {}, "event_time is required"),
        ("incremental_by_time", {"event_time": "nope"}, "event_time=nope is not a column"),
        ("incremental_by_time", {"time_column": "nope"}, "time_column=nope is not a column"),
        ("incremental_by_time", {"event_time": "val"}, "event_time=val has type VARCHAR"),
        ("incremental_by_time", {"event_time": ["at"]}, "event_time=['at'] (a list)"),
        ({**IBT, "batch_size": "week"}, None, "batch_size=week: use hour, day, month or year"),
        ({**IBT, "batch_size": 1}, None, "batch_size=1 (a number): use hour"),
        ({**IBT, "lookback": -1}, None, "lookback=-1: expected a whole number of batches >= 0"),
        ({**IBT, "lookback": 1.5}, None, "lookback=1.5: expected a whole number"),
        ({**IBT, "lookback": True}, None, "lookback=True (a boolean): expected a whole number"),
        ({**IBT, "begin": "soon"}, None, "begin='soon' is not an ISO date or date-time"),
        ({**IBT, "begin": "2024-13-45"}, None, "begin='2024-13-45' is not an ISO date"),
        # upsert_by_key
        ("upsert_by_key", {}, "unique_key is required"),
        ("upsert_by_key", {"unique_key": ["id", "nope"]}, "unique_key: nope is not a column"),
        ("upsert_by_key", {"unique_key": 1}, "unique_key=1 (a number): expected a column"),
        ({**UPS, "on_conflict": "replace"}, "u", "on_conflict=replace: use update (default)"),
        ({**UPS, "merge_update_columns": "val"}, "u", None),
        ({**UPS, "merge_update_columns": [1]}, "u", "merge_update_columns=[1] (a list)"),
        ({**UPS, "merge_exclude_columns": ["ghost"]}, "u", "merge_exclude_columns: ghost is"),
        (
            {**UPS, "merge_update_columns": ["val"], "merge_exclude_columns": ["n"]},
            "u",
            "merge_update_columns and merge_exclude_columns are mutually exclusive",
        ),
    ],
)
def test_bad_value(mode: Any, raw: Any, expected: Any):
    # (raw, None | "u", expected): shorthand for incremental_by_time / upsert_by_key
    if isinstance(mode, dict):
        mode, raw = ("upsert_by_key" if raw == "u" else "incremental_by_time"), mode
    if expected is None:  # a string is a one-column list
        validate_write_options(mode, raw, LABEL, COLUMNS)
        return
    problem = one_problem(mode, raw)
    assert expected in problem, problem


def test_lookback_as_a_string_says_it_is_a_string():
    problem = one_problem("incremental_by_time", {**IBT, "lookback": "2"})
    assert problem == (
        "lookback='2' is a string: expected a whole number of batches >= 0; "
        "write lookback=2 unquoted"
    )
    problem = one_problem("incremental_by_time", {**IBT, "lookback": "two"})
    assert problem == "lookback='two' is a string: expected a whole number of batches >= 0"


def test_every_problem_in_one_error():
    raw = {
        "event_time": "nope",
        "batch_size": "week",
        "lookback": "2",
        "begin": "soon",
        "unlogged": "no",
        "grants": {"read": "x"},
    }
    found = problems("incremental_by_time", raw)
    assert len(found) == 6, found
    for key in ("event_time=", "batch_size=", "lookback=", "begin=", "unlogged=", "grants:"):
        assert any(p.startswith(key) for p in found), (key, found)


def test_caller_problems_come_first():
    with pytest.raises(CompilationError) as info:
        validate_write_options("full", {"unlogged": 1}, LABEL, COLUMNS, ["database='x': no"])
    assert str(info.value.msg).splitlines()[1:] == [
        "  - database='x': no",
        "  - unlogged=1 (a number): expected true or false (unquoted)",
    ]


def test_unknown_mode():
    problem = one_problem("merge", {})
    assert problem == "mode=merge is not a write mode; use one of full, incremental_by_time, " + (
        "upsert_by_key"
    )


# --- explicit target configs (pg_materialize): every key must be the mode's -----------


@pytest.mark.parametrize(
    "mode, key, suggestion",
    [
        ("full", "indexs", "indexes"),
        ("full", "grant", "grants"),
        ("full", "unloged", "unlogged"),
        ("full", "on_schema_chang", "on_schema_change"),
        ("incremental_by_time", "batch_sise", "batch_size"),
        ("incremental_by_time", "look_back", "lookback"),
        ("incremental_by_time", "event_tim", "event_time"),
        ("incremental_by_time", "begn", "begin"),
        ("upsert_by_key", "uniqe_key", "unique_key"),
        ("upsert_by_key", "on_conflct", "on_conflict"),
        ("upsert_by_key", "merge_update_column", "merge_update_columns"),
        ("upsert_by_key", "merge_exclude_colums", "merge_exclude_columns"),
    ],
)
def test_target_typo_is_named_with_the_suggestion(mode: str, key: str, suggestion: str):
    base = {"full": {}, "incremental_by_time": IBT, "upsert_by_key": UPS}[mode]
    found = problems(mode, {**base, key: "x"})
    typo = [p for p in found if p.startswith(f"unknown config {key}:")]
    assert len(typo) == 1, found
    assert f"did you mean {suggestion}?" in typo[0], typo


def test_target_unknown_key_lists_the_valid_ones():
    problem = one_problem("full", {"colour": "red"})
    assert problem == (
        "unknown config colour: valid configs of mode full are indexes, grants, unlogged, "
        "on_schema_change, column_types, partition_by"
    )


def test_target_key_of_another_mode():
    problem = one_problem("full", {"unique_key": "id"})
    assert problem == (
        "unique_key is a config of mode upsert_by_key, not of mode full: "
        "remove it or change the mode"
    )


# --- a model's own configs: only near misses ------------------------------------------


def model_configs(config: Dict[str, Any], unrendered: Any = None) -> ModelConfigs:
    """What pg_model_configs returns for a model with ``config`` (dbt's defaults added)
    and ``unrendered`` (default: the keys of ``config``)."""
    defaults = {"materialized": "pg_x", "lookback": 1, "on_schema_change": "ignore", "grants": {}}
    return model_raw_configs({**defaults, **config}, config if unrendered is None else unrendered)


@pytest.mark.parametrize(
    "mode, key, suggestion",
    [
        ("upsert_by_key", "on_conflct", "on_conflict"),
        ("incremental_by_time", "look_back", "lookback"),
        ("upsert_by_key", "merge_update_column", "merge_update_columns"),
        ("incremental_by_time", "batch_sise", "batch_size"),
        # a near miss of another mode's key is reported too
        ("full", "uniqe_key", "unique_key"),
        ("full", "pg_target", "pg_targets"),
    ],
)
def test_model_typo_is_named_with_the_suggestion(mode: str, key: str, suggestion: str):
    base = {"full": {}, "incremental_by_time": IBT, "upsert_by_key": UPS}[mode]
    problem = one_problem(mode, model_configs({**base, key: "x"}))
    assert problem == f"{key} is not a config: did you mean {suggestion}?"


def test_model_keeps_dbt_configs_other_modes_and_own_configs():
    raw = model_configs(
        {
            "database": "warehouse",
            "tags": ["a"],
            "post-hook": [],
            "unique_key": "id",  # upsert's: ignored by full
            "event_time": "at",  # dbt's own (microbatch) too
            "my_team_owner": "x",  # far from every known key
        }
    )
    values = validate_write_options("full", raw, LABEL, COLUMNS).as_dict()
    assert values["unique_key"] == [] and values["event_time"] is None


def test_model_lookback_only_when_set():
    # dbt-core's NodeConfig default lookback=1 is not ours
    raw = model_configs({"event_time": "at"})
    assert "lookback" not in raw
    assert validate_write_options("incremental_by_time", raw, LABEL, COLUMNS).lookback == 0
    raw = model_configs({"event_time": "at", "lookback": 2})
    assert validate_write_options("incremental_by_time", raw, LABEL, COLUMNS).lookback == 2
    # set in dbt_project.yml: in unrendered_config as well
    raw = model_configs({"event_time": "at", "lookback": 4}, {"lookback": 4})
    assert raw["lookback"] == 4


def test_model_configs_are_the_set_keys():
    raw = model_configs({"event_time": "at", "batch_sise": "day"})
    assert raw == {"event_time": "at", "on_schema_change": "ignore", "grants": {}}
    assert {"materialized", "event_time", "batch_sise", "lookback"} <= set(raw.user_keys)


# --- the registry ---------------------------------------------------------------------


def test_no_known_key_is_a_near_miss_of_another_or_of_dbt():
    keys = known_keys()
    for key in keys:
        others = [k for k in keys if k != key]
        assert suggest(key, others) is None, key
        near = [k for k in dbt_config_keys() if k not in keys and edit_distance(key, k) <= 2]
        assert near == [], (key, near)


@pytest.mark.parametrize(
    "a, b, distance",
    [
        ("batch_size", "batch_size", 0),
        ("batch_sise", "batch_size", 1),
        ("bacth_size", "batch_size", 1),  # a transposition
        ("look_back", "lookback", 1),
        ("merge_update_column", "merge_update_columns", 1),
        ("on_conflct", "on_conflict", 1),
        ("begin", "", 5),
        ("grants", "tags", 4),
    ],
)
def test_edit_distance(a: str, b: str, distance: int):
    assert edit_distance(a, b) == distance == edit_distance(b, a)


def test_suggest_picks_the_closest():
    assert suggest("unique_keys", ["unique_key", "unique_kes"]) == "unique_key"
    assert suggest("Batch_Size", ["batch_size"]) == "batch_size"
    assert suggest("colour", known_keys()) is None


# --- a source's database --------------------------------------------------------------


class Source:
    """The parts of a dbt SourceDefinition that the check reads."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.source_name = "shop"
        self.name = "orders"


def profile(attach: Any = None) -> DuckDBPostgresCredentials:
    return DuckDBPostgresCredentials.from_dict(
        {
            "path": "/tmp/dev.duckdb",
            "schema": "main",
            "attach": attach or [],
            "postgres": {
                "app": {"host": "h", "database": "a", "user": "u"},
                "warehouse": {"host": "h", "database": "w", "user": "u"},
            },
        }
    )


@pytest.mark.parametrize("database", ["app", "WAREHOUSE", "dev", "memory", "lake", "other"])
def test_source_database_that_names_a_catalog(database: str):
    attach = [{"path": "/tmp/lake.duckdb"}, {"path": "/tmp/x.duckdb", "alias": "other"}]
    assert _source_problem(profile(attach), Source(database), {}) == ""


def test_source_database_that_names_no_catalog():
    assert _source_problem(profile(), Source("appdb"), {}) == (
        "source 'shop.orders': database='appdb' is not a postgres connection of this profile. "
        "Set the source's database: to one of: 'app', 'warehouse' (the names under "
        "'postgres:' in profiles.yml), or to the DuckDB database 'dev'."
    )
    # read through a plugin or from files: the database is not a catalog
    assert _source_problem(profile(), Source("appdb"), {"plugin": "excel"}) == ""
    assert _source_problem(profile(), Source("appdb"), {"external_location": "x.csv"}) == ""
    # no credentials known (parsing): not checked
    assert _source_problem(None, Source("appdb"), {}) == ""


# --- partition_by ----------------------------------------------------------------------

PART_COLUMNS = [["id", "INTEGER"], ["d", "DATE"], ["ts", "TIMESTAMP WITH TIME ZONE"]]


def test_partition_by_full_and_incremental():
    full = validate_write_options(
        "full", {"partition_by": {"field": "d", "granularity": "month"}}, LABEL, PART_COLUMNS
    )
    assert full.as_dict()["partition_by"] == {"field": "d", "granularity": "month", "type": "DATE"}
    by_time = validate_write_options(
        "incremental_by_time",
        {"event_time": "ts", "batch_size": "hour", "partition_by": {"field": "ts"}},
        LABEL,
        PART_COLUMNS,
    )
    assert by_time.as_dict()["partition_by"] == {
        "field": "ts",
        "granularity": "day",
        "type": "TIMESTAMP WITH TIME ZONE",
    }


def test_partition_by_problems_name_key_value_and_fix():
    with pytest.raises(CompilationError) as e:
        validate_write_options(
            "incremental_by_time",
            {
                "event_time": "ts",
                "partition_by": {"field": "d", "granularity": "week", "range": 1},
                "indexes": [{"columns": ["id"], "unique": True}],
            },
            LABEL,
            PART_COLUMNS,
        )
    message = str(e.value.msg)
    assert "partition_by: unknown key range" in message
    assert "partition_by: granularity=week: use day, month or year" in message
    assert "partition_by: field=d must be the event_time column (ts)" in message
    assert "the unique index on (id) does not include the partition_by field d" in message
    with pytest.raises(CompilationError) as e:
        validate_write_options("full", {"partition_by": {"field": "id"}}, LABEL, PART_COLUMNS)
    assert "partition_by: field=id has type INTEGER" in str(e.value.msg)
    with pytest.raises(CompilationError) as e:
        validate_write_options("full", {"partition_by": "d"}, LABEL, PART_COLUMNS)
    assert "partition_by=d: expected a mapping of field and granularity" in str(e.value.msg)
    assert one_problem("upsert_by_key", {"unique_key": "id", "partition_by": {"field": "d"}}) == (
        "partition_by is a config of mode full and incremental_by_time, not of mode "
        "upsert_by_key: remove it or change the mode"
    )


def test_partition_by_only_where_a_partitioned_target_is_written():
    raw = {"unique_key": "id", "partition_by": {"field": "ts", "granularity": "day"}}
    with pytest.raises(CompilationError, match="partition_by=.* not by mode upsert_by_key"):
        validate_write_options("upsert_by_key", ModelConfigs(raw, list(raw)), "m")
    with pytest.raises(CompilationError, match="not by mode microbatch"):
        validate_write_options("microbatch", ModelConfigs(raw, list(raw)), "m")
