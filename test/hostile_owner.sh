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
as_owner "CREATE SCHEMA evil;
	CREATE TABLE evil.seen (who text, op text);
	GRANT ALL ON SCHEMA evil TO PUBLIC;
	GRANT ALL ON evil.seen TO PUBLIC;
	CREATE FUNCTION evil.oideq(oid, oid) RETURNS bool LANGUAGE plpgsql AS
		\$\$ BEGIN INSERT INTO evil.seen VALUES (current_user, 'oid ='); RETURN \$1 OPERATOR(pg_catalog.=) \$2; END \$\$;
	CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.oideq);
	CREATE FUNCTION evil.texteq(text, text) RETURNS bool LANGUAGE plpgsql AS
		\$\$ BEGIN INSERT INTO evil.seen VALUES (current_user, 'text ='); RETURN \$1 OPERATOR(pg_catalog.=) \$2; END \$\$;
	CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
	CREATE FUNCTION evil.tsle(timestamptz, timestamptz) RETURNS bool LANGUAGE plpgsql AS
		\$\$ BEGIN INSERT INTO evil.seen VALUES (current_user, 'timestamptz <='); RETURN \$1 OPERATOR(pg_catalog.<=) \$2; END \$\$;
	CREATE OPERATOR evil.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.tsle);
	CREATE FUNCTION evil.int8eq(bigint, bigint) RETURNS bool LANGUAGE plpgsql AS
		\$\$ BEGIN INSERT INTO evil.seen VALUES (current_user, 'bigint ='); RETURN \$1 OPERATOR(pg_catalog.=) \$2; END \$\$;
	CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8eq);
	ALTER DATABASE owned SET search_path = evil, pg_catalog" >/dev/null
check "the owner's operators run when a session uses them" "t|oid =" \
	"$(as_owner "SELECT 1::oid = 1::oid")|$(as_owner "SELECT string_agg(op, ',') FROM evil.seen")"
as_owner "TRUNCATE evil.seen;
	ALTER DATABASE owned SET default_transaction_read_only = on" >/dev/null

# the worker's next connection takes the database's settings
sql owned "BEGIN READ WRITE;
	SELECT credit_ledger.grant_credits(1, 100, 'g1', expires_at => now() + interval '2 seconds');
	SELECT credit_ledger.reserve(1, 10, 'h1', '1 second');
	COMMIT" >/dev/null
sql postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE backend_type = 'credit_ledger sweeper'" >/dev/null
wait_for owned "SELECT state OPERATOR(pg_catalog.=) 'expired' FROM credit_ledger.hold" || true
wait_for owned "SELECT count(*) OPERATOR(pg_catalog.=) 0 FROM credit_ledger.bucket WHERE live" || true
check "the worker swept the due hold and grant" "expired|0" \
	"$(sql owned "SELECT (SELECT state FROM credit_ledger.hold) || '|' ||
		(SELECT count(*) FROM credit_ledger.bucket WHERE live)")"
check "it ran none of the owner's operators" "" \
	"$(sql owned "SELECT string_agg(DISTINCT who || ' ' || op, ', ') FROM evil.seen")"
check "and has no error to report" "t" \
	"$(sql owned "SELECT last_error IS NULL FROM credit_ledger.worker_status()")"
check "the ledger is consistent" "" "$(sql owned "SELECT * FROM credit_ledger.verify()")"

[ "$failed" -eq 0 ]
