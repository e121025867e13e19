"""The configs of the Postgres write modes: typed options, validated in one place.

One dataclass per write mode (``full``, ``incremental_by_time``,
``upsert_by_key``), as dbt-postgres' ``PostgresConfig`` and dbt-snowflake's
configs describe theirs. :func:`validate_write_options` turns raw configs (a
model's config, or the keyword arguments of ``pg_materialize``) into one of
them: it collects every problem and raises once, naming the config key, the
bad value (and its type, when the type is what is wrong) and the fix, as
dbt-duckdb's ``merge_config_validation`` does.

The same registry of keys finds near misses: a key within edit distance 2 of
a known key (``batch_sise``, ``on_conflct``) is reported with the suggestion.
"""

import functools
import re
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import ClassVar
from typing import Dict
from typing import Iterable
from typing import List
from typing import Mapping
from typing import Optional
from typing import Sequence
from typing import Tuple
from typing import Type

from dbt_common.dataclass_schema import ValidationError
from dbt_common.dataclass_schema import dbtClassMixin
from dbt_common.exceptions import CompilationError
from dbt_common.utils import encoding as dbt_encoding

from dbt.adapters.duckdb_postgres.partitions import GRANULARITIES
from dbt.adapters.duckdb_postgres.windows import BATCH_SIZES
from dbt.adapters.duckdb_postgres.windows import parse_time

# the modes of pg_materialize and pg_targets (and of the three pg_* materializations)
MODES = ("full", "incremental_by_time", "upsert_by_key")
# modes only dbt's own `incremental` materialization uses (its strategies append,
# delete+insert and microbatch; merge is upsert_by_key)
BUILTIN_MODES = ("append", "delete_insert", "microbatch")
ON_SCHEMA_CHANGE = ("ignore", "fail", "append_new_columns", "sync_all_columns")
ON_CONFLICT = ("update", "skip", "fail")
# table privileges of PostgreSQL's GRANT (PostgreSQL docs, GRANT)
PRIVILEGES = (
    "select",
    "insert",
    "update",
    "delete",
    "truncate",
    "references",
    "trigger",
    "all",
    "all privileges",
)
# an index method is a plain name: built-in (btree, hash, gist, spgist, gin, brin)
# or an extension's (hnsw, ivfflat, bloom); it is pasted after USING, so no quoting
_INDEX_METHOD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# a config key this close to a known one (and not itself known) is taken for a typo
NEAR_MISS_DISTANCE = 2
# configs of the adapter that no write mode takes: pg_targets (multi-target shorthand)
MODEL_KEYS = ("pg_targets",)
# the keys of a partition_by mapping
PARTITION_BY_KEYS = ("field", "granularity")


@dataclass
class PostgresIndexConfig(dbtClassMixin):
    """One entry of the ``indexes`` config, in dbt-postgres' format."""

    columns: List[str]
    unique: bool = False
    type: Optional[str] = None

    def render_name(self, relation: Any) -> str:
        """A unique index name: md5 of columns, relation, uniqueness and time, as
        dbt-postgres does (so a rebuilt table never collides with an old index)."""
        now = datetime.now(UTC).isoformat()
        inputs = self.columns + [relation.render(), str(self.unique), str(self.type), now]
        return dbt_encoding.md5("_".join(inputs))


def parse_index(raw_index: Any) -> PostgresIndexConfig:
    """Validate one ``indexes`` entry (dbt-postgres format).

    Raises:
        CompilationError: naming the entry and the fix.
    """
    try:
        PostgresIndexConfig.validate(raw_index)
        index = PostgresIndexConfig.from_dict(raw_index)
    except (ValidationError, TypeError) as e:
        # jsonschema's message names the bad property; str(e) appends the whole schema
        reason = getattr(e, "message", None) or str(e).splitlines()[0]
        raise CompilationError(
            f"indexes: invalid entry {raw_index!r} ({reason}); expected "
            "{'columns': ['col', ...], 'unique': false, 'type': 'btree'}"
        ) from None
    if index.type is not None and not _INDEX_METHOD.match(index.type):
        raise CompilationError(
            f"indexes: type={index.type!r} is not an index method name; use e.g. "
            "btree, hash, gist, spgist, gin, brin (or an extension's, such as hnsw)"
        )
    return index


# --- the options of each write mode --------------------------------------------------


# the config keys every write mode takes
_SHARED_KEYS = ("indexes", "grants", "unlogged", "on_schema_change", "column_types")


