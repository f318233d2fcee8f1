#!/usr/bin/env bash
# bench.sh: credit_ledger against what users would write instead, side by
# side in one run. Builds, installs into a private PostgreSQL tree, starts a
# throwaway preloaded server, loads the same accounts into credit_ledger and
# into the two baselines of test/bench/ (minimal hand-written SQL, and a
# PL/pgSQL implementation of the same contract), then runs every scenario
# with pgbench, alternating the implementations round by round so machine
# noise hits all of them. Prints a table (tps, mean and p99 latency, ratio
# credit_ledger/baseline) and writes it as CSV under the work dir.
#
#   bash test/bench.sh            short run (a few minutes)
#   bash test/bench.sh --long     longer rounds, more of them
#   bash test/bench.sh --smoke    seconds: proves the script works (check.sh)
source "$(dirname "$0")/lib.sh"
require_root "$@"

MODE=short
for arg in "$@"; do
	case $arg in
	--long) MODE=long ;;
	--smoke) MODE=smoke ;;
	*) echo "usage: bash test/bench.sh [--long|--smoke]" >&2; exit 2 ;;
	esac
done

# seconds per pgbench round, rounds per implementation, accounts, holds the
# worker expires
case $MODE in
short) SECS=3 ROUNDS=2 ACCOUNTS=10000 HOLDS=100000 ;;
long) SECS=20 ROUNDS=3 ACCOUNTS=10000 HOLDS=100000 ;;
smoke) SECS=1 ROUNDS=1 ACCOUNTS=100 HOLDS=200 ;;
esac
HOT=0                         # the hot account; the spread ones are 1..ACCOUNTS
CREDITS=1000000000000000      # per bucket: no run can drain it
BENCH=$CL_REPO/test/bench

# Under check.sh (run_script) the build is installed already: reuse it.
if [ -n "${TREE_BIN:-}" ] && [ "$MODE" = smoke ]; then
	WORK=$WORK/bench-smoke
