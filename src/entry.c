/*
 * entry.c
 *		The ledger: every change of an account is one appended entry that
 *		carries the account's figures after it, so the entries alone
 *		explain every balance.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "credit_ledger.h"

/* The next entry_id, as the column's default would take it. */
static int64
entry_next_id(void)
{
	Oid			sequence = get_relname_relid("entry_entry_id_seq",
											 get_namespace_oid("credit_ledger", false));

	return nextval_internal(sequence, false);
}

static void
entry_set(Datum *values, bool *nulls, EntryColumn column, Datum value)
{
	values[column - 1] = value;
	nulls[column - 1] = false;
}

/*
 * Appends the entry, applying its amount and reserved_delta to the locked
 * account first so that balance_after and reserved_after are exact.
 * Returns the new entry_id.
 */
int64
entry_write(LedgerOp *op, const LedgerEntry *e)
{
	Datum		values[ENTRY_COLUMN_COUNT];
	bool		nulls[ENTRY_COLUMN_COUNT];
	int64		entry_id = e->entry_id ? e->entry_id : entry_next_id();

	op->acct.balance = credits_add(op->acct.balance, e->amount);
	op->acct.reserved = credits_add(op->acct.reserved, e->reserved_delta);
	op->account_changed = true;

	memset(nulls, true, sizeof(nulls));
	entry_set(values, nulls, ENTRY_ACCOUNT_ID, Int64GetDatum(op->account_id));
	entry_set(values, nulls, ENTRY_ENTRY_ID, Int64GetDatum(entry_id));
	entry_set(values, nulls, ENTRY_KIND, CStringGetTextDatum(e->kind));
	entry_set(values, nulls, ENTRY_AMOUNT, Int64GetDatum(e->amount));
	entry_set(values, nulls, ENTRY_RESERVED_DELTA, Int64GetDatum(e->reserved_delta));
	entry_set(values, nulls, ENTRY_BALANCE_AFTER, Int64GetDatum(op->acct.balance));
	entry_set(values, nulls, ENTRY_RESERVED_AFTER, Int64GetDatum(op->acct.reserved));
	entry_set(values, nulls, ENTRY_CREATED_AT, TimestampTzGetDatum(op->now));
	if (e->event_id)
	{
		entry_set(values, nulls, ENTRY_EVENT_ID, CStringGetTextDatum(e->event_id));
		entry_set(values, nulls, ENTRY_REQUEST, CStringGetTextDatum(op->request.data));
	}
	if (e->hold_id)
		entry_set(values, nulls, ENTRY_HOLD_ID, Int64GetDatum(e->hold_id));
	if (e->source)
		entry_set(values, nulls, ENTRY_SOURCE, CStringGetTextDatum(e->source));
	if (e->description)
		entry_set(values, nulls, ENTRY_DESCRIPTION, CStringGetTextDatum(e->description));
	if (e->has_metadata)
		entry_set(values, nulls, ENTRY_METADATA, e->metadata);
	if (e->price_rule_id)
		entry_set(values, nulls, ENTRY_PRICE_RULE_ID, Int64GetDatum(e->price_rule_id));
	if (e->tokens)
		for (int i = 0; i < TOKEN_KINDS; i++)
			entry_set(values, nulls, ENTRY_INPUT_TOKENS + i, Int64GetDatum(e->tokens[i]));
	if (e->slices)
	{
		entry_set(values, nulls, ENTRY_BUCKET_IDS, slices_ids_array(e->slices));
		entry_set(values, nulls, ENTRY_BUCKET_AMOUNTS, slices_amounts_array(e->slices));
	}
	if (e->ref_entry_id)
		entry_set(values, nulls, ENTRY_REF_ENTRY_ID, Int64GetDatum(e->ref_entry_id));

	row_insert(&op->rows, ROW_ENTRY, values, nulls);
	op->last_entry_id = entry_id;
	return entry_id;
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
