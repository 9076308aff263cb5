# syntax=docker/dockerfile:1
# K8flex image: a static, cgo-free binary on a distroless base, running as
# non-root (uid 65532). The go build flags are the ones scripts/build-static.sh
# uses; scripts/test.sh runs that script and checks the binary is static.
#   docker build -t k8flex/k8flex:dev .
#   podman build -t k8flex/k8flex:dev .

# The base images are arguments so that the image can be built where no
# image registry is reachable: scripts/build-image.sh builds both from Debian
# packages and the host's Go toolchain, and checks the result. The defaults
# are the published images.
ARG GO_VERSION=1.26.8
ARG BUILD_IMAGE=golang:${GO_VERSION}-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# Empty (the default) means Go's default module proxy; scripts/build-image.sh
# points it at a read-only copy of the host's module download cache.
ARG GOPROXY
WORKDIR /src
# Modules first, so source edits do not invalidate the download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/k8flex ./cmd/k8flex

# The data directory the embedded store uses, owned by the non-root user.
RUN mkdir -p /out/var/lib/k8flex && chown 65532:65532 /out/var/lib/k8flex

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/k8flex /usr/local/bin/k8flex
COPY --from=build --chown=65532:65532 /out/var/lib/k8flex /var/lib/k8flex
USER 65532:65532
# Reachable from outside the container; serve refuses this without a webhook
# token (K8FLEX_SERVER_WEBHOOK_TOKEN) unless K8FLEX_SERVER_INSECURE=true.
ENV K8FLEX_KB_DATA_DIR=/var/lib/k8flex K8FLEX_SERVER_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/k8flex"]
CMD ["serve"]
