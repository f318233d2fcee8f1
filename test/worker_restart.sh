#!/usr/bin/env bash
# worker_restart.sh: the background worker's life on a real server. It waits
# quietly while its database is missing; pending holds survive a server
# restart and the worker comes back to sweep them; SIGTERM to the worker
# alone brings it back; DROP/CREATE EXTENSION under it is survived; turned
# off, it leaves the database so DROP DATABASE works; without
# shared_preload_libraries worker_status() is 55000.
# Run by check.sh (run_script), which exports TREE_BIN and WORK.
source "$(dirname "$0")/lib.sh"

DIR=$WORK/worker_restart
PORT=$(free_port 54600)
LOG=$DIR/server.log
failed=0

cluster_start "$DIR" "$PORT" "$TREE_BIN" "listen_addresses = ''" "fsync = off" \
	"credit_ledger.database = 'ledger'" "credit_ledger.sweep_interval = '200ms'" \
	"log_line_prefix = '%m %b[%p] '"
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
CHECK_DIR=$DIR
CHECK_PORT=$PORT

worker_lines() {
	grep -c "credit_ledger sweeper\[.*\(ERROR\|FATAL\)" "$LOG" || true
}
restarts() {
	grep -c 'background worker "credit_ledger sweeper" .* exited' "$LOG" || true
}
worker_db="SELECT datname FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper'"
worker_pid="SELECT pid FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper'"

# 1. no database yet: the worker waits without errors or restarts
sleep 2
check "worker waits for its database" "t" "$(sql postgres "SELECT count(*) = 1 FROM ($worker_db) w WHERE datname IS NULL")"
check "no errors while the database is missing" 0 "$(worker_lines)"
check "no restarts while the database is missing" 0 "$(restarts)"

# 2. the database appears: the worker connects and waits for the extension
sql postgres "CREATE DATABASE ledger" >/dev/null
wait_for postgres "SELECT count(*) = 1 FROM ($worker_db) w WHERE datname = 'ledger'" || true
check "worker connects to the new database" "ledger" "$(sql postgres "$worker_db")"
sleep 1
check "it waits quietly for the extension" 0 "$(worker_lines)"

# 3. pending holds survive a restart; the worker comes back and sweeps them
sql ledger "CREATE EXTENSION credit_ledger" >/dev/null
sql ledger "SELECT credit_ledger.grant_credits(1, 100, 'g1');
            SELECT credit_ledger.reserve(1, 10, 'short', '4 seconds');
            SELECT credit_ledger.reserve(1, 20, 'long', '1 hour')" >/dev/null
as_pg "$TREE_BIN/pg_ctl" -D "$DIR/data" -l "$LOG" -w -m fast restart >/dev/null
check "holds survive the restart" "pending|pending" \
	"$(sql ledger "SELECT string_agg(state, '|' ORDER BY hold_id) FROM credit_ledger.hold")"
wait_for ledger "SELECT state = 'expired' FROM credit_ledger.hold WHERE event_id = 'short'" || true
check "the worker expires the due hold after the restart" "expired|pending" \
	"$(sql ledger "SELECT string_agg(state, '|' ORDER BY hold_id) FROM credit_ledger.hold")"
check "worker_status counts it" "ledger|t|t" \
	"$(sql ledger "SELECT database, holds_expired = 1, last_error IS NULL FROM credit_ledger.worker_status()")"
check "entries stay consistent" "" "$(sql ledger "SELECT * FROM credit_ledger.verify()")"

# 4. SIGTERM to the worker alone: it comes back, nothing else restarts
started=$(sql ledger "SELECT pg_postmaster_start_time()")
old_pid=$(sql ledger "$worker_pid")
kill -TERM "$old_pid"
wait_for ledger "SELECT count(*) = 1 FROM ($worker_pid) w WHERE pid <> $old_pid" || true
sql ledger "SELECT credit_ledger.reserve(1, 5, 'after-kill', '1 second')" >/dev/null
wait_for ledger "SELECT state = 'expired' FROM credit_ledger.hold WHERE event_id = 'after-kill'" || true
check "a new worker sweeps after SIGTERM" "expired" \
	"$(sql ledger "SELECT state FROM credit_ledger.hold WHERE event_id = 'after-kill'")"
check "the server itself did not restart" "$started" "$(sql ledger "SELECT pg_postmaster_start_time()")"

# 5. DROP EXTENSION / CREATE EXTENSION under the running worker
pid=$(sql ledger "$worker_pid")
errors=$(worker_lines)
sql ledger "DROP EXTENSION credit_ledger" >/dev/null
sleep 1
sql ledger "CREATE EXTENSION credit_ledger" >/dev/null
sql ledger "SELECT credit_ledger.grant_credits(2, 100, 'g2');
            SELECT credit_ledger.reserve(2, 10, 'after-recreate', '1 second')" >/dev/null
wait_for ledger "SELECT state = 'expired' FROM credit_ledger.hold WHERE event_id = 'after-recreate'" || true
check "the worker sweeps the recreated extension" "expired" \
	"$(sql ledger "SELECT state FROM credit_ledger.hold WHERE event_id = 'after-recreate'")"
check "the same worker, without errors" "$pid|$errors" "$(sql ledger "$worker_pid")|$(worker_lines)"

# 6. turned off, the worker leaves the database: DROP DATABASE works
sql postgres "ALTER SYSTEM SET credit_ledger.sweeper_enabled = off" >/dev/null
sql postgres "SELECT pg_reload_conf()" >/dev/null
wait_for postgres "SELECT count(*) = 1 FROM ($worker_db) w WHERE datname IS NULL" || true
sql postgres "DROP DATABASE ledger" >/dev/null
check "DROP DATABASE after disabling the sweeper" "0" \
	"$(sql postgres "SELECT count(*) FROM pg_database WHERE datname = 'ledger'")"
restarts_before=$(restarts)
sql postgres "ALTER SYSTEM RESET credit_ledger.sweeper_enabled" >/dev/null
sql postgres "SELECT pg_reload_conf()" >/dev/null
sleep 2
check "enabled again without its database, it waits quietly" "$restarts_before|$errors" "$(restarts)|$(worker_lines)"

# 7. without shared_preload_libraries: no worker, worker_status() is 55000
echo "shared_preload_libraries = ''" >>"$DIR/data/postgresql.conf"
as_pg "$TREE_BIN/pg_ctl" -D "$DIR/data" -l "$LOG" -w -m fast restart >/dev/null
sql postgres "CREATE EXTENSION credit_ledger" >/dev/null 2>&1
check "no worker without preloading" 0 "$(sql postgres "SELECT count(*) FROM ($worker_db) w")"
check "worker_status() without preloading" 55000 \
	"$(sqlstate postgres "PERFORM credit_ledger.worker_status()")"

[ "$failed" -eq 0 ]
