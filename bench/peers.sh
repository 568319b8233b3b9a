#!/usr/bin/env bash
# Serve examples/digits and examples/embed with Dockyard inside the peer benchmark harness
# (../shared/bench: FastAPI, LitServe, BentoML, Ray Serve, MLServer), in the same run, and keep
# the report in bench/peers.md. Arguments go to the harness, e.g.
#   bash bench/peers.sh --reps 3                                   # the full comparison (~50 min)
#   bash bench/peers.sh --reps 1 --duration 10 --systems physical,fastapi,litserve,bentoml,bare,ceiling
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${BENCH_HARNESS:-$REPO/../shared/bench}
# The interpreter itself, not a version-manager shim (a pyenv shim adds ~1 s to every start).
PY=$(python3 -c "import sys; print(sys.executable)")
export PERF_MD=${PERF_MD:-$REPO/bench/peers.md}
# Same knobs as the peers: one process, max batch 64 (the examples' spec), access log off.
CMD="$PY -m dockyard.runtime serve $REPO/examples/{workload} --host 127.0.0.1 --port {port} --no-access-log"
systems=()
for arg in "$@"; do systems+=("$arg"); done
bash "$HARNESS/run_all.sh" "${systems[@]}" --extra "dockyard|simple|/predict|digits,embed|$CMD"
