/*
 * sweep.c
 *		The sweep: writes the due expiries of holds and grant buckets, and
 *		the credits due to arrive (1.1), for accounts nobody is working on,
 *		through the same code every call runs first (expire_due), and ends
 *		the leased holds of sessions that are gone (leases.c). sweep()
 *		(api/sweep.c) runs one batch by hand; the background worker runs
 *		batches in short transactions of its own.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/timestamp.h"

#include "store/query.h"
#include "shop/orders.h"
#include "ledger/arrivals.h"
#include "ledger/events.h"
#include "ledger/operation.h"
#include "worker/leases.h"
#include "worker/sweep.h"

/*
 * Locks up to max_accounts accounts that the query `due` finds (given the
 * instant and the limit), skipping those a caller holds, and writes what is
 * due on each. Returns how many.
 */
static int
sweep_due(CachedQuery *due, int max_accounts, SweepResult *result)
{
	Datum		values[2] = {
		TimestampTzGetDatum(GetCurrentStatementStartTimestamp()), Int32GetDatum(max_accounts)
	};
	uint64		rows;
	int64	   *account_ids;

	if (max_accounts <= 0)
		return 0;
	rows = query_run(due, values, NULL, false, 0, QUERY_SELECT);
	account_ids = palloc(sizeof(int64) * (rows + 1));
	for (uint64 i = 0; i < rows; i++)
		account_ids[i] = query_int64(i, 1, NULL);

	for (uint64 i = 0; i < rows; i++)
	{
		LedgerOp	op;

		/* the row is locked already: op_begin's lock returns at once */
		op_init(&op, account_ids[i], NULL, "sweep");
		op_begin(&op, OP_ACCOUNT_MUST_EXIST);
		result->holds_expired += op.holds_expired;
		result->grants_expired += op.grants_expired;
		op_end(&op);
	}
	return (int) rows;
}

/*
 * Expires what is due on up to max_accounts accounts, in the caller's
 * transaction (SPI connected, snapshot set). Accounts locked by a caller
 * are skipped, never waited for: that caller expires them itself, and the
 * next sweep takes what is left.
 */
void
sweep_batch(int max_accounts, SweepResult *result)
{
	static CachedQuery expiring = {
		"SELECT a.account_id FROM credit_ledger.account a"
		" WHERE a.account_id IN ("
		"   SELECT h.account_id FROM credit_ledger.hold h"
		"   WHERE h.state = 'pending' AND h.expires_at <= $1"
		"   UNION SELECT b.account_id FROM credit_ledger.bucket b"
		"   WHERE b.live AND b.expires_at <= $1)"
		" ORDER BY a.account_id LIMIT $2 FOR NO KEY UPDATE OF a SKIP LOCKED",
		2, {TIMESTAMPTZOID, INT4OID}
	};
	/* 1.1: credits due to arrive (grants effective later, allowance periods) */
	static CachedQuery arriving = {
		"SELECT a.account_id FROM credit_ledger.account a"
		" WHERE a.account_id IN ("
		"   SELECT b.account_id FROM credit_ledger.bucket b"
		"   WHERE b.pending AND b.effective_at <= $1"
		"   UNION SELECT al.account_id FROM credit_ledger.allowance al"
		"   WHERE al.next_issue_at <= $1)"
		" ORDER BY a.account_id LIMIT $2 FOR NO KEY UPDATE OF a SKIP LOCKED",
		2, {TIMESTAMPTZOID, INT4OID}
	};

	memset(result, 0, sizeof(*result));
	result->accounts = sweep_due(&expiring, max_accounts, result);
	/* then accounts with only credits to arrive, within the same batch */
	if (arrivals_enabled())
		result->accounts += sweep_due(&arriving, max_accounts - result->accounts, result);
	leases_end_dead(max_accounts, &result->holds_expired, &result->grants_expired);
	events_prune(max_accounts);
	orders_expire_due(max_accounts);
}
