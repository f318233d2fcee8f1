/*
 * adjust.c
 *		adjust: an operator's correction of either sign. Credits added form
 *		an 'adjust' bucket; credits taken obey the credit limit like a
 *		deduct. Allowed on frozen accounts (it is how an operator fixes
 *		one), refused on closed ones.
 */
#include "postgres.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/credits.h"
#include "ledger/idempotency.h"
#include "ledger/money.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_adjust);

Datum
credit_ledger_adjust(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		delta;
	int64		magnitude;
	char	   *event_id;
	char	   *reason;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "delta");
	delta = PG_GETARG_INT64(1);
	if (delta == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("delta must not be zero")));
	magnitude = delta > 0 ? delta : credits_sub(0, delta);
	event_id = arg_event_id(fcinfo, 2, "event_id");
	reason = arg_nonempty_text(fcinfo, 3, "reason");

	op_init(&op, PG_GETARG_INT64(0), event_id, "adjust");
	request_add_int64(&op.request, "delta", delta);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		account_require_active(&op.acct, true);
		if (delta > 0)
			money_in(&op, &(MoneyIn) {
				.kind = ENTRY_ADJUST, .amount = delta, .source = "adjust", .description = reason
			});
		else
		{
			money_out(&op, &(MoneyOut) {
				.kind = ENTRY_ADJUST, .amount = magnitude, .source = "adjust", .description = reason
			});
			op.amount = delta;
		}
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
