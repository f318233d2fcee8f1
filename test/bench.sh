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
#   bash test/bench.sh --long     longer rounds, more of them, and deduct
#                                 again with 10 million more entries loaded
#   bash test/bench.sh --smoke    seconds: proves the script works (check.sh)
#
# Each row says the bar of issue 18 it must meet (column bar); p99_ratio is
# credit_ledger's p99 over that row's. Bytes per call (WAL right after a
# CHECKPOINT and steady, entry + indexes, over 10,000 calls) come in a
# second table.
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
short) SECS=3 ROUNDS=2 ACCOUNTS=10000 HOLDS=100000 CALLS=10000 ;;
long) SECS=20 ROUNDS=3 ACCOUNTS=10000 HOLDS=100000 CALLS=10000 GROWTH=10000000 ;;
smoke) SECS=1 ROUNDS=1 ACCOUNTS=100 HOLDS=200 CALLS=400 ;;
esac
ITEMS=100                     # items per deduct_many / charge_many call
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
echo "== load average at the start: $(cut -d" " -f1-3 /proc/loadavg) (nproc $(nproc))"
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

# What each row must meet (issue 18), by KEY/IMPL: shown in column "bar"
declare -A BAR
# Calls that carry several events (the batches): their tps counts events
declare -A EVENTS_PER_CALL=([deduct_many_ledger.pgb]=$ITEMS [charge_many_ledger.pgb]=$ITEMS)

