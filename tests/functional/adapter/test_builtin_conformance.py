"""dbt-tests-adapter's suites run on dbt's own `table` and `incremental` into Postgres.

The base classes' test methods run unchanged; only fixtures are overridden: the
models are the base classes' SQL with ``database='warehouse'`` added to their
``config(...)`` (and, where a class is about one strategy, ``incremental_strategy``
set in the project config), so dbt's own materializations write them into the test
PostgreSQL through the adapter's write layer. Seeds, views and the expected-result
tables stay in DuckDB; the base assertions compare the Postgres tables with them
through DuckDB's attached catalog (``PostgresModels`` of test_pg_conformance.py points
the Postgres models' names there).

The strategies as dbt-duckdb defines them: ``delete+insert`` is the default, a
strategy with keys but no ``unique_key`` appends. Cases this adapter refuses on
purpose are ``xfail(strict=True)`` with the reason.
"""

import re
from typing import Any
from typing import Iterator
from typing import Optional

import pytest
from dbt.tests.adapter.basic import files
from dbt.tests.adapter.basic.test_base import BaseSimpleMaterializations
from dbt.tests.adapter.basic.test_incremental import BaseIncremental
from dbt.tests.adapter.basic.test_incremental import BaseIncrementalNotSchemaChange
from dbt.tests.adapter.incremental import fixtures as incremental_fixtures
from dbt.tests.adapter.incremental import test_incremental_microbatch as microbatch
from dbt.tests.adapter.incremental import test_incremental_predicates as predicates
from dbt.tests.adapter.incremental import test_incremental_unique_id as unique_id
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import (
    BaseMergeExcludeColumns,
)
from dbt.tests.adapter.incremental.test_incremental_merge_exclude_columns import (
    models__merge_exclude_columns_sql,
)
from dbt.tests.adapter.incremental.test_incremental_microbatch import BaseMicrobatch
from dbt.tests.adapter.incremental.test_incremental_on_schema_change import (
    BaseIncrementalOnSchemaChange,
)
from dbt.tests.adapter.incremental.test_incremental_predicates import BaseIncrementalPredicates
from dbt.tests.adapter.incremental.test_incremental_unique_id import BaseIncrementalUniqueKey

from tests.functional.adapter.test_pg_conformance import ON_SCHEMA_CHANGE_MODELS
from tests.functional.adapter.test_pg_conformance import PG_CONNECTION
from tests.functional.adapter.test_pg_conformance import UNIQUE_KEY_MODELS
from tests.functional.adapter.test_pg_conformance import PostgresModels

# `materialized = 'incremental'` / `materialized="table"` in a config(...) call, any quotes
_MATERIALIZED = re.compile(r"""materialized\s*=\s*(['"])(incremental|table)\1""")


def in_postgres(sql: str, materialized: str = "incremental") -> str:
    """A dbt-tests-adapter model with ``database='warehouse'`` added after its
    ``materialized='<materialized>'`` config: the same model, built in Postgres."""

    def add_database(match: "re.Match[str]") -> str:
        if match.group(2) != materialized:
            return match.group(0)
        return f"{match.group(0)}, database='{PG_CONNECTION}'"

    changed, count = _MATERIALIZED.subn(add_database, sql)
    assert changed != sql and count >= 1, sql
    return changed


def strategy_config(strategy: Optional[str], **extra: Any) -> dict:
    """A project_config_update setting ``+incremental_strategy`` (none: dbt-duckdb's
    default, delete+insert) and the ``extra`` top-level keys."""
    config: dict = dict(extra)
    if strategy:
        config["models"] = {"+incremental_strategy": strategy}
    return config


# --- BaseSimpleMaterializations: `table` into Postgres --------------------------------


class TestSimpleMaterializationsTable(PostgresModels, BaseSimpleMaterializations):
    """table_model is dbt's `table` in Postgres; the view and `swappable` (table ->
    view -> incremental in one relation) stay in DuckDB: a view is not a Postgres
    write."""

    @pytest.fixture(scope="class")
    def models(self):
        return {
            "view_model.sql": files.base_view_sql,
            "table_model.sql": in_postgres(files.base_table_sql, "table"),
            "swappable.sql": files.base_materialized_var_sql,
            "schema.yml": files.schema_base_yml,
        }

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"table_model"}


# --- BaseIncremental: each strategy ---------------------------------------------------


