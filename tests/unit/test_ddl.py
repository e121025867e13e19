"""The DuckDB -> Postgres type map (ddl.py), without Postgres: DuckDB parses the types."""

import duckdb
import pytest

from dbt.adapters.duckdb_postgres import ddl

# DuckDB type -> (create type, final type, load expression of column "c")
TYPE_MAP = [
    ("BOOLEAN", "boolean", None, '"c"'),
    ("TINYINT", "smallint", None, '"c"'),
    ("UTINYINT", "smallint", None, '"c"'),
    ("USMALLINT", "integer", None, '"c"'),
    ("UINTEGER", "bigint", None, '"c"'),
    ("UBIGINT", "numeric(20,0)", None, '"c"'),
    ("HUGEINT", "numeric(38,0)", "numeric", '"c"::DECIMAL(38,0)'),
    ("UHUGEINT", "numeric(38,0)", "numeric", '"c"::DECIMAL(38,0)'),
    ("DECIMAL(18,3)", "numeric(18,3)", None, '"c"'),
    ("FLOAT", "real", None, '"c"'),
    ("DOUBLE", "double precision", None, '"c"'),
    ("VARCHAR", "text", None, '"c"'),
    ("JSON", "jsonb", None, '"c"'),
    ("BLOB", "bytea", None, '"c"'),
    ("BIT", "bit varying", None, '"c"::VARCHAR'),
    ("UUID", "uuid", None, '"c"'),
    ("TIMESTAMP_NS", "timestamp", None, '"c"'),
    ("TIMESTAMP WITH TIME ZONE", "timestamp with time zone", None, '"c"'),
    ("INTERVAL", "interval", None, '"c"'),
    ("STRUCT(a INTEGER, b VARCHAR)", "jsonb", None, 'to_json("c")'),
    ("MAP(VARCHAR, INTEGER)", "jsonb", None, 'to_json("c")'),
    ("UNION(a INTEGER, b VARCHAR)", "jsonb", None, 'to_json("c")'),
    ("INTEGER[]", "integer[]", None, '"c"'),
    ("VARCHAR[3]", "text[]", None, '"c"'),
    ("STRUCT(a INTEGER)[]", "jsonb", None, 'to_json("c")'),
    ("INTEGER[][]", "jsonb", None, 'to_json("c")'),
    ("HUGEINT[]", "jsonb", None, 'to_json("c")'),
]


@pytest.mark.parametrize("duckdb_type,create_type,final_type,load", TYPE_MAP)
def test_type_map(duckdb_type, create_type, final_type, load):
    [column] = ddl.plan_columns(["c"], [duckdb.type(duckdb_type)])
    assert (column.create_type, column.final_type, column.load) == (create_type, final_type, load)
    assert column.pg_type == (final_type or create_type)


def test_enum_is_text():
    con = duckdb.connect()
    con.execute("create type mood as enum ('ok', 'sad')")
    relation = con.sql("select 'ok'::mood as m")
    [column] = ddl.plan_columns(relation.columns, relation.types)
    assert (column.create_type, column.load) == ("text", '"m"::VARCHAR')


def test_column_types_override_wins_case_insensitively():
    columns = ddl.plan_columns(
        ["Amount", "note"], [duckdb.type("DOUBLE"), duckdb.type("VARCHAR")], {"amount": "money"}
    )
    assert [(c.name, c.pg_type, c.load) for c in columns] == [
        ("Amount", "money", '"Amount"'),
        ("note", "text", '"note"'),
    ]


def test_unmapped_type_names_the_column_and_the_fix():
    with pytest.raises(ValueError, match=r"column 'big'.*BIGNUM.*column_types"):
        ddl.plan_columns(["big"], [duckdb.type("BIGNUM")])


def test_sql_quotes_every_name():
    columns = ddl.plan_columns(['we"ird', "n"], [duckdb.type("HUGEINT"), duckdb.type("INTEGER")])
    assert ddl.create_table_sql('"s"."t"', columns, unlogged=True) == (
        'create unlogged table "s"."t" (\n  "we""ird" numeric(38,0),\n  "n" integer\n)'
    )
    assert ddl.load_select_sql(columns, "select 1") == (
        'select "we""ird"::DECIMAL(38,0) as "we""ird", "n" as "n" from (\nselect 1\n) _dbt_model'
    )
    assert ddl.finalize_sql('"s"."t"', columns) == (
        'alter table "s"."t" alter column "we""ird" type numeric'
    )
    assert ddl.finalize_sql('"s"."t"', columns[1:]) == ""


def test_contract_constraints_follow_their_columns():
    columns = ddl.plan_columns(["id", "v"], [duckdb.type("INTEGER"), duckdb.type("VARCHAR")])
    sql = ddl.create_table_sql(
        '"s"."t"',
        columns,
        unlogged=False,
        column_constraints={"id": "not null primary key"},
        table_constraints=["check (id > 0)"],
    )
    assert sql == (
        'create table "s"."t" (\n  "id" integer not null primary key,\n  "v" text,\n'
        "  check (id > 0)\n)"
    )
