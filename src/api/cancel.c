/*
 * cancel.c
 *		cancel: releases a pending hold; its slices go back to their
 *		buckets. Repeating a cancel replays it.
 */
#include "postgres.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/hold.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_cancel);

Datum
credit_ledger_cancel(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	char	   *reason;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "hold_id");
	reason = arg_optional_text(fcinfo, 2, "reason");

	op_init(&op, PG_GETARG_INT64(0), NULL, "cancel");
	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
		hold_cancel(&op, PG_GETARG_INT64(1), reason);
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
