#!/usr/bin/env bash
# Compile a nequip/allegro model (package .nequip.zip or checkpoint) into an AOTInductor
# package for pair_allegro-style inputs (pos, edge_index, atom_types; ghost atoms explicit)
# on CPU.  Takes ~1.5 min on one core.
#   usage: tests/models/compile_aoti.sh IN(.nequip.zip|.ckpt) OUT.nequip.pt2
# Extra arguments after OUT are passed to nequip-compile.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 IN(.nequip.zip|.ckpt) OUT.nequip.pt2 [extra nequip-compile args]" >&2
    exit 2
fi
IN="$1"; OUT="$2"; shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NEQUIP_COMPILE="${NEQUIP_COMPILE:-$ROOT/.venv/bin/nequip-compile}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$NEQUIP_COMPILE" "$IN" "$OUT" \
    --mode aotinductor --target pair_allegro --device cpu "$@"