@dataclass
class FullOptions:
    """Options of ``full`` (pg_full), shared by every mode.

    Attributes:
        label: what is configured, for messages ("pg_full model warehouse.s.t").
        indexes: CREATE INDEX after the load (dbt-postgres format).
        grants: privilege -> grantee or list of grantees (dbt's ``grants``).
        unlogged: create the table UNLOGGED.
        on_schema_change: ignore | fail | append_new_columns | sync_all_columns.
        column_types: column name -> Postgres type of the created table, winning
            over the adapter's type map (ddl.py).
        partition_by: ``{'field': column, 'granularity': 'day'|'month'|'year',
            'type': the column's DuckDB type or None}`` for a range-partitioned
            target (partitions.py), or None. Only ``full`` and
            ``incremental_by_time`` take it.
    """

    mode: ClassVar[str] = "full"
    # the config keys of the mode, in the order messages list them
    keys: ClassVar[Tuple[str, ...]] = _SHARED_KEYS + ("partition_by",)

    label: str
    indexes: List[PostgresIndexConfig] = field(default_factory=list)
    grants: Dict[str, Any] = field(default_factory=dict)
    unlogged: bool = False
    on_schema_change: str = "ignore"
    column_types: Dict[str, str] = field(default_factory=dict)
    partition_by: Optional[Dict[str, Any]] = None

    def as_dict(self) -> Dict[str, Any]:
        """The options as the write macros read them: every key of every mode (the
        other modes' at their defaults), ``mode`` and ``label``; a new dict each call,
        which the macros may update."""
        values: Dict[str, Any] = {
            "event_time": None,
            "event_time_type": None,
            "batch_size": None,
            "lookback": 0,
            "begin": None,
            "unique_key": [],
            "on_conflict": "update",
            "update_columns": None,
            "exclude_columns": [],
            "incremental_predicates": [],
            "batch_start": None,
            "batch_end": None,
        }
        values.update({f.name: getattr(self, f.name) for f in fields(self)})
        values["indexes"] = list(self.indexes)
        values["partition_by"] = dict(self.partition_by) if self.partition_by else None
        values["mode"] = self.mode
        return values


@dataclass
class IncrementalByTimeOptions(FullOptions):
    """Options of ``incremental_by_time`` (pg_incremental_by_time).

    Attributes:
        event_time: the date / timestamp / timestamptz column (``time_column`` is an alias).
        event_time_type: its DuckDB type, or None when the columns are not known.
        batch_size: hour | day | month | year.
        lookback: batches re-done before the last loaded one (>= 0).
        begin: earliest time of a first build or full refresh (ISO text), or None.
    """

    mode: ClassVar[str] = "incremental_by_time"
    keys: ClassVar[Tuple[str, ...]] = FullOptions.keys + (
        "event_time",
        "time_column",
        "batch_size",
        "lookback",
        "begin",
    )

    event_time: Optional[str] = None
    event_time_type: Optional[str] = None
    batch_size: str = "day"
    lookback: int = 0
    begin: Any = None


@dataclass
class UpsertByKeyOptions(FullOptions):
    """Options of ``upsert_by_key`` (pg_upsert_by_key).

    Attributes:
        unique_key: the key columns (a string config becomes a one-item list).
        on_conflict: update | skip | fail.
        update_columns: ``merge_update_columns``, or None for every non-key column.
        exclude_columns: ``merge_exclude_columns``.
        incremental_predicates: SQL conditions (dbt's ``incremental_predicates``,
            alias ``predicates``) limiting which target rows are matched, as in
            dbt's merge: the target is ``DBT_INTERNAL_DEST``, the model result
            ``DBT_INTERNAL_SOURCE``; run inside Postgres.
    """

    mode: ClassVar[str] = "upsert_by_key"
    keys: ClassVar[Tuple[str, ...]] = _SHARED_KEYS + (
        "unique_key",
        "on_conflict",
        "merge_update_columns",
        "merge_exclude_columns",
        "incremental_predicates",
        "predicates",
    )

    unique_key: List[str] = field(default_factory=list)
    on_conflict: str = "update"
    update_columns: Optional[List[str]] = None
    exclude_columns: List[str] = field(default_factory=list)
    incremental_predicates: List[str] = field(default_factory=list)


