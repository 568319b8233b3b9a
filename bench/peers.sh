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
# Dockyard serves on uvloop + httptools; without them uvicorn falls back to asyncio + h11 and
# every number below is about half of what an install following the README gets. Refuse.
if ! "$PY" -c "import uvloop, httptools" 2>/dev/null; then
  echo "bench/peers.sh: uvloop and httptools are not importable by $PY: Dockyard would be" >&2
  echo "  measured on the slow path (asyncio + h11). Run 'pip install -e .' (they are base" >&2
  echo "  dependencies) or set DOCKYARD_BENCH_ALLOW_SLOW=1 to measure the slow path on purpose." >&2
  [ "${DOCKYARD_BENCH_ALLOW_SLOW:-0}" = "1" ] || exit 3
  echo "bench/peers.sh: DOCKYARD_BENCH_ALLOW_SLOW=1: measuring the SLOW path" >&2
fi
"$PY" -c "import uvloop, httptools; print(f'fast path: uvloop {uvloop.__version__}, httptools {httptools.__version__}')" 2>/dev/null || true
export PERF_MD=${PERF_MD:-$REPO/bench/peers.md}
# Same knobs as the peers: one process, max batch 64 (the examples' spec), access log off.
CMD="$PY -m dockyard.runtime serve $REPO/examples/{workload} --host 127.0.0.1 --port {port} --no-access-log"
systems=()
for arg in "$@"; do systems+=("$arg"); done
bash "$HARNESS/run_all.sh" "${systems[@]}" --extra "dockyard|simple|/predict|digits,embed|$CMD"
