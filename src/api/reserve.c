/*
 * reserve.c
 *		reserve: holds an estimate of a call's cost until confirm, cancel or
 *		expiry (ledger/hold.c draws the held credits now, so that concurrent
 *		holds can never overspend together). 1.1: on_expiry (release or
 *		capture what it holds) and lease (the calling session owns it).
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
	MoneyArgs	args;
	TimestampTz expires_at;
	char	   *description;
	bool		has_metadata;
	Datum		metadata;
	HoldOnExpiry on_expiry = HOLD_EXPIRY_RELEASE;
	bool		lease = false;
	char	   *subject;

	arg_money(fcinfo, 4, &args);
	description = arg_optional_text(fcinfo, 5, "description");
	metadata = arg_optional_jsonb(fcinfo, 6, "metadata", &has_metadata);
	subject = arg_subject(fcinfo, 7);
	if (arg_declared(fcinfo, 8))
		on_expiry = hold_on_expiry_parse(arg_nonempty_text(fcinfo, 8, "on_expiry"));
	if (arg_declared(fcinfo, 9))
	{
		arg_require_not_null(fcinfo, 9, "lease");
		lease = PG_GETARG_BOOL(9);
	}

	op_init(&op, args.account_id, args.event_id, "reserve");
	request_add_money(&op.request, &args);
	request_add_subject(&op.request, subject);
	expires_at = hold_expiry(PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3), &op.request);
	/* only what differs from the default: a 1.0 reserve's key replays as before */
	if (on_expiry != HOLD_EXPIRY_RELEASE)
		request_add_text(&op.request, "on_expiry", "capture");
	if (lease)
		request_add_text(&op.request, "lease", "true");

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
		hold_reserve(&op, &(HoldReserve) {
			.amount = args.amount, .source = args.source, .description = description,
			.metadata = metadata, .has_metadata = has_metadata, .expires_at = expires_at,
			.on_expiry = on_expiry, .lease = lease, .subject = subject
		});
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