class IncrementalInPostgres(PostgresModels, BaseIncremental):
    """BaseIncremental's model in Postgres, under ``strategy`` (and ``unique_key``)."""

    strategy: Optional[str] = None
    unique_key: Optional[str] = None

    @pytest.fixture(scope="class")
    def project_config_update(self):
        return strategy_config(self.strategy, name="incremental")

    @pytest.fixture(scope="class")
    def models(self):
        sql = in_postgres(files.incremental_sql)
        if self.unique_key:
            sql = sql.replace("database=", f"unique_key='{self.unique_key}', database=")
        return {"incremental.sql": sql, "schema.yml": files.schema_base_yml}

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"incremental"}


class TestIncrementalDefault(IncrementalInPostgres):
    """No strategy and no unique_key: append."""


class TestIncrementalAppend(IncrementalInPostgres):
    strategy = "append"


class TestIncrementalDeleteInsert(IncrementalInPostgres):
    strategy = "delete+insert"
    unique_key = "id"


class TestIncrementalMerge(IncrementalInPostgres):
    strategy = "merge"
    unique_key = "id"


class TestIncrementalNotSchemaChange(PostgresModels, BaseIncrementalNotSchemaChange):
    @pytest.fixture(scope="class")
    def models(self):
        return {
            "incremental_not_schema_change.sql": in_postgres(
                files.incremental_not_schema_change_sql
            )
        }

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"incremental_not_schema_change"}


# --- BaseIncrementalUniqueKey ----------------------------------------------------------


def _unique_key_models() -> dict:
    """BaseIncrementalUniqueKey's models: the incremental ones in Postgres, the
    expected-result tables in DuckDB."""
    models = {
        f"{name}.sql": in_postgres(getattr(unique_id, f"models__{name}_sql"))
        for name in UNIQUE_KEY_MODELS
    }
    models["expected"] = {
        f"{name}.sql": getattr(unique_id, f"models__expected__{name}_sql")
        for name in ("one_str__overwrite", "unique_key_list__inplace_overwrite")
    }
    return models


KEY_NOT_A_COLUMN = (
    "refused earlier on purpose: the write options check that every unique_key column "
    "is a column of the model on every build, the first (--full-refresh) one included, "
    "so the base test's first run already fails (with the message naming "
    "thisisnotacolumn that dbt gives on the second)"
)


@pytest.mark.slow
class TestIncrementalUniqueKeyDeleteInsert(PostgresModels, BaseIncrementalUniqueKey):
    """dbt-duckdb's default strategy, delete+insert: duplicate and NULL keys in the
    model result are written as they are, as dbt's delete+insert does."""

    @pytest.fixture(scope="class")
    def models(self):
        return _unique_key_models()

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return set(UNIQUE_KEY_MODELS)

    @pytest.mark.xfail(strict=True, reason=KEY_NOT_A_COLUMN)
    def test__bad_unique_key(self, project):
        super().test__bad_unique_key(project)

    @pytest.mark.xfail(strict=True, reason=KEY_NOT_A_COLUMN)
    def test__bad_unique_key_list(self, project):
        super().test__bad_unique_key_list(project)


# --- BaseIncrementalPredicates: delete+insert and merge ---------------------------------


class PredicatesInPostgres(PostgresModels, BaseIncrementalPredicates):
    @pytest.fixture(scope="class")
    def models(self):
        return {
            "delete_insert_incremental_predicates.sql": in_postgres(
                predicates.models__delete_insert_incremental_predicates_sql
            )
        }

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"delete_insert_incremental_predicates"}


class TestIncrementalPredicatesDeleteInsert(PredicatesInPostgres):
    pass


class TestPredicatesDeleteInsert(PredicatesInPostgres):
    """dbt's alias `predicates`."""

    @pytest.fixture(scope="class")
    def project_config_update(self):
        return {"models": {"+predicates": ["id != 2"], "+incremental_strategy": "delete+insert"}}


class TestIncrementalPredicatesMerge(PredicatesInPostgres):
    """merge with a predicate on the target, as dbt-bigquery, dbt-spark and dbt-redshift
    run this suite for merge: the target row with id 2 is not matched, so the model's
    id 2 is inserted next to it."""

    @pytest.fixture(scope="class")
    def project_config_update(self):
        return {
            "models": {
                "+incremental_predicates": ["dbt_internal_dest.id != 2"],
                "+incremental_strategy": "merge",
            }
        }


# --- BaseIncrementalOnSchemaChange and BaseMergeExcludeColumns --------------------------


