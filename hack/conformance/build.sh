#!/usr/bin/env bash
# Builds the unmodified Gateway API v1.6.1 conformance suite (go test -c of
# sigs.k8s.io/gateway-api/conformance from the Go module proxy) into the cache, once.
set -euo pipefail
cd "$(dirname "$0")"
version=v1.6.1
out="${CROSSWAY_CACHE:-$HOME/.cache/crossway}/conformance-$version/bin/conformance.test"
if [ -x "$out" ]; then echo "conformance: cached $out"; exit 0; fi
mkdir -p "$(dirname "$out")"
start=$(date +%s)
GOFLAGS=-mod=mod CGO_ENABLED=0 go test -c -p 2 -trimpath -ldflags='-s -w' -o "$out.tmp" sigs.k8s.io/gateway-api/conformance
mv "$out.tmp" "$out"
echo "conformance: built $out in $(( $(date +%s) - start ))s"
