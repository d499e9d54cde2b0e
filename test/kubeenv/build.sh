#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the real-API test suite, and kubectl for the manifests' kustomize check, from the
# Go module proxy (wrapper module in this folder: go.mod requires k8s.io/kubernetes and replaces every staging module
# with its published v0.x version), caches them by version in ${FORESIGHT_CACHE:-~/.cache/foresight}/kube/<version>/
# and links them into ${FORESIGHT_CACHE}/bin/ where test/helpers/binaries.ts finds them. Also downloads the VPA module
# and records the path of its CRD file in ${FORESIGHT_CACHE}/kube/vpa-crd.path (read by test/helpers/kube-env.ts).
# Idempotent: a second run with the binaries cached does no build. Never commit the binaries.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"

CACHE="${FORESIGHT_CACHE:-$HOME/.cache/foresight}"
VPA_VERSION="${FORESIGHT_VPA_VERSION:-v1.7.1}"
KUBE_VERSION="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
ETCD_VERSION="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
OUT="$CACHE/kube/$KUBE_VERSION-etcd-$ETCD_VERSION"
mkdir -p "$OUT" "$CACHE/bin"
log() { printf '[kubeenv %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

build() { # name package ldflags
  local name="$1" pkg="$2" ldflags="$3"
  if [ -x "$OUT/$name" ] && { "$OUT/$name" --version || "$OUT/$name" version --client; } >/dev/null 2>&1; then
    log "$name cached in $OUT"
    return
  fi
  log "building $name ($pkg) into $OUT; a cold build takes 10-20 minutes on 2 cores"
  local start; start=$(date +%s)
  CGO_ENABLED=0 go build -trimpath -o "$OUT/$name.tmp" -ldflags "$ldflags" "$pkg"
  mv -f "$OUT/$name.tmp" "$OUT/$name"
  log "built $name in $(( $(date +%s) - start ))s"
}

build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
  "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitCommit=0000000000000000000000000000000000000000 -X k8s.io/component-base/version.gitTreeState=clean"
build etcd go.etcd.io/etcd/server/v3 "-s -w"
# kubectl for `kubectl kustomize deploy/...` in test/artifacts (its kustomize is the one `kubectl apply -k` runs)
build kubectl k8s.io/kubernetes/cmd/kubectl \
  "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"

ln -sfn "$OUT/kube-apiserver" "$CACHE/bin/kube-apiserver"
ln -sfn "$OUT/etcd" "$CACHE/bin/etcd"
ln -sfn "$OUT/kubectl" "$CACHE/bin/kubectl"

# The VPA CRDs come from the autoscaler module itself (no copy committed).
VPA_DIR="$(cd "$(mktemp -d)" && go mod download -json "k8s.io/autoscaler/vertical-pod-autoscaler@$VPA_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
CRD="$VPA_DIR/deploy/vpa-v1-crd-gen.yaml"
if [ ! -f "$CRD" ]; then
  echo "kubeenv: $CRD not found in k8s.io/autoscaler/vertical-pod-autoscaler@$VPA_VERSION" >&2
  exit 1
fi
printf '%s\n' "$CRD" > "$CACHE/kube/vpa-crd.path"
log "kube-apiserver $("$CACHE/bin/kube-apiserver" --version 2>&1 | tail -1); etcd $("$CACHE/bin/etcd" --version 2>&1 | head -1)"
log "VPA CRD: $CRD"
