/*
 * sweep.c
 *		sweep(max_rows): one sweep batch by hand, in the caller's
 *		transaction (worker/sweep.c), returning what it expired.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"

#include "api/args.h"
#include "store/query.h"
#include "store/row.h"
#include "worker/sweep.h"

PG_FUNCTION_INFO_V1(credit_ledger_sweep);

Datum
credit_ledger_sweep(PG_FUNCTION_ARGS)
{
	SweepResult result;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int32		max_rows;

	arg_require_not_null(fcinfo, 0, "max_rows");
	max_rows = PG_GETARG_INT32(0);
	if (max_rows <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be positive"),
				 errdetail("max_rows is %d.", max_rows)));

	row_require_writable("sweep", "account");
	query_connect();
	sweep_batch(max_rows, &result);
	query_finish();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: sweep must return a record");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int32GetDatum((int32) Min(result.holds_expired, PG_INT32_MAX));
	values[1] = Int32GetDatum((int32) Min(result.grants_expired, PG_INT32_MAX));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
