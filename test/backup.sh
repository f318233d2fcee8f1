#!/usr/bin/env bash
# backup.sh: pg_dump of a database in use, restored into a fresh one, keeps
# every row of every extension table (compared with the dump's own
# snapshot, taken mid-load), verify() and the invariants hold there, and the
# sequences go on: new calls after the restore collide with nothing.
source "$(dirname "$0")/lib.sh"
require_root "$@"
script_env backup

PORT=$(free_port 5460)
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
cluster_start "$DIR" "$PORT" "$TREE_BIN" "fsync = off" "max_connections = 40"
psql_in() {
	local db=$1
	shift
	as_pg "$TREE_BIN/psql" -qXAt -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$PORT" -U postgres -d "$db" "$@"
}
psql_in postgres -c "CREATE DATABASE ledger" -c "CREATE DATABASE restored"
psql_in ledger -c "CREATE EXTENSION credit_ledger"

/usr/bin/python3 "$CL_REPO/test/ledger_load.py" run --dsn "$(dsn "$DIR" "$PORT" ledger)" \
	--clients 8 --accounts 6 --seconds 10 >"$DIR/load.log" 2>&1 &
load=$!
sleep 4

# pg_dump in the middle of the load, on a snapshot exported by a session
# that fingerprints the same snapshot
FINGERPRINT=$FINGERPRINT /usr/bin/python3 - "$(dsn "$DIR" "$PORT" ledger)" "$TREE_BIN/pg_dump" \
	"$DIR/ledger.dump" >"$DIR/source.fingerprint" <<'PY'
import os, subprocess, sys
import psycopg2
dsn, pg_dump, out = sys.argv[1:]
conn = psycopg2.connect(dsn)
conn.set_session(isolation_level='REPEATABLE READ', readonly=True)
cur = conn.cursor()
cur.execute('SELECT pg_export_snapshot()')
snapshot = cur.fetchone()[0]
cur.execute(os.environ['FINGERPRINT'])
for (line,) in cur.fetchall():
    print(line)
params = conn.get_dsn_parameters()
subprocess.run([pg_dump, '-Fc', '--snapshot=' + snapshot, '-f', out, '-h', params['host'],
                '-p', params['port'], '-U', 'postgres', 'ledger'], check=True)
conn.rollback()
PY

status=0
wait "$load" || { echo "backup: the load failed:"; cat "$DIR/load.log"; status=1; }
tail -n +2 "$DIR/load.log" | head -3

as_pg "$TREE_BIN/pg_restore" --exit-on-error -h "$DIR/sock" -p "$PORT" -U postgres \
	-d restored "$DIR/ledger.dump"
psql_in restored -c "$FINGERPRINT" >"$DIR/restored.fingerprint"
echo "backup: rows per table at the dump's snapshot:"
sed 's/ [0-9a-f-]*$//; s/^/  /' "$DIR/source.fingerprint"
if diff "$DIR/source.fingerprint" "$DIR/restored.fingerprint"; then
	echo "backup: every row restored as dumped"
else
	echo "backup: the restored tables differ from the dump's snapshot"
	status=1
fi
[ "$(awk '$2 > 0' "$DIR/source.fingerprint" | wc -l)" -ge 3 ] \
	|| { echo "backup: the dump caught too little load to prove anything"; status=1; }

/usr/bin/python3 "$CL_REPO/test/ledger_load.py" check --dsn "$(dsn "$DIR" "$PORT" restored)" \
	| grep -v '^seed' || status=1

# the sequences go on from where the dump left them
after=$(psql_in restored <<'SQL'
SELECT (SELECT max(entry_id) FROM credit_ledger.entry) AS e,
       (SELECT max(bucket_id) FROM credit_ledger.bucket) AS b \gset
SELECT entry_id > :e FROM credit_ledger.grant_credits(424242, 10, 'after-restore');
SELECT max(bucket_id) > :b FROM credit_ledger.bucket;
SELECT count(*) = 0 FROM credit_ledger.verify();
SQL
)
if [ "$after" = "$(printf 't\nt\nt')" ]; then
	echo "backup: a grant after the restore takes new ids, verify() empty"
else
	echo "backup: after the restore: $after"
	status=1
fi
exit "$status"
