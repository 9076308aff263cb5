#!/usr/bin/env bash
# postgres.sh installs (when missing) and starts a throwaway PostgreSQL 15 with
# pgvector 0.8.0 for K8flex's tests and benchmarks, then prints
#
#   export K8FLEX_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/k8flex_test?sslmode=disable
#
# on stdout, so `eval "$(scripts/postgres.sh)"` sets it in the caller's shell.
# Progress goes to stderr. Every step is skipped when already done (packages
# installed, pgvector installed, cluster initialised, server running,
# database created), so running it twice is cheap.
#
# Debian 12 ships PostgreSQL 15 but no pgvector; the pgvector source package
# of Debian 13 builds against bookworm's server headers. It is fetched with a
# private apt configuration (its own source list, state and cache
# directories) pointing a deb-src line at the Debian mirror this machine
# already uses; the system's apt sources are left untouched.
#
# The cluster is for tests only: trust authentication, fsync off, bound to
# 127.0.0.1. Environment overrides:
#   K8FLEX_PG_PORT  port to listen on          (default 55432)
#   K8FLEX_PG_DIR   where the cluster lives     (default /var/tmp/k8flex-pg)
#   K8FLEX_PG_DB    database to create          (default k8flex_test)
#   K8FLEX_PG_STOP  when 1, stop the cluster and exit
set -euo pipefail

PG_MAJOR=15
PGVECTOR_SRC_VERSION=0.8.0-1
PGVECTOR_VERSION=0.8.0
PORT="${K8FLEX_PG_PORT:-55432}"
BASE="${K8FLEX_PG_DIR:-/var/tmp/k8flex-pg}"
DB="${K8FLEX_PG_DB:-k8flex_test}"
BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
DATA="${BASE}/data"

log() { echo "postgres.sh: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# as_root runs a command as root (directly, or through sudo for a non-root user).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# as_pg runs a command as the user owning the cluster: postgres when we are
# root (initdb refuses root), else the current user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

install_packages() {
	local missing=()
	for p in "postgresql-${PG_MAJOR}" "postgresql-server-dev-${PG_MAJOR}" dpkg-dev make gcc; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		log "packages already installed"
		return
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
		as_root apt-get update >&2
		as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2
	fi
}

# debian_mirror prints the URI of the main (non-security) Debian archive this
# machine's apt is configured with.
debian_mirror() {
	local uri=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		uri="$(awk '
			/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }
		' /etc/apt/sources.list.d/debian.sources)"
	fi
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		uri="$(awk '
			$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } else break } }
		' /etc/apt/sources.list)"
	fi
	[ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
	echo "$uri"
}

pgvector_installed() {
	local control
	control="$("${BIN}/pg_config" --sharedir)/extension/vector.control"
	[ -f "$control" ] && grep -q "default_version = '${PGVECTOR_VERSION}'" "$control" &&
		[ -f "$("${BIN}/pg_config" --pkglibdir)/vector.so" ]
}

install_pgvector() {
	if pgvector_installed; then
		log "pgvector ${PGVECTOR_VERSION} already installed"
		return
	fi
	local mirror work keyring
	mirror="$(debian_mirror)"
	work="$(mktemp -d)"
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" EXIT
	mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	if [ -r "$keyring" ]; then
		echo "deb-src [signed-by=${keyring}] ${mirror} trixie main" >"$work/sources.list"
	else
		echo "deb-src ${mirror} trixie main" >"$work/sources.list"
	fi
	local aptopts=(
		-o "Dir::Etc::SourceList=$work/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$work/lists"
		-o "Dir::Cache=$work/cache"
		-o "APT::Sandbox::User=root"
	)
	log "fetching pgvector ${PGVECTOR_SRC_VERSION} source (private apt config, trixie deb-src)"
	apt-get "${aptopts[@]}" update >&2
	(cd "$work/src" && apt-get "${aptopts[@]}" source "pgvector=${PGVECTOR_SRC_VERSION}" >&2)
	local dir="$work/src/pgvector-${PGVECTOR_VERSION}"
	[ -d "$dir" ] || die "apt-get source did not unpack $dir"
	log "building pgvector"
	make -C "$dir" PG_CONFIG="${BIN}/pg_config" OPTFLAGS="" >&2
	as_root make -C "$dir" PG_CONFIG="${BIN}/pg_config" OPTFLAGS="" install >&2
	pgvector_installed || die "pgvector ${PGVECTOR_VERSION} is not installed after make install"
	rm -rf "$work"
	trap - EXIT
}

init_cluster() {
	if [ -f "$DATA/PG_VERSION" ]; then
		log "cluster already initialised in $DATA"
		return
	fi
	log "initialising cluster in $DATA"
	mkdir -p "$BASE/sock"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$BASE" "$BASE/sock"
	fi
	as_pg "${BIN}/initdb" -D "$DATA" --auth=trust --username=postgres --encoding=UTF8 --no-sync >&2
	cat >>"$DATA/postgresql.conf" <<EOF

# K8flex test cluster (scripts/postgres.sh): throwaway, not for production.
listen_addresses = '127.0.0.1'
port = ${PORT}
unix_socket_directories = '${BASE}/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 256MB
maintenance_work_mem = 256MB
EOF
}

start_cluster() {
	if "${BIN}/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2; then
		log "server already running on port ${PORT}"
		return
	fi
	# Not answering: a server killed with its machine's other processes
	# (as before a CI run) leaves postmaster.pid behind. pg_ctl trusts a
	# pid that is alive, so wait for a dying server's children to go, and
	# drop the file when its pid is gone or belongs to another program.
	for _ in $(seq 1 50); do
		as_pg "${BIN}/pg_ctl" -D "$DATA" status >/dev/null 2>&1 || break
		sleep 0.2
	done
	if [ -f "$DATA/postmaster.pid" ]; then
		pid=$(head -n 1 "$DATA/postmaster.pid")
		if ! grep -qs postgres "/proc/${pid}/comm"; then
			log "removing the stale postmaster.pid of a server that is gone (pid ${pid})"
			rm -f "$DATA/postmaster.pid"
		fi
	fi
	log "starting server on 127.0.0.1:${PORT}"
	# 9>&- : the server must not inherit (and so hold forever) the script's lock.
	as_pg "${BIN}/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w -t 60 start >&2 9>&- ||
		die "server did not start; see $BASE/server.log"
}

create_database() {
	local psql=(env PGOPTIONS="-c client_min_messages=warning" "${BIN}/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
	# The extension in template1 is inherited by every database tests create.
	"${psql[@]}" -d template1 -c "CREATE EXTENSION IF NOT EXISTS vector" >&2
	if [ "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '${DB}'")" != "1" ]; then
		log "creating database ${DB}"
		"${psql[@]}" -d postgres -c "CREATE DATABASE \"${DB}\"" >&2
	fi
	"${psql[@]}" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS vector" >&2
}

main() {
	mkdir -p "$(dirname "$BASE")"
	# Serialise concurrent runs (CI and a developer, or two test jobs).
	exec 9>"${BASE}.lock"
	flock 9
	if [ "${K8FLEX_PG_STOP:-0}" = 1 ]; then
		if [ -f "$DATA/PG_VERSION" ]; then
			as_pg "${BIN}/pg_ctl" -D "$DATA" -m fast stop >&2 || true
		fi
		return
	fi
	install_packages
	install_pgvector
	init_cluster
	start_cluster
	create_database
	echo "export K8FLEX_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:${PORT}/${DB}?sslmode=disable"
}

main "$@"
