#!/usr/bin/env bash
# Install the labelling extras (sevenn 0.13.0 and its dependencies, exact pins) into the project venv.
# Idempotent: pip skips what is already installed at the pinned version. The constraints file pins
# everything the venv already had (torch 2.13.0, nequip, allegro, ase, numpy, ...), so nothing of the
# base environment is replaced.
#   usage: models/setup_train.sh            (VENV defaults to <repo>/.venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
"$VENV/bin/python" -m pip install --disable-pip-version-check \
    -r "$ROOT/models/requirements-train.txt" -c "$ROOT/models/constraints-train.txt"
OMP_NUM_THREADS=1 "$VENV/bin/python" - <<'PY'
import importlib.metadata as md
for p in ("torch", "nequip", "nequip-allegro", "ase", "sevenn"):
    print(f"{p}=={md.version(p)}")
assert md.version("torch") == "2.13.0", "torch was replaced"
PY
