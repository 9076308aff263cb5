# Shortcuts for the scripts in scripts/ (each documents itself).
.PHONY: test apiserver helm static image image-test

# The one test command: installs/starts what tests need, then gofmt, vet, static build, go test -race.
test:
	scripts/test.sh

# Build the real kube-apiserver + kubectl used by the tests (cached; cold: minutes).
apiserver:
	scripts/build-apiserver.sh

# Build the Helm CLI the chart tests use (cached; from tools/helm).
helm:
	scripts/build-helm.sh

# Check that k8flex builds static and cgo-free with the Dockerfile's flags (scripts/build-static.sh OUT keeps it).
static:
	scripts/build-static.sh

image:
	docker build -t k8flex/k8flex:dev .

# Build the image with podman from locally built base images and prove it (scripts/build-image.sh).
image-test:
	scripts/build-image.sh
