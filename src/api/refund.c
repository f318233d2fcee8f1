/*
 * refund.c
 *		refund: returns credits of an earlier charge (deduct, confirm or a
 *		charge), at most what it took minus earlier refunds; the rules are
 *		ledger/refund.c's.
 */
#include "postgres.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"
#include "ledger/refund.h"

PG_FUNCTION_INFO_V1(credit_ledger_refund);

Datum
credit_ledger_refund(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	char	   *event_id;
	char	   *original_event_id;
	bool		has_amount = !PG_ARGISNULL(3);
	int64		amount = 0;
	char	   *description;

	arg_require_not_null(fcinfo, 0, "account_id");
	event_id = arg_event_id(fcinfo, 1, "event_id");
	original_event_id = arg_event_id(fcinfo, 2, "original_event_id");
	if (has_amount)
		amount = arg_positive_amount(fcinfo, 3, "amount");
	description = arg_optional_text(fcinfo, 4, "description");

	op_init(&op, PG_GETARG_INT64(0), event_id, "refund");
	request_add_text(&op.request, "original_event_id", original_event_id);
	if (has_amount)
		request_add_int64(&op.request, "amount", amount);
	else
		request_add_null(&op.request, "amount");

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		account_require_active(&op.acct, true);
		refund_charge(&op, &(RefundRequest) {
			.original_event_id = original_event_id, .has_amount = has_amount,
			.amount = amount, .description = description
		});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
