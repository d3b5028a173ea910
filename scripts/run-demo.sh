#!/usr/bin/env bash
# The README's main command: set up what MD needs (no libtorch), then run the demo study with the
# shipped default model and write its report: T_C of pristine and W-doped Na3SbS4, dihedrals,
# Arrhenius diffusion and a Haven ratio, in about 15 minutes on 2 cores.
#   scripts/run-demo.sh [STUDY.toml]    (default: the demo preset, output in study-demo/)
# Interrupted? Run it again: finished runs are kept, the others restart.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

bash scripts/setup.sh run

study=()
if [ $# -gt 0 ]; then study=(--study "$1"); else study=(--preset demo); fi
tool="$ROOT/target/release/allegro-study"
"$tool" plan "${study[@]}"
log "running the study (progress below; Ctrl-C stops it, rerunning resumes)"
"$tool" run "${study[@]}"
log "analysing the runs"
"$tool" report "${study[@]}"
