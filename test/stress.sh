#!/usr/bin/env bash
# stress.sh [--long]: many concurrent sessions doing a random mix of every
# operation on a few accounts, with sweeps every 100 ms; then the clients'
# record is compared with the ledger and the invariants are checked (see
# test/ledger_load.py). Short (25 s, or $STRESS_SECONDS) by default, --long
# runs 5 minutes and also fails on what verify() finds during the load.
source "$(dirname "$0")/lib.sh"
require_root "$@"
SECONDS_TO_RUN=${STRESS_SECONDS:-25}
STRICT=
[ "${1:-}" = --long ] && SECONDS_TO_RUN=300 STRICT=--strict
script_env stress

PORT=$(free_port 5440)
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
cluster_start "$DIR" "$PORT" "$TREE_BIN" "fsync = off" "max_connections = 40" \
	"credit_ledger.sweep_interval = 100ms"
as_pg "$TREE_BIN/psql" -qX -h "$DIR/sock" -p "$PORT" -U postgres -d postgres \
	-c "CREATE EXTENSION credit_ledger"

/usr/bin/python3 "$CL_REPO/test/ledger_load.py" run --dsn "$(dsn "$DIR" "$PORT")" \
	--clients 16 --accounts 4 --seconds "$SECONDS_TO_RUN" $STRICT | tee "$DIR/load.log"
status=${PIPESTATUS[0]}

# a deadlock or a crashed backend would show here even if no client noticed
if grep -E "deadlock detected|terminated by signal|PANIC" "$DIR/server.log"; then
	echo "stress: the server log shows the lines above"
	status=1
fi
exit "$status"
