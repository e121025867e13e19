"""Profile credentials: every dbt-duckdb setting plus named PostgreSQL connections.

A profile's ``postgres:`` mapping names connections; each is ATTACHed into DuckDB
under its name through a DuckDB secret, so the password never travels in an
ATTACH string, a log line or an error message (see ``docs/architecture.md``,
"Secrets").
"""

import os
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Dict
from typing import Iterator
from typing import List
from typing import Optional
from typing import Tuple

from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt_common.exceptions import DbtRuntimeError

from dbt.adapters.duckdb_postgres.quoting import quote_conninfo_value
from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal
from dbt.adapters.duckdb_postgres.snapshot import snapshot_mode

ADAPTER_TYPE = "duckdb_postgres"
DEFAULT_APPLICATION_NAME = "dbt-duckdb-postgres"
SECRET_PREFIX = "__dbt_pg_"

# Alias -> standard name. When both are given the standard name wins.
_ALIASES = {"dbname": "database", "user": "username"}

# Keys that libpq reads from the ATTACH connection string (none of them secret).
_CONNINFO_KEYS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
)

# libpq parameters a DSN may carry that are secrets themselves
_SECRET_CONNINFO_KEYS = ("sslpassword",)

VALID_KEYS = (
    "host",
    "port",
    "database",
    "dbname",
    "username",
    "user",
    "password",
    "dsn",
    *_CONNINFO_KEYS,
    "read_only",
    "embedded",
    "schema",
    "source_snapshot",
)

# DuckDB catalog names a connection may not take.
_RESERVED_NAMES = {"memory", "system", "temp", "main"}


@dataclass
class PostgresConnection:
    """One named PostgreSQL connection of the profile, validated.

    ``host``/``port``/``database``/``username``/``password`` go into a DuckDB
    secret; the ``_CONNINFO_KEYS`` and any extra DSN parameters go into the
    ATTACH connection string. ``embedded`` names a data folder for a local
    server started by :mod:`.embedded`; its host and port are filled in then.
    """

    name: str
    host: Optional[str] = None
    port: Optional[int] = None
    database: Optional[str] = None
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    read_only: bool = False
    embedded: Optional[str] = None
    schema: Optional[str] = None
    # 'run': source tables on this connection are read once per run from one snapshot
    source_snapshot: str = "off"
    conninfo: Dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def secret_name(self) -> str:
        """The DuckDB secret of this connection: ``__dbt_pg_<name>``."""
        return f"{SECRET_PREFIX}{self.name}"

    def secret_sql(self) -> str:
        """``CREATE OR REPLACE SECRET`` holding where to connect and the password.

        The secret is temporary (in memory, never persisted). Source: DuckDB
        postgres extension docs, "Configuring via Secrets".
        """
        params = [("TYPE", "postgres")]
        for key, value in (
            ("HOST", self.host),
            ("PORT", self.port),
            ("DATABASE", self.database),
            ("USER", self.username),
            ("PASSWORD", self.password),
        ):
            if value is not None:
                params.append((key, quote_literal(value)))
        body = ", ".join(f"{key} {value}" for key, value in params)
        return f"CREATE OR REPLACE TEMPORARY SECRET {quote_identifier(self.secret_name)} ({body})"

    def attach_sql(self) -> str:
        """``ATTACH`` this connection as a DuckDB catalog named after it.

        The connection string carries only non-secret libpq parameters; the
        extension merges them with the secret.
        """
        conninfo = " ".join(
            f"{key}={quote_conninfo_value(value)}" for key, value in sorted(self.conninfo.items())
        )
        options = ["TYPE postgres", f"SECRET {quote_identifier(self.secret_name)}"]
        if self.read_only:
            options.append("READ_ONLY")
        return (
            f"ATTACH IF NOT EXISTS {quote_literal(conninfo)} AS {quote_identifier(self.name)} "
            f"({', '.join(options)})"
        )

    def secrets(self) -> List[str]:
        """Every secret value of this connection, to mask in messages."""
        values = [self.password] + [self.conninfo.get(k) for k in _SECRET_CONNINFO_KEYS]
        return [v for v in values if v]

    def describe(self) -> str:
        """A one-line description without secrets, for `dbt debug` and error messages."""
        if self.embedded:
            where = f"embedded server in {self.embedded}"
        else:
            where = f"{self.host or 'localhost'}:{self.port or 5432}"
        return (
            f"{self.name} -> {where}, database={self.database}, user={self.username}, "
            f"read_only={str(self.read_only).lower()}"
        )


def _as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_bool(value: Any) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _parse_dsn(dsn: str) -> Optional[Dict[str, str]]:
    """Parse a libpq URI or key=value string with libpq itself (through psycopg).

    Returns None when libpq rejects it; the caller reports that without echoing
    the DSN, which may carry a password.
    """
    from psycopg import conninfo

    try:
        return {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items()}
    except Exception:
        return None


