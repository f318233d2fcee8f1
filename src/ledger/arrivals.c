/*
 * arrivals.c
 *		Credits that arrive later are exact without the worker, like
 *		expiry: the 1.1 script's arrivals view says, for the statement's
 *		instant, which grants have reached their effective_at and which
 *		allowance periods have begun, with the debt they repay and the
 *		rollover they carry; every read adds them, and expire_due writes
 *		them here, under the account lock, before any hold or bucket
 *		expires (an allowance's rollover is what its previous bucket still
 *		holds). The account's next_expiry_at stays at or before the next
 *		arrival, so a call pays nothing while none is due.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "store/catalog.h"
#include "store/query.h"
#include "ledger/allowance.h"
#include "ledger/arrivals.h"
#include "ledger/bucket.h"
#include "ledger/credits.h"
#include "ledger/debt.h"
#include "ledger/entry.h"

/* One row of the arrivals view. */
typedef struct Arrival
{
	int64		bucket_id;		/* a grant effective later; 0 = an allowance period */
	int64		scheduled_by;	/* its grant entry */
	char	   *allowance;		/* an allowance period: its name */
	TimestampTz arrives_at;
	int64		amount;
	int64		repaid;
	int64		carry;
	int64		carry_bucket_id;	/* 0: the previous period's, written here */
	bool		has_expiry;
	TimestampTz expires_at;
	char	   *source;
	int32		priority;
	int64		created_bucket_id;	/* the allowance bucket written for it */
} Arrival;

/* The schema is 1.1's: it has the allowance table (and pending buckets). */
bool
arrivals_enabled(void)
{
	return OidIsValid(catalog_relid("allowance"));
}

/* The bucket the period's rollover comes from: the period before's. */
static int64
arrival_carry_source(const Arrival *due, int i)
{
	if (due[i].carry_bucket_id != 0)
		return due[i].carry_bucket_id;
	for (int j = i - 1; j >= 0; j--)
		if (due[j].allowance != NULL && strcmp(due[j].allowance, due[i].allowance) == 0)
			return due[j].created_bucket_id;
	elog(ERROR, "credit_ledger: allowance \"%s\" carries over from no bucket", due[i].allowance);
}

/* A grant effective later: its credits enter the bucket it made. */
static void
arrival_grant(LedgerOp *op, const Arrival *a, int64 left)
{
	Slices		credited;

	bucket_arrive(op, a->bucket_id, left);
	slices_init(&credited);
	if (left > 0)
		slices_add(&credited, a->bucket_id, left);
	entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_GRANT, .amount = a->amount, .source = a->source,
		.description = "effective", .slices = &credited, .ref_entry_id = a->scheduled_by
	});
	if (a->has_expiry && left > 0)
		account_note_expiry(&op->acct, a->expires_at);
}

/*
 * An allowance period: the rollover moves out of the previous period's
 * bucket into a new one with the period's credits, expiring at its end.
 */
static void
arrival_allowance(LedgerOp *op, Arrival *due, int i, int64 left)
{
	Arrival    *a = &due[i];
	int64		entry_id = 0;
	Slices		credited;

	if (a->carry > 0)
	{
		Slices		moved;

		slices_init(&moved);
		slices_add(&moved, arrival_carry_source(due, i), a->carry);
		buckets_apply(op, &moved, -1);
	}
	a->created_bucket_id = bucket_create(op, &entry_id, &(BucketNew) {
		.source = a->source, .granted = credits_add(a->amount, a->carry),
		.remaining = credits_add(left, a->carry), .priority = a->priority,
		.has_expiry = true, .expires_at = a->expires_at
	});
	slices_init(&credited);
	if (left + a->carry > 0)
		slices_add(&credited, a->created_bucket_id, left + a->carry);
	entry_write(op, &(LedgerEntry) {
		.entry_id = entry_id, .kind = ENTRY_GRANT, .amount = a->amount, .source = a->source,
		.description = psprintf("allowance %s", a->allowance), .slices = &credited
	});
	allowance_issued(op, &(AllowanceIssue) {
		.name = a->allowance, .period_start = a->arrives_at, .period_end = a->expires_at,
		.bucket_id = a->created_bucket_id, .entry_id = entry_id, .amount = a->amount,
		.carry = a->carry
	});
}

/*
 * Writes every arrival that is due on the op's account, in the view's
 * order: debt first (debt_repay, which the view's repaid must match),
 * then the credits, each in a grant entry with a NULL event_id. The view
 * reads the account as stored: this runs first in a call's frame, before
 * anything changed the locked account (expire_due from op_begin).
 */
void
arrivals_write(LedgerOp *op)
{
	static CachedQuery q = {
		"SELECT bucket_id, scheduled_by, allowance, arrives_at, amount, repaid, carry,"
		" carry_bucket_id, expires_at, source, priority"
		" FROM credit_ledger.arrivals WHERE account_id = $1 ORDER BY seq",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(op->account_id)};
	uint64		rows;
	Arrival    *due;

	if (!arrivals_enabled())
		return;
	rows = query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	if (rows == 0)
		return;

	/* copy out: the statements below replace SPI_tuptable */
	due = palloc0(sizeof(Arrival) * rows);
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;

		due[i].bucket_id = query_int64(i, 1, &isnull);
		due[i].scheduled_by = query_int64(i, 2, &isnull);
		due[i].allowance = query_text(i, 3);
		due[i].arrives_at = DatumGetTimestampTz(query_datum(i, 4, &isnull));
		due[i].amount = query_int64(i, 5, NULL);
		due[i].repaid = query_int64(i, 6, NULL);
		due[i].carry = query_int64(i, 7, NULL);
		due[i].carry_bucket_id = query_int64(i, 8, &isnull);
		due[i].expires_at = DatumGetTimestampTz(query_datum(i, 9, &isnull));
		due[i].has_expiry = !isnull;
		due[i].source = query_text(i, 10);
		due[i].priority = DatumGetInt32(query_datum(i, 11, &isnull));
	}

	for (uint64 i = 0; i < rows; i++)
	{
		int64		left = debt_repay(&op->acct, due[i].amount);

		if (left != due[i].amount - due[i].repaid)
			elog(ERROR, "credit_ledger: arrivals of account %lld repay %lld of debt, the ledger %lld",
				 (long long) op->account_id, (long long) due[i].repaid,
				 (long long) (due[i].amount - left));
		if (due[i].bucket_id != 0)
			arrival_grant(op, &due[i], left);
		else
			arrival_allowance(op, due, (int) i, left);
		op->acct.total_granted = credits_add(op->acct.total_granted, due[i].amount);
	}
}

/* Lowers next_expiry_at to the account's next arrival, if any. */
void
arrivals_note_next(LedgerOp *op)
{
	static CachedQuery q = {
		"SELECT least("
		" (SELECT min(effective_at) FROM credit_ledger.bucket WHERE account_id = $1 AND pending),"
		" (SELECT min(next_issue_at) FROM credit_ledger.allowance WHERE account_id = $1))",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(op->account_id)};
	bool		isnull;
	TimestampTz next;

	if (!arrivals_enabled())
		return;
	query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	next = DatumGetTimestampTz(query_datum(0, 1, &isnull));
	if (!isnull)
	{
		account_note_expiry(&op->acct, next);
		op->account_changed = true;
	}
}
