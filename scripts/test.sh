#!/usr/bin/env bash
# test.sh is K8flex's one test command, the same for a newcomer and for CI:
#
#   scripts/test.sh              everything: gofmt, go vet (both modules), the static
#                                build check, go test -race -count=1 -timeout 30m ./..., then each
#                                fuzz target of the hostile-input suite for a bounded
#                                time (K8FLEX_FUZZTIME, default 10s each; 0 skips)
#   scripts/test.sh PKG... [FLAGS]  only go test -race -count=1 on those packages
#
# It first installs and starts what the tests run against, each step skipped
# when already done: Debian packages (etcd, Alertmanager, amtool), PostgreSQL 15
# + pgvector on 127.0.0.1:55432 (scripts/postgres.sh), and the real
# kube-apiserver + kubectl v1.37.2 (scripts/build-apiserver.sh; the first build
# takes several minutes and ~3 GB of RAM, later runs reuse it), and the Helm CLI
# v4.3.2 for the chart tests (scripts/build-helm.sh, cached the same way). Installing
# needs root or sudo. Set K8FLEX_TEST_NO_SETUP=1 to skip all of that and run
# with whatever is there (tests needing a missing component then skip, except
# when CI is set, where they fail).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
step() { echo "==> $*" >&2; }

if [[ ${K8FLEX_TEST_NO_SETUP:-} != 1 ]]; then
	step "components (installed and started when missing)"
	scripts/install-deps.sh
	pg_env=$(scripts/postgres.sh)
	eval "$pg_env"
	K8FLEX_APISERVER_DIR=$(scripts/build-apiserver.sh | tail -n 1)
	export K8FLEX_APISERVER_DIR
	K8FLEX_HELM=$(scripts/build-helm.sh | tail -n 1)
	export K8FLEX_HELM
fi
export K8FLEX_TEST_DATABASE_URL=${K8FLEX_TEST_DATABASE_URL:-}
export K8FLEX_TEST_ALERTMANAGER=${K8FLEX_TEST_ALERTMANAGER:-/usr/bin/prometheus-alertmanager}
export K8FLEX_TEST_AMTOOL=${K8FLEX_TEST_AMTOOL:-/usr/bin/amtool}
export K8FLEX_ETCD=${K8FLEX_ETCD:-/usr/bin/etcd}

if (($# > 0)); then
	step "go test -race -count=1 -timeout 30m $*"
	exec go test -race -count=1 -timeout 30m "$@"
fi

step "gofmt"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
if [[ -n $unformatted ]]; then
	echo "not gofmt-ed (run gofmt -w on them):" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet ./..."
go vet ./...
step "go vet (tools/apiserver module)"
(cd tools/apiserver && go vet ./...)
step "go vet (tools/helm module)"
(cd tools/helm && go vet ./...)

step "static build (scripts/build-static.sh)"
scripts/build-static.sh

# -timeout: cmd/k8flex holds the whole-server tests (storms through the
# real Alertmanager, kill -9 and restarts, Slack's limits held for minutes):
# ~8-10 minutes under -race on two cores, beyond go test's default 10m.
step "go test -race -count=1 -timeout 30m ./..."
go test -race -count=1 -timeout 30m ./...

# The hostile-input suite: go test above replays every fuzz target's seeds
# and saved corpus; here each target also explores new inputs for a
# bounded time. A failing input is saved under the package's
# testdata/fuzz/ and printed; commit it as a regression seed with the fix.
fuzztime=${K8FLEX_FUZZTIME:-10s}
if [[ $fuzztime != 0 ]]; then
	for target in ./handlers:FuzzWebhook ./investigate:FuzzParseWebhook ./investigate:FuzzParseTarget \
		./bot:FuzzSlashCommand ./bot:FuzzRenderBlocks ./redact:FuzzString; do
		step "fuzz ${target#*:} (${target%%:*}) for $fuzztime"
		go test -run '^$' -fuzz "^${target#*:}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "${target%%:*}"
	done
fi
