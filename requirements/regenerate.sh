#!/usr/bin/env bash
# Regenerate requirements/constraints.txt: resolve dev-requirements.txt (which includes
# the adapter, its `embedded` extra and bench/requirements.txt) in a new virtual
# environment and freeze the result. Run from anywhere with Python 3.11 on PATH:
#   bash requirements/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r dev-requirements.txt
{
  echo "# Exact versions the project is tested with: every package that dev-requirements.txt"
  echo "# and bench/requirements.txt pull in (the adapter itself is installed editable)."
  echo "# Used as: pip install -c requirements/constraints.txt -r dev-requirements.txt"
  echo "# Regenerate: bash requirements/regenerate.sh"
  "$venv/bin/pip" freeze --exclude-editable
} > requirements/constraints.txt
echo "wrote requirements/constraints.txt ($(grep -vc '^#' requirements/constraints.txt) pins)"
