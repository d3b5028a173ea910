#!/usr/bin/env bash
# Regenerate the small, real Allegro test models (types: Na Sb W S) used by allegro-rs tests.
#
#   run from the repository root:   tests/models/make_test_models.sh [--aoti]
#
# Steps (deterministic: fixed seeds everywhere, one CPU thread):
#   1. tests/models/train_data.xyz  <- make_training_data.py (16 Na3SbS4-like cells, Morse labels)
#   2. for D in float32 float64:
#        nequip-train (allegro_test.yaml, model_dtype=D, 30 epochs, ~10 s)   -> last.ckpt (temp dir)
#        nequip-package build                       -> tests/models/allegro_D.nequip.zip
#        compile_torchscript.py (nequip-compile --mode torchscript, torch>=2.10 check bypassed)
#                                                   -> tests/models/allegro_D.nequip.pth
#        with --aoti also: compile_aoti.sh          -> tests/models/allegro_D.nequip.pt2 (~1 min each)
#   3. nequip_reference.py self-check (energies/forces/virial consistency, FD stress).
# Total without --aoti: ~1 min on one core.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/models"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
export HYDRA_FULL_ERROR=1

AOTI=0
for a in "$@"; do
    case "$a" in
        --aoti) AOTI=1 ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/allegro_test_models.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

t0=$SECONDS
echo "[make_test_models] training data"
"$PY" "$HERE/make_training_data.py" "$HERE/train_data.xyz"
cp "$HERE/train_data.xyz" "$WORK/train_data.xyz"

for D in float32 float64; do
    echo "[make_test_models] train $D"
    # run inside WORK so that the (relative) data path stored in the package config is machine independent
    (cd "$WORK" && "$VENV/bin/nequip-train" -cp "$HERE" -cn allegro_test \
        "model_dtype=$D" train_file=train_data.xyz "hydra.run.dir=train_$D" \
        > "$WORK/train_$D.log" 2>&1) || { cat "$WORK/train_$D.log" >&2; exit 1; }
    tail -n 1 "$WORK/train_$D/csv/version_0/metrics.csv" >/dev/null

    echo "[make_test_models] package $D"
    rm -f "$HERE/allegro_$D.nequip.zip"
    (cd "$WORK" && "$VENV/bin/nequip-package" build "$WORK/train_$D/last.ckpt" \
        "$HERE/allegro_$D.nequip.zip" > "$WORK/package_$D.log" 2>&1) \
        || { cat "$WORK/package_$D.log" >&2; exit 1; }

    echo "[make_test_models] compile TorchScript $D"
    rm -f "$HERE/allegro_$D.nequip.pth"
    (cd "$WORK" && "$PY" "$HERE/compile_torchscript.py" "$HERE/allegro_$D.nequip.zip" \
        "$HERE/allegro_$D.nequip.pth" --device cpu --target pair_allegro \
        > "$WORK/compile_$D.log" 2>&1) || { cat "$WORK/compile_$D.log" >&2; exit 1; }

    if [ "$AOTI" = 1 ]; then
        echo "[make_test_models] compile AOTInductor $D"
        "$HERE/compile_aoti.sh" "$HERE/allegro_$D.nequip.zip" "$HERE/allegro_$D.nequip.pt2" \
            > "$WORK/aoti_$D.log" 2>&1 || { cat "$WORK/aoti_$D.log" >&2; exit 1; }
    fi
done

echo "[make_test_models] reference self-check"
"$PY" "$HERE/nequip_reference.py" "$HERE"
echo "[make_test_models] done in $((SECONDS - t0)) s"
ls -l "$HERE"
