"""Small dbt projects written into the work folder, run with the real ``dbt`` CLI.

Each project has one profile: the adapter (``type: duckdb_postgres``, the
Postgres server as connection ``pg``) or stock dbt-duckdb (``type: duckdb``,
the server ATTACHed as catalog ``pg``). Both ATTACH the data file read-only as
catalog ``data`` and use schema :data:`benchlib.data.SCHEMA`, so
``database='pg'`` models write ``pg.<schema>.<model>`` in either.

A run is one ``dbt`` subprocess, started by the small launcher
``benchlib/launch.py`` (see there why): its whole-command time is the wall time
of the process, its peak RSS is ``ru_maxrss`` from ``wait4``, and model times
are ``execution_time`` from ``target/run_results.json``.
"""

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Dict
from typing import List
from typing import Optional

import yaml

from benchlib.data import SCHEMA
from benchlib.server import Postgres

LAUNCHER = Path(__file__).resolve().parent / "launch.py"
ADAPTER = "duckdb_postgres"
STOCK = "duckdb"
POSTGRES = "postgres"  # dbt-postgres (the tpch suite's peer)


def dbt_executable() -> str:
    """The ``dbt`` next to this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise RuntimeError("the dbt CLI is not installed (pip install -e '.[embedded]')")
    return found


@dataclass
class ModelResult:
    """One node of ``run_results.json``."""

    status: str
    seconds: float
    message: str
    adapter_response: Dict[str, Any]


@dataclass
class DbtRun:
    """One ``dbt`` invocation.

    Attributes:
        ok: exit code 0 and every node succeeded.
        command_s: wall time of the whole process (start to exit), seconds.
        rss_mb: peak resident set size of the process, MiB.
        models: model name -> its result.
        error: the first error (run_results message, else the log's tail).
    """

    ok: bool
    command_s: float
    rss_mb: float
    models: Dict[str, ModelResult] = field(default_factory=dict)
    error: Optional[str] = None
    noted: bool = False  # its command time and RSS are on the progress line

    def model(self, name: str) -> ModelResult:
        """The result of model ``name``.

        Raises:
            RuntimeError: the run failed or did not run that model.
        """
        if not self.ok or name not in self.models:
            raise RuntimeError(self.error or f"dbt did not run model {name}")
        return self.models[name]


class DbtProject:
    """A dbt project folder ``<root>/<name>`` with its own profile.

    Args:
        root: the folder holding the projects (``<work>/dbt``).
        name: project name (an identifier; also the folder name).
        adapter: :data:`ADAPTER` or :data:`STOCK`.
        server: the Postgres server.
        data_path: the DuckDB data file, attached read-only as ``data``; None: none.
        models: model name -> SQL.
        sources: the ``sources:`` list of a schema.yml, if any.
        settings: DuckDB settings of the profile (e.g. ``memory_limit``).
        pg_host: libpq host for ``pg`` (a counting proxy's folder); default the server's.
        schema: the profile's schema (default :data:`benchlib.data.SCHEMA`).
        threads: the profile's ``threads``.
        models_config: the ``models: {<name>: ...}`` configs of dbt_project.yml.
        connection: extra keys of the adapter's ``pg`` connection (e.g. ``source_snapshot``).
    """

    def __init__(
        self,
        root: Path,
        name: str,
        adapter: str,
        server: Postgres,
        data_path: Optional[Path],
        models: Dict[str, str],
        sources: Optional[list] = None,
        settings: Optional[Dict[str, Any]] = None,
        pg_host: Optional[str] = None,
        schema: str = SCHEMA,
        threads: int = 1,
        models_config: Optional[Dict[str, Any]] = None,
        connection: Optional[Dict[str, Any]] = None,
    ):
        self.dir = root / name
        self.name = name
        self.adapter = adapter
        self.server = server
        self.data_path = data_path
        self.models = models
        self.sources = sources
        self.settings = settings or {}
        self.pg_host = pg_host
        self.schema = schema
        self.threads = threads
        self.models_config = models_config
        self.connection = connection or {}
        self._written = False

    def profile(self) -> Dict[str, Any]:
        """The profiles.yml content."""
        if self.adapter == POSTGRES:
            pg_output = self.server.dbt_postgres_output(self.schema, self.threads)
            return {"bench": {"target": "bench", "outputs": {"bench": pg_output}}}
        output: Dict[str, Any] = {
            "type": self.adapter,
            "path": str(self.dir / f"{self.name}.duckdb"),
            "schema": self.schema,
            "threads": self.threads,
        }
        attach: List[Dict[str, Any]] = []
        if self.data_path is not None:
            attach.append({"path": str(self.data_path), "alias": "data", "read_only": True})
        if self.adapter == ADAPTER:
            connection = {**self.server.profile_connection(self.pg_host), **self.connection}
            output["postgres"] = {"pg": connection}
        else:
            attach.append(
                {"path": self.server.libpq(self.pg_host), "type": "postgres", "alias": "pg"}
            )
        if attach:
            output["attach"] = attach
        if self.settings:
            output["settings"] = self.settings
        return {"bench": {"target": "bench", "outputs": {"bench": output}}}

    def write(self) -> None:
        """(Re)write the project files; keeps ``target/`` for partial parsing."""
        models_dir = self.dir / "models"
        if models_dir.exists():
            shutil.rmtree(models_dir)
        models_dir.mkdir(parents=True)
        project = {
            "name": self.name,
            "version": "1.0",
            "config-version": 2,
            "profile": "bench",
            "model-paths": ["models"],
        }
        if self.models_config:
            project["models"] = {self.name: self.models_config}
        (self.dir / "dbt_project.yml").write_text(yaml.safe_dump(project, sort_keys=False))
        (self.dir / "profiles.yml").write_text(yaml.safe_dump(self.profile(), sort_keys=False))
        for model, sql in self.models.items():
            (models_dir / f"{model}.sql").write_text(sql.strip() + "\n")
        if self.sources:
            schema = {"version": 2, "sources": self.sources}
            (models_dir / "sources.yml").write_text(yaml.safe_dump(schema, sort_keys=False))
        self._written = True

    def compiled_sql(self, model: str) -> str:
        """The compiled SELECT of ``model`` from the last run."""
        path = self.dir / "target" / "compiled" / self.name / "models" / f"{model}.sql"
        return path.read_text()

    def run(self, *args: str) -> DbtRun:
        """Run ``dbt <args>`` in this project and collect its results.

        Example: ``project.run("run", "-s", "my_model", "--full-refresh")``.
        """
        if not self._written:
            self.write()
        results_path = self.dir / "target" / "run_results.json"
        if results_path.exists():
            results_path.unlink()
        log_path = self.dir / "dbt_stdout.log"
        measured_path = self.dir / "dbt_process.json"
        cmd = [dbt_executable(), *args, "--project-dir", str(self.dir)]
        cmd += ["--profiles-dir", str(self.dir)]
        env = self.server.env()
        env["DBT_USE_COLORS"] = "False"
        with open(log_path, "wb") as out:
            launcher = [sys.executable, "-I", "-S", str(LAUNCHER), str(measured_path), *cmd]
            proc = subprocess.run(
                launcher, cwd=self.dir, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        if proc.returncode != 0 or not measured_path.exists():
            raise RuntimeError(f"could not run {cmd[0]} (see {log_path})")
        measured = json.loads(measured_path.read_text())
        returncode = int(measured["returncode"])
        run = DbtRun(
            ok=returncode == 0,
            command_s=float(measured["seconds"]),
            rss_mb=float(measured["maxrss_kib"]) / 1024,
        )
        if results_path.exists():
            for node in json.loads(results_path.read_text()).get("results", []):
                name = node["unique_id"].rsplit(".", 1)[-1]
                run.models[name] = ModelResult(
                    status=node.get("status", "?"),
                    seconds=float(node.get("execution_time") or 0.0),
                    message=str(node.get("message") or ""),
                    adapter_response=node.get("adapter_response") or {},
                )
                if node.get("status") not in ("success", "pass") and run.error is None:
                    run.error = f"{name}: {node.get('message')}"
        if run.error or returncode != 0:
            run.ok = False
            if run.error is None:
                run.error = f"dbt exited with {returncode}: " + _first_error(log_path)
            run.error += f" (log: {log_path})"
        return run


def _first_error(log_path: Path) -> str:
    """The first error dbt printed (the line after "Encountered an error:" or the
    first line naming an Error), else the log's last lines."""
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines()]
    for i, line in enumerate(lines):
        if line.endswith("Encountered an error:") and i + 1 < len(lines):
            return lines[i + 1]
    for line in lines:
        if "Error" in line and not line.startswith(("File ", "Traceback")):
            return line
    return " | ".join(lines[-5:])
