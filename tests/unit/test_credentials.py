"""credentials.py: parsing the profile's ``postgres:`` connections.

Secret SQL is executed in a real DuckDB (with the postgres extension loaded from
the wheel) and one connection is ATTACHed to the real test PostgreSQL.
"""

import duckdb
import pytest
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.credentials import DEFAULT_APPLICATION_NAME
from dbt.adapters.duckdb_postgres.credentials import VALID_KEYS
from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.credentials import PostgresConnection
from dbt.adapters.duckdb_postgres.credentials import parse_connection
from dbt.adapters.duckdb_postgres.credentials import parse_connections
from dbt.adapters.duckdb_postgres.extension import load_postgres_extension
from dbt.adapters.duckdb_postgres.quoting import quote_literal

# every character that has broken a password somewhere: SQL and libpq quotes,
# backslashes, printf/format/jinja markers, dollar quotes, spaces, a newline
TRICKY_PASSWORD = "p'a\"ss\\w%s%(x)s{}{{y}} $1$$ word=x \n end"
DSN_PASSWORD = "dsnSecret9"


def parse_ok(raw, name="wh") -> PostgresConnection:
    conn, problems = parse_connection(name, raw)
    assert problems == []
    assert conn is not None
    return conn


def parse_problems(raw, name="wh"):
    conn, problems = parse_connection(name, raw)
    assert conn is None
    assert problems
    return problems


def profile_error(raw, name="wh") -> str:
    with pytest.raises(DbtRuntimeError) as info:
        parse_connections({name: raw})
    return str(info.value)


def credentials(postgres) -> DuckDBPostgresCredentials:
    return DuckDBPostgresCredentials.from_dict(
        {"path": ":memory:", "schema": "main", "postgres": postgres}
    )


@pytest.fixture(scope="module")
def duck():
    conn = duckdb.connect(":memory:")
    load_postgres_extension(conn)
    yield conn
    conn.close()


# --- fields and aliases ------------------------------------------------------


def test_explicit_fields():
    conn = parse_ok(
        {
            "host": "db.internal",
            "port": 6543,
            "database": "wh",
            "username": "writer",
            "password": "pw",
            "read_only": True,
            "schema": "marts",
            "sslmode": "require",
            "connect_timeout": 10,
        }
    )
    assert (conn.host, conn.port, conn.database, conn.username) == (
        "db.internal",
        6543,
        "wh",
        "writer",
    )
    assert conn.password == "pw"
    assert conn.read_only is True
    assert conn.schema == "marts"
    assert conn.conninfo == {
        "sslmode": "require",
        "connect_timeout": "10",
        "application_name": DEFAULT_APPLICATION_NAME,
    }


def test_aliases_dbname_and_user():
    conn = parse_ok({"host": "h", "dbname": "d", "user": "u"})
    assert (conn.database, conn.username) == ("d", "u")


def test_standard_name_wins_over_alias():
    conn = parse_ok(
        {"host": "h", "database": "std_db", "dbname": "alias_db", "username": "std", "user": "al"}
    )
    assert (conn.database, conn.username) == ("std_db", "std")


def test_port_as_string_and_read_only_as_string():
    conn = parse_ok(
        {"host": "h", "port": "5433", "database": "d", "user": "u", "read_only": "true"}
    )
    assert conn.port == 5433
    assert conn.read_only is True


def test_application_name_can_be_overridden():
    conn = parse_ok({"host": "h", "database": "d", "user": "u", "application_name": "mine"})
    assert conn.conninfo["application_name"] == "mine"


# --- dsn ---------------------------------------------------------------------


def test_dsn_uri():
    conn = parse_ok(
        {"dsn": f"postgresql://writer:{DSN_PASSWORD}@db.internal:6543/wh?sslmode=require"}
    )
    assert (conn.host, conn.port, conn.database, conn.username) == (
        "db.internal",
        6543,
        "wh",
        "writer",
    )
    assert conn.password == DSN_PASSWORD
    assert conn.conninfo["sslmode"] == "require"
    assert "password" not in conn.conninfo


def test_dsn_key_value():
    conn = parse_ok(
        {"dsn": f"host=h1 port=7000 dbname=d1 user=u1 password={DSN_PASSWORD} connect_timeout=3"}
    )
    assert (conn.host, conn.port, conn.database, conn.username) == ("h1", 7000, "d1", "u1")
    assert conn.password == DSN_PASSWORD
    assert conn.conninfo["connect_timeout"] == "3"


def test_explicit_fields_override_dsn_parts():
    conn = parse_ok(
        {
            "dsn": f"postgresql://dsnuser:{DSN_PASSWORD}@dsnhost:1111/dsndb?sslmode=disable",
            "host": "realhost",
            "port": 2222,
            "database": "realdb",
            "username": "realuser",
            "password": "realpw",
            "sslmode": "require",
        }
    )
    assert (conn.host, conn.port, conn.database, conn.username, conn.password) == (
        "realhost",
        2222,
        "realdb",
        "realuser",
        "realpw",
    )
    assert conn.conninfo["sslmode"] == "require"


