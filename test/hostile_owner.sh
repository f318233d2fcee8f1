#!/usr/bin/env bash
# hostile_owner.sh: the worker connects as the bootstrap superuser to a
# database that a non-superuser may own. The owner puts operators of its
# own before pg_catalog's (ALTER DATABASE ... SET search_path) that record
# who runs them; the worker sweeps without ever calling them, because it
# pins search_path = pg_catalog, pg_temp (and default_transaction_read_only
# off) before its first statement.
# Run by check.sh (run_script), which exports TREE_BIN and WORK.
source "$(dirname "$0")/lib.sh"

DIR=$WORK/hostile_owner
PORT=$(free_port 54700)
failed=0

cluster_start "$DIR" "$PORT" "$TREE_BIN" "listen_addresses = ''" "fsync = off" \
	"credit_ledger.database = 'owned'" "credit_ledger.sweep_interval = '200ms'"
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
CHECK_DIR=$DIR
CHECK_PORT=$PORT

# as_owner QUERY: one query as mallory, the database's owner
as_owner() {
	as_pg "$TREE_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$PORT" \
		-U mallory -d owned -c "$1"
}

sql postgres "CREATE ROLE mallory LOGIN" >/dev/null
sql postgres "CREATE DATABASE owned OWNER mallory" >/dev/null
sql owned "CREATE EXTENSION credit_ledger" >/dev/null
# evil_op NAME TYPE OP BUILTIN: an operator of the owner's that logs who runs it
evil_op() {
	echo "CREATE FUNCTION evil.$1($2, $2) RETURNS bool LANGUAGE plpgsql AS
		\$\$ BEGIN RAISE WARNING 'evil operator $3 run by %', current_user;
		RETURN \$1 OPERATOR(pg_catalog.$3) \$2; END \$\$;
	CREATE OPERATOR evil.$3 (LEFTARG = $2, RIGHTARG = $2, FUNCTION = evil.$1);"
}
as_owner "CREATE SCHEMA evil;
	$(evil_op oideq oid =) $(evil_op texteq text =) $(evil_op int8eq bigint =)
	$(evil_op int4eq integer =) $(evil_op tsle timestamptz '<=')
	ALTER DATABASE owned SET search_path = evil, pg_catalog" >/dev/null
evil_runs() {
	grep -c "evil operator .* run by" "$DIR/server.log" || true
}
check "the owner's operators run when a session uses them" "t|1" \
	"$(as_owner "SELECT 1::oid = 1::oid" 2>/dev/null)|$(evil_runs)"

# the worker's next connection takes the database's settings
sweep_due() {
	sql owned "BEGIN READ WRITE;
		SELECT credit_ledger.grant_credits($1, 100, 'g$1', expires_at => now() + interval '2 seconds');
		SELECT credit_ledger.reserve($1, 10, 'h$1', '1 second');
		COMMIT" >/dev/null 2>&1
	sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'credit_ledger sweeper'" >/dev/null
	wait_for owned "SELECT count(*) OPERATOR(pg_catalog.=) 0 FROM credit_ledger.hold
		WHERE state OPERATOR(pg_catalog.=) 'pending'" 2>/dev/null || true
	wait_for owned "SELECT count(*) OPERATOR(pg_catalog.=) 0 FROM credit_ledger.bucket WHERE live" \
		2>/dev/null || true
	sql owned "SELECT (SELECT string_agg(state, ',') FROM credit_ledger.hold
			WHERE account_id OPERATOR(pg_catalog.=) $1) || '|' ||
		(SELECT count(*) FROM credit_ledger.bucket WHERE live)" 2>/dev/null
}
check "the worker swept the due hold and grant" "expired|0" "$(sweep_due 1)"
check "it ran none of the owner's operators" 1 "$(evil_runs)"

# nor can the owner make the worker's transactions read-only
as_owner "ALTER DATABASE owned SET default_transaction_read_only = on" >/dev/null
check "the worker sweeps under default_transaction_read_only = on" "expired|0" "$(sweep_due 2)"
check "without an error to report" "t" \
	"$(sql owned "SELECT last_error IS NULL FROM credit_ledger.worker_status()" 2>/dev/null)"
check "and still without the owner's operators" 1 "$(evil_runs)"
check "the ledger is consistent" "" "$(sql owned "SELECT * FROM credit_ledger.verify()" 2>/dev/null)"

[ "$failed" -eq 0 ]
