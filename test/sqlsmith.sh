#!/usr/bin/env bash
# sqlsmith.sh [--long]: random calls against a database with credit_ledger:
# first test/fuzz.sql (every credit_ledger function with awkward arguments),
# then sqlsmith's random queries for a bounded time, as a role with the
# README's application and operator grants. Any error is fine; a crashed
# backend (in the server log), an internal error (XX000) or an inconsistent
# ledger afterwards is a failure.
source "$(dirname "$0")/lib.sh"
require_root "$@"
FUZZ_CALLS=3000 SMITH_QUERIES=3000 SMITH_SECONDS=60
if [ "${1:-}" = --long ]; then
	FUZZ_CALLS=50000 SMITH_QUERIES=100000 SMITH_SECONDS=900
fi
script_env sqlsmith

PORT=$(free_port 5470)
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
cluster_start "$DIR" "$PORT" "$TREE_BIN" "fsync = off" "log_min_messages = log"
psql_fuzz() {
	as_pg "$TREE_BIN/psql" -qX -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$PORT" -U postgres -d fuzz "$@"
}
as_pg "$TREE_BIN/psql" -qX -h "$DIR/sock" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE fuzz"
psql_fuzz >/dev/null <<'SQL'
CREATE EXTENSION credit_ledger;
SELECT credit_ledger.grant_credits(a, 100, 'seed-' || a) FROM generate_series(1, 8) a;
SELECT credit_ledger.deduct(a, 30, 'fz-1') FROM generate_series(1, 8) a;
CREATE ROLE fuzzer LOGIN;
GRANT USAGE ON SCHEMA credit_ledger TO fuzzer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA credit_ledger TO fuzzer;
GRANT SELECT ON credit_ledger.accounts, credit_ledger.entries TO fuzzer;
SQL

seed=$((RANDOM % 10000))
echo "sqlsmith: fuzz.sql, $FUZZ_CALLS calls, seed 0.$seed"
as_pg "$TREE_BIN/psql" -qX -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$PORT" -U fuzzer -d fuzz \
	-v seed="0.$seed" -v calls="$FUZZ_CALLS" <"$CL_REPO/test/fuzz.sql" >"$DIR/fuzz.out" 2>&1 || true
cat "$DIR/fuzz.out"
status=0
grep -q "(0 rows)" <(sed -n '/problem/,$p' "$DIR/fuzz.out") || { echo "sqlsmith: fuzz.sql found problems"; status=1; }

echo "sqlsmith: sqlsmith, $SMITH_QUERIES queries or $SMITH_SECONDS s, seed $seed"
timeout "$SMITH_SECONDS" sqlsmith --target="host=$DIR/sock port=$PORT dbname=fuzz user=fuzzer" \
	--seed="$seed" --max-queries="$SMITH_QUERIES" --verbose >"$DIR/sqlsmith.log" 2>&1 || true
# verbose sqlsmith prints one character per query: . ok, e error, S syntax
# error, t timeout, C connection broken (a crashed backend)
marks=$(grep -aE '^[.eStC]+$' "$DIR/sqlsmith.log" | tr -d '\n')
count_of() { tr -cd "$1" <<<"$marks" | wc -c; }
echo "sqlsmith: $(grep -a '^queries:' "$DIR/sqlsmith.log" | tail -1): ok $(count_of .)," \
	"error $(count_of e), syntax error $(count_of S), timeout $(count_of t), broken $(count_of C)"
[ "$(count_of C)" -eq 0 ] || { echo "sqlsmith: connections broke"; status=1; }

if grep -E "terminated by signal|PANIC|server process .* was terminated" "$DIR/server.log"; then
	echo "sqlsmith: a backend crashed (server log above)"
	status=1
fi
# the count from stdout only: a warning on stderr is never read as the result
problems=$(psql_fuzz -At -c "SELECT count(*) FROM credit_ledger.verify()" 2>"$DIR/verify.err") || true
if [ "$problems" = 0 ]; then
	echo "sqlsmith: the server is up and verify() is empty"
else
	echo "sqlsmith: after the run: $problems $(cat "$DIR/verify.err")"
	status=1
fi
exit "$status"