def parse_connection(name: str, raw: Any) -> Tuple[Optional[PostgresConnection], List[str]]:
    """Validate one ``postgres:`` entry of the profile.

    Args:
        name: the connection name (the key under ``postgres:``).
        raw: the mapping given for it.

    Returns:
        (connection, problems): the connection when there are no problems, else
        None and the list of problems, each naming the key and the fix. No
        problem text contains a password or a DSN.
    """
    problems: List[str] = []
    if not isinstance(raw, dict):
        return None, [f"expected a mapping of connection settings, got {type(raw).__name__}"]
    unknown = sorted(str(k) for k in raw if k not in VALID_KEYS)
    if unknown:
        problems.append(
            f"unknown key(s) {', '.join(unknown)}; valid keys are: {', '.join(VALID_KEYS)}"
        )
    if name.lower() in _RESERVED_NAMES:
        problems.append(f"the name '{name}' is reserved by DuckDB; rename the connection")

    values: Dict[str, Any] = {}
    dsn = raw.get("dsn")
    if dsn is not None:
        parsed = _parse_dsn(str(dsn))
        if parsed is None:
            problems.append(
                "'dsn' is not a valid libpq connection string; use "
                "'postgresql://user@host:5432/dbname' or 'host=... dbname=...' "
                "(the value is not shown because it may contain a password)"
            )
        else:
            values.update({_ALIASES.get(k, k): v for k, v in parsed.items()})
    # explicit fields override DSN parts; the standard name wins over its alias
    for alias, standard in _ALIASES.items():
        if raw.get(alias) is not None and raw.get(standard) is None:
            values[standard] = raw[alias]
    for key, value in raw.items():
        if key in VALID_KEYS and key not in _ALIASES and key != "dsn" and value is not None:
            values[key] = value

    embedded = values.pop("embedded", None)
    if embedded is not None:
        if raw.get("host") is not None or dsn is not None:
            problems.append(
                "'embedded' starts a local server and cannot be combined with 'host' or 'dsn'; "
                "remove one of them"
            )
        values.setdefault("username", "postgres")
        embedded = os.path.abspath(str(embedded))
    if not values.get("database"):
        problems.append("'database' is required (or 'dbname', or a 'dsn' that names one)")
    if not values.get("username"):
        problems.append("'username' is required (or 'user', or a 'dsn' that names one)")

    port = values.pop("port", None)
    port_int = None
    if port is not None:
        port_int = _as_int(port)
        if port_int is None or not 0 < port_int < 65536:
            problems.append(f"'port' must be an integer from 1 to 65535, got {port!r}")
    timeout = values.get("connect_timeout")
    if timeout is not None and _as_int(timeout) is None:
        problems.append(f"'connect_timeout' must be an integer (seconds), got {timeout!r}")
    read_only_raw = values.pop("read_only", False)
    read_only = _as_bool(read_only_raw)
    if read_only is None:
        problems.append(f"'read_only' must be true or false, got {read_only_raw!r}")

    source_snapshot, problem = snapshot_mode(
        values.pop("source_snapshot", None), "'source_snapshot'"
    )
    if problem:
        problems.append(problem)

    if problems:
        return None, problems

    conninfo = {
        k: str(v)
        for k, v in values.items()
        if k not in ("host", "database", "username", "password", "schema")
    }
    conninfo.setdefault("application_name", DEFAULT_APPLICATION_NAME)
    return (
        PostgresConnection(
            name=name,
            host=None if values.get("host") is None else str(values["host"]),
            port=port_int,
            database=str(values["database"]),
            username=str(values["username"]),
            password=None if values.get("password") is None else str(values["password"]),
            read_only=bool(read_only),
            embedded=embedded,
            schema=None if values.get("schema") is None else str(values["schema"]),
            source_snapshot=source_snapshot,
            conninfo=conninfo,
        ),
        [],
    )


def parse_connections(raw: Optional[Dict[str, Any]]) -> Dict[str, PostgresConnection]:
    """Validate the whole ``postgres:`` mapping; raise once listing every problem.

    Raises:
        DbtRuntimeError: naming each bad connection and key, without secrets.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DbtRuntimeError(
            "The profile key 'postgres' must be a mapping of connection name -> settings"
        )
    connections: Dict[str, PostgresConnection] = {}
    errors: List[str] = []
    for name, entry in raw.items():
        conn, problems = parse_connection(str(name), entry)
        if conn is not None:
            connections[conn.name] = conn
        errors.extend(f"  postgres connection '{name}': {p}" for p in problems)
    if errors:
        raise DbtRuntimeError("Invalid 'postgres' connections in profile:\n" + "\n".join(errors))
    return connections


@dataclass
class DuckDBPostgresCredentials(DuckDBCredentials):
    """dbt-duckdb credentials plus a ``postgres:`` mapping of named connections."""

    # typed loosely on purpose: dbt's schema check would echo an invalid value
    # (e.g. a whole DSN) in its error; parse_connections rejects it without echoing
    postgres: Optional[Any] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._postgres: Dict[str, PostgresConnection] = {}

    @property
    def postgres_connections(self) -> Dict[str, PostgresConnection]:
        """The validated connections (parsed on first use, i.e. at connection time).

        Raises:
            DbtRuntimeError: when the profile's ``postgres:`` mapping is invalid.
        """
        if not self._postgres and self.postgres:
            self._postgres = parse_connections(self.postgres)
        return self._postgres

    @property
    def postgres_summary(self) -> str:
        """The connection names and where they point, without secrets."""
        try:
            conns = self.postgres_connections
        except DbtRuntimeError:
            return "(invalid; see the connection test)"
        return "; ".join(c.describe() for c in conns.values()) or "(none)"

    @property
    def type(self) -> str:
        """The adapter type in profiles.yml."""
        return ADAPTER_TYPE

    def _connection_keys(self) -> Tuple[str, ...]:
        # dbt-duckdb's `attach` paths may carry credentials of their own
        return tuple(k for k in super()._connection_keys() if k != "attach")

    def connection_info(self, *, with_aliases: bool = False) -> Iterator[Tuple[str, Any]]:
        """What `dbt debug` prints: dbt-duckdb's keys, then the postgres
        connections without secrets (a property, so dbt's own loop misses it)."""
        yield from super().connection_info(with_aliases=with_aliases)
        yield "postgres", self.postgres_summary
