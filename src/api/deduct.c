/*
 * deduct.c
 *		deduct: consumes credits now, in burn-down order, never past the
 *		credit limit.
 */
#include "postgres.h"

#include "api/args.h"
#include "api/op_result.h"
#include "ledger/idempotency.h"
#include "ledger/money.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_deduct);

Datum
credit_ledger_deduct(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		amount;
	char	   *event_id;
	char	   *source;
	char	   *description;
	bool		has_metadata;
	Datum		metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	amount = arg_positive_amount(fcinfo, 1, "amount");
	event_id = arg_event_id(fcinfo, 2, "event_id");
	source = arg_nonempty_text(fcinfo, 3, "source");
	description = arg_optional_text(fcinfo, 4, "description");
	metadata = arg_optional_jsonb(fcinfo, 5, "metadata", &has_metadata);

	op_init(&op, PG_GETARG_INT64(0), event_id, "deduct");
	request_add_int64(&op.request, "amount", amount);
	request_add_text(&op.request, "source", source);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		account_require_active(&op.acct, false);
		money_out(&op, &(MoneyOut) {
			.kind = ENTRY_DEDUCT, .amount = amount, .source = source,
			.description = description, .metadata = metadata, .has_metadata = has_metadata
		});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
