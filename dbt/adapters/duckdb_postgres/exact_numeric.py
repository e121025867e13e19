"""Exact reads of unconstrained ``numeric`` columns of a ``pg_query`` result.

DuckDB's postgres extension reads an unconstrained Postgres ``numeric`` as
DOUBLE (7069215.16 comes back as 7069215.1599999993), but a ``numeric(p,s)``
with ``p <= 38`` as an exact ``DECIMAL(p,s)`` (docs/architecture.md, "Types").
DuckDB's DECIMAL has one scale per column, while a Postgres ``numeric`` keeps
each value's own scale (``12345678901234567.90`` has scale 2, PostgreSQL docs,
"Arbitrary Precision Numbers"). So before the read the adapter asks Postgres,
in one aggregate query over exactly the SQL that will be read, for each such
column's largest ``scale()`` and largest ``abs()``, and reads the column as
``numeric(38, s)`` with ``s`` that largest scale: every value keeps its digits,
and a value with fewer decimals is padded with zeros (``1.5`` -> ``1.50``,
equal as numeric). When no ``numeric(38, s)`` holds every value (more than 38
digits in all, or NaN / Infinity, which the extension would read as 0), the
read is refused with one error naming the source, the column and the casts to
add in the pg_query SQL.

The rows can change between that query and the read (the source is live, and
the answer is kept for the invocation): each value is therefore checked as it
is cast, and one with more decimals than ``s``, or NaN / Infinity, fails the
read with a message naming the column instead of being rounded. Postgres
itself refuses a value with more than ``38 - s`` integer digits
(``numeric field overflow``).

Postgres SQL has no expression that raises an error with a message of one's
own; the check casts a text naming the problem to ``integer``, so the error
reads ``invalid input syntax for type integer: "<the problem>"``.
"""

from dataclasses import dataclass
from decimal import Decimal
from decimal import InvalidOperation
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

from dbt.adapters.duckdb_postgres.quoting import quote_identifier
from dbt.adapters.duckdb_postgres.quoting import quote_literal

# the widest DECIMAL DuckDB has (and so the widest numeric(p,s) the extension reads exactly)
MAX_PRECISION = 38
# the scale of a column with no value to measure (an empty result, --empty, only NULLs):
# any scale is exact then; 10 leaves 28 integer digits, and the per-value check
# still refuses a later value with more decimals
UNMEASURED_SCALE = 10


@dataclass(frozen=True)
class NumericStats:
    """What Postgres reports about one unconstrained numeric column of a result.

    Attributes:
        scale: the largest ``scale()`` of its finite values; None when it has none.
        max_abs: the largest ``abs()`` of its values as Postgres prints it
            (``NaN`` or ``Infinity`` when the column holds one); None when it has
            no non-NULL value.
    """

    scale: Optional[int]
    max_abs: Optional[str]

    @property
    def special(self) -> bool:
        """Whether the column holds NaN or Infinity (``abs()`` of either is the largest)."""
        if self.max_abs is None:
            return False
        try:
            return not Decimal(self.max_abs).is_finite()
        except InvalidOperation:
            return True

    @property
    def integer_digits(self) -> int:
        """Digits before the decimal point of the largest value (0 for values below 1)."""
        if self.max_abs is None or self.special:
            return 0
        value = Decimal(self.max_abs)
        return 0 if value < 1 else value.adjusted() + 1


def _stat_alias(kind: str, index: int) -> str:
    return quote_identifier(f"_dbt_{kind}{index}")


def stats_sql(sql: str, columns: Sequence[str]) -> str:
    """The Postgres query that measures ``columns`` of the result of ``sql``.

    One row: for column ``i``, ``_dbt_s<i>`` = ``max(scale(col))`` (integer) and
    ``_dbt_m<i>`` = ``max(abs(col))::text``. Postgres sorts NaN above every
    number and Infinity above every finite one (PostgreSQL docs, "Numeric
    Types"), so ``max(abs())`` also tells whether either is present; ``scale()``
    of both is NULL. Two aggregates per column, no text per row: measured on 1M
    rows, about a quarter of the time of reading the same rows into DuckDB.

    Args:
        sql: the SQL that will be read (with its event-time filter and limit).
        columns: the unconstrained numeric columns of its result.
    """
    measures = []
    for i, name in enumerate(columns):
        column = f"_dbt_q.{quote_identifier(name)}"
        measures.append(f"max(scale({column})) as {_stat_alias('s', i)}")
        measures.append(f"max(abs({column}))::text as {_stat_alias('m', i)}")
    return f"select {', '.join(measures)} from (\n{sql}\n) _dbt_q"


