"""Update path by key: merge a change set into a Postgres table with a primary key.

Targets: ``up_t`` (the N rows of ``src``, primary key on id) and, for scaling,
``up_small`` (its first N/10 rows). Change sets (see :func:`benchlib.data.change_sets`):

- ``upsert_a``: 1% of the keys changed + 0.5% new keys, into ``up_t``;
- ``upsert_b``: 0.1% changed + 0.05% new, into ``up_t``;
- ``upsert_scale``: the same change (1% + 0.5% of N/10) into ``up_small`` and
  into ``up_t``: a method whose cost follows the change takes the same time
  for both; one whose cost follows the target takes ~10x.

Methods: reference limit, psql: COPY of the change file into a temp stage
table + ``INSERT ... ON CONFLICT (id) DO UPDATE``; this adapter:
``pg_upsert_by_key``, a ``pg_full`` rebuild (src minus changed keys plus
the changes, with a unique index on id), and dbt's own ``incremental`` with
``delete+insert`` and with ``merge`` (the adapter's write layer); peers: stock
dbt-duckdb ``incremental`` with ``delete+insert`` and with ``merge`` into the
attached target. The two ``incremental`` pairs are the same model SQL and
config, run under each profile. The change sets are DuckDB tables (the models'
input) and, for psql, binary COPY files of the same rows. After every method
the target is checked (row count, changed rows) and put back as it was
(untimed).
"""

from typing import Callable
from typing import Dict
from typing import List
from typing import Tuple

from benchlib.data import SCHEMA
from benchlib.data import ChangeSet
from benchlib.data import pg
from benchlib.data import row_sql
from benchlib.dbtrun import ADAPTER
from benchlib.dbtrun import STOCK
from benchlib.dbtrun import DbtProject
from benchlib.results import ADAPTER as K_ADAPTER
from benchlib.results import PEER
from benchlib.results import REFERENCE
from benchlib.results import Step
from benchlib.suites import Suite

REF = "COPY to stage + INSERT ... ON CONFLICT (psql)"
UPSERT = "pg_upsert_by_key (model)"
DELETE_INSERT = "dbt-duckdb incremental delete+insert (model)"
MERGE = "dbt-duckdb incremental merge (model)"
REBUILD = "pg_full rebuild (model)"
# dbt's own incremental under this adapter: the same model SQL and config as the peers
ADAPTER_DELETE_INSERT = "dbt-duckdb-postgres incremental delete+insert (model)"
ADAPTER_MERGE = "dbt-duckdb-postgres incremental merge (model)"

KINDS = {
    REF: REFERENCE,
    UPSERT: K_ADAPTER,
    DELETE_INSERT: PEER,
    MERGE: PEER,
    REBUILD: K_ADAPTER,
    ADAPTER_DELETE_INSERT: K_ADAPTER,
    ADAPTER_MERGE: K_ADAPTER,
}

MODEL_SQL = {
    UPSERT: "{{ config(materialized='pg_upsert_by_key', database='pg', unique_key='id') }}\n"
    "select * from data.main.%(chg)s",
    DELETE_INSERT: "{{ config(materialized='incremental', incremental_strategy='delete+insert',"
    " unique_key='id', database='pg') }}\nselect * from data.main.%(chg)s",
    MERGE: "{{ config(materialized='incremental', incremental_strategy='merge',"
    " unique_key='id', database='pg') }}\nselect * from data.main.%(chg)s",
    REBUILD: "{{ config(materialized='pg_full', database='pg',"
    " indexes=[{'columns': ['id'], 'unique': True}]) }}\n"
    "select s.* from {{ source('pg', 'src') }} s anti join data.main.%(chg)s c on s.id = c.id\n"
    "union all\nselect * from data.main.%(chg)s",
}
MODEL_SQL[ADAPTER_DELETE_INSERT] = MODEL_SQL[DELETE_INSERT]
MODEL_SQL[ADAPTER_MERGE] = MODEL_SQL[MERGE]
PROJECT_NAMES = {
    UPSERT: "upsert",
    DELETE_INSERT: "delete_insert",
    MERGE: "merge",
    REBUILD: "rebuild",
    ADAPTER_DELETE_INSERT: "adapter_delete_insert",
    ADAPTER_MERGE: "adapter_merge",
}

UPDATE_COLUMNS = ("ts", "qty", "amount", "category", "note", "flag")


