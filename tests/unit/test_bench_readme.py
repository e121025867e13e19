"""The README's performance tables are the ones bench/readme_tables.py generates
from the committed bench/results/*.json (nothing copied by hand)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tables_are_generated_from_the_committed_results():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "readme_tables.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
