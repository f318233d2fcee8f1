/*
 * row.h
 *		Single rows of the extension's own tables (account, bucket, entry),
 *		found by index, locked and written through the table and index
 *		access methods, with the table's CHECK constraints, index
 *		predicates and triggers applied as an INSERT or UPDATE would apply
 *		them. The executor's state stays inside row.c: callers hold a
 *		RowAccess (the tables of one call) and Row handles (one fetched
 *		row version each), both opaque.
 */
#ifndef CREDIT_LEDGER_ROW_H
#define CREDIT_LEDGER_ROW_H

#include "store/catalog.h"

typedef struct RowAccess RowAccess;
typedef struct Row Row;
typedef struct RowScan RowScan;
typedef struct RowView RowView;

extern void rows_lock_tables(void);
extern RowAccess *rows_open(void);
extern void rows_end(RowAccess *rows);

extern void row_require_writable(const char *what, const char *table);
extern void row_report_skipped(const char *command, const char *table);

extern Row *row_fetch(RowAccess *rows, RowIndexId index, const Datum *keys);
extern Row *row_lock(RowAccess *rows, RowIndexId index, const Datum *keys);

extern RowView *row_view_take(void);
extern void row_view_release(RowView *view);
extern Row *row_fetch_in(RowAccess *rows, RowIndexId index, const Datum *keys, const RowView *view);
extern bool row_seen_in(const Row *row, const RowView *view);

extern RowScan *row_scan_begin(RowAccess *rows, RowIndexId index, const Datum *keys);
extern Row *row_scan_next(RowScan *scan);
extern void row_scan_end(RowScan *scan);

extern bool row_has_column(RowTableId table, int column);
extern bool row_schema_1_1(void);
extern Datum row_datum(const Row *row, int column, bool *isnull);
extern int64 row_int64(const Row *row, int column, bool *isnull);
extern char *row_text(const Row *row, int column);

extern void row_update(Row *row, int count, const int *columns,
					   const Datum *values, const bool *nulls);
extern void row_insert(RowAccess *rows, RowTableId table, const Datum *values, const bool *nulls);

#endif
