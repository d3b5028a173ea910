#!/usr/bin/env bash
# Regenerate the small, real Allegro test models (types: Na Sb W S) used by allegro-rs tests.
#
#   run from the repository root:   tests/models/make_test_models.sh [--aoti] [--only NAME[,NAME...]]
#
# Models (NAME: config + hydra overrides -> tests/models/allegro_NAME.nequip.{zip,pth}):
#   float32      allegro_test.yaml model_dtype=float32  l_max 1, 2 layers, 30 epochs   (~10 s)
#   float64      allegro_test.yaml model_dtype=float64  same, float64                  (~10 s)
#   l2_float64   allegro_l2.yaml   l_max 2, parity, 3 layers, asymmetric per-edge-type
#                cutoffs, per-type avg_num_neighbors / energy scales / shifts, trainable
#                Bessel roots, cutoff p 5, depth-2 MLPs, no path-channel coupling (8 epochs)
#   l3_float32   allegro_l3.yaml   l_max 3, no parity, 2 layers, global r_max / scale,
#                trainable shifts, weight_individual_irreps false              (8 epochs)
#   zbl_float64  allegro_zbl.yaml  = float64 + nequip ZBL pair potential         (30 epochs)
#
# Steps (deterministic: fixed seeds everywhere, one CPU thread):
#   1. tests/models/train_data.xyz  <- make_training_data.py (16 Na3SbS4-like cells, Morse labels)
#      (skipped with --only: the existing train_data.xyz is used)
#   2. for each model NAME:
#        nequip-train (config above)               -> last.ckpt (temp dir)
#        nequip-package build                       -> tests/models/allegro_NAME.nequip.zip
#        compile_torchscript.py (nequip-compile --mode torchscript, torch>=2.10 check bypassed)
#                                                   -> tests/models/allegro_NAME.nequip.pth
#        with --aoti also: compile_aoti.sh          -> tests/models/allegro_NAME.nequip.pt2 (~1 min each)
#   3. nequip_reference.py self-check (energies/forces/virial consistency, FD stress) of
#      every model file present.
# Total without --aoti: ~2-3 min on one core.
#   e.g. only the newer models:  tests/models/make_test_models.sh --only l2_float64,l3_float32,zbl_float64
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/models"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
export HYDRA_FULL_ERROR=1

ALL_MODELS="float32 float64 l2_float64 l3_float32 zbl_float64"

# NAME -> "config [hydra overrides...]"
model_args() {
    case "$1" in
        float32) echo "allegro_test model_dtype=float32" ;;
        float64) echo "allegro_test model_dtype=float64" ;;
        l2_float64) echo "allegro_l2" ;;
        l3_float32) echo "allegro_l3" ;;
        zbl_float64) echo "allegro_zbl" ;;
        *) echo "unknown model: $1 (known: $ALL_MODELS)" >&2; return 1 ;;
    esac
}

AOTI=0
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --aoti) AOTI=1 ;;
        --only) shift; ONLY="${1:?--only needs a comma-separated list of model names}" ;;
        --only=*) ONLY="${1#--only=}" ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
MODELS="$ALL_MODELS"
if [ -n "$ONLY" ]; then
    MODELS="${ONLY//,/ }"
fi
for M in $MODELS; do model_args "$M" >/dev/null || exit 2; done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/allegro_test_models.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

t0=$SECONDS
if [ -z "$ONLY" ]; then
    echo "[make_test_models] training data"
    "$PY" "$HERE/make_training_data.py" "$HERE/train_data.xyz"
fi
cp "$HERE/train_data.xyz" "$WORK/train_data.xyz"

for M in $MODELS; do
    read -r CFG OVERRIDES <<< "$(model_args "$M")"
    t1=$SECONDS
    echo "[make_test_models] train $M ($CFG $OVERRIDES)"
    # run inside WORK so that the (relative) data path stored in the package config is machine independent
    # shellcheck disable=SC2086  # OVERRIDES is a list of words
    (cd "$WORK" && "$VENV/bin/nequip-train" -cp "$HERE" -cn "$CFG" \
        $OVERRIDES train_file=train_data.xyz "hydra.run.dir=train_$M" \
        > "$WORK/train_$M.log" 2>&1) || { cat "$WORK/train_$M.log" >&2; exit 1; }
    tail -n 1 "$WORK/train_$M/csv/version_0/metrics.csv" >/dev/null
    echo "[make_test_models]   trained in $((SECONDS - t1)) s"

    echo "[make_test_models] package $M"
    rm -f "$HERE/allegro_$M.nequip.zip"
    (cd "$WORK" && "$VENV/bin/nequip-package" build "$WORK/train_$M/last.ckpt" \
        "$HERE/allegro_$M.nequip.zip" > "$WORK/package_$M.log" 2>&1) \
        || { cat "$WORK/package_$M.log" >&2; exit 1; }

    echo "[make_test_models] compile TorchScript $M"
    rm -f "$HERE/allegro_$M.nequip.pth"
    (cd "$WORK" && "$PY" "$HERE/compile_torchscript.py" "$HERE/allegro_$M.nequip.zip" \
        "$HERE/allegro_$M.nequip.pth" --device cpu --target pair_allegro \
        > "$WORK/compile_$M.log" 2>&1) || { cat "$WORK/compile_$M.log" >&2; exit 1; }

    if [ "$AOTI" = 1 ]; then
        echo "[make_test_models] compile AOTInductor $M"
        "$HERE/compile_aoti.sh" "$HERE/allegro_$M.nequip.zip" "$HERE/allegro_$M.nequip.pt2" \
            > "$WORK/aoti_$M.log" 2>&1 || { cat "$WORK/aoti_$M.log" >&2; exit 1; }
    fi
done

echo "[make_test_models] reference self-check"
"$PY" "$HERE/nequip_reference.py" "$HERE"
echo "[make_test_models] done in $((SECONDS - t0)) s"
ls -l "$HERE"
