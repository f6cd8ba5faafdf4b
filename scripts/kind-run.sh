#!/usr/bin/env bash
# kind-run.sh PAIR: one filterbench pair in a throw-away kind cluster, Lua twin then Wasm twin.
#
# NOT RUN ON THE DEVELOPMENT MACHINES: they have no container engine (no Docker), so this runbook
# is only checked there by shellcheck and by the tests of its argument handling
# (loadgen/tests/k8s/kind_script.rs). A person with Docker runs it as it is.
#
# What it does, in order:
#   1. a local OCI registry container (kind-registry, localhost:5001) and a kind cluster wired to
#      it (kind's documented local-registry set-up);
#   2. Istio 1.30 (minimal profile; the registry marked insecure for istio-agent's Wasm pulls),
#      sidecar injection in the namespace default;
#   3. an echo workload (app=filterbench-echo) behind the Service filterbench-echo;
#   4. `loadgen k8s manifests` for PAIR (TrafficExtension) and the Wasm module pushed with oras;
#   5. the Lua TrafficExtension applied, `loadgen run` through a port-forward;
#   6. the Wasm TrafficExtension applied (the same object: it replaces the Lua one), measured again;
#   7. tear-down (cluster and registry), also on failure or Ctrl-C; KEEP=1 keeps them.
#
# Needs: docker, kind, kubectl, istioctl 1.30+, oras, cargo. Results go to OUT (default
# out/kind/PAIR): lua-run.txt, wasm-run.txt and the manifests.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/kind-run.sh PAIR

Runs one filterbench pair (a name from bench/catalogue.toml) in a kind cluster with Istio 1.30:
the Lua TrafficExtension, then the Wasm one, each measured with `loadgen run`.

Environment: OUT (output directory, default out/kind/PAIR), DURATION (seconds per run, default 30),
CLUSTER (kind cluster name, default filterbench), KEEP=1 (keep the cluster and registry).
EOF
}

