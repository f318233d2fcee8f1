/*
 * op_result.c
 *		Ends a money-moving call's frame and builds its op_result row: the
 *		one way out of every money-moving SQL function.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"

#include "api/op_result.h"
#include "ledger/credits.h"
#include "ledger/operation.h"

/* Ends the op (op_end) and returns the op_result. */
Datum
op_result(LedgerOp *op, FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};

	op_end(op);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: function must return credit_ledger.op_result");
	tupdesc = BlessTupleDesc(tupdesc);

	values[0] = Int64GetDatum(op->entry_id);
	values[1] = Int64GetDatum(op->hold_id);
	nulls[1] = (op->hold_id == 0);
	values[2] = Int64GetDatum(op->account_id);
	values[3] = Int64GetDatum(op->amount);
	values[4] = Int64GetDatum(op->result_balance);
	values[5] = Int64GetDatum(op->result_reserved);
	values[6] = Int64GetDatum(credits_sub(op->result_balance, op->result_reserved));
	values[7] = BoolGetDatum(op->replayed);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}