@dataclass
class AppendOptions(FullOptions):
    """Options of ``append`` (dbt's incremental strategy append, and delete+insert
    or merge without a unique_key): the shared ones."""

    mode: ClassVar[str] = "append"
    keys: ClassVar[Tuple[str, ...]] = _SHARED_KEYS


@dataclass
class DeleteInsertOptions(FullOptions):
    """Options of ``delete_insert`` (dbt's incremental strategy delete+insert).

    Attributes:
        unique_key: the key columns; target rows whose key is in the model result
            are deleted, then every row of the model result is inserted. As in
            dbt, duplicate or NULL keys in the model result are not refused.
        incremental_predicates: SQL conditions ANDed to the DELETE (dbt's
            ``incremental_predicates``, alias ``predicates``), run inside Postgres;
            the target is ``DBT_INTERNAL_DEST``.
    """

    mode: ClassVar[str] = "delete_insert"
    keys: ClassVar[Tuple[str, ...]] = _SHARED_KEYS + (
        "unique_key",
        "incremental_predicates",
        "predicates",
    )

    unique_key: List[str] = field(default_factory=list)
    incremental_predicates: List[str] = field(default_factory=list)


@dataclass
class MicrobatchOptions(FullOptions):
    """Options of ``microbatch`` (dbt's incremental strategy microbatch: dbt-core
    computes the batches and runs the materialization once per batch).

    Attributes:
        event_time: the model's event_time column (dbt's config).
        event_time_type: its DuckDB type, or None when the columns are not known.
        batch_size: hour | day | month | year (dbt's config).
        incremental_predicates: SQL conditions ANDed to the batch's DELETE.
        batch_start, batch_end: the batch, 'YYYY-MM-DD HH:MM:SS[.ffffff]' UTC
            (dbt's ``model.batch``), set by the materialization.
    """

    mode: ClassVar[str] = "microbatch"
    keys: ClassVar[Tuple[str, ...]] = _SHARED_KEYS + (
        "event_time",
        "batch_size",
        "incremental_predicates",
        "predicates",
    )

    event_time: Optional[str] = None
    event_time_type: Optional[str] = None
    batch_size: str = "day"
    incremental_predicates: List[str] = field(default_factory=list)
    batch_start: Optional[str] = None
    batch_end: Optional[str] = None


OPTIONS: Dict[str, Type[FullOptions]] = {
    cls.mode: cls
    for cls in (
        FullOptions,
        IncrementalByTimeOptions,
        UpsertByKeyOptions,
        AppendOptions,
        DeleteInsertOptions,
        MicrobatchOptions,
    )
}


def known_keys() -> List[str]:
    """Every config key of the adapter: those of every write mode, and ``pg_targets``."""
    keys: List[str] = []
    for cls in OPTIONS.values():
        keys += [k for k in cls.keys if k not in keys]
    return keys + list(MODEL_KEYS)


def dbt_config_keys() -> frozenset:
    """Config names dbt itself knows for models (dbt-core's ModelConfig fields and
    their aliases such as ``post-hook``), plus those read by dbt-adapters' and
    dbt-duckdb's macros: never taken for typos of ours."""
    names = {
        "sql_header",
        "incremental_predicates",
        "location",
        "format",
        "delimiter",
        "options",
        "partition_by",
        "plugin",
        "external_location",
    }
    try:
        from dbt.artifacts.resources import ModelConfig

        for f in fields(ModelConfig):
            names.add(f.name)
            if f.metadata.get("alias"):
                names.add(str(f.metadata["alias"]))
    except ImportError:  # dbt-core is not installed: only the adapter's own names
        pass
    return frozenset(names)


