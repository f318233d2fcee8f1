#!/usr/bin/env bash
# check.sh: the whole test suite. Installs what is missing, builds, installs
# the extension into a private copy of PostgreSQL 15 (the system install is
# left alone), then runs every suite on throwaway servers as the postgres
# user. Ends with "N passed, N failed" and a non-zero exit on any failure.
source "$(dirname "$0")/lib.sh"
require_root "$@"
install_deps
build

WORK=$(work_dir check)
rm -rf "${WORK:?}"/*
PGXS_SRC=$(dirname "$(dirname "$($PG_CONFIG --pgxs)")")

TREE_BIN=$(private_install "$WORK")
export TREE_BIN WORK

# the tests, staged where postgres can read them
mkdir -p "$WORK/src"
cp -a "$CL_REPO/test" "$WORK/src/test"
cp -a "$CL_REPO/expected" "$WORK/src/test/expected"
chown -R postgres: "$WORK"

passed=0
failed=0
failures=()

# record NAME STATUS: one line per test unit
record() {
	if [ "$2" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$1")
	fi
}

# run_script NAME SCRIPT [ARGS]: a test script (restart, crash, stress...)
# that exits 0 when everything it checks holds. It finds this build's
# PostgreSQL in $TREE_BIN and may use $WORK/NAME for its files.
run_script() {
	local name=$1
	shift
	echo "== $name"
	mkdir -p "$WORK/$name"
	chown postgres: "$WORK/$name"
	if bash "$@"; then
		record "$name" ok
	else
		record "$name" FAILED
	fi
}

# run_tap NAME: the TAP test test/t/NAME.pl (PostgreSQL::Test::Cluster),
# run by prove as the postgres user against this build's PostgreSQL. One
# test file is one unit of the tally, passed when all its assertions pass.
PERL_TEST_LIB=$PGXS_SRC/test/perl
run_tap() {
	local name=$1 dir=$WORK/tap/$1
	echo "== $name (TAP)"
	mkdir -p "$dir"
	chown -R postgres: "$WORK/tap"
	if as_pg env PATH="$TREE_BIN:$PATH" TESTDIR="$dir" \
		PG_TEST_PORT_DIR="$WORK/tap" PG_REGRESS="$PGXS_SRC/test/regress/pg_regress" \
		prove -I "$PERL_TEST_LIB" "$WORK/src/test/t/$name.pl"; then
		record "tap/$name" ok
	else
		record "tap/$name" FAILED
		cat "$dir"/tmp_check/log/regress_log_* 2>/dev/null | tail -40
	fi
}

# pg_regress-style runner: counts each test's ok/FAILED line. The server
# is a temporary instance with the extension created fresh, unless
# INSTANCE_OPTS names an existing one (the updated database below).
run_pg_regress() {
	local suite=$1 runner=$2 inputdir=$3
	shift 3
	[ $# -gt 0 ] || return 0
	local out=$WORK/$suite
	mkdir -p "$out"
	chown postgres: "$out"
	echo "== $suite"
	local instance=(--temp-instance="$out/instance" --temp-config="$WORK/src/test/regress.conf"
		--load-extension=credit_ledger)
	[ -z "${INSTANCE_OPTS+x}" ] || instance=("${INSTANCE_OPTS[@]}")
	as_pg "$runner" --bindir="$TREE_BIN" --inputdir="$inputdir" --outputdir="$out" \
		"${instance[@]}" --dbname=contrib_regression "$@" \
		| tee "$out/summary.log" || true
	local name status seen=0
	while read -r name status; do
		record "$suite/$name" "$status"
		seen=$((seen + 1))
	done < <(sed -nE 's/^(test +| +)?([A-Za-z0-9_]+) +\.\.\. +(ok|FAILED).*/\2 \3/p' "$out/summary.log")
	# a runner that could not run its tests must not pass quietly
	[ "$seen" -eq $# ] || record "$suite (ran $seen of $# tests)" FAILED
	if [ -s "$out/regression.diffs" ]; then
		echo "---- $suite diffs ----"
		cat "$out/regression.diffs"
	fi
}

