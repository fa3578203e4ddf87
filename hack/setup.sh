#!/usr/bin/env bash
# One-time machine setup for crossway's local cluster, tests and demo. Idempotent and cached:
# - Debian packages: haproxy (the data plane's stand-in for the official image), iproute2,
#   util-linux (unshare/nsenter), openssl.
# - Go builds (kube-apiserver, kube-controller-manager, kubectl, etcd, echo-basic) under
#   $HOME/.cache/crossway/<name>-<version>/, reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in haproxy iproute2 util-linux openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

bash hack/build/binaries.sh
bash hack/conformance/build.sh
