# Sourced by the scripts: paths and the environment tch's build needs.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# tch finds libtorch through the venv's python (LIBTORCH_USE_PYTORCH); an active foreign venv
# would make its build script run the wrong python, hence VIRTUAL_ENV is unset.
unset VIRTUAL_ENV
export PATH="$VENV/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
# pyo3 (the Python binding in python-rs/) builds for the venv's python, as an extension module
# (no libpython linked), for cargo and maturin alike, so neither rebuilds what the other built.
export PYO3_PYTHON="$PY"
export PYO3_BUILD_EXTENSION_MODULE=1
# Never more threads than cores (2 on CI): libtorch spin-waits when oversubscribed.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

log() { printf '\033[1m[allegro-rs]\033[0m %s\n' "$*" >&2; }
