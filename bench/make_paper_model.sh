#!/usr/bin/env bash
# Build the "paper-size" Allegro model (bench/paper_model.yaml) used ONLY for timing benchmarks.
#
#   run from anywhere:   bench/make_paper_model.sh OUT.nequip.pth
#   e.g.                 bench/make_paper_model.sh tests/.cache/bench/paper.nequip.pth
#
# Steps (in a temp dir, deterministic: fixed seeds, one CPU thread):
#   nequip-train bench/paper_model.yaml (1 optimizer step on tests/models/train_data.xyz) -> last.ckpt
#   nequip-package build                                                                  -> paper.nequip.zip
#   tests/models/compile_torchscript.py --device cpu --target pair_allegro               -> paper.nequip.pth
#   torch.jit.load sanity check, then OUT is written atomically (temp file + mv).
# Cost on one core: ~50 s (train 19 s, package 14 s, compile 11 s); OUT is 8.8 MB (8823342 bytes) (float32, 2,164,032 parameters).
# Environment: VENV (default: <repo>/.venv), TMPDIR.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT.nequip.pth" >&2
    exit 2
fi
OUT="$1"
case "$OUT" in
    *.nequip.pth) ;;
    *) echo "OUT must end in .nequip.pth: $OUT" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
export HYDRA_FULL_ERROR=1

OUT_DIR="$(dirname "$OUT")"
mkdir -p "$OUT_DIR"
OUT="$(cd "$OUT_DIR" && pwd)/$(basename "$OUT")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/allegro_paper_model.XXXXXX")"
TMP_OUT=""
cleanup() { rm -rf "$WORK"; if [ -n "$TMP_OUT" ]; then rm -f "$TMP_OUT"; fi; }
trap cleanup EXIT

fail() {  # fail STEP LOG
    echo "[make_paper_model] FAILED: $1 (last 40 lines of $2):" >&2
    tail -n 40 "$2" >&2 || true
    exit 1
}

t0=$SECONDS
cp "$ROOT/tests/models/train_data.xyz" "$WORK/train_data.xyz"

echo "[make_paper_model] train (bench/paper_model.yaml, 1 step) in $WORK"
# run inside WORK so that the (relative) data path stored in the package config is machine independent
(cd "$WORK" && "$VENV/bin/nequip-train" -cp "$ROOT/bench" -cn paper_model \
    train_file=train_data.xyz hydra.run.dir=train > "$WORK/train.log" 2>&1) \
    || fail "nequip-train" "$WORK/train.log"
[ -f "$WORK/train/last.ckpt" ] || fail "nequip-train wrote no last.ckpt" "$WORK/train.log"
echo "[make_paper_model]   trained in $((SECONDS - t0)) s"

t1=$SECONDS
echo "[make_paper_model] package -> paper.nequip.zip"
(cd "$WORK" && "$VENV/bin/nequip-package" build "$WORK/train/last.ckpt" "$WORK/paper.nequip.zip" \
    > "$WORK/package.log" 2>&1) || fail "nequip-package" "$WORK/package.log"
echo "[make_paper_model]   packaged in $((SECONDS - t1)) s"

t1=$SECONDS
echo "[make_paper_model] compile TorchScript (--device cpu --target pair_allegro) -> paper.nequip.pth"
(cd "$WORK" && "$PY" "$ROOT/tests/models/compile_torchscript.py" "$WORK/paper.nequip.zip" \
    "$WORK/paper.nequip.pth" --device cpu --target pair_allegro > "$WORK/compile.log" 2>&1) \
    || fail "compile_torchscript.py" "$WORK/compile.log"
echo "[make_paper_model]   compiled in $((SECONDS - t1)) s"

echo "[make_paper_model] check: torch.jit.load"
"$PY" - "$WORK/paper.nequip.pth" > "$WORK/check.log" 2>&1 <<'PYEOF' || fail "torch.jit.load check" "$WORK/check.log"
import sys, torch
m = torch.jit.load(sys.argv[1], map_location="cpu")
n = sum(p.numel() for p in m.parameters())
dt = {p.dtype for p in m.parameters()}
print(f"[make_paper_model]   loads OK: {n} parameters, dtypes {sorted(map(str, dt))}")
PYEOF
cat "$WORK/check.log"

TMP_OUT="$(mktemp "$OUT_DIR/.$(basename "$OUT").tmp.XXXXXX")"
cp "$WORK/paper.nequip.pth" "$TMP_OUT"
chmod "$(printf '%o' $((0666 & ~$(umask))))" "$TMP_OUT"  # mktemp makes 0600 files
mv -f "$TMP_OUT" "$OUT"
TMP_OUT=""
echo "[make_paper_model] wrote $OUT ($(stat -c %s "$OUT") bytes) in $((SECONDS - t0)) s"
