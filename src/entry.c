/*
 * entry.c
 *		The ledger: every change of an account is one appended entry that
 *		carries the account's figures after it, so the entries alone
 *		explain every balance.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/timestamp.h"
#include "utils/builtins.h"

#include "credit_ledger.h"
#include "query.h"

/*
 * Appends the entry, applying its amount and reserved_delta to the locked
 * account first so that balance_after and reserved_after are exact.
 * Returns the new entry_id.
 */
int64
entry_write(LedgerOp *op, const LedgerEntry *e)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.entry (entry_id, account_id, kind, amount, reserved_delta,"
		" balance_after, reserved_after, event_id, hold_id, source, description, metadata,"
		" price_rule_id, input_tokens, output_tokens, cached_tokens, reasoning_tokens,"
		" bucket_ids, bucket_amounts, ref_entry_id, request, created_at)"
		" VALUES (coalesce($1, nextval('credit_ledger.entry_entry_id_seq'::regclass)),"
		" $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
		" $20, $21, $22) RETURNING entry_id",
		22, {INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID,
			TEXTOID, TEXTOID, JSONBOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
			INT8ARRAYOID, INT8ARRAYOID, INT8OID, TEXTOID, TIMESTAMPTZOID}
	};
	Datum		values[22];
	char		nulls[22];
	bool		has_slices = (e->slices != NULL);

	op->acct.balance = credits_add(op->acct.balance, e->amount);
	op->acct.reserved = credits_add(op->acct.reserved, e->reserved_delta);
	op->account_changed = true;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(e->entry_id);
	nulls[0] = e->entry_id ? ' ' : 'n';
	values[1] = Int64GetDatum(op->account_id);
	values[2] = CStringGetTextDatum(e->kind);
	values[3] = Int64GetDatum(e->amount);
	values[4] = Int64GetDatum(e->reserved_delta);
	values[5] = Int64GetDatum(op->acct.balance);
	values[6] = Int64GetDatum(op->acct.reserved);
	values[7] = e->event_id ? CStringGetTextDatum(e->event_id) : (Datum) 0;
	nulls[7] = e->event_id ? ' ' : 'n';
	values[8] = Int64GetDatum(e->hold_id);
	nulls[8] = e->hold_id ? ' ' : 'n';
	values[9] = e->source ? CStringGetTextDatum(e->source) : (Datum) 0;
	nulls[9] = e->source ? ' ' : 'n';
	values[10] = e->description ? CStringGetTextDatum(e->description) : (Datum) 0;
	nulls[10] = e->description ? ' ' : 'n';
	values[11] = e->metadata;
	nulls[11] = e->has_metadata ? ' ' : 'n';
	values[12] = Int64GetDatum(e->price_rule_id);
	nulls[12] = e->price_rule_id ? ' ' : 'n';
	for (int i = 0; i < 4; i++)
	{
		values[13 + i] = e->tokens ? Int64GetDatum(e->tokens[i]) : (Datum) 0;
		nulls[13 + i] = e->tokens ? ' ' : 'n';
	}
	values[17] = has_slices ? slices_ids_array(e->slices) : (Datum) 0;
	nulls[17] = has_slices ? ' ' : 'n';
	values[18] = has_slices ? slices_amounts_array(e->slices) : (Datum) 0;
	nulls[18] = has_slices ? ' ' : 'n';
	values[19] = Int64GetDatum(e->ref_entry_id);
	nulls[19] = e->ref_entry_id ? ' ' : 'n';
	values[20] = e->event_id ? CStringGetTextDatum(op->request.data) : (Datum) 0;
	nulls[20] = e->event_id ? ' ' : 'n';
	values[21] = TimestampTzGetDatum(op->now);

	query_run(&q, values, nulls, false, 0, SPI_OK_INSERT_RETURNING);
	return query_int64(0, 1, NULL);
}

/*
 * The amount an op_result reports for an entry: the credits the call moved,
 * as the caller thinks of them (positive, except adjust which keeps its sign).
 */
int64
entry_op_amount(const char *kind, int64 amount, int64 reserved_delta)
{
	if (strcmp(kind, "reserve") == 0)
		return reserved_delta;
	if (strcmp(kind, "cancel") == 0 || strcmp(kind, "expire_hold") == 0)
		return -reserved_delta;
	if (strcmp(kind, "deduct") == 0 || strcmp(kind, "confirm") == 0 ||
		strcmp(kind, "expire_grant") == 0)
		return -amount;
	return amount;
}
