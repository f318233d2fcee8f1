/*
 * bucket.c
 *		Grant buckets: drawing credits in burn-down order, giving drawn
 *		credits back (debt first; into an expired bucket they lapse), and
 *		creating a bucket for credits that enter the account, and an
 *		operator's void or extension of one, and a bucket whose credits
 *		arrive later (1.1). Lapsed credits are written by one function,
 *		buckets_lapse.
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
#include "ledger/events.h"

/* Writes the remaining credits of the fetched bucket; live follows them. */
static void
bucket_store_remaining(Row *bucket, int64 remaining)
{
	static const int columns[] = {BUCKET_REMAINING, BUCKET_LIVE};
	Datum		values[lengthof(columns)] = {Int64GetDatum(remaining), BoolGetDatum(remaining > 0)};

	row_update(bucket, lengthof(columns), columns, values, NULL);
}

/*
 * Lapsed credits: one expire_grant entry for the slices, pointing at the
 * call that caused it (0: their bucket's expiry came). The caller takes
 * the credits out of the buckets' remaining where they were in it.
 */
static void
buckets_lapse(LedgerOp *op, const Slices *lapsed, int64 cause_entry_id)
{
	int64		total = slices_total(lapsed);

	events_grant_expired(op, lapsed, entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_EXPIRE_GRANT, .amount = -total, .slices = lapsed,
		.ref_entry_id = cause_entry_id
	}));
	op->acct.total_expired = credits_add(op->acct.total_expired, total);
	op->grants_expired += lapsed->count;
}

/* Adds sign * amount to each bucket of the slices; ids are distinct. */
void
buckets_apply(LedgerOp *op, const Slices *slices, int sign)
{
	Datum		keys[2] = {Int64GetDatum(op->account_id)};

	for (int i = 0; i < slices->count; i++)
	{
		Row		   *bucket;

		keys[1] = Int64GetDatum(slices->bucket_ids[i]);
		bucket = row_fetch(op->rows, ROW_BUCKET_BY_ID, keys);
		if (bucket == NULL)
			elog(ERROR, "credit_ledger: account %lld is missing bucket %lld it drew from",
				 (long long) op->account_id, (long long) slices->bucket_ids[i]);
		bucket_store_remaining(bucket, credits_add(row_int64(bucket, BUCKET_REMAINING, NULL),
												   sign * slices->amounts[i]));
	}
}

/*
 * Takes up to `amount` credits from the live buckets in burn-down order:
 * lower priority, then earliest expiry (none last), then oldest. Records
 * the slices taken in `drawn` and returns the part no bucket could cover,
 * which the caller draws on credit. Expired buckets were lapsed by
 * expire_due before, so every live bucket here is spendable. The burn-down
 * index holds the live buckets in that order: the first is the one to take
 * from, and a draw nearly always fits in it; a large one walks the index
 * once, however many small buckets it drains.
 */
int64
buckets_draw(LedgerOp *op, int64 amount, Slices *drawn)
{
	Datum		key = Int64GetDatum(op->account_id);
	int64		left = amount;
	RowScan    *scan;
	Row		   *bucket;

	slices_init(drawn);
	if (amount <= 0)
		return 0;
	/* one scan: a drained bucket is passed once, never visited again */
	scan = row_scan_begin(op->rows, ROW_BUCKET_BURN_DOWN, &key);
	while (left > 0 && (bucket = row_scan_next(scan)) != NULL)
	{
		int64		remaining;
		int64		taken;

		remaining = row_int64(bucket, BUCKET_REMAINING, NULL);
		if (remaining <= 0)
			elog(ERROR, "credit_ledger: bucket %lld of account %lld is live but empty",
				 (long long) row_int64(bucket, BUCKET_BUCKET_ID, NULL), (long long) op->account_id);
		taken = Min(remaining, left);
		slices_add(drawn, row_int64(bucket, BUCKET_BUCKET_ID, NULL), taken);
		bucket_store_remaining(bucket, remaining - taken);
		left -= taken;
	}
	row_scan_end(scan);
	return left;
}

/*
 * Returns drawn credits to their buckets (a cancelled or expired hold, the
 * unused part of a confirm, a refund). While the account is in debt they
 * repay it first. Credits whose bucket has expired lapse at once, in one
 * expire_grant entry that points at the call that returned them.
 */
