/*
 * capture.c
 *		capture (1.1): charges part of a pending hold, as an agent session
 *		bills each tool call against the budget it reserved; final ends the
 *		hold and gives the rest back (ledger/hold.c, hold_capture).
 *		Idempotent by event_id.
 */
#include "postgres.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/hold.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_capture);

/* Arguments: account_id, hold_id, amount, event_id, final, subject, metadata. */
Datum
credit_ledger_capture(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		hold_id;
	int64		amount;
	char	   *event_id;
	bool		final;
	char	   *subject;
	bool		has_metadata;
	Datum		metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "hold_id");
	hold_id = PG_GETARG_INT64(1);
	amount = arg_positive_amount(fcinfo, 2, "amount");
	event_id = arg_event_id(fcinfo, 3, "event_id");
	arg_require_not_null(fcinfo, 4, "final");
	final = PG_GETARG_BOOL(4);
	subject = arg_subject(fcinfo, 5);
	metadata = arg_optional_jsonb(fcinfo, 6, "metadata", &has_metadata);

	op_init(&op, PG_GETARG_INT64(0), event_id, "capture");
	request_add_int64(&op.request, "hold_id", hold_id);
	request_add_int64(&op.request, "amount", amount);
	request_add_text(&op.request, "final", final ? "true" : "false");
	request_add_subject(&op.request, subject);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
		hold_capture(&op, &(HoldCapture) {
			.hold_id = hold_id, .amount = amount, .final = final,
			.metadata = metadata, .has_metadata = has_metadata, .subject = subject
		});
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
