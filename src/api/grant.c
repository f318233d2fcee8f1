/*
 * grant.c
 *		grant_credits: a top-up, reward-like gift or any other credits
 *		entering an account as a bucket; the first grant opens the wallet.
 *		With effective_at (1.1) the credits arrive later.
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/idempotency.h"
#include "ledger/money.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_grant_credits);

Datum
credit_ledger_grant_credits(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	MoneyArgs	args;
	bool		has_expiry;
	TimestampTz expires_at;
	int32		priority;
	char	   *description;
	bool		has_metadata;
	Datum		metadata;
	bool		has_effective_at;
	TimestampTz effective_at;

	arg_money(fcinfo, 3, &args);
	expires_at = arg_optional_time(fcinfo, 4, "expires_at", "NULL means the credits never expire.",
								   &has_expiry);
	arg_require_not_null(fcinfo, 5, "priority");
	priority = PG_GETARG_INT32(5);
	description = arg_optional_text(fcinfo, 6, "description");
	metadata = arg_optional_jsonb(fcinfo, 7, "metadata", &has_metadata);
	effective_at = arg_optional_time(fcinfo, 8, "effective_at",
									 "NULL means the credits are spendable at once.", &has_effective_at);
	if (has_effective_at && has_expiry && expires_at <= effective_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_at must be after effective_at"),
				 errdetail("The credits would expire at %s, before they become spendable at %s.",
						   pstrdup(timestamptz_to_str(expires_at)), timestamptz_to_str(effective_at))));

	op_init(&op, args.account_id, args.event_id, "grant_credits");
	request_add_money(&op.request, &args);
	if (has_expiry)
		request_add_timestamp(&op.request, "expires_at", expires_at);
	else
		request_add_null(&op.request, "expires_at");
	request_add_int64(&op.request, "priority", priority);
	/* only when given: a 1.0 grant's stored request has no such line */
	if (has_effective_at)
		request_add_timestamp(&op.request, "effective_at", effective_at);

	if (op_begin(&op, OP_ACCOUNT_OPEN_IF_MISSING))
	{
		account_require_active(&op.acct, true);
		if (has_expiry && expires_at <= op.now)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_at must be in the future"),
					 errdetail("expires_at is %s.", timestamptz_to_str(expires_at))));
		money_in(&op, &(MoneyIn) {
			.kind = ENTRY_GRANT, .amount = args.amount, .source = args.source,
			.has_expiry = has_expiry, .expires_at = expires_at, .priority = priority,
			.description = description, .metadata = metadata, .has_metadata = has_metadata,
			.deferred = has_effective_at && effective_at > op.now, .effective_at = effective_at
		});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
