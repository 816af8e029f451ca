# Sourced by scripts/serve and scripts/test: make .venv with the pinned dependencies, once
# per change of pyproject.toml (or the example plugin's), using only the machine's python3 and pip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ANJU_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.anju-installed"
EXAMPLE_PLUGIN="$ROOT/plugins/examples/anju-example-plugin"  # installed too: its tests need it
WANT="$(cat "$ROOT/pyproject.toml" "$EXAMPLE_PLUGIN/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
  "$VENV/bin/python" -m pip install --quiet -e "$EXAMPLE_PLUGIN"
  echo "$WANT" > "$STAMP"
fi
cd "$ROOT"
