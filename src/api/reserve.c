/*
 * reserve.c
 *		reserve: holds an estimate of a call's cost until confirm, cancel or
 *		expiry (ledger/hold.c draws the held credits now, so that concurrent
 *		holds can never overspend together).
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/hold.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_reserve);

Datum
credit_ledger_reserve(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		amount;
	char	   *event_id;
	char	   *source;
	TimestampTz expires_at;
	char	   *description;
	bool		has_metadata;
	Datum		metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	amount = arg_positive_amount(fcinfo, 1, "amount");
	event_id = arg_event_id(fcinfo, 2, "event_id");
	source = arg_nonempty_text(fcinfo, 4, "source");
	description = arg_optional_text(fcinfo, 5, "description");
	metadata = arg_optional_jsonb(fcinfo, 6, "metadata", &has_metadata);

	op_init(&op, PG_GETARG_INT64(0), event_id, "reserve");
	request_add_int64(&op.request, "amount", amount);
	request_add_text(&op.request, "source", source);
	expires_at = hold_expiry(PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3), &op.request);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
		hold_reserve(&op, &(HoldReserve) {
			.amount = amount, .source = source, .description = description,
			.metadata = metadata, .has_metadata = has_metadata, .expires_at = expires_at
		});
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
