/*
 * query.h
 *		Prepared SPI statements kept for the backend's life, and the SPI
 *		connection around them. Callers never include executor/spi.h: what
 *		a statement is expected to answer is a QueryExpect.
 */
#ifndef CREDIT_LEDGER_QUERY_H
#define CREDIT_LEDGER_QUERY_H

#define QUERY_MAX_ARGS 24

/* What a statement must answer (SPI_OK_SELECT and friends, checked in query.c). */
typedef enum QueryExpect
{
	QUERY_SELECT,
	QUERY_INSERT,
	QUERY_INSERT_RETURNING,
	QUERY_UPDATE,
	QUERY_DELETE
} QueryExpect;

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
	struct _SPI_plan *plan;
} CachedQuery;

extern void query_connect(void);
extern void query_finish(void);
extern uint64 query_run(CachedQuery *q, Datum *values, const char *nulls,
						bool read_only, long max_rows, QueryExpect expect);
extern uint64 query_run_latest(CachedQuery *q, Datum *values, const char *nulls,
							   QueryExpect expect);
extern void query_write_one(CachedQuery *q, Datum *values, const char *nulls, QueryExpect expect,
							const char *command, const char *table);
extern int64 query_int64(uint64 row, int col, bool *isnull);
extern char *query_text(uint64 row, int col);
extern Datum query_datum(uint64 row, int col, bool *isnull);

#endif
