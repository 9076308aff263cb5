#!/usr/bin/env bash
# build-helm.sh builds the Helm CLI (v4.3.2) from the separate Go module in
# tools/helm into a cache directory, and prints the binary's path on its last
# line of standard output. It does nothing when the binary is already there,
# so it is cheap to call before every test run. Helm has no Debian package;
# the chart tests (charts/k8flex) run `helm lint` and `helm template` with it.
#
#   K8FLEX_HELM_DIR      where the binary goes
#                        (default ${XDG_CACHE_HOME:-$HOME/.cache}/k8flex/helm-v4.3.2)
#   K8FLEX_HELM_GOCACHE  Go build cache for this build (default: the apiserver's,
#                        which shares most of Helm's k8s.io dependencies)
set -euo pipefail

version=v4.3.2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/k8flex
out=${K8FLEX_HELM_DIR:-$cache/helm-$version}

if [[ -x $out/helm ]]; then
	echo "$out/helm"
	exit 0
fi

mkdir -p "$out"
start=$(date +%s)
echo "build-helm: building helm $version into $out" >&2
(
	cd "$root/tools/helm"
	export GOCACHE=${K8FLEX_HELM_GOCACHE:-$cache/gocache-apiserver}
	export CGO_ENABLED=0
	tmp=$(mktemp -d "$out/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# Helm stamps its version through internal/version; without it `helm version` says v4-dev.
	go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
		-o "$tmp/helm" helm.sh/helm/v4/cmd/helm
	mv "$tmp/helm" "$out/helm"
)
echo "build-helm: done in $(($(date +%s) - start))s" >&2
"$out/helm" version >&2
echo "$out/helm"
