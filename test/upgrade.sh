#!/usr/bin/env bash
# upgrade.sh: the upgrade path from 1.0 (README, "Upgrading"), on one
# server running this build's library:
# - a database created at 1.0 with the 1.0 README's roles and populated
#   (test/upgrade/calls-1.0.sql) works on this library before ALTER
#   EXTENSION UPDATE: every 1.0 function answers as calls-1.0.out says, and
#   the worker logs one line and waits (it does not sweep a 1.0 schema);
# - it is updated while the worker runs and a load calls the ledger; then
#   verify() is empty, the 1.0 holds settle, the 1.0 events replay, the app
#   role calls everything with no new GRANT (after-update.sql) and the
#   worker sweeps it;
# - positional 1.0 calls on a database updated before use give the same
#   results (calls-updated.out: calls-1.0.out and the columns 1.1 adds);
# - the catalog (test/upgrade/catalog.sql: functions, tables, columns,
#   indexes, constraints, triggers, views, comments, privileges, initial
#   privileges, config-dumped tables) of an updated database equals a fresh
#   install's, with the same grants; every table and sequence is
#   config-dumped;
# - pg_dump of the updated database restores into a fresh one with the same
#   catalog and the same rows.
source "$(dirname "$0")/lib.sh"
require_root "$@"
script_env upgrade
U=$CL_REPO/test/upgrade

PORT=$(free_port 5480)
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
cluster_start "$DIR" "$PORT" "$TREE_BIN" "fsync = off" "max_connections = 40" \
	"credit_ledger.database = 'updated'" "credit_ledger.sweep_interval = 200ms"
# psql_in DB [ARGS]: stops at the first error; psql_calls DB: goes on (the
# call scripts show refusals)
psql_in() {
	local db=$1
	shift
	as_pg "$TREE_BIN/psql" -qX -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$PORT" -U postgres -d "$db" "$@"
}
psql_calls() {
	as_pg "$TREE_BIN/psql" -qX -h "$DIR/sock" -p "$PORT" -U postgres -d "$1" 2>&1
}
# lib.sh's sql, check and wait_for
CHECK_DIR=$DIR CHECK_PORT=$PORT failed=0
# check_diff NAME EXPECTED-FILE ACTUAL-FILE
check_diff() {
	if diff -u "$2" "$3" >"$3.diff"; then
		echo "ok - $1"
	else
		echo "not ok - $1 (diff: $3.diff)"
		head -40 "$3.diff"
		failed=1
	fi
}
grants_only() { sed '/^CREATE ROLE/d; /^GRANT app TO/d' "$U/roles-1.0.sql"; }
# the same grants on a 1.1 schema, where some functions have more
# arguments: named without an argument list (each name is unique)
grants_by_name() { grants_only | sed -E 's/(credit_ledger\.[a-z_]+)\([^)]*\)/\1/'; }
not_swept_lines() { grep -c 'version 1.0 in database "updated" is not swept' "$DIR/server.log" || true; }

psql_in postgres -c "CREATE DATABASE updated" -c "CREATE DATABASE fresh" -c "CREATE DATABASE calls11"
psql_in updated -c "CREATE EXTENSION credit_ledger VERSION '1.0'"
psql_in updated <"$U/roles-1.0.sql" 2>"$DIR/roles.log"
psql_in fresh -c "CREATE EXTENSION credit_ledger"
grants_by_name | psql_in fresh
psql_in calls11 -c "CREATE EXTENSION credit_ledger VERSION '1.0'"
grants_only | psql_in calls11
psql_in calls11 -c "ALTER EXTENSION credit_ledger UPDATE"
check "a fresh install is the default version" \
	"$(sql fresh "SELECT default_version FROM pg_available_extensions WHERE name = 'credit_ledger'")" \
	"$(sql fresh "SELECT extversion FROM pg_extension WHERE extname = 'credit_ledger'")"

# 1.0 schema, this library: every 1.0 function answers as in 1.0
psql_calls updated <"$U/calls-1.0.sql" >"$DIR/calls-1.0-schema.out"
check_diff "every 1.0 function works on a 1.0 schema with this library" \
	"$U/calls-1.0.out" "$DIR/calls-1.0-schema.out"
for _ in $(seq 1 150); do # the worker's first start, its restart 5 s later, its line
	[ "$(not_swept_lines)" -ge 1 ] && break
	sleep 0.2
done
sleep 3 # 'short-1' (2 s) is due, and the worker has had 15 intervals to sweep
check "the worker logs one line and waits on a 1.0 schema" "1 pending" \
	"$(not_swept_lines) $(sql updated "SELECT state FROM credit_ledger.hold WHERE event_id = 'short-1'")"
