/*
 * extend_grant.c
 *		extend_grant (1.1): a grant bucket's credits last longer (a
 *		goodwill extension of expiring credits).
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/bucket.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_extend_grant);

Datum
credit_ledger_extend_grant(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		bucket_id;
	TimestampTz expires_at;
	char	   *event_id;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "bucket_id");
	bucket_id = PG_GETARG_INT64(1);
	arg_require_not_null(fcinfo, 2, "expires_at");
	expires_at = PG_GETARG_TIMESTAMPTZ(2);
	if (TIMESTAMP_NOT_FINITE(expires_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_at must be a finite time"),
				 errdetail("expires_at is %s; void_grant or a grant without expiry are the other ways.",
						   timestamptz_to_str(expires_at))));
	event_id = arg_event_id(fcinfo, 3, "event_id");

	op_init(&op, PG_GETARG_INT64(0), event_id, "extend_grant");
	request_add_int64(&op.request, "bucket_id", bucket_id);
	request_add_timestamp(&op.request, "expires_at", expires_at);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		account_require_active(&op.acct, true);
		bucket_extend(&op, bucket_id, expires_at);
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
