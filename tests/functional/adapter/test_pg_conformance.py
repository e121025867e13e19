"""dbt-tests-adapter's suites run on this adapter's own materializations.

The base classes' test methods run unchanged; only fixtures are overridden: the
models are the base classes' SQL with the materialization re-pointed
(``materialized='pg_full'`` etc., ``database='warehouse'``), so they build in the
test PostgreSQL. Seeds, views and the expected-result tables stay in DuckDB, and
the base assertions (``check_relations_equal``, ``check_relation_types``, the
catalog) compare the Postgres tables with them through DuckDB's attached catalog.

dbt-tests-adapter names relations by bare model name in the profile's database
(``relation_from_name``); the ``pg_model_names`` fixture lists the models that
live in the ``warehouse`` connection instead, and ``resolve_pg_models`` points
those names there. Cases a mode refuses on purpose are ``xfail(strict=True)``
with the reason.
"""

from typing import Any
from typing import Iterator
from typing import Set

import dbt.tests.util
import pytest
from dbt.tests.adapter.basic import files
from dbt.tests.adapter.basic.test_base import BaseSimpleMaterializations
from dbt.tests.adapter.basic.test_incremental import BaseIncremental
from dbt.tests.adapter.basic.test_incremental import BaseIncrementalNotSchemaChange
from dbt.tests.adapter.incremental import fixtures as incremental_fixtures
from dbt.tests.adapter.incremental import test_incremental_unique_id as unique_id
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import (
    BaseMergeExcludeColumns,
)
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import (
    models__merge_exclude_columns_sql,
)
from dbt.tests.adapter.incremental.test_incremental_on_schema_change import (
    BaseIncrementalOnSchemaChange,
)
from dbt.tests.adapter.incremental.test_incremental_unique_id import BaseIncrementalUniqueKey

PG_CONNECTION = "warehouse"

# --- models: the base classes' SQL with the materialization re-pointed -------------

# BaseSimpleMaterializations: the table model is a pg_full table in Postgres; the view
# and `swappable` (table -> view -> incremental in one relation) stay in DuckDB
PG_FULL_TABLE_SQL = (
    files.config_materialized_table.replace(
        'materialized="table"', f'materialized="pg_full", database="{PG_CONNECTION}"'
    )
    + files.model_base
)

# BaseIncremental, pg_upsert_by_key on `id`: the base model as it is
UPSERT_INCREMENTAL_SQL = (
    files.config_materialized_incremental.replace(
        'materialized="incremental"',
        f'materialized="pg_upsert_by_key", database="{PG_CONNECTION}", unique_key="id"',
    )
    + files.model_incremental
)

# BaseIncremental, pg_incremental_by_time on `some_date`: the window is the filter
# (rows outside it are never written), so the model selects every row; the base
# model's `id > max(id)` filter would leave the window's older rows deleted and not
# re-inserted, which is not what a time-window replace means
BY_TIME_INCREMENTAL_SQL = f"""
{{{{ config(materialized="pg_incremental_by_time", database="{PG_CONNECTION}",
            event_time="some_date", batch_size="year") }}}}
select * from {{{{ source('raw', 'seed') }}}}
"""

# BaseIncrementalNotSchemaChange with pg_upsert_by_key (the base model's unique_key)
UPSERT_NOT_SCHEMA_CHANGE_SQL = files.incremental_not_schema_change_sql.replace(
    'materialized="incremental"',
    f'materialized="pg_upsert_by_key", database="{PG_CONNECTION}"',
)


def _as_upsert(sql: str) -> str:
    """A dbt-tests-adapter incremental model (``materialized='incremental'``, written
    with single quotes) re-pointed to pg_upsert_by_key in Postgres; its unique_key stays."""
    return sql.replace(
        "materialized='incremental'",
        f"materialized='pg_upsert_by_key',\n        database='{PG_CONNECTION}'",
    )


# --- the relation-name resolution for Postgres-resident models ---------------------


class PostgresModels:
    """Fixtures shared by the classes below: the class's Postgres schema is dropped
    before and after, and the models named by ``pg_model_names`` resolve to the
    ``warehouse`` catalog in dbt-tests-adapter's relation helpers."""

    @pytest.fixture(scope="class")
    def pg_model_names(self) -> Set[str]:
        """Bare names of the models this class builds in Postgres."""
        return set()

    @pytest.fixture(autouse=True)
    def resolve_pg_models(
        self, pg_schema: str, pg_model_names: Set[str], monkeypatch: Any
    ) -> Iterator[None]:
        original = dbt.tests.util.relation_from_name

        def relation_from_name(adapter: Any, name: str) -> Any:
            if name in pg_model_names:
                name = f"{PG_CONNECTION}.{adapter.config.credentials.schema}.{name}"
            return original(adapter, name)

        # check_relations_equal / check_relation_types look the name up in dbt.tests.util
        monkeypatch.setattr(dbt.tests.util, "relation_from_name", relation_from_name)
        yield