check "worker_status() on a 1.0 schema" "t" \
	"$(sql updated "SELECT pid IS NOT NULL AND last_sweep_at IS NULL FROM credit_ledger.worker_status()")"

# the update, while the worker runs and clients call the ledger
/usr/bin/python3 "$CL_REPO/test/ledger_load.py" run --dsn "$(dsn "$DIR" "$PORT" updated)" \
	--clients 4 --accounts 4 --seconds 6 --across-update >"$DIR/load.log" 2>&1 &
load=$!
sleep 2
psql_in updated -c "ALTER EXTENSION credit_ledger UPDATE"
if wait "$load"; then
	echo "ok - a load across the update: every call answered as documented and in the ledger"
else
	echo "not ok - the load across the update failed:"
	cat "$DIR/load.log"
	failed=1
fi
psql_calls updated <"$U/after-update.sql" >"$DIR/after-update.out"
check_diff "after the update: verify() empty, 1.0 holds settle, 1.0 events replay, no new GRANT needed" \
	"$U/after-update.out" "$DIR/after-update.out"
psql_in updated -qAt -c "SELECT 1 FROM credit_ledger.reserve(1002, 1, 'short-2', interval '1 second')" >/dev/null
if wait_for updated "SELECT holds_expired > 0 FROM credit_ledger.worker_status()"; then
	echo "ok - the worker sweeps the updated schema"
else
	echo "not ok - the worker did not sweep after the update"
	failed=1
fi
grep -E 'credit_ledger sweeper' "$DIR/server.log" | sed 's/^.*credit_ledger sweeper/  log: credit_ledger sweeper/' | sort | uniq -c

# positional 1.0 calls on a database updated before use
psql_calls calls11 <"$U/calls-1.0.sql" >"$DIR/calls-updated.out"
# calls-updated.out is calls-1.0.out with what 1.1 adds to a result
# (README, "Upgrading": consumption() has a cache_write_tokens column)
check_diff "positional 1.0 calls give the 1.0 results after the update" \
	"$U/calls-updated.out" "$DIR/calls-updated.out"

# the catalogs
for db in fresh updated calls11; do
	psql_in "$db" <"$U/catalog.sql" >"$DIR/catalog-$db.txt"
done
echo "catalog: $(wc -l <"$DIR/catalog-fresh.txt") lines describe a fresh install"
check_diff "the catalog of a database updated with data and grants equals a fresh install's" \
	"$DIR/catalog-fresh.txt" "$DIR/catalog-updated.txt"
check_diff "the catalog of a database updated empty equals a fresh install's" \
	"$DIR/catalog-fresh.txt" "$DIR/catalog-calls11.txt"
check "every table and sequence is registered with pg_extension_config_dump" "0" \
	"$(grep -c '^NOT CONFIG-DUMPED' "$DIR/catalog-fresh.txt" || true)"

# pg_dump of the updated database into a fresh one, the worker stopped
# first so that the rows stay as dumped
psql_in postgres -c "ALTER SYSTEM SET credit_ledger.sweeper_enabled = off" -c "SELECT pg_reload_conf()" >/dev/null
wait_for postgres "SELECT count(*) = 0 FROM pg_stat_activity
	WHERE backend_type = 'credit_ledger sweeper' AND datname IS NOT NULL" \
	|| echo "upgrade: the worker did not leave its database"
as_pg "$TREE_BIN/pg_dump" -Fc -h "$DIR/sock" -p "$PORT" -U postgres -f "$DIR/updated.dump" updated
psql_in postgres -c "CREATE DATABASE restored"
as_pg "$TREE_BIN/pg_restore" --exit-on-error -h "$DIR/sock" -p "$PORT" -U postgres -d restored "$DIR/updated.dump"
psql_in restored <"$U/catalog.sql" >"$DIR/catalog-restored.txt"
check_diff "a dump of the updated database restores with the same catalog and grants" \
	"$DIR/catalog-updated.txt" "$DIR/catalog-restored.txt"
sql updated "$FINGERPRINT" >"$DIR/rows-updated.txt"
sql restored "$FINGERPRINT" >"$DIR/rows-restored.txt"
check_diff "... and the same rows in every table" "$DIR/rows-updated.txt" "$DIR/rows-restored.txt"
check "verify() in the restored database" "0" "$(sql restored "SELECT count(*) FROM credit_ledger.verify()")"
[ "$failed" -eq 0 ]
