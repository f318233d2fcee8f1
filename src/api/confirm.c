/*
 * confirm.c
 *		confirm: settles a pending hold once, for the final amount
 *		(ledger/hold.c, hold_confirm). Repeating the same confirm replays it.
 */
#include "postgres.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/hold.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_confirm);

Datum
credit_ledger_confirm(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	bool		has_amount = !PG_ARGISNULL(2);
	int64		amount = 0;
	bool		has_metadata;
	Datum		metadata;
	char	   *subject;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "hold_id");
	if (has_amount)
		amount = arg_positive_amount(fcinfo, 2, "amount");
	metadata = arg_optional_jsonb(fcinfo, 3, "metadata", &has_metadata);
	subject = arg_subject(fcinfo, 4);

	op_init(&op, PG_GETARG_INT64(0), NULL, "confirm");
	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
		hold_confirm(&op, &(HoldConfirm) {
			.hold_id = PG_GETARG_INT64(1), .has_amount = has_amount, .amount = amount,
			.metadata = metadata, .has_metadata = has_metadata, .subject = subject
		});
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
