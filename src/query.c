/*
 * query.c
 *		The plan cache: SPI statements are prepared once per backend and
 *		kept, so a money call pays for execution only, never for parsing
 *		or planning.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "query.h"
#include "row.h"

static void
query_prepare(CachedQuery *q)
{
	SPIPlanPtr	plan;

	if (q->plan != NULL)
		return;
	plan = SPI_prepare(q->sql, q->nargs, q->argtypes);
	if (plan == NULL)
		elog(ERROR, "credit_ledger: SPI_prepare failed (%s): %s",
			 SPI_result_code_string(SPI_result), q->sql);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "credit_ledger: SPI_keepplan failed");
	q->plan = plan;
}

static uint64
query_check(const CachedQuery *q, int ret, int expected_ret)
{
	if (ret != expected_ret)
		elog(ERROR, "credit_ledger: SPI answered %s where %s was expected: %s",
			 SPI_result_code_string(ret), SPI_result_code_string(expected_ret), q->sql);
	return SPI_processed;
}

uint64
query_run(CachedQuery *q, Datum *values, const char *nulls,
		  bool read_only, long max_rows, int expected_ret)
{
	query_prepare(q);
	return query_check(q, SPI_execute_plan(q->plan, values, nulls, read_only, max_rows),
					   expected_ret);
}

uint64
query_run_latest(CachedQuery *q, Datum *values, const char *nulls, int expected_ret)
{
	query_prepare(q);
	return query_check(q, SPI_execute_snapshot(q->plan, values, nulls, GetLatestSnapshot(),
											   InvalidSnapshot, true, false, 0),
					   expected_ret);
}

void
query_write_one(CachedQuery *q, Datum *values, const char *nulls, int expected_ret,
				const char *command, const char *table)
{
	if (query_run(q, values, nulls, false, 0, expected_ret) != 1)
		row_report_skipped(command, table);
}

Datum
query_datum(uint64 row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

int64
query_int64(uint64 row, int col, bool *isnull)
{
	bool		null;
	Datum		d = query_datum(row, col, &null);

	if (isnull)
		*isnull = null;
	else if (null)
		elog(ERROR, "credit_ledger: unexpected NULL in column %d", col);
	return null ? 0 : DatumGetInt64(d);
}

/* The text of a column, in the current (SPI procedure) context; NULL stays NULL. */
char *
query_text(uint64 row, int col)
{
	bool		null;
	Datum		d = query_datum(row, col, &null);

	if (null)
		return NULL;
	return TextDatumGetCString(d);
}
