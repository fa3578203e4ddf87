#!/usr/bin/env bash
# For users who have Docker: a k3d (k3s in Docker) cluster with the Gateway API v1.6.1 standard
# CRDs and crossway deployed by `npx pepr deploy`. k3s's service load balancer (klipper-lb) gives
# the data plane's LoadBalancer Service an address, published on the host at $CROSSWAY_HTTP_PORT.
# Not runnable on machines without Docker (use `npm run local:up` there).
# Usage: hack/k3d/up.sh            (create or reuse the cluster, install CRDs, deploy)
#        hack/k3d/up.sh --delete   (delete the cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${CROSSWAY_K3D_CLUSTER:-crossway}"
HTTP_PORT="${CROSSWAY_HTTP_PORT:-8080}"
CRDS="vendor/gateway-api/v1.6.1/standard-install.yaml"

die() { echo "k3d/up: $*" >&2; exit 1; }
for tool in docker k3d kubectl npx; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (see hack/cluster/README.md, 'With Docker: k3d')"
done
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable"

if [ "${1:-}" = "--delete" ]; then
  k3d cluster delete "$CLUSTER"
  exit 0
fi

if k3d cluster list "$CLUSTER" >/dev/null 2>&1; then
  echo "k3d/up: reusing cluster $CLUSTER"
else
  # Traefik is disabled: it would be a second Gateway/Ingress controller competing for the same ports.
  k3d cluster create "$CLUSTER" --wait \
    --k3s-arg "--disable=traefik@server:0" \
    --port "${HTTP_PORT}:80@loadbalancer"
fi
kubectl config use-context "k3d-$CLUSTER" >/dev/null

kubectl apply --server-side --field-manager=crossway-local -f "$CRDS"
kubectl wait --for=condition=Established --timeout=60s \
  $(kubectl get crd -o name | grep 'gateway.networking.k8s.io')

# pepr builds the module (dist/) and applies it; k3s pulls the controller and data-plane images.
npx pepr deploy --yes

echo "k3d/up: cluster k3d-$CLUSTER ready; Gateways on port 80 are published at http://localhost:${HTTP_PORT}"
