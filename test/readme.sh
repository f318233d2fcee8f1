#!/usr/bin/env bash
# readme.sh: every ```sql snippet of README.md, in order, as written, in one
# fresh database with the extension (a snippet may use what an earlier one
# made, as a reader following the README would): each must run without an
# error. Shows each snippet's output. Then the demo the README's first
# command runs (test/demo.sql), in a fresh database of its own.
source "$(dirname "$0")/lib.sh"
require_root "$@"
script_env readme

PORT=$(free_port 5500)
trap 'cluster_stop "$DIR" "$TREE_BIN"' EXIT
cluster_start "$DIR" "$PORT" "$TREE_BIN" "fsync = off"
psql_in() {
	as_pg "$TREE_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$PORT" -U postgres "$@"
}
psql_in -q -d postgres -c "CREATE DATABASE readme"
psql_in -q -d readme -c "CREATE EXTENSION credit_ledger"

# the snippets, each preceded by a line naming where it starts
awk '/^```sql$/ { inside = 1; printf "\\echo == README.md line %d\n", NR; next }
     /^```$/ { inside = 0 }
     inside' "$CL_REPO/README.md" >"$DIR/snippets.sql"
count=$(grep -c '^\\echo == README' "$DIR/snippets.sql")
[ "$count" -ge 4 ] || { echo "readme: found only $count sql snippets"; exit 1; }
if psql_in -d readme <"$DIR/snippets.sql" >"$DIR/snippets.out" 2>&1; then
	grep '^== README' "$DIR/snippets.out" | sed 's/^== /readme: ran /'
	echo "readme: all $count sql snippets ran without an error"
else
	cat "$DIR/snippets.out"
	echo "readme: a README sql snippet failed (above)"
	exit 1
fi

psql_in -q -d postgres -c "CREATE DATABASE demo"
psql_in -q -d demo -c "CREATE EXTENSION credit_ledger"
cp "$CL_REPO/test/demo.sql" "$CL_REPO/test/litellm_sample.json" "$DIR/"
chown postgres: "$DIR/demo.sql" "$DIR/litellm_sample.json"
if psql_in -d demo -v sample_catalog="$DIR/litellm_sample.json" -f "$DIR/demo.sql" >"$DIR/demo.out" 2>&1; then
	echo "readme: test/demo.sql ran without an error ($(grep -c 'NOTICE:  SQLSTATE' "$DIR/demo.out") refusals shown)"
else
	cat "$DIR/demo.out"
	echo "readme: test/demo.sql failed (above)"
	exit 1
fi
