/*
 * catalog.c
 *		The catalogue of the tables row.c reads and writes (their columns by
 *		name and type, the indexes rows are found by), and the lookups by
 *		name of the schema and of the entry sequence. The sequence's OID is
 *		cached and dropped by a relcache invalidation of it (DROP EXTENSION,
 *		or a reset of every cache).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "store/catalog.h"

static const RowColumnDef account_columns[] = {
	{"account_id", INT8OID}, {"status", TEXTOID}, {"credit_limit", INT8OID},
	{"balance", INT8OID}, {"reserved", INT8OID}, {"debt", INT8OID},
	{"total_granted", INT8OID}, {"total_consumed", INT8OID}, {"total_expired", INT8OID},
	{"total_refunded", INT8OID}, {"next_expiry_at", TIMESTAMPTZOID}, {"metadata", JSONBOID},
	{"status_reason", TEXTOID}, {"status_changed_at", TIMESTAMPTZOID},
	{"low_balance", INT8OID, true}, {"max_pending_holds", INT4OID, true},
	{"spend_limits", INT8OID, true}
};
static const RowColumnDef bucket_columns[] = {
	{"account_id", INT8OID}, {"bucket_id", INT8OID}, {"source", TEXTOID},
	{"granted", INT8OID}, {"remaining", INT8OID}, {"live", BOOLOID},
	{"priority", INT4OID}, {"expires_at", TIMESTAMPTZOID}
};

#define ENTRY_TOKEN_COLUMN_DEF(kind, count, price, fallback, since_1_1) {count, INT8OID, since_1_1},
static const RowColumnDef entry_columns[] = {
	{"account_id", INT8OID}, {"entry_id", INT8OID}, {"kind", TEXTOID}, {"amount", INT8OID},
	{"reserved_delta", INT8OID}, {"balance_after", INT8OID}, {"reserved_after", INT8OID},
	{"event_id", TEXTOID}, {"hold_id", INT8OID}, {"source", TEXTOID},
	{"description", TEXTOID}, {"metadata", JSONBOID}, {"price_rule_id", INT8OID},
	TOKEN_KIND_LIST(ENTRY_TOKEN_COLUMN_DEF)
	{"bucket_ids", INT8ARRAYOID}, {"bucket_amounts", INT8ARRAYOID}, {"ref_entry_id", INT8OID},
	{"request", TEXTOID}, {"created_at", TIMESTAMPTZOID}, {"subject", TEXTOID, true}
};
#undef ENTRY_TOKEN_COLUMN_DEF

static const RowColumnDef spend_limit_columns[] = {
	{"account_id", INT8OID}, {"subject", TEXTOID}, {"period", TEXTOID},
	{"max_credits", INT8OID}, {"period_start", TIMESTAMPTZOID}, {"used", INT8OID},
	{"held", INT8OID}, {"reached_in", TIMESTAMPTZOID}
};

StaticAssertDecl(lengthof(entry_columns) == ROW_MAX_COLUMNS &&
				 lengthof(account_columns) <= ROW_MAX_COLUMNS &&
				 lengthof(spend_limit_columns) <= ROW_MAX_COLUMNS,
				 "ROW_MAX_COLUMNS is the widest table's column count");

/* The tables by RowTableId. */
const RowTableDef catalog_tables[ROW_TABLE_COUNT] = {
	[ROW_ACCOUNT] = {"account", account_columns, lengthof(account_columns)},
	[ROW_BUCKET] = {"bucket", bucket_columns, lengthof(bucket_columns)},
	[ROW_ENTRY] = {"entry", entry_columns, lengthof(entry_columns)},
	[ROW_HOLD] = {"hold", NULL, 0},
	[ROW_SPEND_LIMIT] = {"spend_limit", spend_limit_columns, lengthof(spend_limit_columns), true},
};

/* The indexes by RowIndexId. */
const RowIndexDef catalog_indexes[ROW_INDEX_COUNT] = {
	[ROW_ACCOUNT_BY_ID] = {"account_pkey", ROW_ACCOUNT, 1},
	[ROW_BUCKET_BY_ID] = {"bucket_pkey", ROW_BUCKET, 2},
	[ROW_BUCKET_BURN_DOWN] = {"bucket_burn_down", ROW_BUCKET, 1},
	[ROW_ENTRY_BY_EVENT] = {"entry_event", ROW_ENTRY, 2},
	[ROW_SPEND_LIMIT_BY_SUBJECT] = {"spend_limit_key", ROW_SPEND_LIMIT, 2},
	[ROW_ENTRY_BY_ID] = {"entry_pkey", ROW_ENTRY, 2},
	[ROW_ENTRY_BY_REF] = {"entry_ref", ROW_ENTRY, 2},
};

static Oid	entry_sequence = InvalidOid;

/* The extension's schema; InvalidOid when missing_ok and there is none. */
Oid
catalog_namespace(bool missing_ok)
{
	return get_namespace_oid(CATALOG_SCHEMA, missing_ok);
}

/* A relation of the extension's schema by name; InvalidOid when there is none. */
Oid
catalog_relid(const char *name)
{
	Oid			namespace = catalog_namespace(true);

	return OidIsValid(namespace) ? get_relname_relid(name, namespace) : InvalidOid;
}

static void
entry_sequence_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == entry_sequence)
		entry_sequence = InvalidOid;
}

/*
 * credit_ledger.entry_entry_id_seq, whose nextval is the entry_id the
 * column's default would take. Looked up once; a relcache invalidation of
 * the sequence (it was dropped) makes the next call look it up again.
 */
Oid
catalog_entry_sequence(void)
{
	static bool callback_registered = false;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(entry_sequence_invalidate, (Datum) 0);
		callback_registered = true;
	}
	if (!OidIsValid(entry_sequence))
		entry_sequence = get_relname_relid("entry_entry_id_seq", catalog_namespace(false));
	return entry_sequence;
}
