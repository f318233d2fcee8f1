/*
 * money.c
 *		The two movements every money function is made of: credits in (a
 *		new bucket, after repaying debt) and credits out (burn-down draw,
 *		the rest on credit within the limit), each with its entry.
 */
#include "postgres.h"

#include "credit_ledger.h"

/*
 * Credits in: repays debt first, puts the rest in a new bucket, and writes
 * the entry. The op's result is that entry.
 */
void
money_in(LedgerOp *op, const char *kind, int64 amount, const char *source,
		 bool has_expiry, TimestampTz expires_at, int priority,
		 const char *description, Datum metadata, bool has_metadata)
{
	LedgerEntry e = {0};
	Slices		credited;
	int64		repaid = Min(op->acct.debt, amount);
	int64		bucket_id;

	bucket_id = bucket_create(op, &e.entry_id, source, amount, amount - repaid,
							  priority, has_expiry, expires_at);
	op->acct.debt -= repaid;
	slices_init(&credited);
	if (amount > repaid)
		slices_add(&credited, bucket_id, amount - repaid);

	e.kind = kind;
	e.amount = amount;
	e.event_id = op->event_id;
	e.source = source;
	e.description = description;
	e.metadata = metadata;
	e.has_metadata = has_metadata;
	e.slices = &credited;
	op->entry_id = entry_write(op, &e);
	op->amount = amount;
	op->acct.total_granted = credits_add(op->acct.total_granted, amount);
}

/*
 * Credits out: checks the credit limit, draws from the buckets in burn-down
 * order, takes what they cannot cover as debt, and writes the entry with the
 * slices it drew. price_rule_id and tokens describe a priced charge.
 */
void
money_out(LedgerOp *op, const char *kind, int64 amount, const char *source,
		  const char *description, Datum metadata, bool has_metadata,
		  int64 price_rule_id, const int64 *tokens)
{
	LedgerEntry e = {0};
	Slices		drawn;

	account_require_available(&op->acct, amount);
	op->acct.debt = credits_add(op->acct.debt, buckets_draw(op, amount, &drawn));

	e.kind = kind;
	e.amount = -amount;
	e.event_id = op->event_id;
	e.source = source;
	e.description = description;
	e.metadata = metadata;
	e.has_metadata = has_metadata;
	e.price_rule_id = price_rule_id;
	e.tokens = tokens;
	e.slices = &drawn;
	op->entry_id = entry_write(op, &e);
	op->amount = amount;
	op->acct.total_consumed = credits_add(op->acct.total_consumed, amount);
}