def test_aliases_override_dsn_parts():
    conn = parse_ok({"dsn": "host=h dbname=dsndb user=dsnuser", "dbname": "d2", "user": "u2"})
    assert (conn.database, conn.username) == ("d2", "u2")


def test_dsn_without_password_keeps_explicit_password():
    conn = parse_ok({"dsn": "postgresql://writer@db.internal:5432/wh", "password": "pw"})
    assert conn.password == "pw"
    assert conn.port == 5432


# --- password: kept exactly in the secret, nowhere else -----------------------


def test_password_kept_exactly_in_secret_sql():
    conn = parse_ok({"host": "h", "database": "d", "user": "u", "password": TRICKY_PASSWORD})
    assert conn.password == TRICKY_PASSWORD
    assert f"PASSWORD {quote_literal(TRICKY_PASSWORD)}" in conn.secret_sql()


def test_password_never_in_attach_describe_or_repr():
    for raw in (
        {"host": "h", "database": "d", "user": "u", "password": TRICKY_PASSWORD},
        {"dsn": f"postgresql://u:{DSN_PASSWORD}@h/d"},
        {"dsn": f"host=h dbname=d user=u password={DSN_PASSWORD}"},
    ):
        conn = parse_ok(raw)
        secret = conn.password
        assert secret
        for text in (conn.attach_sql(), conn.describe(), repr(conn)):
            assert secret not in text
        assert "password" not in conn.attach_sql().lower()


def test_secret_sql_runs_in_duckdb(duck):
    conn = parse_ok(
        {
            "host": "db.internal",
            "port": 6543,
            "database": "it's db",
            "username": "user {x}",
            "password": TRICKY_PASSWORD,
        },
        name="tricky'name",
    )
    duck.execute(conn.secret_sql())
    rows = duck.execute(
        "select name, type, persistent, secret_string from duckdb_secrets() "
        f"where name = {quote_literal(conn.secret_name)}"
    ).fetchall()
    assert len(rows) == 1
    name, secret_type, persistent, secret_string = rows[0]
    assert (name, secret_type, persistent) == (conn.secret_name, "postgres", False)
    assert "it's db" in secret_string
    assert "6543" in secret_string
    assert TRICKY_PASSWORD not in secret_string  # DuckDB redacts it
    # CREATE OR REPLACE: running it again keeps exactly one secret
    duck.execute(conn.secret_sql())
    count = duck.execute(
        f"select count(*) from duckdb_secrets() where name = {quote_literal(conn.secret_name)}"
    ).fetchone()
    assert count == (1,)


def test_attach_to_real_postgres_with_tricky_values(pg_server, duck):
    """The secret and the ATTACH conninfo (quoted twice: libpq inside SQL) reach Postgres."""
    info = pg_server.conninfo
    app_name = "dbt it's \\ a {test} %s"
    conn = parse_ok(
        {
            "host": info.get("host"),
            "port": info.get("port"),
            "database": info["dbname"],
            "user": info["user"],
            # the embedded server trusts local connections; an external one needs its own
            "password": info.get("password", TRICKY_PASSWORD),
            "application_name": app_name,
            "read_only": True,
        },
        name="pg real",
    )
    duck.execute(conn.secret_sql())
    duck.execute(conn.attach_sql())
    try:
        sql = "select current_database(), current_setting('application_name')"
        row = duck.execute(
            f"select * from postgres_query({quote_literal(conn.name)}, {quote_literal(sql)})"
        ).fetchone()
        assert row == (info["dbname"], app_name)
        readonly = duck.execute(
            "select readonly from duckdb_databases() where database_name = 'pg real'"
        ).fetchone()
        assert readonly == (True,)
    finally:
        duck.execute('detach "pg real"')


# --- errors: name the connection and key, never a secret ---------------------


def test_unknown_key_lists_valid_keys():
    message = profile_error({"host": "h", "database": "d", "user": "u", "pasword": "pw"})
    assert "postgres connection 'wh'" in message
    assert "unknown key(s) pasword" in message
    for key in VALID_KEYS:
        assert key in message


def test_missing_database_and_username():
    message = profile_error({"host": "h"})
    assert "postgres connection 'wh'" in message
    assert "'database' is required" in message
    assert "'username' is required" in message


def test_dsn_supplies_database_and_username():
    conn = parse_ok({"dsn": "postgresql://h/d?user=u"})
    assert (conn.database, conn.username) == ("d", "u")


def test_dsn_without_database_still_missing():
    problems = parse_problems({"dsn": "host=h user=u"})
    assert any("'database' is required" in p for p in problems)


@pytest.mark.parametrize("port", ["abc", "54 32", 3.5, True, 0, 70000, "-1"])
def test_non_integer_or_out_of_range_port(port):
    message = profile_error({"host": "h", "database": "d", "user": "u", "port": port})
    assert "postgres connection 'wh'" in message
    assert "'port' must be an integer" in message


def test_bad_read_only_and_connect_timeout():
    message = profile_error(
        {"host": "h", "database": "d", "user": "u", "read_only": "yes", "connect_timeout": "x"}
    )
    assert "'read_only' must be true or false" in message
    assert "'connect_timeout' must be an integer" in message


