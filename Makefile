# credit_ledger: PGXS build. Tests run through test/check.sh (see README).

MODULE_big = credit_ledger
OBJS = \
	src/credit_ledger.o \
	src/api/account.o \
	src/api/adjust.o \
	src/api/allowance.o \
	src/api/extend_grant.o \
	src/api/args.o \
	src/api/batch.o \
	src/api/cancel.o \
	src/api/capture.o \
	src/api/charge.o \
	src/api/confirm.o \
	src/api/deduct.o \
	src/api/extend_hold.o \
	src/api/grant.o \
	src/api/op_result.o \
	src/api/refund.o \
	src/api/reserve.o \
	src/api/resolve_price.o \
	src/api/set_alert.o \
	src/api/reward.o \
	src/api/spend_period.o \
	src/api/sweep.o \
	src/api/transfer.o \
	src/api/triggers.o \
	src/api/void_grant.o \
	src/api/worker_status.o \
	src/worker/leases.o \
	src/worker/state.o \
	src/worker/sweep.o \
	src/worker/worker.o \
	src/shop/orders.o \
	src/ledger/account.o \
	src/ledger/allowance.o \
	src/ledger/arrivals.o \
	src/ledger/bucket.o \
	src/ledger/debt.o \
	src/ledger/entry.o \
	src/ledger/events.o \
	src/ledger/expiry.o \
	src/ledger/hold.o \
	src/ledger/idempotency.o \
	src/ledger/limits.o \
	src/ledger/money.o \
	src/ledger/operation.o \
	src/ledger/refund.o \
	src/ledger/slices.o \
	src/ledger/transfer.o \
	src/ledger/utc.o \
	src/pricing/price_quote.o \
	src/pricing/price_rules.o \
	src/pricing/usage_object.o \
	src/store/catalog.o \
	src/store/query.o \
	src/store/row.o
PGFILEDESC = "credit_ledger - prepaid credit ledger"
# units include each other as "layer/unit.h" (src/README: which layer calls which)
PG_CPPFLAGS = -I$(srcdir)/src

EXTENSION = credit_ledger
DATA = sql/credit_ledger--1.0.sql sql/credit_ledger--1.0--1.1.sql

# pg_regress suites (test/sql, expected/), isolation specs (test/isolation)
# and TAP tests (test/t), run by test/check.sh on temporary preloaded
# instances. Self-contained for "make install && make installcheck" as a
# user other than root, as pg_cron does: each suite starts its own preloaded
# server (--temp-instance, test/regress.conf) and installs the extension.
REGRESS = setup accounts grants deduct refund adjust idempotency ledger security \
	holds hold_expiry sweep worker \
	price_rules quote charge reward consumption comments bad_input privileges chaos_regressions rows \
	skipped_writes added_columns read_only text_bounds many_buckets utc_expiry \
	reading_nulls price_rule_keep events shop grant_lifecycle stored_request agent_holds pricing_1_1 \
	teams transfers batches replay_writes_nothing \
	allowances effective_grants transfer_saga
REGRESS_OPTS = --inputdir=test --temp-instance=tmp_check --temp-config=test/regress.conf \
	--load-extension=credit_ledger
ISOLATION = deduct_race deduct_repeatable_read event_race reserve_overspend reserve_same_event \
	confirm_cancel_race confirm_sweep_race price_change refund_race reward_cap_race \
	fk_deadlock reindex_deadlock drop_extension_wait \
	events_cross_race events_late_commit events_notify pay_order_race \
	capture_race capture_expiry_race capture_cancel_race extend_sweep_race import_prices_race \
	limit_race transfer_cross transfer_same_event batch_lock_order batch_single_race replay_no_lock \
	allowance_boundary_race effective_grant_race transfer_saga_race
ISOLATION_OPTS = --inputdir=test/isolation --temp-instance=tmp_check \
	--temp-config=test/regress.conf --load-extension=credit_ledger
# PostgreSQL::Test::Cluster servers of their own (restart, crash, backup,
# a hostile database owner, a hot standby)
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS knows nothing of our headers: a changed struct must rebuild every unit
$(OBJS): $(wildcard src/*.h src/*/*.h)

# test/check.sh reads the suite lists from here: make print-REGRESS
print-%:
	@echo $($*)

# credit_ledger against hand-written SQL and PL/pgSQL (README, Performance);
# bash test/bench.sh --long for longer rounds
bench:
	bash test/bench.sh
# the ledger sharded: deduct through a PL/Proxy router vs directly, 1, 2, 4 shards
bench-scale:
	bash test/scale.sh --bench
.PHONY: bench bench-scale
