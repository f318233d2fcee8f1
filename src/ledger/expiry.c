/*
 * expiry.c
 *		Expiry is exact without the worker: before any call works on an
 *		account it writes every hold and bucket expiry that has come due,
 *		after the credits that arrived (arrivals.c). The account's
 *		next_expiry_at makes that check free when nothing is.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "store/query.h"
#include "ledger/arrivals.h"
#include "ledger/bucket.h"
#include "ledger/expiry.h"
#include "ledger/hold.h"

/* Sets next_expiry_at to the earliest expiry still ahead of the account. */
static void
next_expiry_recompute(LedgerOp *op)
{
	static CachedQuery q = {
		"SELECT least("
		" (SELECT min(expires_at) FROM credit_ledger.bucket"
		"   WHERE account_id = $1 AND live AND expires_at IS NOT NULL),"
		" (SELECT min(expires_at) FROM credit_ledger.hold"
		"   WHERE account_id = $1 AND state = 'pending'))",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(op->account_id)};
	bool		isnull;

	query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	op->acct.next_expiry_at = DatumGetTimestampTz(query_datum(0, 1, &isnull));
	op->acct.has_next_expiry = !isnull;
	op->account_changed = true;
}

/*
 * Arrivals first: an allowance period's rollover is what the previous
 * period's bucket holds before it lapses. Then released holds: credits
 * they give back go to their buckets, and those buckets may be due
 * themselves. Holds that capture on expiry come after the buckets: what
 * they held on credit is drawn from the buckets still live, as it would be
 * by a confirm now (the accounts view counts the same way).
 */
void
expire_due(LedgerOp *op)
{
	if (!op->acct.has_next_expiry || op->acct.next_expiry_at > op->now)
		return;
	arrivals_write(op);
	holds_expire_due(op, HOLD_EXPIRY_RELEASE);
	buckets_expire_due(op);
	holds_expire_due(op, HOLD_EXPIRY_CAPTURE);
	next_expiry_recompute(op);
	arrivals_note_next(op);
}
