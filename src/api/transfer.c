/*
 * transfer.c
 *		transfer: moves credits between two accounts of this server in one
 *		step (ledger/transfer.c), returning a transfer_result.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"

#include "api/args.h"
#include "ledger/credits.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"
#include "ledger/transfer.h"

PG_FUNCTION_INFO_V1(credit_ledger_transfer);

Datum
credit_ledger_transfer(PG_FUNCTION_ARGS)
{
	LedgerOp	from;
	LedgerOp	to;
	Transfer	t;
	char	   *event_id;
	int64		from_account;
	int64		to_account;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};

	arg_require_not_null(fcinfo, 0, "from_account");
	arg_require_not_null(fcinfo, 1, "to_account");
	from_account = PG_GETARG_INT64(0);
	to_account = PG_GETARG_INT64(1);
	t.amount = arg_positive_amount(fcinfo, 2, "amount");
	event_id = arg_event_id(fcinfo, 3, "event_id");
	t.description = arg_optional_text(fcinfo, 4, "description");
	t.metadata = arg_optional_jsonb(fcinfo, 5, "metadata", &t.has_metadata);
	if (from_account == to_account)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a transfer needs two accounts"),
				 errdetail("from_account and to_account are both %lld.", (long long) from_account)));

	op_init(&from, from_account, event_id, "transfer");
	request_add_int64(&from.request, "to_account", to_account);
	request_add_int64(&from.request, "amount", t.amount);
	op_init(&to, to_account, NULL, "transfer");
	transfer_run(&from, &to, &t);
	transfer_end(&from, &to);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: function must return credit_ledger.transfer_result");
	values[0] = Int64GetDatum(from.entry_id);
	values[1] = Int64GetDatum(to.entry_id);
	values[2] = Int64GetDatum(from.result_balance);
	values[3] = Int64GetDatum(credits_sub(from.result_balance, from.result_reserved));
	values[4] = Int64GetDatum(to.result_balance);
	values[5] = Int64GetDatum(credits_sub(to.result_balance, to.result_reserved));
	values[6] = BoolGetDatum(from.replayed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
