/*
 * entry.c
 *		The ledger: every change of an account is one appended entry that
 *		carries the account's figures after it, so the entries alone
 *		explain every balance. A replay answers from the entry the first
 *		call wrote.
 */
#include "postgres.h"

#include "commands/sequence.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "store/catalog.h"
#include "store/row.h"
#include "ledger/credits.h"
#include "ledger/entry.h"

static const char *const kind_names[ENTRY_KIND_COUNT] = {
	[ENTRY_GRANT] = "grant",
	[ENTRY_DEDUCT] = "deduct",
	[ENTRY_RESERVE] = "reserve",
	[ENTRY_CONFIRM] = "confirm",
	[ENTRY_CANCEL] = "cancel",
	[ENTRY_EXPIRE_HOLD] = "expire_hold",
	[ENTRY_EXPIRE_GRANT] = "expire_grant",
	[ENTRY_REFUND] = "refund",
	[ENTRY_ADJUST] = "adjust",
	[ENTRY_REWARD] = "reward",
	[ENTRY_VOID_GRANT] = "void_grant",
	[ENTRY_EXTEND_GRANT] = "extend_grant",
	[ENTRY_CAPTURE] = "capture",
	[ENTRY_EXTEND_HOLD] = "extend_hold",
	[ENTRY_TRANSFER_OUT] = "transfer_out",
	[ENTRY_TRANSFER_IN] = "transfer_in",
};

/* The kind as stored in entry.kind. */
const char *
entry_kind_name(EntryKind kind)
{
	return kind_names[kind];
}

/* False when `name` is not a kind of entry. */
bool
entry_kind_parse(const char *name, EntryKind *kind)
{
	for (int i = 0; i < ENTRY_KIND_COUNT; i++)
	{
		if (strcmp(name, kind_names[i]) == 0)
		{
			*kind = (EntryKind) i;
			return true;
		}
	}
	return false;
}

/* The next entry_id, for an entry another row must name before it is written. */
int64
entry_next_id(void)
{
	return nextval_internal(catalog_entry_sequence(), false);
}

/*
 * The kinds consumption() counts (and spend limits with it): what callers
 * spend, not an operator's negative adjust or a void.
 */
bool
entry_kind_is_consumption(EntryKind kind)
{
	return kind == ENTRY_DEDUCT || kind == ENTRY_CONFIRM || kind == ENTRY_CAPTURE;
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
	entry_set(values, nulls, ENTRY_KIND, CStringGetTextDatum(entry_kind_name(e->kind)));
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
			entry_set(values, nulls, ENTRY_TOKEN_COLUMN(i), Int64GetDatum(e->tokens[i]));
	if (e->slices)
	{
		entry_set(values, nulls, ENTRY_BUCKET_IDS, slices_ids_array(e->slices));
		entry_set(values, nulls, ENTRY_BUCKET_AMOUNTS, slices_amounts_array(e->slices));
	}
	if (e->ref_entry_id)
		entry_set(values, nulls, ENTRY_REF_ENTRY_ID, Int64GetDatum(e->ref_entry_id));
	if (e->subject)
		entry_set(values, nulls, ENTRY_SUBJECT, CStringGetTextDatum(e->subject));

	row_insert(op->rows, ROW_ENTRY, values, nulls);
	op->last_entry_id = entry_id;
	return entry_id;
}

/*
 * The amount an op_result reports for an entry: the credits the call moved,
 * as the caller thinks of them (positive, except adjust which keeps its sign).
 */
static int64
entry_op_amount(EntryKind kind, int64 amount, int64 reserved_delta)
{
	switch (kind)
	{
		case ENTRY_RESERVE:
			return reserved_delta;
		case ENTRY_CANCEL:
		case ENTRY_EXPIRE_HOLD:
			return -reserved_delta;
		case ENTRY_DEDUCT:
		case ENTRY_CONFIRM:
		case ENTRY_CAPTURE:
		case ENTRY_EXPIRE_GRANT:
		case ENTRY_VOID_GRANT:
		case ENTRY_TRANSFER_OUT:
			return -amount;
		default:
			return amount;
	}
}

/*
 * Fills the op's result from an earlier call's entry (a row just fetched):
 * its id, hold and amount, and the account's figures as that call left
 * them (after any credits its own expire_grant entries let lapse).
 */
void
entry_replay_row(LedgerOp *op, Row *entry)
{
	int64		entry_id = row_int64(entry, ENTRY_ENTRY_ID, NULL);
	Datum		keys[2] = {Int64GetDatum(op->account_id), Int64GetDatum(entry_id)};
	char	   *kind_name;
	EntryKind	kind;
	bool		isnull;
	int64		lapse_id = 0;
	RowScan    *refs;
	Row		   *ref;

	kind_name = row_text(entry, ENTRY_KIND);
	if (!entry_kind_parse(kind_name, &kind))
		elog(ERROR, "credit_ledger: entry %lld of account %lld has unknown kind \"%s\"",
			 (long long) entry_id, (long long) op->account_id, kind_name);
	op->entry_id = entry_id;
	op->hold_id = row_int64(entry, ENTRY_HOLD_ID, &isnull);
	op->amount = entry_op_amount(kind, row_int64(entry, ENTRY_AMOUNT, NULL),
								 row_int64(entry, ENTRY_RESERVED_DELTA, NULL));
	op->result_balance = row_int64(entry, ENTRY_BALANCE_AFTER, NULL);
	op->result_reserved = row_int64(entry, ENTRY_RESERVED_AFTER, NULL);
	op->replayed = true;

	/* the call's last lapse of what it returned, if any: its figures are the call's */
	refs = row_scan_begin(op->rows, ROW_ENTRY_BY_REF, keys);
	while ((ref = row_scan_next(refs)) != NULL)
	{
		int64		id = row_int64(ref, ENTRY_ENTRY_ID, NULL);
		EntryKind	ref_kind;

		if (id > lapse_id && entry_kind_parse(row_text(ref, ENTRY_KIND), &ref_kind) &&
			ref_kind == ENTRY_EXPIRE_GRANT)
		{
			lapse_id = id;
			op->result_balance = row_int64(ref, ENTRY_BALANCE_AFTER, NULL);
			op->result_reserved = row_int64(ref, ENTRY_RESERVED_AFTER, NULL);
		}
	}
	row_scan_end(refs);
}

/* entry_replay_row of the account's entry entry_id. */
void
entry_replay(LedgerOp *op, int64 entry_id)
{
	Datum		keys[2] = {Int64GetDatum(op->account_id), Int64GetDatum(entry_id)};
	Row		   *entry = row_fetch(op->rows, ROW_ENTRY_BY_ID, keys);

	if (entry == NULL)
		elog(ERROR, "credit_ledger: entry %lld of account %lld not found",
			 (long long) entry_id, (long long) op->account_id);
	entry_replay_row(op, entry);
}
