"""The deterministic benchmark data, generated identically in DuckDB and PostgreSQL.

Row ``i`` (1..N) is a pure function of ``i`` and N, written once as SQL that
both engines run (:func:`row_sql`):

| column   | type           | value                                                    |
|----------|----------------|----------------------------------------------------------|
| id       | bigint         | i                                                        |
| ts       | timestamptz    | 2024-01-01 UTC + (i-1) * (100 days / N): 100 days, 1% each |
| qty      | integer        | (i * 7919) % 1000                                        |
| amount   | numeric(12,2)  | ((i * 104729) % 10^7) / 100                              |
| category | text (short)   | 'cat_' || i % 20 (20 groups)                              |
| note     | text (50 chars)| 'note ' || md5(i) || ' ' || lpad(i, 12, '0')              |
| flag     | boolean        | i % 3 = 0                                                |

DuckDB holds ``src`` and the change sets in ``<work>/data.duckdb`` (the input
of every write path); Postgres holds them in schema :data:`SCHEMA`, generated
server-side with ``generate_series`` (the input of every read path), and a
checksum proves both are the same rows. Files for COPY go into a folder that
the server's OS user can read (``pgserver`` when run as root).
"""

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List
from typing import Optional
from typing import Tuple

import duckdb

from benchlib.server import Postgres
from dbt.adapters.duckdb_postgres.extension import load_postgres_extension
from dbt.adapters.duckdb_postgres.quoting import quote_literal

SCHEMA = "dbt_pg_bench"
START = "2024-01-01 00:00:00"
DAYS = 100
DAY = 50  # the day read selectively and re-processed: 2024-02-20
GROUPS = 20
SPAN_US = DAYS * 86_400 * 1_000_000
COLUMNS = ("id", "ts", "qty", "amount", "category", "note", "flag")
PG_COLUMNS = (
    "id bigint, ts timestamptz, qty integer, amount numeric(12,2), category text, "
    "note text, flag boolean"
)


def row_sql(i: str, rows: int, dialect: str) -> str:
    """The SELECT list of row ``i`` of an N-row data set.

    Args:
        i: a SQL expression of type bigint (the row number, 1-based).
        rows: N; the rows span 100 days evenly, so one day holds N/100 rows.
        dialect: ``duckdb`` or ``postgres`` (they differ only in interval arithmetic).
    """
    step = SPAN_US // rows
    if dialect == "duckdb":
        ts = f"timestamptz '{START}+00' + to_microseconds(({i} - 1) * {step})"
    else:
        ts = f"timestamptz '{START}+00' + (({i} - 1) * {step}) * interval '1 microsecond'"
    return (
        f"cast({i} as bigint) as id, {ts} as ts, "
        f"cast(({i} * 7919) % 1000 as integer) as qty, "
        f"cast((({i} * 104729) % 10000000) / 100.0 as decimal(12,2)) as amount, "
        f"'cat_' || ({i} % {GROUPS}) as category, "
        f"'note ' || md5(cast({i} as varchar)) || ' ' || lpad(cast({i} as varchar), 12, '0') "
        f"as note, "
        f"{i} % 3 = 0 as flag"
    )


def series_sql(first: int, last: int, dialect: str) -> str:
    """A FROM item yielding ``i`` = first..last (bigint) in either dialect."""
    if dialect == "duckdb":
        return f"range({first}, {last + 1}) r(i)"
    return f"generate_series({first}::bigint, {last}::bigint) g(i)"


