#!/usr/bin/env bash
# build-image.sh builds the K8flex image from the Dockerfile with podman
# (vfs storage, no Docker engine) where no image registry is reachable, and
# proves what the image promises. The Dockerfile's base images are build
# arguments; this script builds both locally first:
#
#   localhost/k8flex-go-base      the build stage: this machine's Go toolchain
#                                 (go env GOROOT), busybox-static for RUN's shell,
#                                 CA certificates
#   localhost/k8flex-static-base  the runtime: nothing but CA certificates and
#                                 tzdata from Debian's packages, /etc/passwd with the
#                                 nonroot user 65532, /tmp; USER 65532:65532
#
# Modules come from a read-only copy of the host's module download cache
# (GOPROXY=file://…), so the build needs no network. Then it checks, from the
# saved image (podman save; layers unpacked into a root filesystem):
#   - the image's user is 65532:65532 and its command `serve`;
#   - /usr/local/bin/k8flex is a static, cgo-free binary;
#   - `k8flex demo` runs from that root filesystem as uid 65532 with the root
#     mounted read-only and only /tmp and /var/lib/k8flex writable (chroot in a
#     private mount namespace, as a pod with readOnlyRootFilesystem would);
# and prints the image size. `podman run` is tried and its outcome reported
# (on the VMs here crun cannot set RLIMIT_NOFILE, see the README).
#
#   K8FLEX_IMAGE_WORK  work directory (default: a temporary one, removed)
#   K8FLEX_IMAGE_TAG   tag of the built image (default localhost/k8flex:test)
# Needs root (chroot, mounts) and podman + busybox-static (installed when missing).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag=${K8FLEX_IMAGE_TAG:-localhost/k8flex:test}
work=${K8FLEX_IMAGE_WORK:-}
if [[ -z $work ]]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
podman=(podman --storage-driver vfs)
log() { echo "build-image: $*" >&2; }
fail() {
	echo "build-image: FAIL: $*" >&2
	exit 1
}
start=$(date +%s)

missing=()
command -v podman >/dev/null || missing+=(podman)
[[ -x /bin/busybox ]] || missing+=(busybox-static)
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
[[ -d /usr/share/zoneinfo ]] || missing+=(tzdata)
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# --- the build stage's base: Go toolchain + busybox shell + CA certificates
goroot=$(go env GOROOT)
gov=$(go env GOVERSION)
b="$work/go-base"
mkdir -p "$b/rootfs/bin" "$b/rootfs/usr/local" "$b/rootfs/etc/ssl/certs" "$b/rootfs/tmp" "$b/rootfs/root"
chmod 1777 "$b/rootfs/tmp"
cp /bin/busybox "$b/rootfs/bin/busybox"
for applet in sh mkdir chown ls cat env; do ln -sf busybox "$b/rootfs/bin/$applet"; done
cp -a "$goroot" "$b/rootfs/usr/local/go"
rm -rf "$b/rootfs/usr/local/go/test" "$b/rootfs/usr/local/go/doc" "$b/rootfs/usr/local/go/api"
cp /etc/ssl/certs/ca-certificates.crt "$b/rootfs/etc/ssl/certs/"
cat >"$b/Containerfile" <<'CF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/go/bin:/bin HOME=/root GOPATH=/go GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
CF
log "building localhost/k8flex-go-base ($gov)"
"${podman[@]}" build -q -t localhost/k8flex-go-base -f "$b/Containerfile" "$b" >/dev/null

# --- the runtime base: CA certificates, tzdata, the nonroot user, /tmp
r="$work/static-base"
mkdir -p "$r/rootfs/etc/ssl/certs" "$r/rootfs/usr/share" "$r/rootfs/tmp" "$r/rootfs/home/nonroot"
chmod 1777 "$r/rootfs/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$r/rootfs/etc/ssl/certs/"
cp -a /usr/share/zoneinfo "$r/rootfs/usr/share/zoneinfo"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$r/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$r/rootfs/etc/group"
chown 65532:65532 "$r/rootfs/home/nonroot"
cat >"$r/Containerfile" <<'CF'
FROM scratch
COPY rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
CF
log "building localhost/k8flex-static-base"
"${podman[@]}" build -q -t localhost/k8flex-static-base -f "$r/Containerfile" "$r" >/dev/null