# the layer rule of src/ (src/README), before anything runs
run_script layers "$CL_REPO/test/layers.sh"

run_pg_regress regress "$PGXS_SRC/test/regress/pg_regress" "$WORK/src/test" \
	$(make -s -C "$CL_REPO" print-REGRESS)
run_pg_regress isolation "$PGXS_SRC/test/isolation/pg_isolation_regress" "$WORK/src/test/isolation" \
	$(make -s -C "$CL_REPO" print-ISOLATION)

# the same regression suite on a database created at 1.0 and updated
# (README, "Upgrading"): a server set up as pg_regress's temporary
# instance is, and --use-existing
UPDATED=$WORK/regress-updated-server
mapfile -t regress_conf < <(grep -v '^#' "$WORK/src/test/regress.conf")
UPDATED_PORT=$(free_port 5490)
cluster_start "$UPDATED" "$UPDATED_PORT" "$TREE_BIN" "listen_addresses = ''" "${regress_conf[@]}"
as_pg "$TREE_BIN/psql" -qX -v ON_ERROR_STOP=1 -h "$UPDATED/sock" -p "$UPDATED_PORT" -U postgres -d postgres \
	-c "CREATE DATABASE contrib_regression" -c '\c contrib_regression' \
	-c "CREATE EXTENSION credit_ledger VERSION '1.0'" -c "ALTER EXTENSION credit_ledger UPDATE" >/dev/null
INSTANCE_OPTS=(--use-existing --host="$UPDATED/sock" --port="$UPDATED_PORT")
run_pg_regress regress-updated "$PGXS_SRC/test/regress/pg_regress" "$WORK/src/test" \
	$(make -s -C "$CL_REPO" print-REGRESS)
unset INSTANCE_OPTS
cluster_stop "$UPDATED" "$TREE_BIN"

run_script upgrade "$CL_REPO/test/upgrade.sh"
run_script readme "$CL_REPO/test/readme.sh"
run_tap 001_worker_restart
run_tap 004_hostile_owner
run_tap 005_standby
run_tap 006_lease
run_script bench-smoke test/bench.sh --smoke
# the example applications in Go, Java, TypeScript and Python (one suite)
run_script clients "$CL_REPO/test/clients.sh"

# pgTAP invariants, run by pg_prove against a throwaway preloaded server
echo "== pgtap"
PGTAP=$WORK/pgtap
cluster_start "$PGTAP" 5432 "$TREE_BIN" "listen_addresses = ''" "fsync = off"
as_pg "$TREE_BIN/psql" -q -h "$PGTAP/sock" -U postgres -d postgres \
	-c "CREATE DATABASE tap" >/dev/null
as_pg "$TREE_BIN/psql" -q -h "$PGTAP/sock" -U postgres -d tap \
	-c "CREATE EXTENSION pgtap; CREATE EXTENSION credit_ledger" >/dev/null
shopt -s nullglob
for t in "$WORK"/src/test/pgtap/*.sql; do
	if as_pg pg_prove -h "$PGTAP/sock" -U postgres -d tap "$t"; then
		record "pgtap/$(basename "$t" .sql)" ok
	else
		record "pgtap/$(basename "$t" .sql)" FAILED
	fi
done
cluster_stop "$PGTAP" "$TREE_BIN"

# chaos: concurrent load, crash, dump and restore, fuzzing (short variants)
run_script stress "$CL_REPO/test/stress.sh"
run_tap 002_crash
run_tap 003_backup
run_script sqlsmith "$CL_REPO/test/sqlsmith.sh"
run_script scale "$CL_REPO/test/scale.sh"

echo
if [ "$failed" -gt 0 ]; then
	printf 'failed: %s\n' "${failures[@]}"
fi
echo "counted: each pg_regress test (fresh and updated database), isolation spec, pgTAP file and TAP file" \
	"(worker_restart, crash, backup, hostile_owner, standby, lease), and each script suite (layers, upgrade, readme, bench-smoke, clients, stress, sqlsmith, scale);" \
	"$(((SECONDS + 30) / 60)) min"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