else
	install_deps
	build
	WORK=$(work_dir bench)
	rm -rf "${WORK:?}"/*
	TREE_BIN=$(private_install "$WORK")
fi
PORT=$(free_port 55432)
SERVER=$WORK/server
OUT=$WORK/results
mkdir -p "$OUT"

SETTINGS=(
	"shared_buffers = 1GB"
	"fsync = on"
	"synchronous_commit = on"
	"max_wal_size = 8GB"
	"checkpoint_timeout = 30min"
	"max_connections = 100"
	"credit_ledger.database = 'bench'"
	"credit_ledger.sweeper_enabled = off"
	# 100 accounts (here 1,000 holds) per sweep transaction: the default
	# 1,000 accounts makes one transaction of 10,000 holds, which under
	# this load outlasts a whole round and commits nothing within it
	"credit_ledger.sweep_batch_size = 100"
)
trap 'cluster_stop "$SERVER" "$TREE_BIN"' EXIT
cluster_start "$SERVER" "$PORT" "$TREE_BIN" "${SETTINGS[@]}"

psql_bench() {
	"$TREE_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SERVER/sock" -p "$PORT" -U postgres -d bench "$@"
}

"$TREE_BIN/psql" -X -q -h "$SERVER/sock" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE bench"
psql_bench -c "CREATE EXTENSION credit_ledger"

# pg_proc decides which scenarios this build can run
has_function() {
	[ "$(psql_bench -Atc "SELECT count(*) FROM pg_proc WHERE pronamespace = 'credit_ledger'::regnamespace AND proname = '$1'")" != 0 ]
}

echo "== loading $((ACCOUNTS + 1)) accounts into each implementation"
psql_bench -f "$BENCH/minimal.sql" -f "$BENCH/plpgsql.sql"
psql_bench -Atc "SELECT bench_min.load($HOT, $ACCOUNTS, 2 * $CREDITS)" >/dev/null
psql_bench -Atc "SELECT bench_plpgsql.load($HOT, $ACCOUNTS, $CREDITS)" >/dev/null
psql_bench -v first=$HOT -v last=$ACCOUNTS -v credits=$CREDITS -f "$BENCH/ledger_load.sql" >/dev/null
# the events the replay scenario repeats
psql_bench >/dev/null <<-SQL
	SELECT count(credit_ledger.deduct(a, 1, 'replay-' || a)) FROM generate_series(1, $ACCOUNTS) a;
	SELECT count(bench_plpgsql.deduct(a, 1, 'replay-' || a)) FROM generate_series(1, $ACCOUNTS) a;
	INSERT INTO bench_min.wallet_entry (wallet_id, amount, event_id)
	SELECT a, -1, 'replay-' || a FROM generate_series(1, $ACCOUNTS) a;
SQL
# a history of settled holds, so that no table starts empty: plans a
# session caches for an empty table would scan it whole for a minute
if has_function reserve && has_function confirm; then
	"$TREE_BIN/pgbench" -n -M prepared -h "$SERVER/sock" -p "$PORT" -U postgres -c 2 -j 2 \
		-t $((ACCOUNTS / 10)) -D lo=1 -D hi=$ACCOUNTS \
		-f "$BENCH/reserve_confirm_ledger.pgb" -f "$BENCH/reserve_confirm_minimal.pgb" \
		-f "$BENCH/reserve_confirm_plpgsql.pgb" bench >/dev/null
fi
psql_bench -c "VACUUM ANALYZE" -c "CHECKPOINT"

# run_round KEY IMPL SCRIPT CLIENTS ROUND [pgbench -D args...]
# One pgbench run; its per-transaction latencies go to KEY/IMPL/latencies
# (microseconds) and its tps to KEY/IMPL/tps.
run_round() {
	local key=$1 impl=$2 script=$3 clients=$4 round=$5
	shift 5
	local dir=$OUT/$key/$impl logs=$OUT/$key/$impl/log.$round
	local threads=$((clients < 2 ? clients : 2))
	mkdir -p "$logs"
	if ! "$TREE_BIN/pgbench" -n -M prepared -h "$SERVER/sock" -p "$PORT" -U postgres \
		-c "$clients" -j "$threads" -T "$SECS" -f "$BENCH/$script" "$@" \
		-l --log-prefix="$logs/tx" bench >"$dir/pgbench.$round.out" 2>&1; then
		echo "pgbench failed ($key, $impl, round $round):" >&2
		tail -20 "$dir/pgbench.$round.out" >&2
		exit 1
	fi
	sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$dir/pgbench.$round.out" >>"$dir/tps"
	cat "$logs"/tx.* | awk '{ print $3 }' >>"$dir/latencies"
	rm -rf "$logs"
}

# scenario KEY LABEL CLIENTS HOOK -D... -- IMPL=SCRIPT...
# Runs ROUNDS rounds of every implementation, in turn (A B A B...). The
# first implementation is the subject, the others its baselines. HOOK (or
# -) is called as HOOK before|after IMPL ROUND around each pgbench run.
scenario() {
	local key=$1 label=$2 clients=$3 hook=$4
	shift 4
	local defines=() impls=() round pair
	while [ "$1" != -- ]; do defines+=("$1"); shift; done
	shift
	impls=("$@")
	echo "== $label, $clients clients: ${impls[*]%%=*}"
	echo "$key|$label|$clients|${impls[*]%%=*}" >>"$OUT/scenarios"
	for round in $(seq "$ROUNDS"); do
		for pair in "${impls[@]}"; do
			[ "$hook" = - ] || "$hook" before "${pair%%=*}" "$round"
			run_round "$key" "${pair%%=*}" "${pair#*=}" "$clients" "$round" "${defines[@]}"
			[ "$hook" = - ] || "$hook" after "${pair%%=*}" "$round"
		done
	done
}

SPREAD=(-D lo=1 -D hi=$ACCOUNTS)
HOTONE=(-D lo=$HOT -D hi=$HOT)
DEDUCT=(credit_ledger=deduct_ledger.pgb minimal_sql=deduct_minimal.pgb plpgsql=deduct_plpgsql.pgb)

for c in 1 8 32; do
	[ "$MODE" = smoke ] && [ "$c" != 8 ] && continue
	scenario "deduct_spread_$c" "deduct, spread over $ACCOUNTS accounts" "$c" - "${SPREAD[@]}" -- "${DEDUCT[@]}"
	scenario "deduct_hot_$c" "deduct, one hot account" "$c" - "${HOTONE[@]}" -- "${DEDUCT[@]}"
done
scenario replay_8 "replay of an existing event" 8 - "${SPREAD[@]}" -- \
	credit_ledger=replay_ledger.pgb minimal_sql=replay_minimal.pgb plpgsql=replay_plpgsql.pgb

if has_function reserve && has_function confirm; then
	scenario reserve_confirm_8 "reserve + confirm (2 transactions)" 8 - "${SPREAD[@]}" -- \
		credit_ledger=reserve_confirm_ledger.pgb minimal_sql=reserve_confirm_minimal.pgb \
		plpgsql=reserve_confirm_plpgsql.pgb
else
	echo "== skipped: reserve + confirm (no credit_ledger.reserve in this build)"
fi

# Agent sessions (1.1): a turn's hold captured three times, then a final
# capture, against the PL/pgSQL baseline's capture (test/bench/plpgsql_capture.sql)
if has_function capture; then
	psql_bench -f "$BENCH/plpgsql_capture.sql"
	scenario capture_8 "reserve + 3 captures + final (5 transactions)" 8 - "${SPREAD[@]}" -- \
		credit_ledger=capture_ledger.pgb plpgsql=capture_plpgsql.pgb
else
	echo "== skipped: reserve + 3 captures + final (no credit_ledger.capture in this build)"
fi

# rules_round before|after IMPL: the catalog's rules are active for the
# rules_1000 rounds only (each switch makes every session reload its rules)
rules_round() {
	[ "$1" = before ] || return 0
	psql_bench -c "UPDATE credit_ledger.price_rule SET active = ('$2' = 'rules_1000')
		WHERE description = 'bench catalog'" >/dev/null
}
if has_function charge; then
	psql_bench -f "$BENCH/plpgsql_charge.sql"
	for schema in credit_ledger bench_plpgsql; do
		psql_bench -v schema=$schema -f "$BENCH/prices.sql" >/dev/null
	done
	scenario charge_8 "charge (price resolution included)" 8 - "${SPREAD[@]}" -- \
		credit_ledger=charge_ledger.pgb minimal_sql=charge_minimal.pgb plpgsql=charge_plpgsql.pgb
	# the same charge with 990 more rules (test/bench/many_rules.sql, the
	# shape of an imported catalog) switched on: a call finds its model's
	# rules by hash, so the ratio should stay at 0.95 or above
	psql_bench -f "$BENCH/many_rules.sql"
	scenario charge_rules_8 "charge with 1,000 rules vs 10 rules" 8 rules_round "${SPREAD[@]}" -- \
		rules_1000=charge_ledger.pgb rules_10=charge_ledger.pgb
else
	echo "== skipped: charge (no credit_ledger.charge in this build)"
fi

# Events (1.1): a deduct on an account with a low-balance alert that it does
# not cross writes no event and should cost what one without an alert costs.
alert_round() {
	local when=$1 impl=$2 threshold=NULL
	[ "$impl" = with_alert ] || return 0
	[ "$when" = before ] && threshold=1
	psql_bench -Atc "SELECT count(credit_ledger.set_alert(a, $threshold))
		FROM generate_series($HOT, $ACCOUNTS) a" >/dev/null
}
if has_function set_alert; then
	scenario alert_8 "deduct with a low-balance alert (never crossed)" 8 alert_round "${SPREAD[@]}" -- \
		with_alert=deduct_ledger.pgb no_alert=deduct_ledger.pgb
else
	echo "== skipped: deduct with a low-balance alert (no credit_ledger.set_alert in this build)"
fi

# Teams (1.1): a deduct on an account with one spend limit (the whole
# account's, never reached) against one without; a transfer against the two
# deducts on the same two accounts it locks.
limit_round() {
	local when=$1 impl=$2 max=NULL
	[ "$impl" = with_limit ] || return 0
	[ "$when" = before ] && max=$CREDITS
	psql_bench -Atc "SELECT count(credit_ledger.set_spend_limit(a, 'day', $max))
		FROM generate_series($HOT, $ACCOUNTS) a" >/dev/null
}
if has_function set_spend_limit; then
	scenario limit_8 "deduct with a spend limit (never reached)" 8 limit_round "${SPREAD[@]}" -- \
		with_limit=deduct_ledger.pgb no_limit=deduct_ledger.pgb
	scenario transfer_8 "transfer (vs two deducts in one transaction)" 8 - "${SPREAD[@]}" -- \
		transfer=transfer_ledger.pgb two_deducts=two_deducts_ledger.pgb
else
	echo "== skipped: spend limits and transfers (no credit_ledger.set_spend_limit in this build)"
fi

# The worker scenario: HOLDS holds on accounts of their own (BG_FIRST..),
# due at once, created with the sweeper off; the sweeper is on during the
# rounds "during_sweep" only (it takes a few seconds to restart and
# connect; the round starts once it is sweeping).
BG_FIRST=1000001
BG_ACCOUNTS=$((HOLDS / 10))
sweeper() {
	psql_bench -c "ALTER SYSTEM SET credit_ledger.sweeper_enabled = $1" -c "SELECT pg_reload_conf()" >/dev/null
}
holds_expired() {
	psql_bench -Atc "SELECT count(*) FROM credit_ledger.hold WHERE state = 'expired'"
}
worker_round() {
	local when=$1 impl=$2 round=$3 i
	[ "$impl" = during_sweep ] || return 0
	if [ "$when" = before ]; then
		EXPIRED_BEFORE=$(holds_expired)
		sweeper on
		for i in $(seq 300); do
			[ "$(psql_bench -Atc "SELECT count(*) FROM pg_stat_activity
				WHERE datname = 'bench' AND backend_type = 'credit_ledger sweeper'")" != 0 ] && break
			sleep 0.1
		done
	else
		echo "   round $round: the worker expired $(($(holds_expired) - EXPIRED_BEFORE)) holds during the round"
		sweeper off
	fi
}
if has_function sweep && has_function worker_status; then
	psql_bench -Atc "SELECT count(credit_ledger.grant_credits(a, $CREDITS, 'bg-' || a))
		FROM generate_series($BG_FIRST, $BG_FIRST + $BG_ACCOUNTS - 1) a" >/dev/null
	psql_bench -Atc "SELECT count(credit_ledger.reserve($BG_FIRST + i % $BG_ACCOUNTS, 1, 'bg-' || i,
		interval '1 second')) FROM generate_series(1, $HOLDS) i" >/dev/null
	# what autovacuum does within a minute; with statistics that know no
	# pending hold, the per-account lookup of due holds scans every due hold
	psql_bench -c "ANALYZE credit_ledger.hold"
	sleep 1
	scenario worker_8 "deduct while the worker expires $HOLDS holds" 8 worker_round "${SPREAD[@]}" -- \
		during_sweep=deduct_ledger.pgb no_sweep=deduct_ledger.pgb
else
	echo "== skipped: deduct while the worker sweeps (no credit_ledger.sweep in this build)"
fi

# every figure credit_ledger stores must still follow from its entries
if [ "$(psql_bench -Atc "SELECT count(*) FROM credit_ledger.verify()")" != 0 ]; then
	echo "credit_ledger.verify() found inconsistencies after the benchmark:" >&2
	psql_bench -c "SELECT * FROM credit_ledger.verify() LIMIT 20" >&2
	exit 1
fi

# ---- the summary: one row per implementation, ratios against the subject ----
CSV=$WORK/bench.csv
SUMMARY=$WORK/bench.txt

# stats FILE: "mean_ms p99_ms" of the latencies (microseconds) in FILE
stats() {
	sort -n "$1" | awk '{ v[NR] = $1; sum += $1 }
		END { i = int(NR * 0.99 + 0.999999); if (i < 1) i = 1
		      printf "%.3f %.3f\n", sum / NR / 1000, v[i] / 1000 }'
}

mean_tps() {
	awk '{ sum += $1 } END { printf "%.0f\n", sum / NR }' "$1"
}

echo "scenario,clients,implementation,rounds,tps,mean_ms,p99_ms,credit_ledger_tps_ratio" >"$CSV"
{
	printf '%-44s %7s  %-14s %9s %9s %9s %8s\n' scenario clients implementation tps mean_ms p99_ms ratio
	while IFS='|' read -r key label clients impls; do
		subject= subject_shown=
		for impl in $impls; do
			tps=$(mean_tps "$OUT/$key/$impl/tps")
			read -r mean p99 < <(stats "$OUT/$key/$impl/latencies")
			if [ -z "$subject" ]; then
				subject=$tps
				ratio=
			else
				ratio=$(awk -v a="$subject" -v b="$tps" 'BEGIN { printf "%.2f", a / b }')
			fi
			printf '%-44s %7s  %-14s %9s %9s %9s %8s\n' "${subject_shown:-$label}" "${subject_shown:-$clients}" \
				"$impl" "$tps" "$mean" "$p99" "$ratio"
			echo "\"$label\",$clients,$impl,$(wc -l <"$OUT/$key/$impl/tps"),$tps,$mean,$p99,$ratio" >>"$CSV"
			subject_shown=" "
		done
	done <"$OUT/scenarios"
} >"$SUMMARY"

echo
echo "== settings: ${SETTINGS[*]}; pgbench -M prepared, ${ROUNDS} rounds of ${SECS}s per implementation, alternating"
echo "== ratio = credit_ledger tps / that implementation's tps (above 1: credit_ledger is faster);"
echo "   for the worker scenario: tps while the worker sweeps / tps with the sweeper off;"
echo "   for the alert scenario: tps with an alert on every account / tps without;"
echo "   for the spend limit scenario: tps with a limit on every account / tps without;"
echo "   for the transfer scenario: transfers/s / transactions of two deducts per second"
cat "$SUMMARY"
echo
echo "results: $CSV"