# --- the image, from the project's Dockerfile
modcache=$(go env GOMODCACHE)/cache/download
(cd "$root" && go mod download) # every module of go.sum in the host's cache
t0=$(date +%s)
log "building $tag from the Dockerfile"
"${podman[@]}" build --isolation chroot -t "$tag" \
	--build-arg BUILD_IMAGE=localhost/k8flex-go-base \
	--build-arg RUNTIME_IMAGE=localhost/k8flex-static-base \
	--build-arg GOPROXY=file:///hostproxy \
	-v "$modcache:/hostproxy:ro" \
	-f "$root/Dockerfile" "$root" >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	fail "podman build"
}
log "image built in $(($(date +%s) - t0))s"

# --- what the image promises
user=$("${podman[@]}" image inspect --format '{{.Config.User}}' "$tag")
[[ $user == 65532:65532 ]] || fail "image user is $user, want 65532:65532"
cmd=$("${podman[@]}" image inspect --format '{{json .Config.Cmd}} {{json .Config.Entrypoint}}' "$tag")
[[ $cmd == '["serve"] ["/usr/local/bin/k8flex"]' ]] || fail "image command is $cmd"
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")

"${podman[@]}" save -o "$work/image.tar" "$tag" >/dev/null
mkdir -p "$work/unpack" "$work/rootfs"
tar -xf "$work/image.tar" -C "$work/unpack"
# docker-archive: manifest.json lists the layers bottom-up.
for layer in $(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))[0]["Layers"]))' "$work/unpack/manifest.json"); do
	tar -xf "$work/unpack/$layer" -C "$work/rootfs"
done
bin="$work/rootfs/usr/local/bin/k8flex"
[[ -x $bin ]] || fail "no /usr/local/bin/k8flex in the image"
desc=$(file -b "$bin")
[[ $desc == *"statically linked"* ]] || fail "k8flex in the image is not static: $desc"
go version -m "$bin" | grep -qE '^\s+build\s+CGO_ENABLED=0$' || fail "k8flex in the image was not built with CGO_ENABLED=0"
owner=$(stat -c %u:%g "$work/rootfs/var/lib/k8flex")
[[ $owner == 65532:65532 ]] || fail "/var/lib/k8flex is owned by $owner, want 65532:65532"

# k8flex demo as uid 65532, read-only root, writable /tmp and data dir only.
log "k8flex demo from the image's root filesystem (uid 65532, read-only root)"
demo_out="$work/demo.out"
unshare --mount --propagation private sh -ec '
	rootfs=$1
	mount --bind "$rootfs" "$rootfs"
	mount -o remount,bind,ro "$rootfs"
	mount -t tmpfs -o mode=1777 tmpfs "$rootfs/tmp"
	mount -t tmpfs -o uid=65532,gid=65532,mode=0750 tmpfs "$rootfs/var/lib/k8flex"
	touch "$rootfs/probe" 2>/dev/null && { echo "root filesystem is writable" >&2; exit 1; }
	exec chroot --userspec=65532:65532 "$rootfs" /usr/local/bin/k8flex demo
' sh "$work/rootfs" >"$demo_out" 2>&1 || {
	tail -n 30 "$demo_out" >&2
	fail "k8flex demo from the image"
}
grep -q "Root cause" "$demo_out" || fail "k8flex demo printed no analysis: $(tail -n 5 "$demo_out")"

# podman run, reported (not required): see README.
if "${podman[@]}" run --rm --read-only --user 65532:65532 "$tag" --help >"$work/run.out" 2>&1; then
	log "podman run works here"
else
	log "podman run does not work here: $(grep -m1 -iE 'error|denied|not permitted|not supported' "$work/run.out" || tail -n 1 "$work/run.out")"
fi

# The build stage's image is no longer needed (the tagged ones are kept).
"${podman[@]}" image prune -f >/dev/null 2>&1 || true
log "ok: user 65532:65532, static cgo-free binary, demo ran read-only as 65532"
echo "image $tag: $((size / 1024 / 1024)) MiB ($size bytes), binary $(du -b "$bin" | cut -f1) bytes, total $(($(date +%s) - start))s"