@pytest.mark.parametrize(
    "raw",
    [
        {"embedded": "/tmp/x", "host": "h", "database": "d"},
        {"embedded": "/tmp/x", "dsn": "postgresql://u@h/d"},
    ],
)
def test_embedded_with_host_or_dsn(raw):
    message = profile_error(raw)
    assert "postgres connection 'wh'" in message
    assert "'embedded'" in message
    assert "cannot be combined with 'host' or 'dsn'" in message


def test_embedded_defaults():
    conn = parse_ok({"embedded": "relative/pgdata", "database": "d"})
    assert conn.username == "postgres"
    assert conn.embedded is not None and conn.embedded.endswith("/relative/pgdata")
    assert conn.embedded.startswith("/")
    assert conn.host is None
    assert "embedded server in" in conn.describe()


@pytest.mark.parametrize(
    "dsn",
    [
        f"host=h dbname=d user=u password='{DSN_PASSWORD}",  # unterminated quote
        f"host=h dbname d password={DSN_PASSWORD}",  # missing '='
        f"postgresql://u:{DSN_PASSWORD}@h/d?nosuchoption=1",
    ],
)
def test_invalid_dsn_is_not_echoed(dsn):
    message = profile_error({"dsn": dsn, "password": TRICKY_PASSWORD})
    assert "postgres connection 'wh'" in message
    assert "'dsn' is not a valid libpq connection string" in message
    assert DSN_PASSWORD not in message
    assert dsn not in message
    assert TRICKY_PASSWORD not in message


def test_reserved_name():
    message = profile_error({"host": "h", "database": "d", "user": "u"}, name="memory")
    assert "reserved by DuckDB" in message


def test_not_a_mapping():
    message = profile_error("postgresql://u@h/d")
    assert "expected a mapping" in message
    with pytest.raises(DbtRuntimeError, match="must be a mapping"):
        parse_connections(["a"])


def test_all_problems_of_all_connections_raised_once():
    with pytest.raises(DbtRuntimeError) as info:
        parse_connections(
            {
                "good": {"host": "h", "database": "d", "user": "u"},
                "bad1": {"host": "h", "user": "u", "password": TRICKY_PASSWORD},
                "bad2": {"host": "h", "database": "d", "user": "u", "port": "x"},
            }
        )
    message = str(info.value)
    assert "postgres connection 'bad1': 'database' is required" in message
    assert "postgres connection 'bad2': 'port' must be an integer" in message
    assert "'good'" not in message
    assert TRICKY_PASSWORD not in message


def test_errors_never_contain_password():
    for raw in (
        {"host": "h", "user": "u", "password": TRICKY_PASSWORD, "typo": 1},
        {"host": "h", "database": "d", "user": "u", "password": TRICKY_PASSWORD, "port": "x"},
        {"embedded": "/tmp/x", "host": "h", "database": "d", "password": TRICKY_PASSWORD},
    ):
        assert TRICKY_PASSWORD not in profile_error(raw)


# --- DuckDBPostgresCredentials ------------------------------------------------


def test_credentials_parse_connections_and_summary():
    creds = credentials(
        {
            "app": {"host": "apphost", "database": "app", "user": "reader", "read_only": True},
            "warehouse": {
                "dsn": f"postgresql://writer:{DSN_PASSWORD}@whhost:6543/wh",
                "password": TRICKY_PASSWORD,
            },
        }
    )
    assert creds.type == "duckdb_postgres"
    conns = creds.postgres_connections
    assert list(conns) == ["app", "warehouse"]
    assert conns["app"].read_only is True
    assert conns["warehouse"].password == TRICKY_PASSWORD
    summary = creds.postgres_summary
    assert "app -> apphost:5432, database=app, user=reader, read_only=true" in summary
    assert "warehouse -> whhost:6543, database=wh, user=writer, read_only=false" in summary
    assert TRICKY_PASSWORD not in summary
    assert DSN_PASSWORD not in summary


def test_credentials_without_postgres():
    creds = credentials(None)
    assert creds.postgres_connections == {}
    assert creds.postgres_summary == "(none)"


def test_credentials_invalid_connection_raises_on_use():
    creds = credentials({"wh": {"host": "h", "password": TRICKY_PASSWORD}})
    assert creds.postgres_summary == "(invalid; see the connection test)"
    with pytest.raises(DbtRuntimeError) as info:
        _ = creds.postgres_connections
    assert "postgres connection 'wh'" in str(info.value)
    assert TRICKY_PASSWORD not in str(info.value)


def test_connection_info_has_no_secret_or_attach():
    creds = credentials(
        {"wh": {"dsn": f"postgresql://u:{DSN_PASSWORD}@h/d", "password": TRICKY_PASSWORD}}
    )
    info = dict(creds.connection_info())
    assert "attach" not in info
    assert TRICKY_PASSWORD not in repr(info)
    assert DSN_PASSWORD not in repr(info)


def test_connection_info_shows_postgres_summary():
    creds = credentials({"wh": {"host": "h", "database": "d", "user": "u"}})
    assert dict(creds.connection_info()).get("postgres") == creds.postgres_summary
