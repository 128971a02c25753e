#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1 for the store's contract tests and prints the
# URL to use on stdout (everything else goes to stderr):
#
#   export GUESTPASS_TEST_POSTGRES_URL="$(scripts/postgres-test-db.sh)"
#
# If nothing answers, it installs PostgreSQL from the Debian packages when missing, creates the
# cluster when missing and starts it (pg_ctlcluster, no systemd needed). It then makes sure the
# postgres user can connect over TCP from 127.0.0.1 without a password (a trust rule for that user
# on loopback only) and checks with a real query. Running it again changes nothing.
#
# GUESTPASS_PG_PORT (default 5432) and GUESTPASS_PG_CLUSTER (default main) select another
# port/cluster, which is how the script itself is tested next to a running server.
set -euo pipefail

port="${GUESTPASS_PG_PORT:-5432}"
cluster="${GUESTPASS_PG_CLUSTER:-main}"
host=127.0.0.1
url="postgres://postgres@${host}:${port}/postgres?sslmode=disable"

log() { echo "postgres-test-db: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# as_root runs a command as root (directly, or through sudo when available).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$host" -p "$port" -t 2; }

can_query() { PGCONNECT_TIMEOUT=5 psql -w -X -q -At -h "$host" -p "$port" -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; }

# newest installed server version (e.g. 15), empty when none
server_version() {
	local d
	d="$(ls -1 /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
	if [ -n "$d" ] && [ -x "/usr/lib/postgresql/$d/bin/postgres" ]; then
		echo "$d"
	fi
}

# version of the cluster $cluster, empty when it does not exist
cluster_version() {
	command -v pg_lsclusters >/dev/null 2>&1 || return 0
	pg_lsclusters --no-header 2>/dev/null | awk -v c="$cluster" '$2 == c { print $1 }' | sort -V | tail -n 1
}

install_server() {
	log "installing PostgreSQL from the Debian packages"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

wait_ready() {
	local i
	for i in $(seq 1 60); do
		if ready; then
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# ensure_trust adds "host all postgres <loopback> trust" rules at the top of pg_hba.conf (the first
# matching rule wins) and reloads the server.
ensure_trust() {
	local ver="$1" hba
	hba="/etc/postgresql/$ver/$cluster/pg_hba.conf"
	[ -f "$hba" ] || die "cannot connect as postgres on $host:$port and $hba does not exist; configure authentication by hand"
	if ! grep -q '^# guestpass-test-db' "$hba"; then
		log "allowing user postgres from loopback without a password in $hba"
		as_root cp "$hba" "$hba.guestpass-backup"
		as_root sh -c "{ printf '%s\n' '# guestpass-test-db: local test server, loopback only' \
			'host all postgres 127.0.0.1/32 trust' 'host all postgres ::1/128 trust'; cat '$hba.guestpass-backup'; } > '$hba'"
	fi
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" reload >&2
}

if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
	install_server
fi

if ready; then
	log "PostgreSQL answers on $host:$port"
else
	ver="$(cluster_version)"
	if [ -z "$ver" ]; then
		if [ -z "$(server_version)" ]; then
			install_server
		fi
		ver="$(cluster_version)"
	fi
	if [ -z "$ver" ]; then
		ver="$(server_version)"
		[ -n "$ver" ] || die "no PostgreSQL server found after installing"
		log "creating cluster $ver/$cluster on port $port"
		as_root pg_createcluster --port "$port" "$ver" "$cluster" >&2
	fi
	log "starting cluster $ver/$cluster"
	as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start >&2 || true
	wait_ready || die "PostgreSQL did not answer on $host:$port (see /var/log/postgresql/postgresql-$ver-$cluster.log)"
fi

if ! can_query; then
	ver="$(cluster_version)"
	[ -n "$ver" ] || die "cannot connect as postgres on $host:$port and no local cluster $cluster to configure"
	ensure_trust "$ver"
	for _ in $(seq 1 20); do
		can_query && break
		sleep 0.5
	done
	can_query || die "still cannot connect as postgres on $host:$port after allowing trust authentication"
fi

log "ready: $url"
echo "$url"
