#!/usr/bin/env bash
# Apply `dockyard k8s` output to a real cluster and run `dockyard gate` against it.
#
#   scripts/k8s-smoke.sh DIR ENV IMAGE [NAMESPACE]
#
# DIR: the project; ENV: an [environments.NAME] it declares (its overlay is applied, and the
# gate reads its thresholds); IMAGE: the image the cluster can pull (with KIND_CLUSTER=NAME it
# is loaded into that kind cluster first). Uses the current kubeconfig context. The project's
# secrets are created from .dockyard/secrets/NAME. KEDA and Prometheus Operator CRDs must be
# installed when [kubernetes.autoscale] or service_monitor is on. KEEP=1 keeps the namespace.
#
# Not run by the test suite: the machines that run it have no cluster.
set -euo pipefail

dir=${1:?project directory}
env=${2:?environment name}
image=${3:?image reference}
ns=${4:-dockyard-smoke}
py=${PYTHON:-python3}

field() { "$py" -c "from dockyard.spec import load_spec; s = load_spec('$dir', environment='$env'); print($1)"; }
project=$(field "s.project.name")
port=$(field "s.serving.port")
local_port=$(field "s.stack.api_port or s.serving.port")
secrets=$(field "' '.join(s.secrets)")

if [[ -n "${KIND_CLUSTER:-}" ]]; then
  kind load docker-image "$image" --name "$KIND_CLUSTER"
fi

out=$(mktemp -d)
forward=""
cleanup() {
  [[ -n "$forward" ]] && kill "$forward" 2>/dev/null || true
  rm -rf "$out" "$out.notes"
  [[ "${KEEP:-0}" == 1 ]] || kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

# `dockyard k8s` generates the API keys and the Redis login once (.dockyard/secrets/) and
# prints the `kubectl create secret` line for each: run them in the namespace.
dockyard k8s "$dir" --env "$env" --image "$image" --out "$out" 2>"$out.notes"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
grep '^  kubectl create secret ' "$out.notes" | while read -r line; do
  eval "${line/kubectl create/kubectl -n $ns create} --dry-run=client -o yaml" | kubectl apply -f -
done
args=()
for name in $secrets; do
  args+=("--from-file=$name=$dir/.dockyard/secrets/$name")
done
if [[ -n "$secrets" ]]; then
  kubectl -n "$ns" create secret generic "$project-secrets" "${args[@]}" \
    --dry-run=client -o yaml | kubectl apply -f -
fi

kubectl -n "$ns" apply -k "$out/overlays/$env"
for deployment in $(kubectl -n "$ns" get deployments -o name); do
  kubectl -n "$ns" rollout status "$deployment" --timeout=600s
done

# The gate reaches the environment at its published port on 127.0.0.1 (or its [environments]
# url): forward that port to the API's Service.
kubectl -n "$ns" port-forward "service/$project-api" "$local_port:$port" >/dev/null &
forward=$!
sleep 3
dockyard gate "$dir" --env "$env"
echo "k8s smoke: $project ($env) applied to namespace $ns and passed the gate"