void
buckets_give_back(LedgerOp *op, const Slices *slices, int64 cause_entry_id)
{
	static CachedQuery q = {
		"SELECT bucket_id, expires_at FROM credit_ledger.bucket"
		" WHERE account_id = $1 AND bucket_id = ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	};
	Datum		values[2];
	Slices		kept;
	Slices		lapsed;
	uint64		rows;

	if (slices->count == 0)
		return;
	values[0] = Int64GetDatum(op->account_id);
	values[1] = slices_ids_array(slices);
	rows = query_run(&q, values, NULL, false, 0, QUERY_SELECT);

	slices_init(&kept);
	slices_init(&lapsed);
	for (int i = 0; i < slices->count; i++)
	{
		bool		expired = false;
		bool		has_expiry = false;
		TimestampTz expires_at = 0;
		int64		amount = slices->amounts[i];

		for (uint64 r = 0; r < rows; r++)
		{
			if (query_int64(r, 1, NULL) == slices->bucket_ids[i])
			{
				bool		isnull;

				expires_at = DatumGetTimestampTz(query_datum(r, 2, &isnull));
				has_expiry = !isnull;
				expired = has_expiry && expires_at <= op->now;
			}
		}

		if (expired)
			slices_add(&lapsed, slices->bucket_ids[i], amount);
		else
		{
			int64		left = debt_repay(&op->acct, amount);

			if (left > 0)
			{
				slices_add(&kept, slices->bucket_ids[i], left);
				if (has_expiry)
					account_note_expiry(&op->acct, expires_at);
			}
		}
	}

	buckets_apply(op, &kept, 1);
	if (lapsed.count > 0)
		buckets_lapse(op, &lapsed, cause_entry_id);
}

/*
 * Creates the bucket for credits entering the account. Unless *entry_id is
 * already set, the id of the entry that will record the credits is taken
 * here, so that the bucket and the entry can name each other.
 */
int64
bucket_create(LedgerOp *op, int64 *entry_id, const BucketNew *b)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.bucket (account_id, source, granted, remaining, live,"
		" priority, expires_at, entry_id, created_at)"
		" VALUES ($1, $2, $3, $4, $4 > 0, $5, $6,"
		" coalesce($8, nextval('credit_ledger.entry_entry_id_seq'::regclass)), $7)"
		" RETURNING bucket_id, entry_id",
		8, {INT8OID, TEXTOID, INT8OID, INT8OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID}
	};
	Datum		values[8] = {
		Int64GetDatum(op->account_id), CStringGetTextDatum(b->source), Int64GetDatum(b->granted),
		Int64GetDatum(b->remaining), Int32GetDatum(b->priority), TimestampTzGetDatum(b->expires_at),
		TimestampTzGetDatum(op->now), Int64GetDatum(*entry_id)
	};
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', b->has_expiry ? ' ' : 'n', ' ', *entry_id ? ' ' : 'n'};

	query_write_one(&q, values, nulls, QUERY_INSERT_RETURNING, "INSERT", "bucket");
	*entry_id = query_int64(0, 2, NULL);
	if (b->has_expiry && b->remaining > 0)
		account_note_expiry(&op->acct, b->expires_at);
	return query_int64(0, 1, NULL);
}

/*
 * Lapses the unspent credits of every bucket whose expiry has come, one
 * expire_grant entry per bucket, naming the entry that caused it (0: their
 * expiry came).
 */
static void
buckets_expire_due_for(LedgerOp *op, int64 cause_entry_id)
{
	static CachedQuery q = {
		"SELECT bucket_id, remaining FROM credit_ledger.bucket"
		" WHERE account_id = $1 AND live AND expires_at <= $2"
		" ORDER BY expires_at, bucket_id",
		2, {INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), TimestampTzGetDatum(op->now)};
	Slices		due;
	uint64		rows;

	rows = query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	slices_init(&due);
	for (uint64 i = 0; i < rows; i++)
		slices_add(&due, query_int64(i, 1, NULL), query_int64(i, 2, NULL));

	for (int i = 0; i < due.count; i++)
	{
		Slices		one;

		slices_init(&one);
		slices_add(&one, due.bucket_ids[i], due.amounts[i]);
		buckets_lapse(op, &one, cause_entry_id);
	}
	buckets_apply(op, &due, -1);
}

/* Lapses what is due on the account's buckets (expiry.c, before a call works). */
void
buckets_expire_due(LedgerOp *op)
{
	buckets_expire_due_for(op, 0);
}

/*
 * Credits that arrived already expired lapse at once, naming the entry
 * that brought them, as credits refunded into an expired bucket do: the
 * parts of a transfer between servers whose bucket expired while the saga
 * held them. Due buckets of the account were lapsed when the call began,
 * so only the arrived ones are due.
 */
void
buckets_lapse_arrived(LedgerOp *op, int64 cause_entry_id)
{
	buckets_expire_due_for(op, cause_entry_id);
}

/* A bucket as void_grant and extend_grant find it. */
typedef struct BucketState
{
	char	   *source;
	int64		remaining;
	bool		pending;		/* its credits arrive later (bucket_defer) */
	bool		has_expiry;
	TimestampTz expires_at;
} BucketState;

/*
 * The op's account's bucket; 22023 when it has no such bucket. Due
 * expiries were written by op_begin: a lapsed bucket has nothing left.
 */
