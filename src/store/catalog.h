/*
 * catalog.h
 *		The extension's own tables as the C code knows them: which tables
 *		and indexes row.c works on, and the columns the ledger reads and
 *		writes, in the order of CREATE TABLE. Also the schema and the
 *		entry sequence, looked up by name once and cached.
 */
#ifndef CREDIT_LEDGER_CATALOG_H
#define CREDIT_LEDGER_CATALOG_H

#include "tokens.h"

#define CATALOG_SCHEMA "credit_ledger"

typedef enum RowTableId
{
	ROW_ACCOUNT,
	ROW_BUCKET,
	ROW_ENTRY,
	ROW_HOLD,					/* written through SPI; row.c only locks it */
	ROW_SPEND_LIMIT,			/* 1.1: missing while the schema is 1.0's */
	ROW_TABLE_COUNT
} RowTableId;

/* The indexes rows are found by. */
typedef enum RowIndexId
{
	ROW_ACCOUNT_BY_ID,			/* account_pkey: account_id */
	ROW_BUCKET_BY_ID,			/* bucket_pkey: account_id, bucket_id */
	ROW_BUCKET_BURN_DOWN,		/* bucket_burn_down: account_id; live buckets, spending order */
	ROW_ENTRY_BY_EVENT,			/* entry_event: account_id, event_id */
	ROW_SPEND_LIMIT_BY_SUBJECT, /* spend_limit_key: account_id, subject ('': none) */
	ROW_ENTRY_BY_ID,			/* entry_pkey: account_id, entry_id */
	ROW_ENTRY_BY_REF,			/* entry_ref: account_id, ref_entry_id */
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
	ACCOUNT_STATUS_CHANGED_AT,
	ACCOUNT_LOW_BALANCE,		/* 1.1: NULL while the schema is 1.0's */
	ACCOUNT_MAX_PENDING_HOLDS,	/* 1.1 */
	ACCOUNT_SPEND_LIMITS		/* 1.1 */
} AccountColumn;

typedef enum BucketColumn
{
	BUCKET_ACCOUNT_ID = 1,
	BUCKET_BUCKET_ID,
	BUCKET_SOURCE,
	BUCKET_GRANTED,
	BUCKET_REMAINING,
	BUCKET_LIVE,
	BUCKET_PRIORITY,
	BUCKET_EXPIRES_AT
} BucketColumn;

#define ENTRY_TOKEN_COLUMN(kind, count, price, fallback, since_1_1) ENTRY_##kind,
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
	TOKEN_KIND_LIST(ENTRY_TOKEN_COLUMN)	/* ENTRY_TOKEN_INPUT ... */
	ENTRY_BUCKET_IDS,
	ENTRY_BUCKET_AMOUNTS,
	ENTRY_REF_ENTRY_ID,
	ENTRY_REQUEST,
	ENTRY_CREATED_AT,
	ENTRY_SUBJECT,				/* 1.1 */
	ENTRY_COLUMN_COUNT = ENTRY_SUBJECT
} EntryColumn;
#undef ENTRY_TOKEN_COLUMN

/* The entry column of a token kind's count. */
#define ENTRY_TOKEN_COLUMN(kind) ((EntryColumn) (ENTRY_TOKEN_INPUT + (kind)))

typedef enum SpendLimitColumn
{
	SPEND_LIMIT_ACCOUNT_ID = 1,
	SPEND_LIMIT_SUBJECT,
	SPEND_LIMIT_PERIOD,
	SPEND_LIMIT_MAX_CREDITS,
	SPEND_LIMIT_PERIOD_START,
	SPEND_LIMIT_USED,
	SPEND_LIMIT_HELD,
	SPEND_LIMIT_REACHED_IN
} SpendLimitColumn;

#define ROW_MAX_COLUMNS ENTRY_COLUMN_COUNT

typedef struct RowColumnDef
{
	const char *name;
	Oid			type;
	bool		since_1_1;		/* missing in a 1.0 schema not yet updated */
} RowColumnDef;

typedef struct RowTableDef
{
	const char *name;
	const RowColumnDef *columns;	/* in the enums' order; NULL: only locked */
	int			column_count;
	bool		since_1_1;		/* missing in a 1.0 schema not yet updated */
} RowTableDef;

typedef struct RowIndexDef
{
	const char *name;
	RowTableId	table;
	int			key_count;		/* leading index columns the lookups give */
} RowIndexDef;

extern const RowTableDef catalog_tables[ROW_TABLE_COUNT];
extern const RowIndexDef catalog_indexes[ROW_INDEX_COUNT];

extern Oid	catalog_namespace(bool missing_ok);
extern Oid	catalog_relid(const char *name);
extern Oid	catalog_entry_sequence(void);

#endif
