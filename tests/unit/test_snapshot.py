"""Source snapshots without a database: modes, and which columns a model's code may read."""

from types import SimpleNamespace
from typing import Any

import pytest

from dbt.adapters.duckdb_postgres.credentials import parse_connection
from dbt.adapters.duckdb_postgres.relation import reads_postgres
from dbt.adapters.duckdb_postgres.snapshot import _node_words
from dbt.adapters.duckdb_postgres.snapshot import _reads_all_columns
from dbt.adapters.duckdb_postgres.snapshot import snapshot_mode


@pytest.mark.parametrize(
    "value, mode",
    [(None, "off"), ("run", "run"), ("OFF", "off"), (False, "off"), (True, "run")],
)
def test_snapshot_mode(value: Any, mode: str) -> None:
    assert snapshot_mode(value, "k") == (mode, "")


def test_snapshot_mode_bad_value_names_key_value_and_fix() -> None:
    mode, problem = snapshot_mode("always", "meta.pg_snapshot")
    assert mode == "off"
    assert "meta.pg_snapshot" in problem and "'always'" in problem and "run, off" in problem


def test_profile_source_snapshot() -> None:
    conn, problems = parse_connection(
        "app", {"database": "d", "user": "u", "source_snapshot": "run"}
    )
    assert conn is not None and conn.source_snapshot == "run", problems
    assert "source_snapshot" not in conn.conninfo
    conn, problems = parse_connection("app", {"database": "d", "user": "u"})
    assert conn is not None and conn.source_snapshot == "off"
    conn, problems = parse_connection("app", {"database": "d", "user": "u", "source_snapshot": 1})
    assert conn is None and any("'source_snapshot'" in p for p in problems)


SRC = "{{ source('app', 'orders') }}"


@pytest.mark.parametrize(
    "code",
    [
        f"select id, amount * (1 - discount) as net from {SRC}",
        f"select count(*) as n from {SRC} -- select * from x",
        f"select a.id, b.x from {SRC} a join {{{{ ref('b') }}}} b using (id) /* t.* */",
        f"{{{{ config(materialized='table') }}}} select id from {SRC} where note = '*'",
        f"select id from {SRC} {{% if is_incremental() %}} where id > 1 {{% endif %}}",
    ],
)
def test_named_columns_only(code: str) -> None:
    assert not _reads_all_columns(code)


@pytest.mark.parametrize(
    "code",
    [
        f"select * from {SRC}",
        f"select o.* from {SRC} o",
        f"select id, * exclude (note) from {SRC}",
        f"select distinct * from {SRC}",
        f"select columns('amount_.*') from {SRC}",
        f"from {SRC}",
        f"with o as (from {SRC}) select id from o",
        f"select * from (pivot {SRC} on region using sum(amount))",
        f"select id from {SRC} natural join other",
        f"select {{{{ dbt_utils.star(source('app', 'orders')) }}}} from {SRC}",
        f"select {{{{ var('column') }}}} from {SRC}",
        f"select struct_pack(*) from {SRC}",
    ],
)
def test_may_read_any_column(code: str) -> None:
    assert _reads_all_columns(code)


def _node(raw_code: str = "", **config: Any) -> Any:
    return SimpleNamespace(raw_code=raw_code, config=SimpleNamespace(**config), test_metadata=None)


def test_node_words_include_code_and_column_configs() -> None:
    words = _node_words(_node('select "Mixed Case", Amount from x', unique_key="ID"))
    assert words is not None
    assert {"mixed case", "amount", "id"} <= words


def test_builtin_generic_test_reads_its_column_only() -> None:
    node = _node("{{ test_not_null(**_dbt_generic_test_kwargs) }}")
    node.test_metadata = SimpleNamespace(
        name="not_null", namespace=None, kwargs={"column_name": "id"}
    )
    words = _node_words(node)
    assert words is not None and "id" in words


def test_custom_generic_test_reads_any_column() -> None:
    node = _node("{{ test_positive(**_dbt_generic_test_kwargs) }}")
    node.test_metadata = SimpleNamespace(name="positive", namespace=None, kwargs={})
    assert _node_words(node) is None


def _source(**meta: Any) -> Any:
    return SimpleNamespace(source_name="app", name="orders", loaded_at_field=None, meta=meta)


def test_mirror_config_defaults_and_list_key() -> None:
    from dbt.adapters.duckdb_postgres.snapshot import mirror_config

    source = _source()
    source.loaded_at_field = "updated_at"
    mirror, problems = mirror_config(source, {"pg_mirror_key": ["a", "b"]})
    assert problems == [] and mirror is not None
    assert mirror.key == ("a", "b") and mirror.updated_at == "updated_at" and not mirror.deletes


def test_mirror_config_problems_name_the_keys() -> None:
    from dbt.adapters.duckdb_postgres.snapshot import mirror_config

    mirror, problems = mirror_config(_source(), {"pg_mirror_deletes": "yes"})
    assert mirror is None
    text = " ".join(problems)
    assert "pg_mirror_key" in text and "pg_mirror_updated_at" in text
    assert "pg_mirror_deletes" in text and "'yes'" in text


@pytest.mark.parametrize(
    "threads, cpus, workers",
    [(1, 8, 1), (4, 2, 2), (4, 1, 2), (8, 8, 4), (3, 16, 3), (0, 4, 1)],
)
def test_snapshot_workers_bounded_by_threads_4_and_cpus(
    threads: int, cpus: int, workers: int
) -> None:
    from dbt.adapters.duckdb_postgres.snapshot import snapshot_workers

    assert snapshot_workers(threads, cpus) == workers


@pytest.mark.parametrize(
    "sql, reads",
    [
        ("select * from pg.s.t", True),
        ('select * from "pg"."s"."t"', True),
        ("select * from PG . s.t", True),  # DuckDB catalog names ignore case
        ("select * from postgres_query('pg', 'select 1')", True),  # a pg_query source
        # this run's source snapshot of pg.tpch.lineitem: a DuckDB table
        ('select * from "memory"."__dbt_pg_snapshot"."pg.tpch.lineitem" as l', False),
        ("select pg_window_start() as x, l.pg_x from pgx.s.t", False),
        ("select a.pg from t a", False),
        ("select 1 from mypg.s.t", False),
        ('select * from "main"."x" join warehouse.public.y using (id)', True),
    ],
)
def test_reads_postgres(sql: str, reads: bool) -> None:
    """Which compiled SELECTs read a Postgres connection (pg_full then reads the
    model result into a temp table before its first write)."""
    assert reads_postgres(sql, ["pg", "warehouse"]) is reads
