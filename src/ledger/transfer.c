/*
 * transfer.c
 *		Transfers between two accounts of this server. Both accounts are
 *		locked in account_id order, so A->B and B->A at once never
 *		deadlock; the sender's event_id makes the transfer idempotent on
 *		(from_account, event_id). The credits leave the sender's buckets in
 *		burn-down order and enter the receiver in buckets of their own with
 *		the same source, expiry and priority (debt first, as any credits
 *		in), so a gift that expires in 10 days still does, and a refund of
 *		a charge paid with them returns them to the receiver's buckets.
 *		Entries transfer_out and transfer_in name each other (ref_entry_id),
 *		and a transfer row keeps the pair for verify().
 *
 *		transfer_send and transfer_receive are the two halves, each on one
 *		locked account, for a caller that moves credits between servers.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "store/query.h"
#include "store/row.h"
#include "ledger/bucket.h"
#include "ledger/credits.h"
#include "ledger/debt.h"
#include "ledger/entry.h"
#include "ledger/operation.h"
#include "ledger/transfer.h"

/* The accounts in the order their locks are taken. */
static void
transfer_order(LedgerOp *from, LedgerOp *to, LedgerOp **first, LedgerOp **second)
{
	*first = from->account_id < to->account_id ? from : to;
	*second = (*first == from) ? to : from;
}

/*
 * Only credits the sender holds move: available must cover the amount
 * without the credit limit, so that the buckets cover all of it (debt
 * means no live bucket), and a transfer never lends the receiver credit.
 */
static void
transfer_require_held(const LedgerAccount *acct, int64 amount)
{
	int64		available = credits_sub(acct->balance, acct->reserved);

	if (available >= amount)
		return;
	account_refuse_credit(acct,
						  psprintf("Account %lld: available %lld, requested %lld; a transfer moves only credits the account holds, never its credit limit (%lld).",
								   (long long) acct->account_id, (long long) available,
								   (long long) amount, (long long) acct->credit_limit));
}

/*
 * The sending half: money out of an active account, within what it holds
 * (LD003, LD001); draws the credits in burn-down order into `drawn` and
 * describes each bucket's part in `parts`.
 */
void
transfer_send(LedgerOp *from, int64 amount, Slices *drawn, TransferParts *parts)
{
	Datum		keys[2] = {Int64GetDatum(from->account_id)};

	account_require_active(&from->acct, false);
	transfer_require_held(&from->acct, amount);
	if (buckets_draw(from, amount, drawn) != 0)
		elog(ERROR, "credit_ledger: account %lld holds less than its available",
			 (long long) from->account_id);

	parts->count = drawn->count;
	parts->parts = palloc0(sizeof(TransferPart) * Max(drawn->count, 1));
	for (int i = 0; i < drawn->count; i++)
	{
		TransferPart *p = &parts->parts[i];
		Row		   *bucket;
		bool		isnull;

		keys[1] = Int64GetDatum(drawn->bucket_ids[i]);
		bucket = row_fetch(from->rows, ROW_BUCKET_BY_ID, keys);
		if (bucket == NULL)
			elog(ERROR, "credit_ledger: account %lld is missing bucket %lld it drew from",
				 (long long) from->account_id, (long long) drawn->bucket_ids[i]);
		p->amount = drawn->amounts[i];
		p->source = row_text(bucket, BUCKET_SOURCE);
		p->priority = DatumGetInt32(row_datum(bucket, BUCKET_PRIORITY, &isnull));
		p->expires_at = DatumGetTimestampTz(row_datum(bucket, BUCKET_EXPIRES_AT, &isnull));
		p->has_expiry = !isnull;
	}
}

/*
 * The receiving half, on an account that takes money in (LD003 when
 * closed): repays its debt first, then gives each part a bucket of its
 * own with the part's source, expiry and priority, created by entry
 * entry_id. `credited` gets the buckets and what each holds.
 */
