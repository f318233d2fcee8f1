/*
 * extend_hold.c
 *		extend_hold (1.1): a pending hold lasts ttl from now (never less
 *		than it already did), as an agent still at work keeps its budget
 *		(ledger/hold.c, hold_extend). Idempotent by event_id.
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/hold.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_extend_hold);

Datum
credit_ledger_extend_hold(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		hold_id;
	char	   *event_id;
	TimestampTz expires_at;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "hold_id");
	hold_id = PG_GETARG_INT64(1);
	arg_require_not_null(fcinfo, 2, "ttl");
	event_id = arg_event_id(fcinfo, 3, "event_id");

	op_init(&op, PG_GETARG_INT64(0), event_id, "extend_hold");
	request_add_int64(&op.request, "hold_id", hold_id);
	expires_at = hold_expiry(PG_GETARG_INTERVAL_P(2), &op.request);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
		hold_extend(&op, hold_id, expires_at);
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
