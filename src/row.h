/*
 * row.h
 *		Single rows of the extension's own tables (account, bucket, entry),
 *		found by index, locked and written through the table and index
 *		access methods, with the table's CHECK constraints, index
 *		predicates and triggers applied as an INSERT or UPDATE would apply
 *		them. What a statement would compile each time (its plan state, the
 *		CHECK expressions, partial index predicates) is compiled once per
 *		backend and dropped by relcache invalidation.
 */
#ifndef CREDIT_LEDGER_ROW_H
#define CREDIT_LEDGER_ROW_H

#include "executor/execdesc.h"
#include "nodes/execnodes.h"

typedef enum RowTableId
{
	ROW_ACCOUNT,
	ROW_BUCKET,
	ROW_ENTRY,
	ROW_HOLD,					/* written through SPI; row.c only locks it */
	ROW_TABLE_COUNT
} RowTableId;

/* The indexes rows are found by; row.c names them and their tables. */
typedef enum RowIndexId
{
	ROW_ACCOUNT_BY_ID,			/* account_pkey: account_id */
	ROW_BUCKET_BY_ID,			/* bucket_pkey: account_id, bucket_id */
	ROW_BUCKET_BURN_DOWN,		/* bucket_burn_down: account_id; live buckets, spending order */
	ROW_ENTRY_BY_EVENT,			/* entry_event: account_id, event_id */
	ROW_INDEX_COUNT
} RowIndexId;

/*
 * The columns the ledger reads and writes, numbered as CREATE TABLE gave
 * them. row.c finds each by name and type when it first opens the table,
 * so columns an operator adds or drops later change nothing here.
 */
typedef enum AccountColumn
{
	ACCOUNT_ACCOUNT_ID = 1,
	ACCOUNT_STATUS,
	ACCOUNT_CREDIT_LIMIT,
	ACCOUNT_BALANCE,
	ACCOUNT_RESERVED,
	ACCOUNT_DEBT,
	ACCOUNT_TOTAL_GRANTED,
	ACCOUNT_TOTAL_CONSUMED,
	ACCOUNT_TOTAL_EXPIRED,
	ACCOUNT_TOTAL_REFUNDED,
	ACCOUNT_NEXT_EXPIRY_AT,
	ACCOUNT_METADATA,
	ACCOUNT_STATUS_REASON,
	ACCOUNT_STATUS_CHANGED_AT
} AccountColumn;

typedef enum BucketColumn
{
	BUCKET_ACCOUNT_ID = 1,
	BUCKET_BUCKET_ID,
	BUCKET_SOURCE,
	BUCKET_GRANTED,
	BUCKET_REMAINING,
	BUCKET_LIVE
} BucketColumn;

typedef enum EntryColumn
{
	ENTRY_ACCOUNT_ID = 1,
	ENTRY_ENTRY_ID,
	ENTRY_KIND,
	ENTRY_AMOUNT,
	ENTRY_RESERVED_DELTA,
	ENTRY_BALANCE_AFTER,
	ENTRY_RESERVED_AFTER,
	ENTRY_EVENT_ID,
	ENTRY_HOLD_ID,
	ENTRY_SOURCE,
	ENTRY_DESCRIPTION,
	ENTRY_METADATA,
	ENTRY_PRICE_RULE_ID,
	ENTRY_INPUT_TOKENS,
	ENTRY_OUTPUT_TOKENS,
	ENTRY_CACHED_TOKENS,
	ENTRY_REASONING_TOKENS,
	ENTRY_BUCKET_IDS,
	ENTRY_BUCKET_AMOUNTS,
	ENTRY_REF_ENTRY_ID,
	ENTRY_REQUEST,
	ENTRY_CREATED_AT,
	ENTRY_COLUMN_COUNT = ENTRY_CREATED_AT
} EntryColumn;

#define ROW_MAX_COLUMNS ENTRY_COLUMN_COUNT

typedef struct RowTable RowTable;

/*
 * The tables one call works on, opened on first use and closed by
 * rows_end. Zero-initialize it. On error, the transaction's abort releases
 * what it holds.
 */
typedef struct RowAccess
{
	EState	   *estate;
	EPQState	epqstate;
	RowTable   *tables[ROW_TABLE_COUNT];
} RowAccess;

/*
 * Takes RowExclusiveLock on every table a money call may write (account,
 * bucket, hold, entry), before it reads any of them: a call that read a
 * table first and wrote it later would upgrade its lock, which deadlocks
 * with REINDEX. Held to the end of the transaction, as a statement's are.
 * A table dropped while the call waited (DROP EXTENSION) is 42P01.
 */
extern void rows_lock_tables(void);

/*
 * 25006 in a read-only transaction (BEGIN READ ONLY, a hot standby), as
 * the executor refuses a write there: `what` (a function or a command)
 * would write credit_ledger.`table`.
 */
extern void row_require_writable(const char *what, const char *table);

/*
 * 09000 when a trigger on the table skipped the ledger's write (a BEFORE
 * trigger returned NULL): money never moves without its row.
 */
extern void row_report_skipped(const char *command, const char *table);

/*
 * The row whose index key columns equal keys (the index's leading columns,
 * as many as it takes), seen by a snapshot taken now: under READ COMMITTED
 * everything committed so far, and all of this transaction's own writes.
 * The first in index order when several match; NULL when none.
 *
 * row_lock also locks it FOR NO KEY UPDATE (the key never changes, so a
 * foreign key from an application's table does not conflict with it): it
 * waits for a transaction that holds the row, then returns its latest
 * version (under REPEATABLE READ and SERIALIZABLE a row changed since the
 * snapshot raises 40001, as SELECT ... FOR NO KEY UPDATE does).
 *
 * The slot stays valid until the next fetch from the same table.
 */
extern TupleTableSlot *row_fetch(RowAccess *rows, RowIndexId index, const Datum *keys);
extern TupleTableSlot *row_lock(RowAccess *rows, RowIndexId index, const Datum *keys);

/*
 * The rows whose index key columns equal keys, in index order, in one
 * index scan on a snapshot taken at its start: rows the call writes while
 * scanning are not seen again. row_scan_next returns NULL after the last.
 * Each row returned is the table's row last fetched.
 */
typedef struct RowScan RowScan;

extern RowScan *row_scan_begin(RowAccess *rows, RowIndexId index, const Datum *keys);
extern TupleTableSlot *row_scan_next(RowScan *scan);
extern void row_scan_end(RowScan *scan);

/* Typed readers of a fetched row's columns. */
extern Datum row_datum(TupleTableSlot *slot, int column, bool *isnull);
extern int64 row_int64(TupleTableSlot *slot, int column, bool *isnull);
extern char *row_text(TupleTableSlot *slot, int column);

/*
 * Writes a new version of the row last fetched from the table, with
 * `count` columns set to values (nulls[i]: NULL).
 */
extern void row_update(RowAccess *rows, RowTableId table, int count, const int *columns,
					   const Datum *values, const bool *nulls);

/*
 * Inserts a row; values and nulls cover the ledger's columns, in their
 * order. Columns an operator added get their defaults (or NULL).
 */
extern void row_insert(RowAccess *rows, RowTableId table, const Datum *values, const bool *nulls);

/* Fires the AFTER triggers the writes queued and closes everything. */
extern void rows_end(RowAccess *rows);

#endif