# dbt-duckdb's default strategy (delete+insert); merge's on_schema_change is
# pg_upsert_by_key's (the same write, run by test_pg_conformance.py's
# TestIncrementalOnSchemaChangePgUpsertByKey)
@pytest.mark.slow
class TestIncrementalOnSchemaChangeDeleteInsert(PostgresModels, BaseIncrementalOnSchemaChange):
    """BaseIncrementalOnSchemaChange's incremental models in Postgres (all
    unique_key='id'); the `_target` tables with the expected result and model_a stay
    in DuckDB."""

    @pytest.fixture(scope="class")
    def models(self):
        models = {f"{name}.sql": in_postgres(sql) for name, sql in ON_SCHEMA_CHANGE_MODELS.items()}
        models["model_a.sql"] = incremental_fixtures._MODELS__A
        for name in ON_SCHEMA_CHANGE_MODELS:
            if name != "incremental_fail":
                target = getattr(incremental_fixtures, f"_MODELS__{name.upper()}_TARGET")
                models[f"{name}_target.sql"] = target
        return models

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return set(ON_SCHEMA_CHANGE_MODELS)


class TestMergeExcludeColumns(PostgresModels, BaseMergeExcludeColumns):
    @pytest.fixture(scope="class")
    def models(self):
        return {"merge_exclude_columns.sql": in_postgres(models__merge_exclude_columns_sql)}

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"merge_exclude_columns"}


# --- BaseMicrobatch ---------------------------------------------------------------------

# the suite's input model with DuckDB timestamp literals: '2020-01-01 00:00:00-0' is
# not one (stock dbt-duckdb fails the same way)
MICROBATCH_INPUT_SQL = microbatch._input_model_sql.replace(" 00:00:00-0'", " 00:00:00'")

# the suite's microbatch model in Postgres, without unique_key (see MICROBATCH_KEY)
MICROBATCH_MODEL_SQL = in_postgres(
    microbatch._microbatch_model_sql.replace(" unique_key='id',", "")
)

MICROBATCH_KEY = (
    "refused on purpose, as dbt-duckdb's microbatch refuses it: unique_key with "
    "incremental_strategy='microbatch' is a compile error (each batch replaces its "
    "event_time range; there is no key upsert), naming merge as the alternative"
)


class MicrobatchInPostgres(PostgresModels, BaseMicrobatch):
    """BaseMicrobatch with the microbatch model in Postgres. The suite fakes dbt's
    "now" with patch_microbatch_end_time (a patch of MicrobatchBuilder.build_end_time),
    which dbt-core's batches of dbt's own microbatch follow."""

    @pytest.fixture(scope="class")
    def input_model_sql(self) -> str:
        return MICROBATCH_INPUT_SQL

    @pytest.fixture(scope="class")
    def insert_two_rows_sql(self, project) -> str:
        relation = project.adapter.Relation.create(
            database=project.database, schema=project.test_schema
        )
        return (
            f"insert into {relation}.input_model (id, event_time) values "
            "(4, TIMESTAMP '2020-01-04 00:00:00'), (5, TIMESTAMP '2020-01-05 00:00:00')"
        )

    @pytest.fixture(scope="class")
    def pg_model_names(self):
        return {"microbatch_model"}

    @pytest.fixture(autouse=True)
    def resolve_in_microbatch_suite(
        self, resolve_pg_models: None, monkeypatch: Any
    ) -> Iterator[None]:
        """The suite's assert_row_count calls relation_from_name as imported into its
        own module: point that name at the resolution of ``resolve_pg_models`` too."""
        import dbt.tests.util

        monkeypatch.setattr(microbatch, "relation_from_name", dbt.tests.util.relation_from_name)
        yield


@pytest.mark.slow
class TestMicrobatch(MicrobatchInPostgres):
    @pytest.fixture(scope="class")
    def microbatch_model_sql(self) -> str:
        return MICROBATCH_MODEL_SQL


class TestMicrobatchWithUniqueKey(MicrobatchInPostgres):
    """The suite's model as it is (with unique_key='id'), in Postgres."""

    @pytest.fixture(scope="class")
    def microbatch_model_sql(self) -> str:
        return in_postgres(microbatch._microbatch_model_sql)

    @pytest.mark.xfail(strict=True, reason=MICROBATCH_KEY)
    def test_run_with_event_time(self, project, insert_two_rows_sql):
        super().test_run_with_event_time(project, insert_two_rows_sql)
