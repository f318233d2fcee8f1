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
	MoneyArgs	args;
	char	   *description;
	bool		has_metadata;
	Datum		metadata;
	char	   *subject;

	arg_money(fcinfo, 3, &args);
	description = arg_optional_text(fcinfo, 4, "description");
	metadata = arg_optional_jsonb(fcinfo, 5, "metadata", &has_metadata);
	subject = arg_subject(fcinfo, 6);

	op_init(&op, args.account_id, args.event_id, "deduct");
	request_add_money(&op.request, &args);
	request_add_subject(&op.request, subject);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		account_require_active(&op.acct, false);
		money_out(&op, &(MoneyOut) {
			.kind = ENTRY_DEDUCT, .amount = args.amount, .source = args.source,
			.description = description, .metadata = metadata, .has_metadata = has_metadata,
			.subject = subject
		});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
