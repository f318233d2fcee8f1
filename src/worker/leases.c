/*
 * leases.c
 *		Leases (1.1): a hold reserved with lease => true records its session
 *		as the backend's pid and start time. Each sweep reads the owners of
 *		the pending leased holds (a partial index holds only those, so no
 *		other hold is read), then the live backends in one pass over the
 *		backend status array, and ends the holds whose owner is not among
 *		them, as their expiry would (ledger/hold.c, holds_end_lease).
 *
 *		A live owner is never taken for dead: the holds are read first, so
 *		any hold seen was committed by a backend that had its status entry
 *		since it started; the status array is read after, fresh, and a
 *		backend leaves it only when it exits. pid and start time together
 *		name one session, also when the pid is reused or the server restarted.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/backend_status.h"
#include "utils/timestamp.h"

#include "store/catalog.h"
#include "store/query.h"
#include "ledger/hold.h"
#include "ledger/operation.h"
#include "worker/leases.h"

/* A session: the pid and start time a lease records. */
typedef struct LeaseOwner
{
	int32		pid;
	TimestampTz started_at;
} LeaseOwner;

static int
owner_compare(const void *a, const void *b)
{
	const LeaseOwner *x = a;
	const LeaseOwner *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->started_at != y->started_at)
		return x->started_at < y->started_at ? -1 : 1;
	return 0;
}

/* The live backends, sorted, from a fresh read of the backend status array. */
static LeaseOwner *
owners_alive(int *count)
{
	int			backends;
	LeaseOwner *alive;

	pgstat_clear_backend_activity_snapshot();
	backends = pgstat_fetch_stat_numbackends();
	alive = palloc(sizeof(LeaseOwner) * (backends + 1));
	*count = 0;
	for (int i = 1; i <= backends; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);

		if (local == NULL || local->backendStatus.st_procpid <= 0)
			continue;
		alive[*count].pid = local->backendStatus.st_procpid;
		alive[*count].started_at = local->backendStatus.st_proc_start_timestamp;
		(*count)++;
	}
	qsort(alive, *count, sizeof(LeaseOwner), owner_compare);
	return alive;
}

/*
 * The accounts with pending holds leased by one gone session, locked here
 * one by one (a caller's account is skipped: the next sweep takes it), each
 * ending them in an op of its own. Returns how many accounts it did.
 */
static int
lease_owner_end(const LeaseOwner *owner, int max_accounts, int64 *holds_ended,
				int64 *grants_expired)
{
	static CachedQuery accounts = {
		"SELECT DISTINCT account_id FROM credit_ledger.hold"
		" WHERE state = 'pending' AND lease_pid = $1 AND lease_started_at = $2"
		" ORDER BY account_id",
		2, {INT4OID, TIMESTAMPTZOID}
	};
	static CachedQuery lock = {
		"SELECT FROM credit_ledger.account WHERE account_id = $1"
		" FOR NO KEY UPDATE SKIP LOCKED",
		1, {INT8OID}
	};
	Datum		values[2] = {Int32GetDatum(owner->pid), TimestampTzGetDatum(owner->started_at)};
	uint64		rows = query_run(&accounts, values, NULL, false, max_accounts, QUERY_SELECT);
	int64	   *account_ids = palloc(sizeof(int64) * (rows + 1));
	int			done = 0;

	for (uint64 i = 0; i < rows; i++)
		account_ids[i] = query_int64(i, 1, NULL);
	for (uint64 i = 0; i < rows; i++)
	{
		Datum		key[1] = {Int64GetDatum(account_ids[i])};
		LedgerOp	op;

		if (query_run(&lock, key, NULL, false, 0, QUERY_SELECT) == 0)
			continue;
		/* the row is locked already: op_begin's lock returns at once */
		op_init(&op, account_ids[i], NULL, "sweep");
		op_begin(&op, OP_ACCOUNT_MUST_EXIST);
		holds_end_lease(&op, owner->pid, owner->started_at);
		*holds_ended += op.holds_expired;
		*grants_expired += op.grants_expired;
		op_end(&op);
		done++;
	}
	return done;
}

/*
 * Ends the leased holds of gone sessions on up to max_accounts accounts.
 * The owners come from the partial index of pending leased holds, in its
 * order (one entry per session, however many holds it has); the live
 * backends are read after them (see the head comment). Adds the holds it
 * ended (and any expiry written on the way) to the counts. The caller has
 * SPI connected. Nothing to do on a 1.0 schema (no leases).
 */
void
leases_end_dead(int max_accounts, int64 *holds_ended, int64 *grants_expired)
{
	static CachedQuery owners = {
		"SELECT DISTINCT lease_pid, lease_started_at FROM credit_ledger.hold"
		" WHERE state = 'pending' AND lease_pid IS NOT NULL",
		0, {InvalidOid}
	};
	uint64		rows;
	LeaseOwner *leased;
	LeaseOwner *alive;
	int			alive_count;
	int			accounts = 0;

	if (!OidIsValid(catalog_relid("hold_pending_lease")))
		return;
	rows = query_run(&owners, NULL, NULL, false, 0, QUERY_SELECT);
	if (rows == 0)
		return;
	leased = palloc(sizeof(LeaseOwner) * rows);
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;

		leased[i].pid = DatumGetInt32(query_datum(i, 1, &isnull));
		leased[i].started_at = DatumGetTimestampTz(query_datum(i, 2, &isnull));
	}
	alive = owners_alive(&alive_count);

	for (uint64 i = 0; i < rows && accounts < max_accounts; i++)
		if (bsearch(&leased[i], alive, alive_count, sizeof(LeaseOwner), owner_compare) == NULL)
			accounts += lease_owner_end(&leased[i], max_accounts - accounts, holds_ended,
										grants_expired);
}
