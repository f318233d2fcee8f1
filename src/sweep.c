/*
 * sweep.c
 *		The sweep: writes the due expiries of holds and grant buckets for
 *		accounts nobody is working on, through the same code every call
 *		runs first (expire_due). sweep() runs one batch by hand; the
 *		background worker runs batches in short transactions of its own.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/timestamp.h"

#include "credit_ledger.h"
#include "query.h"

PG_FUNCTION_INFO_V1(credit_ledger_sweep);

/*
 * Expires what is due on up to max_accounts accounts, in the caller's
 * transaction (SPI connected, snapshot set). Accounts locked by a caller
 * are skipped, never waited for: that caller expires them itself, and the
 * next sweep takes what is left.
 */
void
sweep_batch(int max_accounts, SweepResult *result)
{
	static CachedQuery q = {
		"SELECT a.account_id FROM credit_ledger.account a"
		" WHERE a.account_id IN ("
		"   SELECT h.account_id FROM credit_ledger.hold h"
		"   WHERE h.state = 'pending' AND h.expires_at <= $1"
		"   UNION SELECT b.account_id FROM credit_ledger.bucket b"
		"   WHERE b.live AND b.expires_at <= $1)"
		" ORDER BY a.account_id LIMIT $2 FOR NO KEY UPDATE OF a SKIP LOCKED",
		2, {TIMESTAMPTZOID, INT4OID}
	};
	Datum		values[2] = {
		TimestampTzGetDatum(GetCurrentStatementStartTimestamp()), Int32GetDatum(max_accounts)
	};
	uint64		rows;
	int64	   *account_ids;

	memset(result, 0, sizeof(*result));
	rows = query_run(&q, values, NULL, false, 0, SPI_OK_SELECT);
	account_ids = palloc(sizeof(int64) * (rows + 1));
	for (uint64 i = 0; i < rows; i++)
		account_ids[i] = query_int64(i, 1, NULL);

	for (uint64 i = 0; i < rows; i++)
	{
		LedgerOp	op;

		/* the row is locked already: op_begin's lock returns at once */
		op_init(&op, account_ids[i], NULL, "sweep");
		op_begin(&op, OP_ACCOUNT_MUST_EXIST);
		result->holds_expired += op.holds_expired;
		result->grants_expired += op.grants_expired;
		op_end(&op);
	}
	result->accounts = (int) rows;
	events_prune(max_accounts);
	orders_expire_due(max_accounts);
}

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
	SPI_connect();
	sweep_batch(max_rows, &result);
	SPI_finish();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: sweep must return a record");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int32GetDatum((int32) Min(result.holds_expired, PG_INT32_MAX));
	values[1] = Int32GetDatum((int32) Min(result.grants_expired, PG_INT32_MAX));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