class UpsertSuite(Suite):
    name = "upsert"

    def prepare(self) -> None:
        n, small = self.rows, self.rows // 10
        chg = {c.name: c for c in self.data.changes}
        a, b, s = chg["chg_a"], chg["chg_b"], chg["chg_s"]
        add = self.results.scenario
        add(
            "upsert_a",
            self.name,
            f"upsert {a.changed_rows:,} changed (1%) + {a.new_rows:,} new (0.5%) rows into {n:,}",
            a.rows,
            REF,
        )
        add(
            "upsert_b",
            self.name,
            f"upsert {b.changed_rows:,} changed (0.1%) + {b.new_rows:,} "
            f"new (0.05%) rows into {n:,}",
            b.rows,
            REF,
        )
        add(
            "upsert_scale",
            self.name,
            f"scaling: the same {s.rows:,} rows into {small:,} vs {n:,} rows",
            s.rows,
            f"{REF} -> {small:,}",
        )
        self.targets = {"up_t": n, "up_small": small}
        self.drop("up_t", "up_small")
        statements = []
        for target, rows in self.targets.items():
            statements += [
                f"create table {pg(target)} as select * from {pg('src')} where id <= {rows}",
                f"alter table {pg(target)} add primary key (id)",
                f"vacuum analyze {pg(target)}",
            ]
        self.server.run_sql(statements)
        self.files = {c.name: self.data.export(c.name) for c in (a, b, s)}
        self.server_side = self.data.server_can_read(self.files["chg_a"])
        sources = [{"name": "pg", "database": "pg", "schema": SCHEMA, "tables": [{"name": "src"}]}]
        self.projects: Dict[Tuple[str, str, str], DbtProject] = {}
        # (scenario, change set, target, methods); each stock incremental peer is
        # followed by the same model under this adapter
        both = [DELETE_INSERT, ADAPTER_DELETE_INSERT, MERGE, ADAPTER_MERGE]
        self.plan: List[Tuple[str, ChangeSet, str, List[str]]] = [
            ("upsert_a", a, "up_t", [REF, UPSERT, *both, REBUILD]),
            ("upsert_b", b, "up_t", [REF, UPSERT, *both, REBUILD]),
            ("upsert_scale", s, "up_small", [REF, UPSERT, *both]),
            ("upsert_scale", s, "up_t", [REF, UPSERT, *both]),
        ]
        if self.ctx.smoke:  # the other entries run the same code with other parameters
            self.plan = self.plan[:1]
        for _, change, target, methods in self.plan:
            for method in methods:
                if method == REF:
                    continue
                name = f"{PROJECT_NAMES[method]}_{change.name}_{target}"
                sql = MODEL_SQL[method] % {"chg": change.name}
                adapter = ADAPTER if KINDS[method] == K_ADAPTER else STOCK
                self.projects[(method, change.name, target)] = self.project(
                    name, adapter, {target: sql}, sources=sources
                )

    def method_name(self, scenario: str, method: str, target: str) -> str:
        """Scaling methods carry the target size in their name."""
        if scenario == "upsert_scale":
            return f"{method} -> {self.targets[target]:,}"
        return method

    def steps(self) -> List[Step]:
        steps = []
        for scenario, change, target, methods in self.plan:
            for method in methods:
                name = self.method_name(scenario, method, target)
                label = f"{scenario} {name}"
                run = self._step(scenario, change, target, method, name)
                steps.append(Step(label, run, [(scenario, name, KINDS[method])]))
        return steps

    def _step(
        self, scenario: str, change: ChangeSet, target: str, method: str, name: str
    ) -> Callable[[int], None]:
        def run(repeat: int) -> None:
            try:
                if method == REF:
                    seconds = self.server.psql(self._reference_sql(change, target))
                    self.results.record(scenario, name, REFERENCE, seconds)
                else:
                    dbt_run = self.projects[(method, change.name, target)].run("run")
                    self.record_model(dbt_run, target, scenario, name, KINDS[method])
                m = self.results.method(scenario, name, KINDS[method])
                m.info["target_rows"] = self.targets[target]
                self._check(change, target)
            finally:
                self._reset(change, target)

        return run

    def _reference_sql(self, change: ChangeSet, target: str) -> str:
        """psql script: COPY the change file into a temp stage, then ON CONFLICT."""
        path = self.files[change.name]
        copy = (
            f"copy stage from '{path}' (format binary);"
            if self.server_side
            else f"\\copy stage from '{path}' (format binary)"
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in UPDATE_COLUMNS)
        return (
            "begin;\n"
            f"create temp table stage (like {pg(target)}) on commit drop;\n"
            f"{copy}\n"
            f"insert into {pg(target)} as t select * from stage "
            f"on conflict (id) do update set {updates};\n"
            "commit;\n"
        )

    def _check(self, change: ChangeSet, target: str) -> None:
        """Every new key is in, and exactly the changed keys carry new values."""
        self.expect_rows(target, self.targets[target] + change.new_rows)
        self.expect_rows(target, change.changed_rows, "where note like 'changed %'")

    def _reset(self, change: ChangeSet, target: str) -> None:
        """Put ``target`` back to its first rows of ``src`` (untimed): delete the new
        keys, and rewrite the changed keys with their original values, recomputed
        from the data set's formula for just those keys (no scan of ``src``)."""
        rows = self.targets[target]
        original = row_sql("c.id", self.rows, "postgres")
        sets = ", ".join(f"{c} = s.{c}" for c in UPDATE_COLUMNS)
        self.server.run_sql(
            [
                f"delete from {pg(target)} where id > {rows}",
                f"update {pg(target)} t set {sets} from (select {original} "
                f"from {pg(change.name)} c where c.id <= {rows}) s where t.id = s.id",
                f"vacuum analyze {pg(target)}",
            ]
        )
