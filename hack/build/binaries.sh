#!/usr/bin/env bash
# Builds the local cluster's binaries from Go modules through the Go module proxy and caches them
# under $CROSSWAY_CACHE (default $HOME/.cache/crossway):
#   k8s-<ver>/bin/{kube-apiserver,kube-controller-manager,kubectl}   from k8s.io/kubernetes
#   etcd-<ver>/bin/etcd                                             from go.etcd.io/etcd/server/v3
#   echo-basic-<ver>/bin/echo-basic                                 from sigs.k8s.io/gateway-api
#   helm-<ver>/bin/helm                                             from helm.sh/helm/v4
# Idempotent: a binary set that is already cached is not rebuilt. Runnable standalone (CI).
# Usage: hack/build/binaries.sh [all|k8s|etcd|echo-basic|helm]...
set -euo pipefail

# K8S_VERSION, ETCD_VERSION, GATEWAY_API_VERSION (also read by hack/cluster/config.ts)
# shellcheck source=versions.env
. "$(dirname "${BASH_SOURCE[0]}")/versions.env"
CACHE="${CROSSWAY_CACHE:-$HOME/.cache/crossway}"
GO_MIN="1.26"
# Fetched from the proxy when the installed go cannot switch toolchains itself.
GO_TOOLCHAIN="${GO_TOOLCHAIN:-go1.26.8}"

export GOFLAGS=-mod=mod
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
# If the installed go is older than a module needs, let it fetch the right toolchain from the proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export CGO_ENABLED=0
LDFLAGS_BASE="-s -w"