static void
bucket_load(LedgerOp *op, int64 bucket_id, BucketState *b)
{
	static CachedQuery q = {
		"SELECT source, remaining, expires_at, pending FROM credit_ledger.bucket"
		" WHERE account_id = $1 AND bucket_id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), Int64GetDatum(bucket_id)};
	bool		isnull;

	if (query_run(&q, values, NULL, false, 0, QUERY_SELECT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket not found"),
				 errdetail("Account %lld has no bucket %lld.",
						   (long long) op->account_id, (long long) bucket_id)));
	b->source = query_text(0, 1);
	b->remaining = query_int64(0, 2, NULL);
	b->expires_at = DatumGetTimestampTz(query_datum(0, 3, &isnull));
	b->has_expiry = !isnull;
	b->pending = DatumGetBool(query_datum(0, 4, &isnull));
}

/* Sets the bucket's expires_at. */
static void
bucket_store_expiry(LedgerOp *op, int64 bucket_id, TimestampTz expires_at)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.bucket SET expires_at = $3 WHERE account_id = $1 AND bucket_id = $2",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[3] = {
		Int64GetDatum(op->account_id), Int64GetDatum(bucket_id), TimestampTzGetDatum(expires_at)
	};

	query_write_one(&q, values, NULL, QUERY_UPDATE, "UPDATE", "bucket");
}

/*
 * Voids what the bucket still holds: one void_grant entry takes its
 * remaining credits out of the balance, and the bucket expires now, so
 * that slices held from it stay held and, given back later, lapse instead
 * of coming back. Like any credits out, within the credit limit (LD001):
 * holds drawn on credit may rest on them. A bucket whose credits have not
 * arrived yet holds nothing: the void (of 0) cancels their arrival. The
 * op's result is that entry.
 */
void
bucket_void(LedgerOp *op, int64 bucket_id, const char *reason)
{
	BucketState b;
	Slices		voided;

	bucket_load(op, bucket_id, &b);
	account_require_available(&op->acct, b.remaining);
	slices_init(&voided);
	if (b.remaining > 0)
		slices_add(&voided, bucket_id, b.remaining);
	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_VOID_GRANT, .amount = -b.remaining, .event_id = op->event_id,
		.source = b.source, .description = reason, .slices = &voided
	});
	buckets_apply(op, &voided, -1);
	if (b.pending)
		bucket_arrive(op, bucket_id, 0);
	if (!b.has_expiry || b.expires_at > op->now)
		bucket_store_expiry(op, bucket_id, op->now);
	op->amount = b.remaining;
}

/*
 * Moves a live bucket's expiry later (never earlier: shortening a grant is
 * voiding part of it), also one whose credits arrive later. One extend_grant entry records it; it moves no
 * credits. The op's result is that entry.
 */
void
bucket_extend(LedgerOp *op, int64 bucket_id, TimestampTz expires_at)
{
	BucketState b;

	bucket_load(op, bucket_id, &b);
	if (b.remaining == 0 && !b.pending)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket has nothing left to extend"),
				 errdetail("Bucket %lld of account %lld has no credits left (spent, voided or lapsed).",
						   (long long) bucket_id, (long long) op->account_id)));
	if (!b.has_expiry)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket never expires"),
				 errdetail("Bucket %lld of account %lld has no expiry to extend.",
						   (long long) bucket_id, (long long) op->account_id)));
	if (expires_at < b.expires_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_at must not be earlier than the bucket's"),
				 errdetail("Bucket %lld expires at %s; %s is earlier (void_grant takes credits back).",
						   (long long) bucket_id, pstrdup(timestamptz_to_str(b.expires_at)),
						   timestamptz_to_str(expires_at))));
	/* the new expiry is in the entry's request (compared on replay) */
	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_EXTEND_GRANT, .event_id = op->event_id, .source = b.source
	});
	bucket_store_expiry(op, bucket_id, expires_at);
	op->amount = 0;
}

/*
 * Makes the new (empty) bucket one whose credits arrive at effective_at:
 * pending, and the account's next_expiry_at no later than that, so that
 * the call due then writes the arrival (arrivals.c).
 */
void
bucket_defer(LedgerOp *op, int64 bucket_id, TimestampTz effective_at)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.bucket SET pending = true, effective_at = $3"
		" WHERE account_id = $1 AND bucket_id = $2",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[3] = {
		Int64GetDatum(op->account_id), Int64GetDatum(bucket_id), TimestampTzGetDatum(effective_at)
	};

	query_write_one(&q, values, NULL, QUERY_UPDATE, "UPDATE", "bucket");
	account_note_expiry(&op->acct, effective_at);
	op->account_changed = true;
}

/* The pending bucket's credits arrive: `remaining` of them (after debt). */
void
bucket_arrive(LedgerOp *op, int64 bucket_id, int64 remaining)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.bucket SET remaining = $3, live = $3 > 0, pending = false"
		" WHERE account_id = $1 AND bucket_id = $2 AND pending",
		3, {INT8OID, INT8OID, INT8OID}
	};
	Datum		values[3] = {
		Int64GetDatum(op->account_id), Int64GetDatum(bucket_id), Int64GetDatum(remaining)
	};

	query_write_one(&q, values, NULL, QUERY_UPDATE, "UPDATE", "bucket");
}
