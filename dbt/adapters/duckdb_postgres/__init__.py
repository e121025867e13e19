"""dbt-duckdb-postgres: a dbt adapter in which DuckDB computes and PostgreSQL stores."""

from dbt.adapters.base import AdapterPlugin

from dbt.adapters.duckdb_postgres.connections import DuckDBPostgresConnectionManager  # noqa: F401
from dbt.adapters.duckdb_postgres.credentials import DuckDBPostgresCredentials
from dbt.adapters.duckdb_postgres.impl import DuckDBPostgresAdapter
from dbt.include import duckdb_postgres

Plugin = AdapterPlugin(
    adapter=DuckDBPostgresAdapter,  # type: ignore[arg-type]
    credentials=DuckDBPostgresCredentials,
    include_path=duckdb_postgres.PACKAGE_PATH,
    dependencies=["duckdb"],
)