# --- BaseSimpleMaterializations with pg_full ----------------------------------------


class TestSimpleMaterializationsPgFull(PostgresModels, BaseSimpleMaterializations):
    @pytest.fixture(scope="class")
    def models(self):
        return {
            "view_model.sql": files.base_view_sql,
            "table_model.sql": PG_FULL_TABLE_SQL,
            "swappable.sql": files.base_materialized_var_sql,
            "schema.yml": files.schema_base_yml,
        }

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"table_model"}


# --- BaseIncremental with both incremental modes -------------------------------------


class TestIncrementalPgUpsertByKey(PostgresModels, BaseIncremental):
    @pytest.fixture(scope="class")
    def models(self):
        return {"incremental.sql": UPSERT_INCREMENTAL_SQL, "schema.yml": files.schema_base_yml}

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"incremental"}


class TestIncrementalPgIncrementalByTime(PostgresModels, BaseIncremental):
    @pytest.fixture(scope="class")
    def models(self):
        return {"incremental.sql": BY_TIME_INCREMENTAL_SQL, "schema.yml": files.schema_base_yml}

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"incremental"}


class TestIncrementalNotSchemaChangePgUpsertByKey(PostgresModels, BaseIncrementalNotSchemaChange):
    @pytest.fixture(scope="class")
    def models(self):
        return {"incremental_not_schema_change.sql": UPSERT_NOT_SCHEMA_CHANGE_SQL}


# --- on_schema_change and merge_exclude_columns with pg_upsert_by_key -----------------

# BaseIncrementalOnSchemaChange's incremental models (all unique_key='id'); the
# `_target` models holding the expected result and model_a stay DuckDB tables
ON_SCHEMA_CHANGE_MODELS = {
    "incremental_sync_remove_only": incremental_fixtures._MODELS__INCREMENTAL_SYNC_REMOVE_ONLY,
    "incremental_ignore": incremental_fixtures._MODELS__INCREMENTAL_IGNORE,
    "incremental_fail": incremental_fixtures._MODELS__INCREMENTAL_FAIL,
    "incremental_sync_all_columns": incremental_fixtures._MODELS__INCREMENTAL_SYNC_ALL_COLUMNS,
    "incremental_append_new_columns_remove_one": (
        incremental_fixtures._MODELS__INCREMENTAL_APPEND_NEW_COLUMNS_REMOVE_ONE
    ),
    "incremental_append_new_columns": incremental_fixtures._MODELS__INCREMENTAL_APPEND_NEW_COLUMNS,
}


@pytest.mark.slow
class TestIncrementalOnSchemaChangePgUpsertByKey(PostgresModels, BaseIncrementalOnSchemaChange):
    @pytest.fixture(scope="class")
    def models(self):
        models = {f"{name}.sql": _as_upsert(sql) for name, sql in ON_SCHEMA_CHANGE_MODELS.items()}
        models["model_a.sql"] = incremental_fixtures._MODELS__A
        for name in ON_SCHEMA_CHANGE_MODELS:
            if name != "incremental_fail":
                target = getattr(incremental_fixtures, f"_MODELS__{name.upper()}_TARGET")
                models[f"{name}_target.sql"] = target
        return models

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return set(ON_SCHEMA_CHANGE_MODELS)


class TestMergeExcludeColumnsPgUpsertByKey(PostgresModels, BaseMergeExcludeColumns):
    @pytest.fixture(scope="class")
    def models(self):
        sql = models__merge_exclude_columns_sql.replace(
            "materialized = 'incremental'",
            f"materialized = 'pg_upsert_by_key',\n    database = '{PG_CONNECTION}'",
        )
        return {"merge_exclude_columns.sql": sql}

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"merge_exclude_columns"}


# --- BaseIncrementalUniqueKey with pg_upsert_by_key -----------------------------------

NULL_KEY = (
    "refused on purpose: pg_upsert_by_key rejects NULL key parts in the model result "
    "(the seed's Denver row has a NULL city), naming sample keys, and writes nothing"
)
DUPLICATE_KEY = (
    "refused on purpose: pg_upsert_by_key rejects duplicate keys in the model result "
    "(two NY rows with unique_key state), naming sample keys, and writes nothing"
)
NO_KEY = (
    "refused on purpose: pg_upsert_by_key requires a unique_key (dbt's incremental "
    "appends without one)"
)
KEY_ON_FIRST_BUILD = (
    "refused on purpose: pg_upsert_by_key checks unique_key and creates its unique index "
    "on the first build too, so the base test's first (--full-refresh) run already fails"
)


