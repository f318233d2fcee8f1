/*
 * spend_period.c
 *		spend_period(period, at): the UTC day, week or month that holds an
 *		instant, as the money calls count spend limits in it
 *		(ledger/utc.c). limits(), set_spend_limit() and verify() call it,
 *		so SQL and C share one calendar.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ledger/utc.h"

PG_FUNCTION_INFO_V1(credit_ledger_spend_period);

Datum
credit_ledger_spend_period(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	UtcPeriod	period;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (!utc_period_parse(name, &period))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid period"),
				 errdetail("period is \"%s\"; it takes day, week or month.", name)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: spend_period must return a record");
	values[0] = TimestampTzGetDatum(utc_period_start(period, PG_GETARG_TIMESTAMPTZ(1)));
	values[1] = TimestampTzGetDatum(utc_period_end(period, DatumGetTimestampTz(values[0])));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
