# lib.sh: sourced by the scripts in test/. Where things live, how to run a
# command as the postgres OS user, and throwaway clusters.

set -euo pipefail

CL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
export PG_CONFIG=$PG_BIN/pg_config

# PostgreSQL refuses to run as root: the scripts run as root (or re-run
# themselves with sudo) and start every server as the postgres OS user.
require_root() {
	if [ "$(id -u)" != 0 ]; then
		exec sudo -E bash "$0" "$@"
	fi
}

# From /, so that a clone in a folder postgres cannot enter (mktemp -d) is
# no problem: every path given to as_pg is absolute.
as_pg() {
	(cd / && runuser -u postgres -- "$@")
}

# A folder the postgres user can write: under the project's ignored .run/
# when postgres can reach the project, else under /tmp (for instance when the
# clone sits in /root).
work_dir() {
	local name=$1 dir
	if runuser -u postgres -- test -x "$CL_REPO" 2>/dev/null; then
		dir=$CL_REPO/.run/$name
	else
		dir=/tmp/credit_ledger-$(echo "$CL_REPO" | md5sum | cut -c1-8)/$name
	fi
	mkdir -p "$dir"
	chown postgres: "$dir" "$(dirname "$dir")"
	echo "$dir"
}

# The first TCP port on localhost that nothing listens on, from $1 up.
free_port() {
	local port=$1
	while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	echo "$port"
}

# cluster_start DIR PORT [BINDIR] [extra postgresql.conf lines...]
# A throwaway cluster: trust auth, its socket inside DIR, the library preloaded.
cluster_start() {
	local dir=$1 port=$2 bindir=${3:-$PG_BIN}
	shift 3 || shift $#
	cluster_stop "$dir" "$bindir"
	rm -rf "$dir/data" "$dir/server.log"
	mkdir -p "$dir/sock"
	chown -R postgres: "$dir"
	as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >"$dir/initdb.log" 2>&1
	{
		echo "port = $port"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir/sock'"
		echo "shared_preload_libraries = 'credit_ledger'"
		for line in "$@"; do echo "$line"; done
	} >>"$dir/data/postgresql.conf"
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

cluster_stop() {
	local dir=$1 bindir=${2:-$PG_BIN}
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

# Debian 12 packages: only what is missing is installed, and nothing that
# is installed already is upgraded (--no-upgrade). It says what it will
# install before it does, and if a missing package needs a newer version of
# an installed one (a server-dev package newer than the installed libpq),
# it names that upgrade first. python3-psycopg2 drives test/ledger_load.py
# (the stress, crash, backup and upgrade loads).
install_deps() {
	install_packages postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap \
		libtap-parser-sourcehandler-pgtap-perl libipc-run-perl build-essential sqlsmith \
		python3-psycopg2
}

# install_packages PACKAGE...: install_deps's way for any list (test/clients.sh
# installs the drivers and toolchains of its examples with it)
install_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "== missing Debian packages: ${missing[*]}"
	echo "== apt-get update"
	apt-get update -qq
	local plan upgrades
	plan=$(apt-get install -s -y --no-install-recommends --no-upgrade "${missing[@]}")
	echo "== installing: $(sed -nE 's/^Inst ([^ ]+) \(.*/\1/p' <<<"$plan" | tr '\n' ' ')"
	upgrades=$(sed -nE 's/^Inst ([^ ]+) \[([^]]+)\] \(([^ ]+).*/\1 \2 -> \3/p' <<<"$plan")
	if [ -n "$upgrades" ]; then
		echo "== the packages above need these installed packages upgraded:"
		sed 's/^/   /' <<<"$upgrades"
	fi
	# progress: one line per package fetched and set up, and apt's errors
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-upgrade \
		"${missing[@]}" 2>&1 | { grep --line-buffered -E '^(Get:|Setting up|E:)' || true; } \
		| sed -u 's/^/   /'
}

# Builds the extension (CI passes -Werror and friends through COPT).
build() {
	echo "== building credit_ledger"
	make -s -C "$CL_REPO" PG_CONFIG="$PG_CONFIG" ${COPT:+COPT="$COPT"}
}

# private_install DIR: a private copy of PostgreSQL 15 with this build of the
# extension installed into it; prints its bindir. Servers started from it
# find their share and lib dirs next to their binaries, so parallel runs of
# different builds never overwrite each other's library.
private_install() {
	local tree=$1/install
	rm -rf "$tree"
	mkdir -p "$tree/usr/lib/postgresql" "$tree/usr/share/postgresql"
	cp -a /usr/lib/postgresql/15 "$tree/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$tree/usr/share/postgresql/"
	make -s -C "$CL_REPO" PG_CONFIG="$PG_CONFIG" install DESTDIR="$tree" >/dev/null
	chown -R postgres: "$tree"
	echo "$tree$PG_BIN"
}

# script_env NAME: for the scripts check.sh runs (stress, crash...). Sets DIR
# to the script's folder and TREE_BIN to this build's PostgreSQL, which
# check.sh passes down; run alone, a script builds and installs its own.
script_env() {
	local name=$1
	if [ -z "${TREE_BIN:-}" ] || [ -z "${WORK:-}" ]; then
		install_deps
		build
		WORK=$(work_dir "$name")
		TREE_BIN=$(private_install "$WORK")
	fi
	DIR=$WORK/$name
	mkdir -p "$DIR"
	chown postgres: "$DIR"
}

# FINGERPRINT: every extension table as "name rows md5-of-rows", one line each
FINGERPRINT="
SELECT c.relname || ' ' || (xpath('/row/f/text()', query_to_xml(format(
         'SELECT count(*) || '' '' || coalesce(md5(string_agg(x::text, ''|'' ORDER BY x::text)), ''-'') AS f FROM %s x',
         c.oid::regclass), false, true, '')))[1]::text
FROM pg_class c
WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind = 'r'
ORDER BY c.relname"

# Checks on a running cluster, for the scripts check.sh runs. A script sets
# CHECK_DIR and CHECK_PORT to its cluster (cluster_start's DIR and PORT) and
# failed=0, then ends with [ "$failed" -eq 0 ].

# sql DB QUERY: one query, unaligned output
sql() {
	as_pg "$TREE_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$CHECK_DIR/sock" -p "$CHECK_PORT" \
		-U postgres -d "$1" -c "$2"
}

# sqlstate DB STATEMENT: the SQLSTATE the statement raises, or "no error"
sqlstate() {
	local out
	out=$(sql "$1" "DO \$\$ BEGIN $2; RAISE NOTICE 'no error';
		EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 || true)
	sed -n 's/^NOTICE:  //p' <<<"$out"
}

# check WHAT EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		echo "ok - $1"
	else
		echo "not ok - $1: expected '$2', got '$3'"
		failed=1
	fi
}

# wait_for DB QUERY: polls (at most 60 s) until QUERY returns t
wait_for() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(sql "$1" "$2" 2>/dev/null)" = t ] && return 0
		sleep 0.2
	done
	return 1
}

# dsn DIR PORT [DBNAME]: a libpq connection string for a cluster_start cluster
dsn() {
	echo "host=$1/sock port=$2 user=postgres dbname=${3:-postgres}"
}
