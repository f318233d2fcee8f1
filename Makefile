# credit_ledger: PGXS build. Tests run through test/check.sh (see README).

MODULE_big = credit_ledger
OBJS = \
	src/account.o \
	src/adjust.o \
	src/args.o \
	src/bucket.o \
	src/cancel.o \
	src/charge.o \
	src/confirm.o \
	src/credit_ledger.o \
	src/deduct.o \
	src/entry.o \
	src/events.o \
	src/expiry.o \
	src/grant.o \
	src/hold.o \
	src/idempotency.o \
	src/money.o \
	src/operation.o \
	src/orders.o \
	src/price_cache.o \
	src/pricing.o \
	src/query.o \
	src/refund.o \
	src/reserve.o \
	src/reward.o \
	src/row.o \
	src/shmem.o \
	src/slices.o \
	src/sweep.o \
	src/triggers.o \
	src/worker.o
PGFILEDESC = "credit_ledger - prepaid credit ledger"

EXTENSION = credit_ledger
DATA = sql/credit_ledger--1.0.sql sql/credit_ledger--1.0--1.1.sql

# pg_regress suites (test/sql, expected/), isolation specs (test/isolation),
# run by test/check.sh on a temporary preloaded instance
REGRESS = setup accounts grants deduct refund adjust idempotency ledger security \
	holds hold_expiry sweep worker \
	price_rules quote charge reward consumption comments bad_input privileges chaos_regressions rows \
	skipped_writes added_columns read_only text_bounds many_buckets utc_expiry \
	reading_nulls price_rule_keep events shop
REGRESS_OPTS = --inputdir=test --temp-config=test/regress.conf
ISOLATION = deduct_race deduct_repeatable_read event_race reserve_overspend reserve_same_event \
	confirm_cancel_race confirm_sweep_race price_change refund_race reward_cap_race \
	fk_deadlock reindex_deadlock drop_extension_wait \
	events_cross_race events_late_commit events_notify pay_order_race
ISOLATION_OPTS = --inputdir=test/isolation --temp-config=test/regress.conf

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS knows nothing of our headers: a changed struct must rebuild every unit
$(OBJS): $(wildcard src/*.h)

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
