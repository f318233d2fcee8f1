/*
 * void_grant.c
 *		void_grant (1.1): an operator takes back what a grant bucket still
 *		holds (a charged-back payment, a mistaken gift). Credits already
 *		spent stay spent; slices held by pending holds stay held.
 */
#include "postgres.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/bucket.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_void_grant);

Datum
credit_ledger_void_grant(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		bucket_id;
	char	   *event_id;
	char	   *reason;

	arg_require_not_null(fcinfo, 0, "account_id");
	arg_require_not_null(fcinfo, 1, "bucket_id");
	bucket_id = PG_GETARG_INT64(1);
	event_id = arg_event_id(fcinfo, 2, "event_id");
	reason = arg_optional_text(fcinfo, 3, "reason");

	op_init(&op, PG_GETARG_INT64(0), event_id, "void_grant");
	request_add_int64(&op.request, "bucket_id", bucket_id);

	/* an operator's correction, as adjust: allowed on frozen accounts */
	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		account_require_active(&op.acct, true);
		bucket_void(&op, bucket_id, reason);
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