UNIQUE_KEY_MODELS = (
    "trinary_unique_key_list",
    "nontyped_trinary_unique_key_list",
    "unary_unique_key_list",
    "not_found_unique_key",
    "empty_unique_key_list",
    "no_unique_key",
    "empty_str_unique_key",
    "str_unique_key",
    "duplicated_unary_unique_key_list",
    "not_found_unique_key_list",
)


def _unique_key_models(null_key_city: str = "null") -> dict:
    """BaseIncrementalUniqueKey's models: the incremental ones re-pointed to
    pg_upsert_by_key, the expected-result tables in DuckDB with the seed's CO row
    ending in ``null_key_city``."""
    models = {
        f"{name}.sql": _as_upsert(getattr(unique_id, f"models__{name}_sql"))
        for name in UNIQUE_KEY_MODELS
    }
    models["expected"] = {
        f"{name}.sql": getattr(unique_id, f"models__expected__{name}_sql").replace(
            "'CO','Denver',null", f"'CO','Denver',{null_key_city}"
        )
        for name in ("one_str__overwrite", "unique_key_list__inplace_overwrite")
    }
    return models


@pytest.mark.slow
class TestIncrementalUniqueKeyPgUpsertByKey(PostgresModels, BaseIncrementalUniqueKey):
    @pytest.fixture(scope="class")
    def models(self):
        return _unique_key_models()

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return set(UNIQUE_KEY_MODELS)

    # the base tests, each marked with why pg_upsert_by_key refuses it

    @pytest.mark.xfail(strict=True, reason=KEY_ON_FIRST_BUILD)
    def test__bad_unique_key(self, project):
        super().test__bad_unique_key(project)

    @pytest.mark.xfail(strict=True, reason=NO_KEY)
    def test__empty_unique_key_list(self, project):
        super().test__empty_unique_key_list(project)

    @pytest.mark.xfail(strict=True, reason=DUPLICATE_KEY)
    def test__one_unique_key(self, project):
        super().test__one_unique_key(project)

    @pytest.mark.xfail(strict=True, reason=KEY_ON_FIRST_BUILD)
    def test__bad_unique_key_list(self, project):
        super().test__bad_unique_key_list(project)

    @pytest.mark.xfail(strict=True, reason=NO_KEY)
    def test__no_unique_keys(self, project):
        super().test__no_unique_keys(project)

    @pytest.mark.xfail(strict=True, reason=NO_KEY)
    def test__empty_str_unique_key(self, project):
        super().test__empty_str_unique_key(project)

    @pytest.mark.xfail(strict=True, reason=DUPLICATE_KEY)
    def test__unary_unique_key_list(self, project):
        super().test__unary_unique_key_list(project)

    @pytest.mark.xfail(strict=True, reason=DUPLICATE_KEY)
    def test__duplicated_unary_unique_key_list(self, project):
        super().test__duplicated_unary_unique_key_list(project)

    @pytest.mark.xfail(strict=True, reason=NULL_KEY)
    def test__trinary_unique_key_list(self, project):
        super().test__trinary_unique_key_list(project)

    @pytest.mark.xfail(strict=True, reason=NULL_KEY)
    def test__trinary_unique_key_list_no_update(self, project):
        super().test__trinary_unique_key_list_no_update(project)


NOT_APPLICABLE = "refused on purpose; the xfail case of TestIncrementalUniqueKeyPgUpsertByKey"


@pytest.mark.slow
class TestIncrementalUniqueKeyPgUpsertByKeyNoNullKeys(PostgresModels, BaseIncrementalUniqueKey):
    """The trinary-key cases where pg_upsert_by_key's semantics apply: the same seed
    and expected tables with the one NULL key part (Denver's city) filled in."""

    @pytest.fixture(scope="class")
    def seeds(self):
        return {
            "duplicate_insert.sql": unique_id.seeds__duplicate_insert_sql,
            "seed.csv": unique_id.seeds__seed_csv.replace("CO,Denver,,", "CO,Denver,Denver,"),
            "add_new_rows.sql": unique_id.seeds__add_new_rows_sql,
        }

    @pytest.fixture(scope="class")
    def models(self):
        return _unique_key_models(null_key_city="'Denver'")

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return set(UNIQUE_KEY_MODELS)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__bad_unique_key(self, project):
        super().test__bad_unique_key(project)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__empty_unique_key_list(self, project):
        super().test__empty_unique_key_list(project)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__one_unique_key(self, project):
        super().test__one_unique_key(project)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__bad_unique_key_list(self, project):
        super().test__bad_unique_key_list(project)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__no_unique_keys(self, project):
        super().test__no_unique_keys(project)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__empty_str_unique_key(self, project):
        super().test__empty_str_unique_key(project)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__unary_unique_key_list(self, project):
        super().test__unary_unique_key_list(project)

    @pytest.mark.skip(reason=NOT_APPLICABLE)
    def test__duplicated_unary_unique_key_list(self, project):
        super().test__duplicated_unary_unique_key_list(project)