def parse_stats(row: Sequence[object], columns: Sequence[str]) -> Dict[str, NumericStats]:
    """The row of :func:`stats_sql` as column name -> :class:`NumericStats`."""
    found = {}
    for i, name in enumerate(columns):
        scale, max_abs = row[2 * i], row[2 * i + 1]
        found[name] = NumericStats(
            None if scale is None else int(str(scale)),
            None if max_abs is None else str(max_abs),
        )
    return found


def _fixes(stats: NumericStats) -> str:
    """The casts a user can add in the pg_query SQL, as one phrase."""
    fixes = []
    digits = stats.integer_digits
    if not stats.special and digits <= MAX_PRECISION:
        decimals = MAX_PRECISION - digits
        fixes.append(f"::numeric({MAX_PRECISION},{decimals}) (rounds to {decimals} decimals)")
    fixes.append("::float8 (approximate" + (", keeps NaN and Infinity)" if stats.special else ")"))
    fixes.append("::text (exact, as text)")
    return ", ".join(fixes[:-1]) + " or " + fixes[-1]


def choose_scale(name: str, stats: NumericStats) -> Tuple[int, str]:
    """The scale ``s`` of the ``numeric(38, s)`` that reads every value of the column
    exactly, or a problem.

    Returns:
        (scale, '') when one fits; (0, problem) otherwise, the problem naming the
        column, what does not fit and the casts to add.
    """
    if stats.special:
        return 0, (
            f"column {name!r} holds NaN or Infinity, which DuckDB's DECIMAL cannot hold "
            f"(it would read 0); add a cast to the column in the pg_query SQL: {_fixes(stats)}"
        )
    if stats.scale is None:
        return UNMEASURED_SCALE, ""
    digits = stats.integer_digits
    if digits + stats.scale > MAX_PRECISION:
        return 0, (
            f"column {name!r} needs {digits + stats.scale} digits ({digits} before the "
            f"decimal point, up to {stats.scale} after) to hold every value exactly, and "
            f"DuckDB's DECIMAL holds at most {MAX_PRECISION} (as DOUBLE it would be "
            f"rounded); add a cast to the column in the pg_query SQL: {_fixes(stats)}"
        )
    return stats.scale, ""


def choose_scales(
    label: str, stats: Dict[str, NumericStats], columns: Sequence[str]
) -> Tuple[Dict[str, int], str]:
    """:func:`choose_scale` for every column; the problems as one message.

    Args:
        label: names the read in the message (``pg_query source 'app.totals'``).
        stats: from :func:`parse_stats`; a column missing from it gets the
            unmeasured scale.
        columns: the unconstrained numeric columns, in result order.

    Returns:
        (column -> scale, '') or ({}, one message naming each column that cannot
        be read exactly, that nothing was read and how to fix it).
    """
    scales: Dict[str, int] = {}
    problems: List[str] = []
    for name in columns:
        scale, problem = choose_scale(name, stats.get(name, NumericStats(None, None)))
        if problem:
            problems.append(problem)
        scales[name] = scale
    if problems:
        return {}, (
            f"{label}: an unconstrained numeric result column cannot be read exactly:\n  - "
            + "\n  - ".join(problems)
            + "\nNothing was read or written."
        )
    return scales, ""


def exact_type(scale: int) -> str:
    """The Postgres type an unconstrained numeric column of scale ``scale`` is read as."""
    return f"numeric({MAX_PRECISION},{scale})"


def read_expression(label: str, name: str, scale: int) -> str:
    """The Postgres expression that reads column ``name`` (of the pushed-down
    subquery) as ``numeric(38, scale)``, failing on a value that would be rounded
    (more decimals than ``scale``) or misread (NaN, Infinity), aliased as the column.

    ``scale() <= s`` comes first so the common case decides on one comparison;
    the failing branch is only evaluated for a bad value (a constant one fails
    when Postgres plans the query, which is as early as possible).
    """
    column = quote_identifier(name)
    target = exact_type(scale)
    problem = (
        f"{label}: column {name!r} has a value that {target} would round, or NaN/Infinity "
        f"(which it cannot hold); {target} was chosen from the rows when the model was "
        f"compiled, and they changed since. Run again, or cast the column in the pg_query "
        f"SQL. Decimals of the value: "
    )
    fail = f"({quote_literal(problem)} || coalesce(scale({column})::text, 'none'))::integer"
    return (
        f"(case when scale({column}) <= {int(scale)} or {column} is null then {column} "
        f"else {fail} end)::{target} as {column}"
    )