@dataclass(frozen=True)
class ChangeSet:
    """Rows of an upsert: existing keys with new values plus new keys.

    Changed keys are ``id % every == 7`` with ``id <= max_id``; new keys follow
    the largest id of the full data set, so they are new in every target.
    """

    name: str
    every: int
    max_id: int
    first_new: int
    new_rows: int

    @property
    def changed_rows(self) -> int:
        return (self.max_id - 7) // self.every + 1 if self.max_id >= 7 else 0

    @property
    def rows(self) -> int:
        return self.changed_rows + self.new_rows

    def sql(self, source: str, rows: int, dialect: str) -> str:
        """The change set as a SELECT over ``source`` (the data set's src table)."""
        changed = (
            "select id, ts, qty + 1 as qty, cast(amount + 1 as decimal(12,2)) as amount, "
            "category, 'changed ' || note as note, not flag as flag "
            f"from {source} where id % {self.every} = 7 and id <= {self.max_id}"
        )
        if not self.new_rows:
            return changed
        new = (
            f"select {row_sql('i', rows, dialect)} from "
            f"{series_sql(self.first_new, self.first_new + self.new_rows - 1, dialect)}"
        )
        return f"{changed}\nunion all\n{new}"


def change_sets(rows: int) -> List[ChangeSet]:
    """The upsert change sets of an N-row target (see the upsert suite):
    ``chg_a`` 1% changed + 0.5% new, ``chg_b`` 0.1% + 0.05%, and ``chg_s``
    (scaling) 1% + 0.5% of N/10, applied to an N/10-row and an N-row target."""
    small = rows // 10
    return [
        ChangeSet("chg_a", 100, rows, rows + 1, rows // 200),
        ChangeSet("chg_b", 1000, rows, rows + 1, rows // 2000),
        ChangeSet("chg_s", 100, small, rows + 1, small // 200),
    ]


def pg(name: str) -> str:
    """``schema.name`` of a benchmark table in Postgres (names are plain lowercase)."""
    return f"{SCHEMA}.{name}"


def day_bounds(day: int = DAY) -> Tuple[str, str]:
    """UTC bounds ``[start, end)`` of day ``day`` (0-based) as 'YYYY-MM-DD HH:MM:SS+00'."""
    from datetime import datetime
    from datetime import timedelta

    base = datetime.fromisoformat(START)
    start, end = base + timedelta(days=day), base + timedelta(days=day + 1)
    return f"{start.isoformat(sep=' ')}+00", f"{end.isoformat(sep=' ')}+00"


def duckdb_session(
    server: Postgres,
    data_path: Optional[Path],
    host: Optional[str] = None,
    database: str = ":memory:",
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``data`` (the data file, read-only) and ``pg`` attached.

    Args:
        data_path: the data file; None to leave it out.
        host: the libpq host for ``pg`` (e.g. a counting proxy's folder).
        database: the DuckDB database (a file path, default in memory).
    """
    con = duckdb.connect(database)
    load_postgres_extension(con)
    if data_path is not None:
        con.execute(f"ATTACH {quote_literal(str(data_path))} AS data (READ_ONLY)")
    con.execute(f"ATTACH {quote_literal(server.libpq(host))} AS pg (TYPE postgres)")
    return con


class Dataset:
    """The data of one ``--rows`` value, in DuckDB, Postgres and files.

    Attributes:
        rows: N.
        duckdb_path: the DuckDB file holding ``src`` and the change sets.
        files: a folder the Postgres server can read (mode 755, files 644).
    """

    def __init__(self, server: Postgres, rows: int, work_dir: Path):
        self.server = server
        self.rows = rows
        self.duckdb_path = work_dir / "data.duckdb"
        self.files = Path(tempfile.mkdtemp(prefix="dbt_pg_bench_files_"))
        os.chmod(self.files, 0o755)
        self.changes = change_sets(rows)

    @property
    def day_rows(self) -> int:
        return self.rows // DAYS

    def create(self, with_index_copy: bool, with_changes: bool) -> None:
        """Generate ``src`` in DuckDB and Postgres (and the change sets), then check
        that both engines hold the same rows.

        Args:
            with_index_copy: also create ``src_idx`` (src plus an index on ts).
            with_changes: also create the change sets in both engines.
        """
        n = self.rows
        for path in (self.duckdb_path, self.duckdb_path.with_suffix(".duckdb.wal")):
            path.unlink(missing_ok=True)
        with duckdb.connect(str(self.duckdb_path)) as con:
            con.execute(
                f"create table src as select {row_sql('i', n, 'duckdb')} "
                f"from {series_sql(1, n, 'duckdb')} order by i"
            )
            if with_changes:
                for chg in self.changes:
                    con.execute(f"create table {chg.name} as {chg.sql('src', n, 'duckdb')}")
            duck_sums = con.execute(
                _CHECKSUM_SQL.format(
                    table="src", epoch_min="epoch_us(min(ts))", epoch_max="epoch_us(max(ts))"
                )
            ).fetchone()
        statements = [
            f"drop schema if exists {SCHEMA} cascade",
            f"create schema {SCHEMA}",
            f"create table {pg('src')} ({PG_COLUMNS})",
            f"insert into {pg('src')} select {row_sql('i', n, 'postgres')} "
            f"from {series_sql(1, n, 'postgres')}",
            f"vacuum analyze {pg('src')}",
        ]
        if with_index_copy:
            statements += [
                f"create table {pg('src_idx')} as select * from {pg('src')}",
                f"create index src_idx_ts on {pg('src_idx')} (ts)",
                f"vacuum analyze {pg('src_idx')}",
            ]
        if with_changes:
            for chg in self.changes:
                statements.append(
                    f"create table {pg(chg.name)} as {chg.sql(pg('src'), n, 'postgres')}"
                )
        self.server.run_sql(statements)
        with self.server.connect() as conn:
            sql = _CHECKSUM_SQL.format(
                table=pg("src"),
                epoch_min="(extract(epoch from min(ts)) * 1000000)::bigint",
                epoch_max="(extract(epoch from max(ts)) * 1000000)::bigint",
            )
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
        pg_sums = tuple(row) if row else ()
        if [str(v) for v in duck_sums or ()] != [str(v) for v in pg_sums]:
            raise RuntimeError(
                f"DuckDB and Postgres data differ: duckdb {duck_sums} vs postgres {pg_sums}"
            )

    def export(self, table: str, fmt: str = "binary", where: str = "", name: str = "") -> Path:
        """Write Postgres table ``table`` (optionally filtered) to a file by
        ``COPY ... TO STDOUT`` and make it readable by the server's OS user.

        Args:
            fmt: ``binary`` or ``csv``.
            where: a WHERE clause to filter the rows.
            name: the file's base name (default: ``table``).
        Returns:
            The file path (``<files>/<name>.<fmt>``).
        """
        path = self.files / f"{name or table}.{fmt}"
        query = f"select * from {pg(table)} {where}".strip()
        with self.server.connect() as conn, open(path, "wb") as out:
            with conn.cursor().copy(f"copy ({query}) to stdout (format {fmt})") as copy:  # type: ignore[arg-type]
                for chunk in copy:
                    out.write(chunk)
        os.chmod(path, 0o644)
        return path

    def server_can_read(self, path: Path) -> bool:
        """Whether the server can read ``path`` for ``COPY ... FROM '<file>'`` (it runs
        on this machine and we may read server files), else psql streams it."""
        try:
            with self.server.connect() as conn:
                conn.execute(f"select pg_stat_file({quote_literal(str(path))})")  # type: ignore[arg-type]
            return True
        except Exception:  # noqa: BLE001 - any failure means: stream it
            return False

    def cleanup(self) -> None:
        """Remove the exported files."""
        shutil.rmtree(self.files, ignore_errors=True)


# The same checksum in both engines: proves DuckDB's and Postgres' src are equal.
_CHECKSUM_SQL = """
select count(*), sum(id), sum(qty), sum(amount), count(distinct category),
       sum(length(note)), sum(case when flag then 1 else 0 end),
       {epoch_min}, {epoch_max},
       sum(case when note like 'note %' then 1 else 0 end)
from {table}
"""
