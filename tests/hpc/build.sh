#!/usr/bin/env bash
# pair_style allegro in a LAMMPS built from source with Open MPI, by both routes of docs/hpc.md,
# for tests/python/test_hpc_lammps.py (paths in $ALLEGRO_TEST_CACHE/hpc.json). Called by
# scripts/test.sh after `setup.sh test`.
#
# The command blocks of docs/hpc.md marked `<!-- tested: NAME -->` are run as written, with
# ALLEGRO_RS (this clone), LAMMPS_SRC and LAMMPS_PREFIX pointing into a cache outside the clone
# (ALLEGRO_HPC_CACHE, default ~/.cache/allegro-rs/hpc), so a warm run rebuilds only what changed.
# Cold: ~9 min on 2 cores (two LAMMPS builds, the second mostly from ccache); warm: ~30 s.
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$ROOT"

# Pinned inputs: Debian's LAMMPS 4 Feb 2025 source tarball and Debian 12's Open MPI.
TARBALL=lammps_20250204+dfsg.1.orig.tar.xz
SHA256=3671165bd52fad36734e0a9136c5bc5ecb225e03988f8c89aa13366a8b53b1c7
URL=http://deb.debian.org/debian/pool/main/l/lammps/$TARBALL
TREE=lammps-4Feb2025
DEBS=(libopenmpi-dev=4.1.4-3+b1 openmpi-bin=4.1.4-3+b1 ccache=4.8+really4.7.5-1)

HPC="${ALLEGRO_HPC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/allegro-rs/hpc}"
mkdir -p "$HPC"

missing=()
for deb in "${DEBS[@]}"; do
  [ "$(dpkg-query -W -f '${Version}' "${deb%%=*}" 2>/dev/null)" = "${deb#*=}" ] || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (Debian packages)"
  [ "$(id -u)" = 0 ] || { echo "run as root or install: apt-get install ${missing[*]}" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" > "$HPC/apt.log" 2>&1 \
    || { apt-get update -q > /dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" > "$HPC/apt.log" 2>&1; } \
    || { tail -20 "$HPC/apt.log"; exit 1; }
fi

if [ "$(sha256sum "$HPC/$TARBALL" 2>/dev/null | cut -c1-64)" != "$SHA256" ]; then
  log "downloading $URL (132 MB)"
  curl -fsSL --retry 3 -o "$HPC/$TARBALL.part" "$URL"
  [ "$(sha256sum "$HPC/$TARBALL.part" | cut -c1-64)" = "$SHA256" ] \
    || { echo "$TARBALL: checksum mismatch (expected $SHA256)" >&2; rm -f "$HPC/$TARBALL.part"; exit 1; }
  mv "$HPC/$TARBALL.part" "$HPC/$TARBALL"
fi
if [ ! -f "$HPC/$TREE/.extracted" ]; then
  log "extracting $TARBALL"
  rm -rf "${HPC:?}/$TREE"
  tar -xJf "$HPC/$TARBALL" -C "$HPC"
  touch "$HPC/$TREE/.extracted"
fi

# The environment of a cluster shell with Open MPI loaded: the system's mpicxx/mpirun ahead of
# the venv's MPICH ones, cmake from the venv (pinned), cargo from rustup.
bin="$HPC/bin"
mkdir -p "$bin"
ln -sf "$VENV/bin/cmake" "$bin/cmake"
export PATH="$bin:$(dirname "$(command -v cargo)"):/usr/local/bin:/usr/bin:/bin"
export ALLEGRO_RS="$ROOT" LAMMPS_SRC="$HPC/$TREE" LAMMPS_PREFIX="$HPC/lammps" TORCH_PYTHON="$PY"
export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_DIR="$HPC/ccache" CCACHE_BASEDIR="$HPC"
# Open MPI: root is fine in a container, 4 ranks on 2 cores are fine for tests.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# block NAME: the commands of docs/hpc.md under <!-- tested: NAME -->, run with bash -e.
block() {
  local text
  text=$(awk -v name="$1" '
    $0 == "<!-- tested: " name " -->" { armed = 1; next }
    armed == 1 && /^```bash$/ { inside = 1; armed = 0; next }
    inside && /^```$/ { exit }
    inside { print }' docs/hpc.md)
  [ -n "$text" ] || { echo "docs/hpc.md has no tested block '$1'" >&2; exit 1; }
  log "docs/hpc.md: $1"
  # a user's shell: no OMP_NUM_THREADS from scripts/env.sh (GNU nproc would obey it)
  (cd "$ROOT" && unset OMP_NUM_THREADS && bash -euo pipefail -c "$text") > "$HPC/$1.log" 2>&1 \
    || { tail -40 "$HPC/$1.log"; echo "docs/hpc.md block '$1' failed (log: $HPC/$1.log)" >&2; exit 1; }
}

start=$SECONDS
block build-lammps      # cold: ~6.5 min; warm: nothing to rebuild
block plugin
block plugin-build-tree
block plugin-torch
block compiled-in       # cold: ~1 min (ccache of the first build); warm: the link
block plugin-run
SLURM_NTASKS=2 SLURM_CPUS_PER_TASK=1 block slurm
for run in plugin-run slurm; do  # both ran MD with the plugin on 2 ranks
  grep -q "pair_style allegro: model" "$HPC/$run.log" && grep -q "^  1 by 1 by 2 MPI processor grid" "$HPC/$run.log" \
    || { echo "$run: no pair_style allegro on 2 ranks in $HPC/$run.log" >&2; exit 1; }
done
log "LAMMPS and both routes ready in $((SECONDS - start)) s"

CACHE="${ALLEGRO_TEST_CACHE:-$ROOT/tests/.cache}"
mkdir -p "$CACHE"
cat > "$CACHE/hpc.json.tmp" <<JSON
{"lmp": "$LAMMPS_PREFIX/bin/lmp",
 "lammps_dir": "$LAMMPS_PREFIX/lib/cmake/LAMMPS",
 "lmp_builtin": "$LAMMPS_PREFIX-allegro/bin/lmp",
 "plugin": "$ROOT/build/hpc-plugin/allegroplugin.so",
 "plugin_build_tree": "$ROOT/build/hpc-plugin-tree/allegroplugin.so",
 "plugin_torch": "$ROOT/build/hpc-plugin-torch/allegroplugin.so",
 "wheel_plugin": "$ROOT/build/plugin-run/allegroplugin.so",
 "mpirun": "$(command -v mpirun)",
 "mpi_env": {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
             "OMPI_MCA_rmaps_base_oversubscribe": "1"}}
JSON
mv "$CACHE/hpc.json.tmp" "$CACHE/hpc.json"
