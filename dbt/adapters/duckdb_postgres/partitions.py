"""Range partitions of partitioned targets (``partition_by``): names, bounds and plans.

A target with ``partition_by={'field': <column>, 'granularity': 'day'|'month'|'year'}``
is a native PostgreSQL range-partitioned table (``PARTITION BY RANGE (<column>)``,
no extension) with one partition per period of ``granularity`` (UTC), named
``<table>__p<YYYYMMDD>`` after the period's first day. While a new partition is
loaded it is a table of its own, ``<table>__dbt_p<YYYYMMDD>``, renamed to the
final name once it is attached (so leftovers of a failed run are recognisable
by ``__dbt_``, like every other work table).

The bounds of a partition are typed like its column (``date '...'``,
``timestamp '...'``, ``timestamptz '... +00'``). The same bounds make the CHECK
constraint of a table loaded for ATTACH (``<column> is not null and <column> >=
<lower> and <column> < <upper>``): PostgreSQL then skips the scan that would
validate the rows (PostgreSQL docs, ALTER TABLE ... ATTACH PARTITION: the scan
is skipped when an existing constraint implies the partition constraint, which
for a range key includes ``IS NOT NULL``).

:func:`plan_step` tells, for one write step of ``pg_incremental_by_time``, whether
the step is aligned to partitions (then each of its periods is replaced by
partition swap) and which partitions it touches.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import Dict
from typing import Iterable
from typing import List
from typing import Optional
from typing import Set

from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.windows import add_periods
from dbt.adapters.duckdb_postgres.windows import floor_time
from dbt.adapters.duckdb_postgres.windows import parse_time

GRANULARITIES = ("day", "month", "year")
# the suffix of a partition's name, then its period's first day as YYYYMMDD
PARTITION_SUFFIX = "__p"
# the suffix of a table loaded to become a partition (renamed once attached)
NEW_PARTITION_SUFFIX = "__dbt_p"
# the longest suffix a partitioned target's name gets (for name length checks)
LONGEST_SUFFIX = NEW_PARTITION_SUFFIX + "YYYYMMDD"
# the CHECK constraint of a table loaded for ATTACH (a constraint name is per table)
BOUND_CONSTRAINT = "dbt_partition_bound"


def partition_name(identifier: str, start: datetime) -> str:
    """``<identifier>__p<YYYYMMDD>``: the partition holding the period starting at ``start``."""
    return f"{identifier}{PARTITION_SUFFIX}{start:%Y%m%d}"


def new_partition_name(identifier: str, start: datetime) -> str:
    """``<identifier>__dbt_p<YYYYMMDD>``: the table loaded to become that partition."""
    return f"{identifier}{NEW_PARTITION_SUFFIX}{start:%Y%m%d}"


def parse_partition_name(identifier: str, name: str) -> Optional[datetime]:
    """The period start encoded in a partition name of ``identifier``, or None when
    ``name`` is not ``<identifier>__p<YYYYMMDD>`` (a partition the adapter did not name)."""
    prefix = identifier + PARTITION_SUFFIX
    if not name.startswith(prefix):
        return None
    digits = name[len(prefix) :]
    if not re.fullmatch(r"[0-9]{8}", digits):
        return None
    try:
        return parse_time(f"{digits[:4]}-{digits[4:6]}-{digits[6:]}")
    except ValueError:
        return None


def bound_literal(moment: datetime, duckdb_type: Optional[str]) -> str:
    """A partition bound typed like the partition column (its DuckDB type):
    ``date 'YYYY-MM-DD'``, ``timestamptz 'YYYY-MM-DD HH:MM:SS+00'`` or
    ``timestamp 'YYYY-MM-DD HH:MM:SS'``. Valid in DuckDB and PostgreSQL."""
    dtype = (duckdb_type or "").upper()
    if dtype.startswith("DATE"):
        return f"date '{moment:%Y-%m-%d}'"
    if "TIME ZONE" in dtype or "TIMESTAMPTZ" in dtype:
        return f"timestamptz '{moment:%Y-%m-%d %H:%M:%S}+00'"
    return f"timestamp '{moment:%Y-%m-%d %H:%M:%S}'"


@dataclass
class Partition:
    """One partition (period ``[start, end)``) of a partitioned target.

    Attributes:
        name: the partition's name (``<table>__p<YYYYMMDD>``).
        new_name: the name of a table loaded to replace it (``<table>__dbt_p<YYYYMMDD>``).
        start, end: the period, UTC.
        lower, upper: the bounds as SQL literals typed like the column.
        exists: whether the target has this partition now.
        rows: whether the model result has rows in this period.
    """

    name: str
    new_name: str
    start: datetime
    end: datetime
    lower: str
    upper: str
    exists: bool
    rows: bool

    def as_dict(self, column: str) -> Dict[str, Any]:
        """The partition for Jinja, with its SQL pieces for ``column``: ``bound``
        (``FOR VALUES FROM (...) TO (...)``), ``check`` (the CHECK that makes ATTACH
        skip its scan) and ``condition`` (the period as a WHERE condition)."""
        quoted = quote_identifier(column)
        condition = f"{quoted} >= {self.lower} and {quoted} < {self.upper}"
        return {
            "name": self.name,
            "new_name": self.new_name,
            "start": self.start.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "end": self.end.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "bound": f"for values from ({self.lower}) to ({self.upper})",
            "check": f"{quoted} is not null and {condition}",
            "condition": condition,
            "exists": self.exists,
            "rows": self.rows,
        }


def partitions_for(
    identifier: str,
    granularity: str,
    duckdb_type: Optional[str],
    starts: Iterable[datetime],
    existing: Set[datetime],
    with_rows: Set[datetime],
) -> List[Partition]:
    """The partitions of the periods starting at ``starts`` (each floored to
    ``granularity``), in time order, without duplicates."""
    periods = sorted({floor_time(s, granularity) for s in starts})
    result = []
    for start in periods:
        end = add_periods(start, granularity, 1)
        result.append(
            Partition(
                name=partition_name(identifier, start),
                new_name=new_partition_name(identifier, start),
                start=start,
                end=end,
                lower=bound_literal(start, duckdb_type),
                upper=bound_literal(end, duckdb_type),
                exists=start in existing,
                rows=start in with_rows,
            )
        )
    return result


def plan_step(
    identifier: str,
    granularity: str,
    duckdb_type: Optional[str],
    start: Optional[Any],
    end: Any,
    model_periods: Iterable[Any],
    existing_names: Iterable[str],
) -> Dict[str, Any]:
    """The partitions one write step ``[start, end)`` touches.

    Args:
        identifier: the target table's name.
        granularity: day | month | year.
        duckdb_type: the DuckDB type of the partition column.
        start, end: the step's bounds (ISO text or datetimes, UTC); start None: no lower bound.
        model_periods: starts of the periods (UTC) holding rows of the model result,
            e.g. ``date_trunc(granularity, <column>)`` of each group; may reach outside the step.
        existing_names: the names of the target's partitions now.

    Returns:
        {'aligned': whether start and end lie on period boundaries and every
          partition of the target is one the adapter named (then every period of
          the step is replaced by partition swap; otherwise the step is a DELETE +
          INSERT on the partitioned table, which also reaches rows in partitions
          created by hand),
         'partitions': the periods of the step that hold model rows or an existing
          partition (aligned), or that hold model rows (not aligned): a list of
          :class:`Partition` in time order}.
    """
    lower = parse_time(start)
    upper = parse_time(end)
    assert upper is not None
    existing: Set[datetime] = set()
    foreign = False
    for name in existing_names:
        moment = parse_partition_name(identifier, name)
        if moment is None:
            foreign = True
        else:
            existing.add(moment)
    with_rows = {floor_time(_utc(p), granularity) for p in model_periods}

    def inside(moment: datetime) -> bool:
        return (lower is None or moment >= floor_time(lower, granularity)) and moment < upper

    aligned = (
        not foreign
        and lower is not None
        and floor_time(lower, granularity) == lower
        and floor_time(upper, granularity) == upper
    )
    starts = {m for m in with_rows if inside(m)}
    if aligned:
        starts |= {m for m in existing if inside(m)}
    parts = partitions_for(identifier, granularity, duckdb_type, starts, existing, with_rows)
    return {"aligned": aligned, "partitions": parts}


def _utc(value: Any) -> datetime:
    moment = parse_time(value)
    if moment is None:
        raise ValueError(f"{value!r} is not a time")
    return moment
