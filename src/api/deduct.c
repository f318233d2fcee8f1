/*
 * deduct.c
 *		deduct: consumes credits now, in burn-down order, never past the
 *		credit limit. deduct_many: many deducts in one call, each item run
 *		as deduct (api/batch.c).
 */
#include "postgres.h"

#include "catalog/pg_type.h"

#include "api/args.h"
#include "api/batch.h"
#include "api/op_result.h"
#include "ledger/idempotency.h"
#include "ledger/money.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_deduct);
PG_FUNCTION_INFO_V1(credit_ledger_deduct_many);

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

/* deduct's 1.1 argument list, which each item of deduct_many is called with */
static const Oid deduct_argtypes[] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID};

enum
{
	DEDUCT_MANY_ACCOUNT_IDS, DEDUCT_MANY_AMOUNTS, DEDUCT_MANY_EVENT_IDS, DEDUCT_MANY_SUBJECTS
};

/* deduct(account_ids[i], amounts[i], event_ids[i], source) */
static void
deduct_item(const BatchCall *batch, int item, FunctionCallInfo call)
{
	const BatchArray *a = batch->arrays;

	batch_item_arg(call, 0, &a[DEDUCT_MANY_ACCOUNT_IDS], item, (Datum) 0);
	batch_item_arg(call, 1, &a[DEDUCT_MANY_AMOUNTS], item, (Datum) 0);
	batch_item_arg(call, 2, &a[DEDUCT_MANY_EVENT_IDS], item, (Datum) 0);
	call->args[3] = batch->fcinfo->args[3];
	/* description and metadata: none */
	call->args[4].isnull = true;
	call->args[5].isnull = true;
	batch_item_arg_or_null(call, 6, &a[DEDUCT_MANY_SUBJECTS], item);
}

/*
 * deduct_many(account_ids, amounts, event_ids, source, subjects): one row
 * per item, refused items with their SQLSTATE (api/batch.c).
 */
Datum
credit_ledger_deduct_many(PG_FUNCTION_ARGS)
{
	BatchArray	arrays[] = {
		[DEDUCT_MANY_ACCOUNT_IDS] = {.argno = 0, .element_type = INT8OID, .name = "account_ids", .required = true},
		[DEDUCT_MANY_AMOUNTS] = {.argno = 1, .element_type = INT8OID, .name = "amounts", .required = true},
		[DEDUCT_MANY_EVENT_IDS] = {.argno = 2, .element_type = TEXTOID, .name = "event_ids", .required = true},
		[DEDUCT_MANY_SUBJECTS] = {.argno = 4, .element_type = TEXTOID, .name = "subjects"},
	};
	BatchCall	batch = {
		.fcinfo = fcinfo, .single_name = "deduct", .single = credit_ledger_deduct,
		.single_nargs = lengthof(deduct_argtypes), .single_argtypes = deduct_argtypes,
		.arrays = arrays, .array_count = lengthof(arrays), .item_args = deduct_item
	};

	arg_require_not_null(fcinfo, 3, "source");
	batch_arrays(&batch);
	batch_run(&batch);
	return (Datum) 0;
}
