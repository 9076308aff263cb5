#!/usr/bin/env bash
# install-deps.sh installs, from Debian's packages, the real components K8flex's
# tests run against: etcd (for the real kube-apiserver), Alertmanager and amtool,
# and the small tools the scripts use. It is idempotent: when every package is
# already installed it does nothing (and needs no network). Needs root (or sudo).
set -euo pipefail

packages=(
	etcd-server            # /usr/bin/etcd, storage of the real kube-apiserver in tests
	prometheus-alertmanager # /usr/bin/prometheus-alertmanager and /usr/bin/amtool
	prometheus             # prometheus and promtool: the metrics tests backfill and query a real Prometheus
	git ca-certificates    # go module downloads
	file                   # scripts/build-static.sh checks the binary is static
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} == 0)); then
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 -y -q)
# One index update per machine: skip it when the lists are fresh (less than a day old)
# or when the caller already did it (K8FLEX_APT_UPDATED=1, as .ci/run does).
if [[ ${K8FLEX_APT_UPDATED:-} != 1 ]] &&
	! find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | grep -q .; then
	"${apt[@]}" update
fi
"${apt[@]}" install --no-install-recommends "${missing[@]}"
