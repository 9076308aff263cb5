#!/usr/bin/env bash
# build-apiserver.sh builds the real kube-apiserver and kubectl (Kubernetes v1.37.2)
# from the separate Go module in tools/apiserver into a cache directory, and prints
# that directory on its last line of standard output. It does nothing when both
# binaries are already there, so it is cheap to call before every test run.
#
#   K8FLEX_APISERVER_DIR   where the binaries go
#                          (default ${XDG_CACHE_HOME:-$HOME/.cache}/k8flex/apiserver-v1.37.2)
#   K8FLEX_APISERVER_GOCACHE  Go build cache for this (cold: ~2.7 GB, ~4-5 min, 2.8 GB RAM)
#                          build; separate from the main one by default so that the first
#                          Go command on a fresh machine does not race it.
#
# The binaries are stamped with the release version: kubectl refuses to talk to an
# API server whose version it cannot parse.
set -euo pipefail

version=v1.37.2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/k8flex
out=${K8FLEX_APISERVER_DIR:-$cache/apiserver-$version}

if [[ -x $out/kube-apiserver && -x $out/kubectl ]]; then
	echo "$out"
	exit 0
fi

mkdir -p "$out"
# Stamp both version packages, as Kubernetes' own hack/lib/version.sh does.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=37"
	ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

start=$(date +%s)
echo "build-apiserver: building kube-apiserver and kubectl $version into $out (cold: several minutes)" >&2
(
	cd "$root/tools/apiserver"
	export GOCACHE=${K8FLEX_APISERVER_GOCACHE:-$cache/gocache-apiserver}
	export CGO_ENABLED=0
	tmp=$(mktemp -d "$out/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
	# Move into place only when both built, so a killed build never looks complete.
	mv "$tmp/kube-apiserver" "$tmp/kubectl" "$out/"
)
echo "build-apiserver: done in $(($(date +%s) - start))s" >&2
"$out/kube-apiserver" --version >&2
echo "$out"