# run_round KEY IMPL SCRIPT CLIENTS ROUND [pgbench -D args...]
# One pgbench run; its per-transaction latencies go to KEY/IMPL/latencies
# (microseconds) and its tps to KEY/IMPL/tps (events per second for a batch).
run_round() {
	local key=$1 impl=$2 script=$3 clients=$4 round=$5
	shift 5
	local dir=$OUT/$key/$impl logs=$OUT/$key/$impl/log.$round
	local per_call=${EVENTS_PER_CALL[$script]:-1}
	local threads=$((clients < 2 ? clients : 2))
	mkdir -p "$logs"
	if ! "$TREE_BIN/pgbench" -n -M prepared -h "$SERVER/sock" -p "$PORT" -U postgres \
		-c "$clients" -j "$threads" -T "$SECS" -D items=$ITEMS -f "$BENCH/$script" "$@" \
		-l --log-prefix="$logs/tx" bench >"$dir/pgbench.$round.out" 2>&1; then
		echo "pgbench failed ($key, $impl, round $round):" >&2
		tail -20 "$dir/pgbench.$round.out" >&2
		exit 1
	fi
	sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$dir/pgbench.$round.out" \
		| awk -v n="$per_call" '{ print $1 * n }' >>"$dir/tps"
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

HOTONE=(-D lo=$HOT -D hi=$HOT)
DEDUCT=(credit_ledger=deduct_ledger.pgb minimal_sql=deduct_minimal.pgb plpgsql=deduct_plpgsql.pgb)

BAR[deduct_spread_8/minimal_sql]=">= 1.00, p99 <= 1.25x"
BAR[deduct_hot_8/minimal_sql]=">= 1.00, p99 <= 1.25x"
BAR[replay_8/minimal_sql]=">= 0.80"
BAR[reserve_confirm_8/minimal_sql]=">= 0.90"
BAR[charge_8/minimal_sql]=">= 0.95"
BAR[worker_8/no_sweep]=">= 0.80"
BAR[deduct_many_8/deduct]=">= 5.00"
BAR[charge_many_8/charge]=">= 5.00"

# --long: deduct as the bench starts (the ledger as loaded), compared at the
# end with the same after GROWTH more entries (growth_round)
growth_round() {
	local impl=$1 round
	for round in $(seq "$ROUNDS"); do
		run_round ledger_growth "$impl" deduct_ledger.pgb 8 "$round" "${SPREAD[@]}"
	done
}
SPREAD=(-D lo=1 -D hi=$ACCOUNTS)
if [ -n "${GROWTH:-}" ]; then
	SMALL_LEDGER=$(psql_bench -Atc "SELECT count(*) FROM credit_ledger.entry")
	echo "== deduct, spread, 8 clients, with the ledger as loaded ($SMALL_LEDGER entries)"
	growth_round small_ledger
fi

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

# Batches (1.1): ITEMS items per call on random accounts, against as many
# single calls; tps counts events (items) per second, p99 is per batch
if has_function deduct_many && has_function charge_many; then
	scenario deduct_many_8 "deduct_many, $ITEMS items a call (tps: events/s)" 8 - "${SPREAD[@]}" -- \
		deduct_many=deduct_many_ledger.pgb deduct=deduct_ledger.pgb
	scenario charge_many_8 "charge_many, $ITEMS items a call (tps: events/s)" 8 - "${SPREAD[@]}" -- \
		charge_many=charge_many_ledger.pgb charge=charge_ledger.pgb
else
	echo "== skipped: batches (no credit_ledger.deduct_many in this build)"
fi

# bytes_per_call NAME IMPL SCRIPT TABLE: WAL per call over CALLS calls by 8
# clients right after a CHECKPOINT (each implementation pays the full-page
# images of the pages it touches first) and over CALLS more right after
# (steady: those pages are logged already), and the growth of TABLE (with
# its indexes and TOAST) per call over both
bytes_per_call() {
	local name=$1 impl=$2 script=$3 table=$4 marks=() run
	psql_bench -c "CHECKPOINT"
	for run in 0 1 2; do
		marks+=("$(psql_bench -Atc "SELECT pg_current_wal_insert_lsn() || ' ' || pg_total_relation_size('$table')")")
		[ "$run" = 2 ] && break
		"$TREE_BIN/pgbench" -n -M prepared -h "$SERVER/sock" -p "$PORT" -U postgres -c 8 -j 2 \
			-t $((CALLS / 8)) "${SPREAD[@]}" -f "$BENCH/$script" bench >>"$OUT/bytes.$name.$impl.out" 2>&1
	done
	psql_bench -Atc "SELECT '$name|$impl|' ||
		round(pg_wal_lsn_diff('${marks[1]% *}', '${marks[0]% *}') / $CALLS.0) || '|' ||
		round(pg_wal_lsn_diff('${marks[2]% *}', '${marks[1]% *}') / $CALLS.0) || '|' ||
		round((${marks[2]#* } - ${marks[0]#* }) / (2 * $CALLS.0))" >>"$OUT/bytes"
}
echo "== bytes per call: $CALLS calls each (after a VACUUM, autovacuum off: only the calls write WAL)"
psql_bench -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" -c "VACUUM" >/dev/null
bytes_per_call deduct credit_ledger deduct_ledger.pgb credit_ledger.entry
bytes_per_call deduct minimal_sql deduct_minimal.pgb bench_min.wallet_entry
bytes_per_call replay credit_ledger replay_ledger.pgb credit_ledger.entry
bytes_per_call replay minimal_sql replay_minimal.pgb bench_min.wallet_entry
psql_bench -c "ALTER SYSTEM RESET autovacuum" -c "SELECT pg_reload_conf()" >/dev/null

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

# --long: GROWTH more entries, written straight into the ledger as deducts
# of 0 credits on the spread accounts (each account's figures stay as they
# are, so verify() still holds), spread over the last 30 days
if [ -n "${GROWTH:-}" ]; then
	echo "== loading $GROWTH entries into the ledger"
	started=$(date +%s)
	psql_bench -c "INSERT INTO credit_ledger.entry (account_id, kind, amount, reserved_delta,
			balance_after, reserved_after, event_id, source, request, created_at)
		SELECT a.account_id, 'deduct', 0, 0, a.balance, a.reserved, 'growth-' || g, 'usage',
		       (SELECT request FROM credit_ledger.entry WHERE account_id = 1 AND event_id = 'replay-1'),
		       now() - (g % 43200) * interval '1 minute'
		FROM credit_ledger.account a, generate_series(1, $GROWTH / $ACCOUNTS) g
		WHERE a.account_id BETWEEN 1 AND $ACCOUNTS" -c "VACUUM ANALYZE credit_ledger.entry"
	LOAD_SECONDS=$(($(date +%s) - started))
	LARGE_LEDGER=$(psql_bench -Atc "SELECT count(*) FROM credit_ledger.entry")
	echo "   loaded in $LOAD_SECONDS s (with VACUUM ANALYZE); the ledger has $LARGE_LEDGER entries"
	echo "== deduct, spread, 8 clients, with $LARGE_LEDGER entries"
	growth_round large_ledger
	echo "ledger_growth|deduct, 8 clients: $LARGE_LEDGER entries vs $SMALL_LEDGER|8|large_ledger small_ledger" >>"$OUT/scenarios"
	BAR[ledger_growth/small_ledger]=">= 0.90"
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

echo "scenario,clients,implementation,rounds,tps,mean_ms,p99_ms,credit_ledger_tps_ratio,p99_ratio,bar" >"$CSV"
{
	printf '%-50s %7s  %-14s %9s %9s %9s %8s %9s  %s\n' scenario clients implementation tps mean_ms p99_ms ratio p99_ratio bar
	while IFS='|' read -r key label clients impls; do
		subject= subject_shown=
		for impl in $impls; do
			tps=$(mean_tps "$OUT/$key/$impl/tps")
			read -r mean p99 < <(stats "$OUT/$key/$impl/latencies")
			bar=${BAR[$key/$impl]:-}
			if [ -z "$subject" ]; then
				subject=$tps subject_p99=$p99
				ratio= p99_ratio=
			else
				ratio=$(awk -v a="$subject" -v b="$tps" 'BEGIN { printf "%.2f", a / b }')
				p99_ratio=$(awk -v a="$subject_p99" -v b="$p99" 'BEGIN { printf "%.2f", a / b }')
			fi
			printf '%-50s %7s  %-14s %9s %9s %9s %8s %9s  %s\n' "${subject_shown:-$label}" "${subject_shown:-$clients}" \
				"$impl" "$tps" "$mean" "$p99" "$ratio" "$p99_ratio" "$bar"
			echo "\"$label\",$clients,$impl,$(wc -l <"$OUT/$key/$impl/tps"),$tps,$mean,$p99,$ratio,$p99_ratio,\"$bar\"" >>"$CSV"
			subject_shown=" "
		done
	done <"$OUT/scenarios"
	echo
	printf '%-36s %-14s %16s %10s %12s  %s\n' "bytes per call ($CALLS calls, 8 clients)" implementation \
		wal_after_ckpt wal_steady entry_bytes bar
	while IFS='|' read -r name impl wal_cold wal rel; do
		case $name/$impl in
		deduct/credit_ledger) bar="WAL <= 600, entry + indexes <= 250" ;;
		replay/credit_ledger) bar="WAL 0 (no row lock, nothing written)" ;;
		*) bar= ;;
		esac
		printf '%-36s %-14s %16s %10s %12s  %s\n' "$name" "$impl" "$wal_cold" "$wal" "$rel" "$bar"
		echo "\"bytes per $name\",8,$impl,1,,,,,,\"wal after a checkpoint $wal_cold, steady $wal, entry $rel\"" >>"$CSV"
	done <"$OUT/bytes"
	[ -z "${LOAD_SECONDS:-}" ] || echo "--long: $GROWTH entries loaded in $LOAD_SECONDS s (INSERT ... SELECT and VACUUM ANALYZE)"
} >"$SUMMARY"

echo
echo "== settings: ${SETTINGS[*]}; pgbench -M prepared, ${ROUNDS} rounds of ${SECS}s per implementation, alternating"
echo "== ratio = credit_ledger tps / that implementation's tps (above 1: credit_ledger is faster);"
echo "   for the worker scenario: tps while the worker sweeps / tps with the sweeper off;"
echo "   for the alert scenario: tps with an alert on every account / tps without;"
echo "   for the spend limit scenario: tps with a limit on every account / tps without;"
echo "   for the transfer scenario: transfers/s / transactions of two deducts per second"
echo "   for the batches: events/s of the batch call / events/s of the single call (p99 is per batch);"
echo "   --long: tps with the large ledger / tps with the ledger as loaded"
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$SUMMARY"
echo
echo "results: $CSV"
