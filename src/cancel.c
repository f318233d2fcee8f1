/*
 * cancel.c
 *		cancel: releases a pending hold; its slices go back to their
 *		buckets. Repeating a cancel replays it.
 */
#include "postgres.h"

#include "credit_ledger.h"

PG_FUNCTION_INFO_V1(credit_ledger_cancel);

Datum
credit_ledger_cancel(PG_FUNCTION_ARGS)
{
	LedgerOp	op;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "hold_id");

	op_init(&op, PG_GETARG_INT64(0), NULL, "cancel");
	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		Hold		hold;

		hold_load(&op, PG_GETARG_INT64(1), &hold);
		if (hold_require_pending(&op, &hold, "cancelled", true))
		{
			/* releasing is money in: frozen accounts may, closed ones may not */
			account_require_active(&op.acct, true);
			op.entry_id = hold_release(&op, &hold, "cancel", "cancelled",
									   arg_optional_text(fcinfo, 2, "reason"));
			op.hold_id = hold.hold_id;
			op.amount = hold.amount;
		}
	}
	PG_RETURN_DATUM(op_finish(&op, fcinfo));
}
