"""What a `pg_full` model costs beyond reading its sources, computing and writing.

The evidence is PostgreSQL's own statement log (``log_statement = 'all'``, on
for the module only): every read of an attached source table is a
``COPY (SELECT ... WHERE ctid BETWEEN ...) TO STDOUT``. A model run must read
each ctid range of its source exactly once (no column probe, no work-table
creation scans it again) and before its write sends the first Postgres
statement: after a write the postgres extension reads through the one write
connection, serially.
"""

import re
from typing import Any
from typing import Iterator
from typing import List
from typing import Tuple

import psycopg
import pytest
from dbt.tests.util import run_dbt

from tests.conftest import PostgresServer
from tests.functional.helpers import leftovers
from tests.functional.helpers import rows

# 200,000 rows of ~100 bytes: about 2,600 heap pages, three ctid ranges of the
# postgres extension (1,000 pages each by default)
SETUP_SQL = """
create table __SRC__.facts (id integer primary key, grp integer, amount numeric(12, 2), note text);
insert into __SRC__.facts
select i, i % 7, round((i * 13.37) % 1000, 2), repeat(md5(i::text), 2)
from generate_series(1, 200000) i;
analyze __SRC__.facts;
"""

SOURCES_YML = """
version: 2
sources:
  - name: app
    database: app
    schema: "{{ target.schema }}_src"
    tables:
      - name: facts
"""

MART_SQL = """
{{ config(materialized='pg_full', database='warehouse') }}
select grp, count(*) as n, sum(amount) as total
from {{ source('app', 'facts') }}
group by grp
"""

CTID_RANGE = re.compile(r"ctid BETWEEN '\((\d+),0\)'::tid AND '\((\d+),0\)'::tid")


@pytest.fixture(scope="class")
def src_setup_sql() -> str:
    return SETUP_SQL


@pytest.fixture(scope="class")
def models() -> dict:
    return {"sources.yml": SOURCES_YML, "mart.sql": MART_SQL}


@pytest.fixture
def statement_log(pg_server: PostgresServer) -> Iterator[Any]:
    """Turn on PostgreSQL's statement log; yields a function returning the log text
    written since the fixture started. Needs the server's log file `log` in its data
    folder (the embedded server's), readable by pg_read_file."""
    with pg_server.connect() as conn:
        try:
            start = len(conn.execute("select pg_read_file('log')").fetchone()[0])
        except psycopg.Error as error:
            pytest.skip(f"the server's log file is not readable with pg_read_file('log'): {error}")
        conn.execute("alter system set log_statement = 'all'")
        conn.execute("select pg_reload_conf()")
        try:
            yield lambda: conn.execute("select pg_read_file('log')").fetchone()[0][start:]
        finally:
            conn.execute("alter system reset log_statement")
            conn.execute("select pg_reload_conf()")


def source_reads(log: str, src_schema: str, table: str) -> List[Tuple[int, int]]:
    """The ctid ranges (first page, end page) of every COPY ... TO STDOUT of the
    source table in `log`, in log order."""
    name = f'FROM "{src_schema}"."{table}"'
    reads = []
    for line in log.splitlines():
        if "statement: COPY" in line and name in line and "TO STDOUT" in line:
            match = CTID_RANGE.search(line)
            assert match, line
            reads.append((int(match.group(1)), int(match.group(2))))
    return reads


class TestSourceReadOncePerModel:
    def test_each_ctid_range_is_read_once_and_before_the_write(
        self,
        project: Any,
        src_schema: str,
        pg_schema: str,
        pg: psycopg.Connection,
        statement_log: Any,
    ) -> None:
        run_dbt(["run", "--select", "mart"])
        log = statement_log()

        got = rows(pg, f'select grp, n, total from "{pg_schema}".mart order by grp')
        source = f'"{src_schema}".facts'
        expected = rows(
            pg, f"select grp, count(*), sum(amount) from {source} group by grp order by grp"
        )
        assert got == expected and len(got) == 7

        reads = source_reads(log, src_schema, "facts")
        # one full read: contiguous ranges from page 0 to the end, none twice
        ranges = sorted(reads)
        assert ranges[0][0] == 0 and ranges[-1][1] == 4294967295, ranges
        assert all(a[1] == b[0] for a, b in zip(ranges[:-1], ranges[1:], strict=True)), ranges
        # parallel ranges, not one serial COPY of the whole table
        assert len(reads) > 1, reads

        # every read happens before the work table is created
        create_at = log.lower().find(f'create table "{pg_schema}"."mart__dbt_tmp"'.lower())
        last_read_at = log.rfind(f'FROM "{src_schema}"."facts"')
        assert 0 <= last_read_at < create_at

        assert leftovers(pg, pg_schema) == []
