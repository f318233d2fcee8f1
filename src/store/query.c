/*
 * query.c
 *		The plan cache: SPI statements are prepared once per backend and
 *		kept, so a money call pays for execution only, never for parsing
 *		or planning. Also the SPI connection, checked both ways.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "store/query.h"
#include "store/row.h"

/* Connects to SPI; a nested connection is fine, a failed one is an error. */
void
query_connect(void)
{
	int			ret = SPI_connect();

	if (ret != SPI_OK_CONNECT)
		elog(ERROR, "credit_ledger: SPI_connect failed: %s", SPI_result_code_string(ret));
}

/* Ends the SPI connection query_connect made. */
void
query_finish(void)
{
	int			ret = SPI_finish();

	if (ret != SPI_OK_FINISH)
		elog(ERROR, "credit_ledger: SPI_finish failed: %s", SPI_result_code_string(ret));
}

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

static int
query_expected_ret(QueryExpect expect)
{
	switch (expect)
	{
		case QUERY_SELECT:
			return SPI_OK_SELECT;
		case QUERY_INSERT:
			return SPI_OK_INSERT;
		case QUERY_INSERT_RETURNING:
			return SPI_OK_INSERT_RETURNING;
		case QUERY_UPDATE:
			return SPI_OK_UPDATE;
		case QUERY_DELETE:
			return SPI_OK_DELETE;
	}
	elog(ERROR, "credit_ledger: unknown query expectation %d", (int) expect);
	return 0;					/* keep compiler quiet */
}

static uint64
query_check(const CachedQuery *q, int ret, QueryExpect expect)
{
	int			expected_ret = query_expected_ret(expect);

	if (ret != expected_ret)
		elog(ERROR, "credit_ledger: SPI answered %s where %s was expected: %s",
			 SPI_result_code_string(ret), SPI_result_code_string(expected_ret), q->sql);
	return SPI_processed;
}

/*
 * Runs the statement and checks that SPI answered what `expect` says;
 * max_rows 0 means all. nulls uses SPI's convention (' ' = value, 'n' = NULL).
 *
 * read_only = true runs on the caller's snapshot, taken before any lock
 * wait: it would miss what a session we waited for has just committed (a
 * racing twin's entry). Everything that runs under the account lock passes
 * false, so that each statement sees the latest committed data.
 */
uint64
query_run(CachedQuery *q, Datum *values, const char *nulls,
		  bool read_only, long max_rows, QueryExpect expect)
{
	query_prepare(q);
	return query_check(q, SPI_execute_plan(q->plan, values, nulls, read_only, max_rows),
					   expect);
}

/*
 * Runs a read-only statement on a fresh snapshot that sees everything
 * committed so far, whatever the transaction's isolation level: for caches
 * that must never hold data older than the invalidations they have seen.
 */
uint64
query_run_latest(CachedQuery *q, Datum *values, const char *nulls, QueryExpect expect)
{
	query_prepare(q);
	return query_check(q, SPI_execute_snapshot(q->plan, values, nulls, GetLatestSnapshot(),
											   InvalidSnapshot, true, false, 0),
					   expect);
}

/*
 * Runs a statement that writes exactly one row of credit_ledger.`table`
 * (`command`: INSERT or UPDATE); none written means a trigger skipped it,
 * which is refused (row_report_skipped).
 */
void
query_write_one(CachedQuery *q, Datum *values, const char *nulls, QueryExpect expect,
				const char *command, const char *table)
{
	if (query_run(q, values, nulls, false, 0, expect) != 1)
		row_report_skipped(command, table);
}

/* Typed readers of SPI_tuptable's row `row`, column `col` (1-based). */
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
