#!/usr/bin/env bash
# build-static.sh builds ./cmd/k8flex exactly as the Dockerfile's build stage
# does (CGO_ENABLED=0, -trimpath, -ldflags="-s -w") and proves the result is a
# static binary that needs no C library: `go version -m` must record
# CGO_ENABLED=0, the ELF file must have no dynamic section / interpreter, and
# the binary must start (`k8flex --help` on a clean environment).
#
#   scripts/build-static.sh [OUTPUT]   (default: a temporary file, removed after checking)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-}
cleanup=
if [[ -z $out ]]; then
	out=$(mktemp -d)/k8flex
	cleanup=$(dirname "$out")
	trap 'rm -rf "$cleanup"' EXIT
fi

# Keep these flags identical to the Dockerfile's build stage.
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out" ./cmd/k8flex)

fail() {
	echo "build-static: $*" >&2
	exit 1
}
go version -m "$out" | grep -qE '^\s+build\s+CGO_ENABLED=0$' ||
	fail "$out was not built with CGO_ENABLED=0: $(go version -m "$out" | grep CGO_ENABLED || true)"
go version -m "$out" | grep -qE '^\s+build\s+-trimpath=true$' || fail "$out was not built with -trimpath"
if command -v file >/dev/null; then
	desc=$(file -b "$out")
	[[ $desc == *"statically linked"* ]] || fail "$out is not statically linked: $desc"
fi
# No ELF program interpreter means no dynamic loader and no libc at run time.
if command -v readelf >/dev/null && readelf -l "$out" | grep -q 'INTERP'; then
	fail "$out asks for a program interpreter (dynamic loader)"
fi
# It must run with nothing around it (no HOME, no PATH), like in the image.
env -i "$out" --help >/dev/null 2>&1 || {
	rc=$?
	# --help may exit 0 or 2 (flag package convention); anything else is a crash.
	((rc == 2)) || fail "$out --help exited $rc"
}
echo "build-static: $out is static ($(du -h "$out" | cut -f1), CGO_ENABLED=0, -trimpath)"
