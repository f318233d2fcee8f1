#!/usr/bin/env bash
# scale.sh: the ledger sharded with PL/Proxy (README, "Scaling out"). Starts
# 4 shard servers and a router server on free local ports (data under
# .run/), installs sql/credit_ledger_router.sql on the router, the extension
# and sql/credit_ledger_shard.sql on the shards, and the reference data's
# publication (config database on the router server) and subscriptions; then
# test/scale.py checks the router's API against the extension's, errors,
# routing, orders, events, a price change reaching every shard, and a
# concurrent load through the router while one shard is killed (SIGKILL) and
# restarted. Ends with "N passed, M failed".
#
#   bash test/scale.sh             the check (check.sh runs it), ~20 s of load
#   bash test/scale.sh --long      the same with 120 s of load and 3 kills
#   bash test/scale.sh --bench     benchmark rows: deduct through the router vs
#                                  directly on a shard, throughput on 1, 2, 4 shards
source "$(dirname "$0")/lib.sh"
require_root "$@"
MODE=${1:-check}
script_env scale
PY_SRC=$CL_REPO/test/scale.py
SHARDS=4

# every server this script starts lives in DIR/router or DIR/shardN
# (start_server runs in $(...), a subshell: it cannot record them here)
cleanup() {
	local d
	for d in "$DIR"/router "$DIR"/shard*; do
		[ -d "$d" ] && cluster_stop "$d" "$TREE_BIN"
	done
	return 0
}
trap cleanup EXIT

# start_server NAME [conf lines]: prints its port; DIR/NAME holds it
start_server() {
	local name=$1 port
	shift
	port=$(free_port $((56000 + RANDOM % 4000)))
	cluster_start "$DIR/$name" "$port" "$TREE_BIN" "fsync = off" \
		"credit_ledger.sweep_interval = '200ms'" "$@"
	echo "$port"
}

psql_on() { # NAME PORT DB [psql args]
	as_pg "$TREE_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$DIR/$1/sock" -p "$2" -U postgres -d "$3" "${@:4}"
}

started=$(date +%s)
ROUTER_PORT=$(start_server router "wal_level = logical")
psql_on router "$ROUTER_PORT" postgres -c "CREATE DATABASE config"
# the reference data's one place: a database with the extension (its
# validating triggers) that holds no accounts
psql_on router "$ROUTER_PORT" config -c "CREATE EXTENSION credit_ledger" \
	-c "CREATE PUBLICATION credit_ledger_reference FOR TABLE credit_ledger.price_rule,
	    credit_ledger.reward_rule, credit_ledger.product"

SHARD_PORTS=()
options=()
for ((i = 0; i < SHARDS; i++)); do
	SHARD_PORTS+=("$(start_server "shard$i")")
	psql_on "shard$i" "${SHARD_PORTS[$i]}" postgres -c "CREATE EXTENSION credit_ledger" \
		-f "$CL_REPO/sql/credit_ledger_shard.sql" \
		-c "CREATE SUBSCRIPTION credit_ledger_reference
		    CONNECTION '$(dsn "$DIR/router" "$ROUTER_PORT" config)'
		    PUBLICATION credit_ledger_reference WITH (slot_name = 'credit_ledger_reference_p$i')" \
		2> >(grep -v 'created replication slot' >&2)
	options+=("p$i '$(dsn "$DIR/shard$i" "${SHARD_PORTS[$i]}")'")
done

# router_db DB N: a router database routing to the first N shards
router_db() {
	local db=$1 n=$2 opts
	opts=$(IFS=,; echo "${options[*]:0:$n}")
	psql_on router "$ROUTER_PORT" postgres -c "CREATE DATABASE $db"
	psql_on router "$ROUTER_PORT" "$db" -c "CREATE EXTENSION plproxy" \
		-c "CREATE SERVER credit_ledger FOREIGN DATA WRAPPER plproxy OPTIONS ($opts)" \
		-c "CREATE USER MAPPING FOR PUBLIC SERVER credit_ledger OPTIONS (user 'postgres')" \
		-c "CREATE SERVER credit_ledger_config FOREIGN DATA WRAPPER plproxy
		    OPTIONS (p0 '$(dsn "$DIR/router" "$ROUTER_PORT" config)')" \
		-c "CREATE USER MAPPING FOR PUBLIC SERVER credit_ledger_config OPTIONS (user 'postgres')" \
		-f "$CL_REPO/sql/credit_ledger_router.sql"
}
router_db router "$SHARDS"
echo "== 4 shards and a router up, installed in $(($(date +%s) - started)) s"

args=(--router "$(dsn "$DIR/router" "$ROUTER_PORT" router)"
	--config "$(dsn "$DIR/router" "$ROUTER_PORT" config)" --pg-bin "$TREE_BIN" --readme "$CL_REPO/README.md")
for ((i = 0; i < SHARDS; i++)); do
	args+=(--shard "$(dsn "$DIR/shard$i" "${SHARD_PORTS[$i]}")" --shard-dir "$DIR/shard$i")
done

case $MODE in
--bench)
	router_db router1 1
	router_db router2 2
	exec_bench() {
		local name=$1 dsn=$2 seconds=${BENCH_SECONDS:-10}
		local tps
		tps=$(as_pg "$TREE_BIN/pgbench" -n -f "$DIR/deduct.pgbench" -c 8 -j 2 -T "$seconds" \
			-h "$(sed -E 's/.*host=([^ ]+).*/\1/' <<<"$dsn")" -p "$(sed -E 's/.*port=([^ ]+).*/\1/' <<<"$dsn")" \
			-U postgres "$(sed -E 's/.*dbname=([^ ]+).*/\1/' <<<"$dsn")" 2>&1 | sed -nE 's/^tps = ([0-9.]+).*/\1/p')
		printf '%-44s %10s deducts/s\n' "$name" "$tps"
	}
	# every account on every router's shards; the 1-shard router puts all 64
	# on shard 0, so the direct row runs on the same data
	for db in router1 router2 router; do
		psql_on router "$ROUTER_PORT" "$db" -c "SELECT count(*) FROM generate_series(1, 64) a,
			credit_ledger.grant_credits(a, 1000000000000, 'seed-' || a) g" >/dev/null
	done
	cat >"$DIR/deduct.pgbench" <<-'EOF'
		\set aid random(1, 64)
		\set r random(1, 1000000000000)
		SELECT * FROM credit_ledger.deduct(:aid, 1, 'bench-' || :client_id || '-' || :r);
	EOF
	chown postgres: "$DIR/deduct.pgbench"
	echo "== 8 clients, ${BENCH_SECONDS:-10} s each, accounts 1..64; all servers share this machine's $(nproc) cores"
	# directly on shard 0: every account exists on every shard for this row
	# (seeded so), the same call without the hop
	exec_bench "directly on shard 0 (no router)" "$(dsn "$DIR/shard0" "${SHARD_PORTS[0]}")"
	exec_bench "through the router, 1 shard" "$(dsn "$DIR/router" "$ROUTER_PORT" router1)"
	exec_bench "through the router, 2 shards" "$(dsn "$DIR/router" "$ROUTER_PORT" router2)"
	exec_bench "through the router, 4 shards" "$(dsn "$DIR/router" "$ROUTER_PORT" router)"
	;;
--long)
	/usr/bin/python3 "$PY_SRC" check "${args[@]}" --seconds 120 --kills 3
	;;
*)
	/usr/bin/python3 "$PY_SRC" check "${args[@]}" --seconds "${SCALE_SECONDS:-20}" --kills 1
	;;
esac
status=$?
echo "== scale: $(($(date +%s) - started)) s"
exit $status