die() {
  echo "kind-run.sh: $*" >&2
  exit 2
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CATALOGUE="$ROOT/bench/catalogue.toml"

if [[ $# -eq 0 ]]; then
  usage >&2
  exit 2
fi
case "$1" in
  -h | --help)
    usage
    exit 0
    ;;
  -*) die "unknown option $1 (see --help)" ;;
esac
if [[ $# -gt 1 ]]; then
  die "expected one PAIR, got $# arguments (see --help)"
fi
PAIR="$1"

[[ -f "$CATALOGUE" ]] || die "$CATALOGUE not found"
KNOWN="$(sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' "$CATALOGUE")"
if ! grep -qx -- "$PAIR" <<<"$KNOWN"; then
  die "unknown pair \"$PAIR\" (known: $(tr '\n' ' ' <<<"$KNOWN"))"
fi

OUT="${OUT:-$ROOT/out/kind/$PAIR}"
DURATION="${DURATION:-30}"
CLUSTER="${CLUSTER:-filterbench}"
REGISTRY=kind-registry
REGISTRY_PORT=5001
NAME="filterbench-${PAIR//_/-}"

for tool in docker kind kubectl istioctl oras cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (needed: docker kind kubectl istioctl oras cargo)"
done
docker info >/dev/null 2>&1 || die "docker does not answer (is the daemon running?)"

PORT_FORWARD_PID=""
cleanup() {
  if [[ -n "$PORT_FORWARD_PID" ]]; then
    kill "$PORT_FORWARD_PID" 2>/dev/null || true
    wait "$PORT_FORWARD_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" != 1 ]]; then
    echo "== tear-down (KEEP=1 keeps the cluster)"
    kind delete cluster --name "$CLUSTER" || true
    docker rm -f "$REGISTRY" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

echo "== 1. registry $REGISTRY (localhost:$REGISTRY_PORT) and kind cluster $CLUSTER"
if [[ "$(docker inspect -f '{{.State.Running}}' "$REGISTRY" 2>/dev/null || true)" != true ]]; then
  docker run -d --restart=always -p "127.0.0.1:$REGISTRY_PORT:5000" --network bridge \
    --name "$REGISTRY" registry:2 >/dev/null
fi
kind create cluster --name "$CLUSTER" --config=- <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
EOF
for node in $(kind get nodes --name "$CLUSTER"); do
  docker exec "$node" mkdir -p "/etc/containerd/certs.d/localhost:$REGISTRY_PORT"
  printf '[host."http://%s:5000"]\n' "$REGISTRY" |
    docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/localhost:$REGISTRY_PORT/hosts.toml"
done
if [[ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REGISTRY")" == null ]]; then
  docker network connect kind "$REGISTRY"
fi
kubectl apply -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:$REGISTRY_PORT"
EOF

echo "== 2. Istio (minimal profile)"
istio_version="$(istioctl version --remote=false 2>/dev/null | head -n1)"
echo "istioctl $istio_version (TrafficExtension needs 1.30 or later)"
istioctl install -y --set profile=minimal \
  --set "meshConfig.defaultConfig.proxyMetadata.WASM_INSECURE_REGISTRIES=$REGISTRY:5000"
kubectl label namespace default istio-injection=enabled --overwrite

echo "== 3. echo workload app=filterbench-echo"
kubectl apply -f - <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: filterbench-echo
  labels: { app: filterbench-echo }
spec:
  replicas: 1
  selector: { matchLabels: { app: filterbench-echo } }
  template:
    metadata:
      labels: { app: filterbench-echo }
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/e2e-test-images/agnhost:2.53
        args: ["netexec", "--http-port=8080"]
        ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata:
  name: filterbench-echo
spec:
  selector: { app: filterbench-echo }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
EOF
kubectl rollout status deploy/filterbench-echo --timeout=180s

echo "== 4. manifests and the Wasm module for $PAIR"
cd "$ROOT"
cargo run --release -p filterbench-loadgen --bin loadgen -- k8s manifests --pair "$PAIR" \
  --out "$OUT" --wasm-url "oci://$REGISTRY:5000/filterbench/$PAIR:latest"
oras cp --from-oci-layout "$OUT/oci:latest" "localhost:$REGISTRY_PORT/filterbench/$PAIR:latest" --to-plain-http

# Waits until the workload's Envoy has the filter of $1 (lua or wasm) in its listeners.
wait_for_filter() {
  local want="envoy.filters.http.$1"
  for _ in $(seq 1 60); do
    if istioctl proxy-config listener deploy/filterbench-echo -o json 2>/dev/null | grep -q "$want"; then
      return 0
    fi
    sleep 2
  done
  die "the workload's Envoy did not get $want within 120 s (kubectl describe trafficextension $NAME)"
}

# Measures through a port-forward; $1 is the twin (lua or wasm).
measure() {
  kubectl port-forward svc/filterbench-echo 18080:80 >/dev/null 2>&1 &
  PORT_FORWARD_PID=$!
  sleep 2
  cargo run --release -p filterbench-loadgen --bin loadgen -- run \
    --url http://127.0.0.1:18080/ --pair "$PAIR" -d "$DURATION" | tee "$OUT/$1-run.txt"
  kill "$PORT_FORWARD_PID" 2>/dev/null || true
  wait "$PORT_FORWARD_PID" 2>/dev/null || true
  PORT_FORWARD_PID=""
}

echo "== 5. the Lua twin"
kubectl apply -f "$OUT/trafficextension-lua.yaml"
wait_for_filter lua
measure lua

echo "== 6. the Wasm twin (the same TrafficExtension, lua: replaced by wasm:)"
kubectl apply -f "$OUT/trafficextension-wasm.yaml"
wait_for_filter wasm
measure wasm

echo "== done: $OUT/lua-run.txt and $OUT/wasm-run.txt (migration.diff shows the one edit)"
