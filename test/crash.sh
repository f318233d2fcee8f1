#!/usr/bin/env bash
# crash.sh: kill -9 the postmaster and all its children under load, restart,
# and prove that every call a client saw succeed is in the ledger as
# answered, nothing a client saw refused is, and the invariants hold (see
# test/ledger_load.py). Then kill the sweeper worker alone and show that the
# postmaster brings it back. Durable settings (fsync on): an acknowledged
# commit must survive. --long crashes the server ten times under the load.
source "$(dirname "$0")/lib.sh"
require_root "$@"
ROUNDS=1
[ "${1:-}" = --long ] && ROUNDS=10
script_env crash

PORT=$(free_port 5450)
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
cluster_start "$DIR" "$PORT" "$TREE_BIN" "max_connections = 40" \
	"credit_ledger.sweep_interval = 100ms"
PSQL=("$TREE_BIN/psql" -qXAt -h "$DIR/sock" -p "$PORT" -U postgres -d postgres)
as_pg "${PSQL[@]}" -c "CREATE EXTENSION credit_ledger"

/usr/bin/python3 "$CL_REPO/test/ledger_load.py" run --dsn "$(dsn "$DIR" "$PORT")" \
	--crash-tolerant --clients 8 --accounts 4 --seconds $((ROUNDS * 8 + 8)) >"$DIR/load.log" 2>&1 &
load=$!

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# kill_tree PID: SIGKILL to a process and its children at once, so that no
# backend outlives the postmaster and blocks the restart
kill_tree() {
	local kids
	kids=$(pgrep -P "$1" | tr '\n' ' ')
	kill -9 "$1" $kids
}

for round in $(seq 1 "$ROUNDS"); do
	sleep 6
	postmaster=$(head -1 "$DIR/data/postmaster.pid")
	echo "crash $round: kill -9 postmaster and its $(pgrep -c -P "$postmaster") children"
	kill_tree "$postmaster"
	while kill -0 "$postmaster" 2>/dev/null; do sleep 0.1; done
	start=$(date +%s%N)
	# pg_ctl finds the killed postmaster's pid file and says "another server
	# might be running; trying to start server anyway": expected after a
	# kill -9, so it goes to a log rather than to the suite's output
	as_pg "$TREE_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null 2>>"$DIR/pg_ctl.log"
	[ "$(grep -c "database system was interrupted" "$DIR/server.log")" -eq "$round" ] \
		|| { echo "crash: the server did not recover from a crash"; exit 1; }
	echo "crash $round: crash recovery done, accepting connections after $(ms_since "$start") ms"
done

status=0
wait "$load" || status=1
cat "$DIR/load.log"

# the worker alone: killed, it comes back (once it exists)
worker_pid() {
	as_pg "${PSQL[@]}" -c "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'credit_ledger%'"
}
old=$(worker_pid)
if [ -n "$old" ]; then
	kill -9 "$old"
	start=$(date +%s%N)
	new=
	for _ in $(seq 1 300); do
		new=$(worker_pid 2>/dev/null || true)
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		sleep 0.1
	done
	if [ -n "$new" ] && [ "$new" != "$old" ]; then
		echo "crash: worker killed, back with a new process after $(ms_since "$start") ms"
	else
		echo "crash: worker killed and not back within 30 s"
		status=1
	fi
	/usr/bin/python3 "$CL_REPO/test/ledger_load.py" check --dsn "$(dsn "$DIR" "$PORT")" || status=1
else
	echo "crash: no credit_ledger worker in this build (worker test skipped)"
fi
exit "$status"
