/*
 * money.c
 *		The two movements every money function is made of: credits in (a
 *		new bucket, after repaying debt) and credits out (burn-down draw,
 *		the rest on credit within the limit), each with its entry. The debt
 *		rule itself is debt.c's.
 */
#include "postgres.h"

#include "ledger/bucket.h"
#include "ledger/credits.h"
#include "ledger/debt.h"
#include "ledger/limits.h"
#include "ledger/money.h"

/*
 * Credits in: repays debt first, puts the rest in a new bucket, and writes
 * the entry. The op's result is that entry. Deferred credits enter
 * nothing yet: the bucket waits for effective_at (its credits in granted),
 * and the entry records 0 credits, balance unchanged; their arrival is a
 * grant entry of its own (arrivals.c).
 */
void
money_in(LedgerOp *op, const MoneyIn *in)
{
	LedgerEntry e = {0};
	Slices		credited;
	int64		amount = in->deferred ? 0 : in->amount;
	int64		left = debt_repay(&op->acct, amount);
	int64		bucket_id;

	bucket_id = bucket_create(op, &e.entry_id, &(BucketNew) {
		.source = in->source, .granted = in->amount, .remaining = left,
		.priority = in->priority, .has_expiry = in->has_expiry, .expires_at = in->expires_at
	});
	if (in->deferred)
		bucket_defer(op, bucket_id, in->effective_at);
	slices_init(&credited);
	if (left > 0)
		slices_add(&credited, bucket_id, left);

	e.kind = in->kind;
	e.amount = amount;
	e.event_id = op->event_id;
	e.source = in->source;
	e.description = in->description;
	e.metadata = in->metadata;
	e.has_metadata = in->has_metadata;
	e.slices = &credited;
	op->entry_id = entry_write(op, &e);
	op->amount = amount;
	op->acct.total_granted = credits_add(op->acct.total_granted, amount);
}

/*
 * Draws `amount` from the buckets in burn-down order into `drawn`; the
 * shortfall becomes debt. The caller has checked the credit limit.
 */
void
money_draw(LedgerOp *op, int64 amount, Slices *drawn)
{
	debt_owe(&op->acct, buckets_draw(op, amount, drawn));
}

/*
 * Credits out: checks the credit limit, draws from the buckets (the rest
 * on credit), writes the entry with the slices it drew, and counts
 * consumption on the spend limits (LD009 past one).
 */
void
money_out(LedgerOp *op, const MoneyOut *out)
{
	Slices		drawn;

	account_require_available(&op->acct, out->amount);
	money_draw(op, out->amount, &drawn);

	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = out->kind, .amount = -out->amount, .event_id = op->event_id,
		.source = out->source, .description = out->description,
		.metadata = out->metadata, .has_metadata = out->has_metadata,
		.price_rule_id = out->price_rule_id, .tokens = out->tokens, .slices = &drawn,
		.subject = out->subject
	});
	op->amount = out->amount;
	op->acct.total_consumed = credits_add(op->acct.total_consumed, out->amount);
	if (entry_kind_is_consumption(out->kind))
		limits_count(op, &(SpendCount) {.subject = out->subject, .used = out->amount});
}
