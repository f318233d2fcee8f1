#!/usr/bin/env bash
# standby.sh: a hot standby of a ledger. Reading works there (balance,
# history, consumption, verify, the views); every function that writes is
# 25006 with a DETAIL, never XX000; no worker runs until promotion.
# Run by check.sh (run_script), which exports TREE_BIN and WORK.
source "$(dirname "$0")/lib.sh"

DIR=$WORK/standby
PRIMARY_PORT=$(free_port 54800)
failed=0

cluster_start "$DIR/primary" "$PRIMARY_PORT" "$TREE_BIN" "listen_addresses = ''" "fsync = off" \
	"credit_ledger.sweep_interval = '200ms'"
trap 'cluster_stop "$DIR/standby" "$TREE_BIN"; cluster_stop "$DIR/primary" "$TREE_BIN"' EXIT
CHECK_DIR=$DIR/primary
CHECK_PORT=$PRIMARY_PORT
sql postgres "CREATE EXTENSION credit_ledger;
	SELECT credit_ledger.grant_credits(1, 100, 'g1');
	SELECT credit_ledger.deduct(1, 10, 'd1');
	SELECT credit_ledger.reserve(1, 5, 'h1', '1 hour')" >/dev/null

# the standby: a base backup of the primary, streaming from it
cluster_stop "$DIR/standby" "$TREE_BIN"
rm -rf "$DIR/standby"
mkdir -p "$DIR/standby/sock"
chown -R postgres: "$DIR/standby"
as_pg "$TREE_BIN/pg_basebackup" -h "$DIR/primary/sock" -p "$PRIMARY_PORT" -U postgres \
	-D "$DIR/standby/data" -R -X stream
STANDBY_PORT=$(free_port $((PRIMARY_PORT + 1)))
{
	echo "port = $STANDBY_PORT"
	echo "unix_socket_directories = '$DIR/standby/sock'"
} >>"$DIR/standby/data/postgresql.conf"
as_pg "$TREE_BIN/pg_ctl" -D "$DIR/standby/data" -l "$DIR/standby/server.log" -w -t 60 start >/dev/null
CHECK_DIR=$DIR/standby
CHECK_PORT=$STANDBY_PORT
wait_for postgres "SELECT pg_is_in_recovery() AND
	EXISTS (SELECT FROM pg_extension WHERE extname = 'credit_ledger')" || true

check "the standby reads balances" "90|5|85" \
	"$(sql postgres "SELECT balance || '|' || reserved || '|' || available FROM credit_ledger.balance(1)")"
check "and history, consumption, verify, views" "3|10|0|1" \
	"$(sql postgres "SELECT (SELECT count(*) FROM credit_ledger.history(1)) || '|' ||
		(SELECT credits FROM credit_ledger.consumption(1)) || '|' ||
		(SELECT count(*) FROM credit_ledger.verify()) || '|' ||
		(SELECT count(*) FROM credit_ledger.pending_holds)")"
for call in "credit_ledger.deduct(1, 1, 'd2')" "credit_ledger.deduct(1, 10, 'd1')" \
	"credit_ledger.grant_credits(1, 1, 'g2')" "credit_ledger.grant_credits(2, 1, 'g3')" \
	"credit_ledger.reserve(1, 1, 'h2')" "credit_ledger.confirm(1, 1)" "credit_ledger.cancel(1, 1)" \
	"credit_ledger.refund(1, 'r1', 'd1')" "credit_ledger.adjust(1, 1, 'a1', 'fix')" \
	"credit_ledger.set_status(1, 'frozen')" "credit_ledger.set_credit_limit(1, 10)" \
	"credit_ledger.open_account(3)" "credit_ledger.sweep()"; do
	check "$call on the standby" 25006 "$(sqlstate postgres "PERFORM $call")"
done
check "the refusal says why" "t" \
	"$(sql postgres "DO \$\$ DECLARE d text; BEGIN PERFORM credit_ledger.deduct(1, 1, 'd2');
		EXCEPTION WHEN OTHERS THEN GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RAISE NOTICE '%', d LIKE '%hot standby%'; END \$\$" 2>&1 | sed -n 's/^NOTICE:  //p')"
check "no worker runs on the standby" 0 \
	"$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper'")"

# promoted, it takes money calls and its worker starts
as_pg "$TREE_BIN/pg_ctl" -D "$DIR/standby/data" -w promote >/dev/null
wait_for postgres "SELECT NOT pg_is_in_recovery()" || true
check "after promotion a deduct works" "85" \
	"$(sql postgres "SELECT balance FROM credit_ledger.deduct(1, 5, 'd3')")"
wait_for postgres "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper'" || true
check "and the worker runs" 1 \
	"$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper'")"
check "the ledger is consistent" "" "$(sql postgres "SELECT * FROM credit_ledger.verify()")"

[ "$failed" -eq 0 ]