void
transfer_receive(LedgerOp *to, const TransferParts *parts, int64 entry_id, Slices *credited)
{
	account_require_active(&to->acct, true);
	slices_init(credited);
	for (int i = 0; i < parts->count; i++)
	{
		const TransferPart *p = &parts->parts[i];
		int64		kept = debt_repay(&to->acct, p->amount);
		int64		id = entry_id;

		if (kept > 0)
			slices_add(credited,
					   bucket_create(to, &id, &(BucketNew) {
						   .source = p->source, .granted = kept, .remaining = kept,
						   .priority = p->priority, .has_expiry = p->has_expiry,
						   .expires_at = p->expires_at
					   }),
					   kept);
	}
}

/* Keeps the pair of entries for verify() and replays. */
static void
transfer_record(const LedgerOp *from, const LedgerOp *to, int64 amount)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.transfer (from_account, out_entry_id, to_account, in_entry_id,"
		" amount, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		6, {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[6] = {
		Int64GetDatum(from->account_id), Int64GetDatum(from->entry_id),
		Int64GetDatum(to->account_id), Int64GetDatum(to->entry_id), Int64GetDatum(amount),
		TimestampTzGetDatum(from->now)
	};

	query_write_one(&q, values, NULL, QUERY_INSERT, "INSERT", "transfer");
}

/* A replayed transfer: the receiver's figures as its transfer_in left them. */
static void
transfer_replay(const LedgerOp *from, LedgerOp *to)
{
	static CachedQuery q = {
		"SELECT in_entry_id FROM credit_ledger.transfer"
		" WHERE from_account = $1 AND out_entry_id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(from->account_id), Int64GetDatum(from->entry_id)};

	if (query_run(&q, values, NULL, false, 0, QUERY_SELECT) != 1)
		elog(ERROR, "credit_ledger: transfer entry %lld of account %lld has no transfer row",
			 (long long) from->entry_id, (long long) from->account_id);
	entry_replay(to, query_int64(0, 1, NULL));
}

/*
 * Moves t->amount from `from` to `to` (ops initialised for both, the
 * request fingerprint on from's), or replays the transfer its event_id
 * made; transfer_end ends both. A refusal on either side (LD001, LD002,
 * LD003) raises before anything stays.
 */
void
transfer_run(LedgerOp *from, LedgerOp *to, const Transfer *t)
{
	LedgerOp   *first;
	LedgerOp   *second;
	Slices		drawn;
	Slices		credited;
	TransferParts parts;
	int64		out_id;
	int64		in_id;

	transfer_order(from, to, &first, &second);
	op_lock(first, OP_ACCOUNT_MUST_EXIST);
	op_lock(second, OP_ACCOUNT_MUST_EXIST);
	if (!op_start(from))
	{
		transfer_replay(from, to);
		return;
	}
	(void) op_start(to);

	transfer_send(from, t->amount, &drawn, &parts);
	out_id = entry_next_id();
	in_id = entry_next_id();
	from->entry_id = entry_write(from, &(LedgerEntry) {
		.entry_id = out_id, .kind = ENTRY_TRANSFER_OUT, .amount = -t->amount,
		.event_id = from->event_id, .description = t->description, .metadata = t->metadata,
		.has_metadata = t->has_metadata, .slices = &drawn, .ref_entry_id = in_id
	});
	transfer_receive(to, &parts, in_id, &credited);
	to->entry_id = entry_write(to, &(LedgerEntry) {
		.entry_id = in_id, .kind = ENTRY_TRANSFER_IN, .amount = t->amount,
		.description = t->description, .metadata = t->metadata,
		.has_metadata = t->has_metadata, .slices = &credited, .ref_entry_id = out_id
	});
	from->amount = to->amount = t->amount;
	transfer_record(from, to, t->amount);
}

/* Ends both ops, the one locked last first (their SPI connections nest). */
void
transfer_end(LedgerOp *from, LedgerOp *to)
{
	LedgerOp   *first;
	LedgerOp   *second;

	transfer_order(from, to, &first, &second);
	op_end(second);
	op_end(first);
}
