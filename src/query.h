/*
 * query.h
 *		Prepared SPI statements kept for the backend's life.
 */
#ifndef CREDIT_LEDGER_QUERY_H
#define CREDIT_LEDGER_QUERY_H

#include "executor/spi.h"

#define QUERY_MAX_ARGS 24

/*
 * A statement prepared on first use and kept (SPI_keepplan). Declare one as
 * a static next to the code that runs it; the plan cache revalidates it
 * after DDL, so it survives DROP/CREATE EXTENSION in the same backend.
 */
typedef struct CachedQuery
{
	const char *sql;
	int			nargs;
	Oid			argtypes[QUERY_MAX_ARGS];
	SPIPlanPtr	plan;
} CachedQuery;

/*
 * Runs the statement and checks that SPI answered expected_ret; max_rows 0
 * means all. nulls uses SPI's convention (' ' = value, 'n' = NULL).
 *
 * read_only = true runs on the caller's snapshot, taken before any lock
 * wait: it would miss what a session we waited for has just committed (a
 * racing twin's entry). Everything that runs under the account lock passes
 * false, so that each statement sees the latest committed data.
 */
extern uint64 query_run(CachedQuery *q, Datum *values, const char *nulls,
						bool read_only, long max_rows, int expected_ret);

/*
 * Runs a read-only statement on a fresh snapshot that sees everything
 * committed so far, whatever the transaction's isolation level: for caches
 * that must never hold data older than the invalidations they have seen.
 */
extern uint64 query_run_latest(CachedQuery *q, Datum *values, const char *nulls,
							   int expected_ret);

/*
 * Runs a statement that writes exactly one row of credit_ledger.`table`
 * (`command`: INSERT or UPDATE); none written means a trigger skipped it,
 * which is refused (row_report_skipped).
 */
extern void query_write_one(CachedQuery *q, Datum *values, const char *nulls, int expected_ret,
							const char *command, const char *table);

/* Typed readers of SPI_tuptable's row `row`, column `col` (1-based). */
extern int64 query_int64(uint64 row, int col, bool *isnull);
extern char *query_text(uint64 row, int col);
extern Datum query_datum(uint64 row, int col, bool *isnull);

#endif
