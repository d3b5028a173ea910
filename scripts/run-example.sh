#!/usr/bin/env bash
# The README's main command: set everything up, then run the Na3SbS4 NPT example with the
# shipped default model and summarise what a user should look at.
#   scripts/run-example.sh [STEPS] [MPI_RANKS]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
steps=${1:-500}
ranks=${2:-1}

bash scripts/setup.sh run

out="$ROOT/build/example"
rm -rf "$out" && mkdir -p "$out"
cp lammps-inputs/na3sbs4_npt.in lammps-inputs/na3sbs4_tetragonal_4x4x4.data "$out/"
model="$ROOT/models/nawsbs.nequip.pth"
log "running tetragonal Na3SbS4 NPT at 300 K, 1,024 atoms, $steps steps of 2 fs, $ranks MPI rank(s), in $out"
cd "$out"
launcher=()
[ "$ranks" -gt 1 ] && launcher=("$VENV/bin/mpirun" -np "$ranks")
"${launcher[@]}" "$VENV/bin/lmp" -in na3sbs4_npt.in -var model "$model" -var steps "$steps" -nocite \
  > screen.txt 2>&1 || { tail -20 screen.txt; exit 1; }
"$PY" "$ROOT/scripts/summarise_log.py" log.lammps
