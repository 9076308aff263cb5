# syntax=docker/dockerfile:1
# K8flex image: a static, cgo-free binary on a distroless base, running as
# non-root (uid 65532). The go build flags are the ones scripts/build-static.sh
# uses; scripts/test.sh runs that script and checks the binary is static.
#   docker build -t k8flex/k8flex:dev .

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so source edits do not invalidate the download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/k8flex ./cmd/k8flex

# The data directory the embedded store uses, owned by the non-root user.
RUN mkdir -p /out/var/lib/k8flex && chown 65532:65532 /out/var/lib/k8flex

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/k8flex /usr/local/bin/k8flex
COPY --from=build --chown=65532:65532 /out/var/lib/k8flex /var/lib/k8flex
USER 65532:65532
# Reachable from outside the container; serve refuses this without a webhook
# token (K8FLEX_SERVER_WEBHOOK_TOKEN) unless K8FLEX_SERVER_INSECURE=true.
ENV K8FLEX_KB_DATA_DIR=/var/lib/k8flex K8FLEX_SERVER_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/k8flex"]
CMD ["serve"]
