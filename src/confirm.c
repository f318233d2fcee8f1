/*
 * confirm.c
 *		confirm: settles a pending hold once, for the final amount. Less
 *		than held consumes the hold's slices in order and gives the rest
 *		back; more than held draws the excess like a deduct, within the
 *		credit limit. hold_confirm is also what a priced charge of a hold
 *		runs.
 */
#include "postgres.h"

#include "common/int.h"

#include "credit_ledger.h"
#include "errors.h"

PG_FUNCTION_INFO_V1(credit_ledger_confirm);

/*
 * Splits the held credits for a final amount up to the held amount: the
 * slices consumed in order, the slices left unused, and the part of the
 * final amount no slice covers (what the hold held on credit).
 */
static void
hold_split(const Hold *hold, int64 final, Slices *consumed, Slices *unused, int64 *unbacked)
{
	int64		left = final;

	slices_init(consumed);
	slices_init(unused);
	for (int i = 0; i < hold->slices.count; i++)
	{
		int64		take = Min(left, hold->slices.amounts[i]);

		if (take > 0)
			slices_add(consumed, hold->slices.bucket_ids[i], take);
		if (hold->slices.amounts[i] > take)
			slices_add(unused, hold->slices.bucket_ids[i], hold->slices.amounts[i] - take);
		left -= take;
	}
	*unbacked = Min(left, hold->amount - slices_total(&hold->slices));
}

/*
 * A confirm for more than held draws the excess from available: refused
 * (LD001) past the credit limit, with a DETAIL that names what the caller
 * asked for (the final amount), not only the excess.
 */
static void
confirm_require_available(const LedgerAccount *acct, int64 hold_id, const Hold *hold, int64 final)
{
	int64		available = credits_sub(acct->balance, acct->reserved);
	int64		excess = final - hold->amount;
	int64		after;

	if (!pg_sub_s64_overflow(available, excess, &after) && after >= -acct->credit_limit)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_LD_INSUFFICIENT_CREDIT),
			 errmsg("insufficient credit"),
			 errdetail("Account %lld: available %lld, requested %lld (hold %lld holds %lld, so %lld more), credit limit %lld.",
					   (long long) acct->account_id, (long long) available, (long long) final,
					   (long long) hold_id, (long long) hold->amount, (long long) excess,
					   (long long) acct->credit_limit)));
}

void
hold_confirm(LedgerOp *op, int64 hold_id, bool has_amount, int64 amount,
			 Datum metadata, bool has_metadata, int64 price_rule_id, const int64 *tokens)
{
	Hold		hold;
	Slices		consumed;
	Slices		unused;
	int64		final;
	int64		unbacked;

	hold_load(op, hold_id, &hold);
	final = has_amount ? amount : hold.amount;
	if (!hold_require_pending(op, &hold, "confirmed", hold.settled_amount == final))
		return;

	hold_split(&hold, final, &consumed, &unused, &unbacked);
	if (final > hold.amount)
	{
		/* the excess is new money out: an active account, within the limit */
		int64		excess = final - hold.amount;

		account_require_active(&op->acct, false);
		confirm_require_available(&op->acct, hold_id, &hold, final);
		unbacked = credits_add(unbacked, excess);
	}
	else
	{
		/* reserved while active: a frozen account still settles what it held */
		account_require_active(&op->acct, true);
	}

	/*
	 * What the slices do not cover (the part held on credit, and any excess)
	 * comes from the buckets live now, in burn-down order, and only the rest
	 * is debt: credits granted since the reserve pay first. Debt next to a
	 * live bucket would break verify()'s "no live bucket while in debt", and
	 * those credits could expire unspent while the debt stayed.
	 */
	if (unbacked > 0)
	{
		Slices		drawn;

		op->acct.debt = credits_add(op->acct.debt, buckets_draw(op, unbacked, &drawn));
		for (int i = 0; i < drawn.count; i++)
			slices_add(&consumed, drawn.bucket_ids[i], drawn.amounts[i]);
	}

	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = "confirm", .amount = -final, .reserved_delta = -hold.amount,
		.event_id = op->event_id, .hold_id = hold_id, .source = hold.source,
		.metadata = metadata, .has_metadata = has_metadata,
		.price_rule_id = price_rule_id, .tokens = tokens, .slices = &consumed
	});
	op->hold_id = hold_id;
	op->amount = final;
	op->acct.total_consumed = credits_add(op->acct.total_consumed, final);
	hold_settle(op, hold_id, "confirmed", final, true, op->entry_id);
	buckets_give_back(op, &unused, op->entry_id);
}

Datum
credit_ledger_confirm(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	bool		has_amount = !PG_ARGISNULL(2);
	int64		amount = 0;
	bool		has_metadata;
	Datum		metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "hold_id");
	if (has_amount)
		amount = arg_positive_amount(fcinfo, 2, "amount");
	metadata = arg_optional_jsonb(fcinfo, 3, "metadata", &has_metadata);

	op_init(&op, PG_GETARG_INT64(0), NULL, "confirm");
	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
		hold_confirm(&op, PG_GETARG_INT64(1), has_amount, amount, metadata, has_metadata, 0, NULL);
	PG_RETURN_DATUM(op_finish(&op, fcinfo));
}
