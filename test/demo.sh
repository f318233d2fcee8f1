#!/usr/bin/env bash
# demo.sh: installs everything credit_ledger needs on Debian 12, builds and
# installs it into PostgreSQL 15, starts a throwaway server with the library
# preloaded (as the postgres OS user, data under .run/demo), creates a
# database with the extension, runs a short demo of every feature, and
# leaves the server running for you to explore.
#   bash test/demo.sh          set up (again, from scratch) and run the demo
#   bash test/demo.sh --stop   stop the demo server
source "$(dirname "$0")/lib.sh"
require_root "$@"

DIR=$(work_dir demo)
if [ "${1:-}" = "--stop" ]; then
	cluster_stop "$DIR"
	echo "demo server stopped"
	exit 0
fi

install_deps
build
echo "== installing credit_ledger into PostgreSQL 15"
make -s -C "$CL_REPO" PG_CONFIG="$PG_CONFIG" install

DB=credit_ledger_demo
cluster_stop "$DIR"
PORT=$(free_port 54321)
echo "== starting a throwaway PostgreSQL 15 on port $PORT (data in $DIR/data)"
cluster_start "$DIR" "$PORT" "$PG_BIN" \
	"credit_ledger.database = '$DB'" \
	"credit_ledger.sweep_interval = '1s'"
as_pg "$PG_BIN/psql" -X -q -h "$DIR/sock" -p "$PORT" -U postgres -d postgres \
	-c "CREATE DATABASE $DB" -c "\\c $DB" -c "CREATE EXTENSION credit_ledger"

echo "== demo"
cp "$CL_REPO/test/demo.sql" "$CL_REPO/test/litellm_sample.json" "$DIR/"
chown postgres: "$DIR/demo.sql" "$DIR/litellm_sample.json"
as_pg "$PG_BIN/psql" -X -h "$DIR/sock" -p "$PORT" -U postgres -d "$DB" \
	-v ON_ERROR_STOP=1 -v sample_catalog="$DIR/litellm_sample.json" -f "$DIR/demo.sql"

cat <<MSG

== credit_ledger is running
Connect:  psql "postgresql://postgres@127.0.0.1:$PORT/$DB"
Stop:     bash test/demo.sh --stop
Server log: $DIR/server.log
MSG