# --- typos -----------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    transpositions of two adjacent characters each cost 1."""
    previous2: List[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def suggest(key: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate closest to ``key`` within :data:`NEAR_MISS_DISTANCE` (ties: the
    first given), or None."""
    best: Optional[Tuple[int, str]] = None
    for candidate in candidates:
        distance = edit_distance(key.lower(), candidate.lower())
        if distance <= NEAR_MISS_DISTANCE and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


@functools.lru_cache(maxsize=256)
def _near_miss(key: str) -> Optional[str]:
    """:func:`suggest` among the adapter's config keys, remembered per key: every
    model of a run offers dbt's keys that are not ours (checked on each write)."""
    return suggest(key, known_keys())


# --- raw model configs -----------------------------------------------------------------


def model_raw_configs(config: Mapping[str, Any], unrendered: Mapping[str, Any]) -> "ModelConfigs":
    """The write configs of a model, from its node (the ``model`` context dict).

    Args:
        config: the model's config (``model.config``: rendered, with dbt's defaults).
        unrendered: ``model.unrendered_config``: the keys the project and model set.

    Returns:
        A :class:`ModelConfigs`: the adapter's keys with a value, and every key the
        user set (for typo checks). dbt-core's NodeConfig defaults ``lookback`` to 1
        (for microbatch): only a lookback the project or model sets is taken (ours
        defaults to 0).
    """
    ours = set(known_keys())
    values = {
        key: value
        for key, value in config.items()
        if key in ours and value is not None and (key != "lookback" or key in unrendered)
    }
    user_keys = list(unrendered) + [k for k in config if k not in unrendered]
    return ModelConfigs(values, user_keys)


class ModelConfigs(Dict[str, Any]):
    """A model's write configs (a dict of key -> value), and ``user_keys``: every
    config key set on the model (dbt's own ones included).

    Validated as a model's: keys the mode does not take are ignored (they may be
    dbt's, or the user's own), except near misses of the adapter's keys."""

    def __init__(self, values: Mapping[str, Any], user_keys: Sequence[str]) -> None:
        super().__init__(values)
        self.user_keys = list(user_keys)


# --- validation ------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """A config value's type, as a user writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _show(value: Any) -> str:
    """``value`` as messages print it after ``key=``: a string as written, anything
    else with its type (``on_conflict=1 (a number)``)."""
    if isinstance(value, str):
        return value
    return f"{value!r} ({_kind(value)})"


def _string_list(value: Any) -> Optional[List[str]]:
    """A string as a one-item list, a list of strings as itself, else None."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


class _Validator:
    """Collects the problems of one set of configs (see validate_write_options)."""

    def __init__(self, raw: Mapping[str, Any], columns: Optional[Sequence[Sequence[str]]]):
        self.raw = raw
        self.problems: List[str] = []
        self.columns = None if columns is None else [str(c[0]) for c in columns]
        self.types = {str(c[0]): str(c[1]) for c in (columns or [])}

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def choice(self, key: str, allowed: Sequence[str], default: str, fix: str) -> str:
        value = self.raw.get(key)
        if value is None or value == "":
            return default
        if value not in allowed:
            self.add(f"{key}={_show(value)}: {fix}")
            return default
        return str(value)

    def column_problems(self, key: str, names: List[str]) -> None:
        """Names that are not columns of the model (only when the columns are known)."""
        if self.columns is None:
            return
        for name in names:
            if name not in self.columns:
                self.add(
                    f"{key}: {name} is not a column of the model; columns are: "
                    + ", ".join(self.columns)
                )

    def keys(self, mode: str, user_keys: Optional[Sequence[str]]) -> None:
        """Unknown keys: for explicit target configs every key must be one of the
        mode's; for a model's configs only near misses of the adapter's keys count."""
        cls = OPTIONS[mode]
        if user_keys is None:
            for key in self.raw:
                if key in cls.keys:
                    continue
                owners = [m for m in MODES if key in OPTIONS[m].keys]
                if owners:
                    self.add(
                        f"{key} is a config of mode {' and '.join(owners)}, not of mode "
                        f"{mode}: remove it or change the mode"
                    )
                    continue
                guess = suggest(key, cls.keys)
                hint = f"did you mean {guess}? " if guess else ""
                self.add(
                    f"unknown config {key}: {hint}valid configs of mode {mode} are "
                    + ", ".join(cls.keys)
                )
            return
        ours = known_keys()
        theirs = dbt_config_keys()
        for key in user_keys:
            if key in ours or key in theirs:
                continue
            guess = _near_miss(key)
            if guess:
                self.add(f"{key} is not a config: did you mean {guess}?")

    def shared(self) -> Dict[str, Any]:
        raw = self.raw
        indexes: List[PostgresIndexConfig] = []
        raw_indexes = raw.get("indexes") or []
        if not isinstance(raw_indexes, list | tuple):
            self.add(
                f"indexes={_show(raw_indexes)}: expected a list of "
                "{'columns': [...], 'unique': bool, 'type': 'btree'}"
            )
        else:
            for raw_index in raw_indexes:
                try:
                    indexes.append(parse_index(raw_index))
                except CompilationError as e:
                    self.add(str(e.msg))
            for index in indexes:
                self.column_problems("indexes", index.columns)

        grants = raw.get("grants") or {}
        if not isinstance(grants, Mapping):
            self.add(
                f"grants={_show(grants)}: expected a mapping of privilege -> grantee or "
                "list of grantees, e.g. {'select': ['reporter']}"
            )
            grants = {}
        for privilege, grantees in grants.items():
            if str(privilege).lower() not in PRIVILEGES:
                self.add(
                    f"grants: privilege {privilege} is not a table privilege; use one of "
                    + ", ".join(PRIVILEGES)
                )
            if _string_list(grantees) is None:
                self.add(
                    f"grants: {privilege}={_show(grantees)}: expected a grantee (a role "
                    "name) or a list of role names"
                )

        unlogged = raw.get("unlogged", False)
        if unlogged is None:
            unlogged = False
        if not isinstance(unlogged, bool):
            self.add(f"unlogged={_show(unlogged)}: expected true or false (unquoted)")
            unlogged = False

        on_schema_change = self.choice(
            "on_schema_change",
            ON_SCHEMA_CHANGE,
            "ignore",
            "use ignore, fail, append_new_columns or sync_all_columns",
        )
        return {
            "indexes": indexes,
            "grants": dict(grants),
            "unlogged": unlogged,
            "on_schema_change": on_schema_change,
            "column_types": self.column_types_option(),
        }

    def column_types_option(self) -> Dict[str, str]:
        """``column_types``: a mapping of model column -> Postgres type (a non-empty string)."""
        raw = self.raw.get("column_types") or {}
        example = "{'amount': 'numeric(12,2)'}"
        if not isinstance(raw, Mapping):
            self.add(
                f"column_types={_show(raw)}: expected a mapping of column name -> "
                f"Postgres type, e.g. {example}"
            )
            return {}
        column_types: Dict[str, str] = {}
        for name, pg_type in raw.items():
            if not isinstance(pg_type, str) or not pg_type.strip() or ";" in pg_type:
                self.add(
                    f"column_types: {name}={_show(pg_type)}: expected a Postgres type "
                    f"name, e.g. {example}"
                )
                continue
            column_types[str(name)] = pg_type.strip()
        if self.columns is not None:
            # matched case-insensitively, as ddl.plan_columns applies them
            known = {c.lower() for c in self.columns}
            unknown = [n for n in column_types if n.lower() not in known]
            self.column_problems("column_types", unknown)
        return column_types

    def partition_by(
        self,
        indexes: Sequence[PostgresIndexConfig],
        event_time: Optional[str] = None,
    ) -> Optional[Dict[str, Any]]:
        """``partition_by``: ``{'field': <column>, 'granularity': 'day'|'month'|'year'}``
        (granularity defaults to day). The field is a date or timestamp column of
        the model; with ``event_time`` (incremental_by_time) it must be that column.
        Unique ``indexes`` must contain the field: PostgreSQL requires a unique index
        of a partitioned table to include the partition key (PostgreSQL docs, 5.11.2.3
        "Limitations"). Any ``batch_size`` is allowed: batches that are not whole
        partitions (e.g. hour batches of day partitions) are written by DELETE +
        INSERT instead of partition swap (partitions.plan_step)."""
        raw = self.raw.get("partition_by")
        if raw is None or raw == {}:
            return None
        example = "{'field': 'event_at', 'granularity': 'day'}"
        if not isinstance(raw, Mapping):
            self.add(
                f"partition_by={_show(raw)}: expected a mapping of field and granularity, "
                f"e.g. partition_by={example}"
            )
            return None
        for key in raw:
            if key not in PARTITION_BY_KEYS:
                self.add(
                    f"partition_by: unknown key {key}; partition_by takes field and "
                    f"granularity, e.g. {example}"
                )
        column = raw.get("field")
        if not isinstance(column, str) or not column.strip():
            fix = f"the event_time column {event_time}" if event_time else "a date or timestamp"
            self.add(
                f"partition_by: field={_show(column)}: expected a column name "
                f"({fix} column), e.g. {example}"
            )
            column = None
        granularity = raw.get("granularity") or "day"
        if granularity not in GRANULARITIES:
            self.add(
                f"partition_by: granularity={_show(granularity)}: use day, month or year "
                "(one partition per period)"
            )
            granularity = "day"
        dtype = None
        if column is not None and event_time is not None and column != event_time:
            self.add(
                f"partition_by: field={column} must be the event_time column ({event_time}): "
                "batches are replaced by swapping partitions of the event_time; "
                f"set partition_by={{'field': '{event_time}', 'granularity': '{granularity}'}}"
            )
        elif column is not None and self.columns is not None:
            if column not in self.columns:
                self.add(
                    f"partition_by: field={column} is not a column of the model; columns are: "
                    + ", ".join(self.columns)
                )
            else:
                dtype = self.types[column]
                if not dtype.upper().startswith(("DATE", "TIMESTAMP")):
                    self.add(
                        f"partition_by: field={column} has type {dtype}; it must be a date, "
                        "timestamp or timestamptz column"
                    )
        if column is not None:
            for index in indexes:
                if index.unique and column not in index.columns:
                    self.add(
                        f"indexes: the unique index on ({', '.join(index.columns)}) does not "
                        f"include the partition_by field {column}; PostgreSQL requires every "
                        "unique index of a partitioned table to include the partition key: "
                        f"add {column} to its columns or make it non-unique"
                    )
        if column is None:
            return None
        return {"field": column, "granularity": granularity, "type": dtype}

    def incremental_by_time(self) -> Dict[str, Any]:
        raw = self.raw
        event_time = raw.get("event_time") or raw.get("time_column")
        key = "event_time" if raw.get("event_time") else "time_column"
        event_time_type = None
        if not event_time:
            self.add(
                "event_time is required: set event_time='<date, timestamp or timestamptz "
                "column>' (time_column is accepted too)"
            )
            event_time = None
        elif not isinstance(event_time, str):
            self.add(f"{key}={_show(event_time)}: expected a column name")
            event_time = None
        elif self.columns is not None and event_time not in self.columns:
            self.add(
                f"{key}={event_time} is not a column of the model; columns are: "
                + ", ".join(self.columns)
            )
        elif self.columns is not None:
            event_time_type = self.types[event_time]
            if not event_time_type.upper().startswith(("DATE", "TIMESTAMP")):
                self.add(
                    f"{key}={event_time} has type {event_time_type}; it must be a date, "
                    "timestamp or timestamptz column"
                )

        batch_size = self.choice("batch_size", BATCH_SIZES, "day", "use hour, day, month or year")

        lookback = raw.get("lookback", 0)
        if lookback is None:
            lookback = 0
        fix = "expected a whole number of batches >= 0"
        if isinstance(lookback, str):
            hint = f"; write lookback={lookback.strip()} unquoted" if lookback.isdigit() else ""
            self.add(f"lookback={lookback!r} is a string: {fix}{hint}")
            lookback = 0
        elif isinstance(lookback, bool) or not isinstance(lookback, int | float):
            self.add(f"lookback={_show(lookback)}: {fix}")
            lookback = 0
        elif lookback < 0 or lookback != int(lookback):
            self.add(f"lookback={lookback}: {fix}")
            lookback = 0

        begin = raw.get("begin")
        try:
            parse_time(begin)
        except (TypeError, ValueError):
            self.add(
                f"begin={begin!r} is not an ISO date or date-time; "
                "write e.g. '2024-01-01' or '2024-01-01T06:00:00'"
            )
        return {
            "event_time": event_time,
            "event_time_type": event_time_type,
            "batch_size": batch_size,
            "lookback": int(lookback),
            "begin": begin,
        }

    def upsert_by_key(self) -> Dict[str, Any]:
        raw = self.raw
        unique_key = raw.get("unique_key")
        keys = _string_list(unique_key) if unique_key else []
        if keys:
            # blank names are no key; a column named twice is one key column (as in dbt)
            keys = list(dict.fromkeys(k for k in keys if k.strip()))
        if keys is None:
            self.add(f"unique_key={_show(unique_key)}: expected a column name or a list of them")
        elif not keys:
            self.add("unique_key is required: set unique_key='<column>' or a list of columns")
        self.column_problems("unique_key", keys or [])

        on_conflict = self.choice(
            "on_conflict", ON_CONFLICT, "update", "use update (default), skip or fail"
        )

        lists: Dict[str, Optional[List[str]]] = {}
        for key in ("merge_update_columns", "merge_exclude_columns"):
            value = raw.get(key)
            lists[key] = _string_list(value) if value else None
            if value and lists[key] is None:
                self.add(f"{key}={_show(value)}: expected a list of column names")
        update_columns = lists["merge_update_columns"]
        exclude_columns = lists["merge_exclude_columns"] or []
        if update_columns and exclude_columns:
            self.add(
                "merge_update_columns and merge_exclude_columns are mutually exclusive: "
                "set only one"
            )
        self.column_problems(
            "merge_update_columns/merge_exclude_columns", (update_columns or []) + exclude_columns
        )
        return {
            "unique_key": keys or [],
            "on_conflict": on_conflict,
            "update_columns": update_columns,
            "exclude_columns": exclude_columns,
        }


def _predicates(validator: "_Validator") -> List[str]:
    """``incremental_predicates`` (or its alias ``predicates``, as dbt reads them):
    a string or a list of SQL condition strings."""
    key = "incremental_predicates" if validator.raw.get("incremental_predicates") else "predicates"
    value = validator.raw.get(key)
    if not value:
        return []
    predicates = _string_list(value)
    if predicates is None or not all(p.strip() for p in predicates):
        validator.add(
            f"{key}={_show(value)}: expected a list of SQL conditions, e.g. "
            '["DBT_INTERNAL_DEST.updated_at > current_date - 7"]'
        )
        return []
    return predicates


def validate_write_options(
    mode: str,
    raw: Mapping[str, Any],
    label: str,
    columns: Optional[Sequence[Sequence[str]]] = None,
    problems: Optional[Sequence[str]] = None,
) -> FullOptions:
    """Validate the configs of one write.

    Args:
        mode: 'full' | 'incremental_by_time' | 'upsert_by_key'; for a model's own
            configs also 'append' | 'delete_insert' | 'microbatch' (dbt's incremental
            strategies, :data:`BUILTIN_MODES`).
        raw: the configs as given. A :class:`ModelConfigs` (a model's own config):
            keys the mode does not take are ignored, near misses of the adapter's
            keys are errors. Any other mapping (pg_materialize's keyword arguments,
            a pg_targets entry): every key must be a config of ``mode``.
        label: what is configured, for messages (e.g. "pg_full model warehouse.s.t").
        columns: the model's columns as [[name, dtype], ...], or None to skip the
            checks that need them (compile-time window macros).
        problems: problems the caller found (e.g. the target's database), reported
            in the same error.

    Returns:
        The mode's options (:class:`FullOptions`, :class:`IncrementalByTimeOptions`
        or :class:`UpsertByKeyOptions`).

    Raises:
        CompilationError: one error listing every problem, each naming the key,
            the bad value and the fix.
    """
    found = list(problems or [])
    model_configs = isinstance(raw, ModelConfigs)
    if mode not in (OPTIONS if model_configs else MODES):
        found.append(f"mode={_show(mode)} is not a write mode; use one of " + ", ".join(MODES))
        raise CompilationError(_message(label, found))
    validator = _Validator(raw, columns)
    validator.keys(mode, raw.user_keys if isinstance(raw, ModelConfigs) else None)
    values = validator.shared()
    if mode == "full":
        values["partition_by"] = validator.partition_by(values["indexes"])
    if mode == "incremental_by_time":
        values.update(validator.incremental_by_time())
        values["partition_by"] = validator.partition_by(values["indexes"], values["event_time"])
        if values["partition_by"] and values["event_time_type"]:
            values["partition_by"]["type"] = values["event_time_type"]
    elif mode == "upsert_by_key":
        values.update(validator.upsert_by_key())
        values["incremental_predicates"] = _predicates(validator)
    elif mode == "delete_insert":
        upsert = validator.upsert_by_key()
        values["unique_key"] = upsert["unique_key"]
        values["incremental_predicates"] = _predicates(validator)
    elif mode == "microbatch":
        by_time = validator.incremental_by_time()
        values.update({k: by_time[k] for k in ("event_time", "event_time_type", "batch_size")})
        values["incremental_predicates"] = _predicates(validator)
    if model_configs and mode not in ("full", "incremental_by_time") and raw.get("partition_by"):
        validator.add(
            f"partition_by={_show(raw['partition_by'])}: a partitioned target is written by "
            "pg_full, pg_incremental_by_time and dbt's table only, not by mode "
            f"{mode}; remove partition_by or use one of those"
        )
    found += validator.problems
    if found:
        raise CompilationError(_message(label, found))
    return OPTIONS[mode](label=label, **values)


def _message(label: str, problems: Sequence[str]) -> str:
    return f"Invalid config for {label}:\n  - " + "\n  - ".join(problems)
