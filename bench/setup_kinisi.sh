#!/usr/bin/env bash
# Install kinisi 2.1.0 + MDAnalysis into .venv for bench/diffusion_speed.py, pinned
# (bench/requirements-kinisi.txt), without changing any package already installed: pip runs under a
# constraints file generated from the current `pip freeze`. Idempotent: re-running is a no-op once
# everything is there. Binary wheels only (no compiler runs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
REQ="$ROOT/bench/requirements-kinisi.txt"
[ -x "$PY" ] || { echo "no venv at $ROOT/.venv" >&2; exit 1; }

if "$PY" - "$REQ" <<'PY'
import sys, re
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split('#', 1)[0].strip()
    if not line:
        continue
    name, want = re.split(r'==', line)
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        ok = False
sys.exit(0 if ok else 1)
PY
then
    echo "kinisi requirements already installed"
    exit 0
fi

CONSTRAINTS="$(mktemp /tmp/kinisi-constraints.XXXXXX.txt)"
trap 'rm -f "$CONSTRAINTS"' EXIT
# Pin everything installed now (editable / local-path installs cannot be constraints: drop them).
"$PY" -m pip freeze --exclude-editable | grep -v ' @ ' > "$CONSTRAINTS"
BEFORE="$(mktemp /tmp/kinisi-before.XXXXXX.txt)"
cp "$CONSTRAINTS" "$BEFORE"

"$PY" -m pip install --only-binary=:all: -c "$CONSTRAINTS" -r "$REQ"

# Check that nothing that was installed before changed.
AFTER="$(mktemp /tmp/kinisi-after.XXXXXX.txt)"
"$PY" -m pip freeze --exclude-editable | grep -v ' @ ' > "$AFTER"
CHANGED="$(comm -23 <(sort "$BEFORE") <(sort "$AFTER") || true)"
rm -f "$BEFORE" "$AFTER"
if [ -n "$CHANGED" ]; then
    echo "ERROR: these previously installed packages changed:" >&2
    echo "$CHANGED" >&2
    exit 1
fi
"$PY" -c "import kinisi, MDAnalysis; print('kinisi', kinisi.__version__, '| MDAnalysis', MDAnalysis.__version__)"
