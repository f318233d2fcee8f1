/*
 * worker_status.c
 *		worker_status(): the background worker's shared state
 *		(worker/state.c) as a row; 55000 when the library is not preloaded.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "worker/state.h"
#include "worker/worker.h"

PG_FUNCTION_INFO_V1(credit_ledger_worker_status);

Datum
credit_ledger_worker_status(PG_FUNCTION_ARGS)
{
	WorkerStatus copy;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (!worker_state_read(&copy))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("credit_ledger is not loaded through shared_preload_libraries"),
				 errdetail("The background worker and its status exist only when the library is preloaded."),
				 errhint("Add credit_ledger to shared_preload_libraries and restart the server.")));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: worker_status must return a record");
	tupdesc = BlessTupleDesc(tupdesc);

	values[0] = Int32GetDatum(copy.pid);
	nulls[0] = (copy.pid == 0);
	values[1] = copy.connected ? CStringGetTextDatum(worker_database()) : (Datum) 0;
	nulls[1] = !copy.connected;
	values[2] = TimestampTzGetDatum(copy.last_sweep_at);
	nulls[2] = (copy.last_sweep_at == 0);
	values[3] = Int64GetDatum(copy.holds_expired);
	values[4] = Int64GetDatum(copy.grants_expired);
	values[5] = copy.last_error[0] ? CStringGetTextDatum(copy.last_error) : (Datum) 0;
	nulls[5] = (copy.last_error[0] == '\0');
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