log() { printf '[binaries %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

go_minor() { go env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p'; }

# A Go too old to switch toolchains itself (< 1.21, e.g. Debian 12's 1.19) downloads the pinned
# toolchain as the module golang.org/toolchain from the proxy, the way `GOTOOLCHAIN=auto` does.
bootstrap_toolchain() {
  local mod="golang.org/toolchain@v0.0.1-${GO_TOOLCHAIN}.$(go env GOOS)-$(go env GOARCH)" dir
  log "bootstrapping $GO_TOOLCHAIN from the Go module proxy ($mod)"
  dir="$(cd "$(mktemp -d)" && GO111MODULE=on GOFLAGS= go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -x "$dir/bin/go" ] || [ -f "$dir/bin/go" ] || die "could not download $mod"
  # The module cache drops the execute bits; restore them on the commands and tools.
  chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
  export PATH="$dir/bin:$PATH" GOTOOLCHAIN=local
  hash -r
}

ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="/usr/local/go/bin:$PATH"
    else
      log "go not found; installing Debian's golang-go to bootstrap $GO_TOOLCHAIN"
      command -v apt-get >/dev/null 2>&1 || die "no go toolchain and no apt-get; install Go >= ${GO_MIN}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
      command -v go >/dev/null 2>&1 || die "golang-go installed but go is not on PATH"
    fi
  fi
  local minor; minor="$(go_minor)"
  [ -n "$minor" ] || die "cannot tell the version of $(command -v go)"
  if [ "$minor" -lt 21 ] || [ -n "${CROSSWAY_FORCE_GO_BOOTSTRAP:-}" ]; then bootstrap_toolchain; fi
  log "using $(go version) ($(command -v go))"
}

# have_all DIR NAME... : true when every NAME is an executable file in DIR
have_all() {
  local dir="$1"; shift
  local n
  for n in "$@"; do [ -x "$dir/$n" ] || return 1; done
}

# new_workdir NAME : a fresh throwaway module directory
new_workdir() {
  local d="$CACHE/src/$1"
  rm -rf "$d" && mkdir -p "$d" && printf '%s' "$d"
}

# install_into STAGE DEST : move freshly built binaries into the cache atomically (rename per file)
install_into() {
  local stage="$1" dest="$2" f
  mkdir -p "$dest"
  for f in "$stage"/*; do mv -f "$f" "$dest/$(basename "$f")"; done
}

build_k8s() {
  local dest="$CACHE/k8s-$K8S_VERSION/bin"
  if have_all "$dest" kube-apiserver kube-controller-manager kubectl; then
    log "k8s $K8S_VERSION cached in $dest"; return
  fi
  local staging_version="v0.${K8S_VERSION#v1.}"   # v1.36.3 -> v0.36.3
  local work; work="$(new_workdir "k8s-$K8S_VERSION")"
  log "k8s $K8S_VERSION: resolving k8s.io/kubernetes and its staging modules (published as $staging_version)"
  local modfile
  modfile="$(cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$modfile" ] || die "could not download go.mod of k8s.io/kubernetes@$K8S_VERSION"
  # Every staging module is replaced in kubernetes' go.mod by ./staging/src/k8s.io/<name>;
  # map each one to its published version instead.
  local staging
  staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$modfile" | sort -u)"
  [ -n "$staging" ] || die "no staging modules found in $modfile"
  {
    printf 'module crossway.local/k8s-build\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$modfile")" "$K8S_VERSION"
    local m
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
    printf ')\n'
  } > "$work/go.mod"
  log "k8s $K8S_VERSION: $(echo "$staging" | wc -l) staging modules replaced; building (-p 2)"
  local major minor
  major="$(echo "$K8S_VERSION" | cut -d. -f1 | tr -d v)"; minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  local x="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x="$x -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  local stage="$work/out"; mkdir -p "$stage"
  (cd "$work" && go build -p 2 -trimpath -ldflags="$LDFLAGS_BASE$x" -o "$stage/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  install_into "$stage" "$dest"
  log "k8s $K8S_VERSION built into $dest"
}

build_etcd() {
  local dest="$CACHE/etcd-$ETCD_VERSION/bin"
  if have_all "$dest" etcd; then log "etcd $ETCD_VERSION cached in $dest"; return; fi
  local work; work="$(new_workdir "etcd-$ETCD_VERSION")"
  printf 'module crossway.local/etcd-build\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  log "etcd $ETCD_VERSION: building go.etcd.io/etcd/server/v3 (-p 2)"
  local stage="$work/out"; mkdir -p "$stage"
  (cd "$work" && go build -p 2 -trimpath -ldflags="$LDFLAGS_BASE" -o "$stage/etcd" go.etcd.io/etcd/server/v3)
  install_into "$stage" "$dest"
  log "etcd $ETCD_VERSION built into $dest"
}

build_echo_basic() {
  local dest="$CACHE/echo-basic-$GATEWAY_API_VERSION/bin"
  if have_all "$dest" echo-basic; then log "echo-basic $GATEWAY_API_VERSION cached in $dest"; return; fi
  local work; work="$(new_workdir "echo-basic-$GATEWAY_API_VERSION")"
  # conformance/ is its own module since v1.5 (it replaces its parent with ../, so pin both).
  printf 'module crossway.local/echo-basic-build\n\ngo 1.26\n\nrequire (\n\tsigs.k8s.io/gateway-api %s\n\tsigs.k8s.io/gateway-api/conformance %s\n)\n' \
    "$GATEWAY_API_VERSION" "$GATEWAY_API_VERSION" > "$work/go.mod"
  log "echo-basic $GATEWAY_API_VERSION: building sigs.k8s.io/gateway-api/conformance/echo-basic (-p 2)"
  local stage="$work/out"; mkdir -p "$stage"
  (cd "$work" && go build -p 2 -trimpath -ldflags="$LDFLAGS_BASE" -o "$stage/echo-basic" sigs.k8s.io/gateway-api/conformance/echo-basic)
  install_into "$stage" "$dest"
  log "echo-basic $GATEWAY_API_VERSION built into $dest"
}

build_helm() {
  local dest="$CACHE/helm-$HELM_VERSION/bin"
  if have_all "$dest" helm; then log "helm $HELM_VERSION cached in $dest"; return; fi
  local work; work="$(new_workdir "helm-$HELM_VERSION")"
  printf 'module crossway.local/helm-build\n\ngo 1.26\n\nrequire helm.sh/helm/v4 %s\n' "$HELM_VERSION" > "$work/go.mod"
  log "helm $HELM_VERSION: building helm.sh/helm/v4/cmd/helm (-p 2)"
  local stage="$work/out"; mkdir -p "$stage"
  (cd "$work" && go build -p 2 -trimpath \
    -ldflags="$LDFLAGS_BASE -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    -o "$stage/helm" helm.sh/helm/v4/cmd/helm)
  install_into "$stage" "$dest"
  log "helm $HELM_VERSION built into $dest"
}

main() {
  ensure_go
  local targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(all)
  local start=$SECONDS t
  for t in "${targets[@]}"; do
    case "$t" in
      all) build_echo_basic; build_etcd; build_k8s; build_helm ;;
      k8s) build_k8s ;;
      etcd) build_etcd ;;
      echo-basic) build_echo_basic ;;
      helm) build_helm ;;
      *) die "unknown target '$t' (expected all, k8s, etcd, echo-basic or helm)" ;;
    esac
  done
  log "done in $((SECONDS - start))s (cache: $CACHE)"
}

main "$@"
