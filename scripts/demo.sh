#!/usr/bin/env bash
# The main job: build examples/digits into a production image, serve it in a hardened container
# on 127.0.0.1:${PORT:-8000}, wait until it is ready (model loaded, canary matched), and ask it.
# Works on a fresh Debian machine as root; with no registry reachable it builds on a local base.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8000}

bash scripts/provision-engine.sh
python3 -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v -e '^WARNING: Location' -e 'pip as the .root. user' || true

# The spec's default base is the official slim Python image; where it cannot be pulled (no
# registry, air gap), fall back to the local base image the provisioning step built.
if [ -z "${DOCKYARD_BASE_IMAGE:-}" ] && ! docker image inspect python:3.11-slim-bookworm >/dev/null 2>&1 \
   && ! timeout 30 docker pull -q python:3.11-slim-bookworm >/dev/null 2>&1; then
  export DOCKYARD_BASE_IMAGE=dockyard-local/python:3.11-bookworm
  echo "demo: no registry reachable; building on the local base $DOCKYARD_BASE_IMAGE"
fi

dockyard build examples/digits --tag digits:demo
dockyard run examples/digits --image digits:demo --port "$PORT"
python3 - "$PORT" <<'PY'
import json, sys, urllib.request
port = sys.argv[1]
sample = json.loads(open("examples/digits/golden.jsonl").readline())
body = json.dumps({"inputs": [sample["input"]]}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{port}/predict", body, {"content-type": "application/json"})
print("POST /predict ->", urllib.request.urlopen(req).read().decode())
print("expected      ->", json.dumps({"outputs": [sample["output"]]}))
PY
echo "demo: serving at http://127.0.0.1:$PORT (docs at /docs, metrics at /metrics); docker stop it when done"
