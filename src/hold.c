/*
 * hold.c
 *		Holds: credits reserved for a call whose cost is known at its end,
 *		settled once by confirm or cancel, or expired. This unit owns the
 *		hold row: loading it, the pending-or-replay rule of terminal states,
 *		releasing a hold (cancel, expiry) and the final state change.
 *		reserve.c, confirm.c and cancel.c are the SQL-callable operations.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "credit_ledger.h"
#include "errors.h"
#include "query.h"

/* Loads a hold of the op's account; LD006 when the account has no such hold. */
void
hold_load(LedgerOp *op, int64 hold_id, Hold *hold)
{
	static CachedQuery q = {
		"SELECT state, amount, slice_bucket_ids, slice_amounts, settled_amount,"
		" result_entry_id, source FROM credit_ledger.hold WHERE account_id = $1 AND hold_id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), Int64GetDatum(hold_id)};
	bool		isnull;
	bool		unsettled;

	if (query_run(&q, values, NULL, false, 0, SPI_OK_SELECT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_LD_HOLD_NOT_FOUND),
				 errmsg("hold not found"),
				 errdetail("Account %lld has no hold %lld.",
						   (long long) op->account_id, (long long) hold_id)));

	hold->hold_id = hold_id;
	hold->state = query_text(0, 1);
	hold->amount = query_int64(0, 2, NULL);
	slices_from_arrays(&hold->slices, query_datum(0, 3, &isnull), query_datum(0, 4, &isnull));
	hold->settled_amount = query_int64(0, 5, &unsettled);
	hold->has_settled_amount = !unsettled;
	hold->result_entry_id = query_int64(0, 6, &isnull);
	hold->source = query_text(0, 7);
}

/*
 * Terminal states are final. Returns true when the hold is pending. A
 * repeat of the request that settled it (same final state, same_request)
 * gets that call's result back and false; anything else is LD005, naming
 * the state.
 */
bool
hold_require_pending(LedgerOp *op, const Hold *hold, const char *repeat_state, bool same_request)
{
	if (strcmp(hold->state, "pending") == 0)
		return true;
	if (strcmp(hold->state, repeat_state) == 0 && same_request)
	{
		op_replay_entry(op, hold->result_entry_id);
		return false;
	}
	if (hold->has_settled_amount)
		ereport(ERROR,
				(errcode(ERRCODE_LD_HOLD_NOT_PENDING),
				 errmsg("hold not pending"),
				 errdetail("Hold %lld of account %lld is %s for %lld credits.",
						   (long long) hold->hold_id, (long long) op->account_id,
						   hold->state, (long long) hold->settled_amount)));
	ereport(ERROR,
			(errcode(ERRCODE_LD_HOLD_NOT_PENDING),
			 errmsg("hold not pending"),
			 errdetail("Hold %lld of account %lld is %s.",
					   (long long) hold->hold_id, (long long) op->account_id, hold->state)));
	return false;				/* not reached */
}

/* Moves a pending hold to its final state. */
void
hold_settle(LedgerOp *op, int64 hold_id, const char *state, int64 settled_amount,
			bool has_settled_amount, int64 result_entry_id)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.hold SET state = $3, settled_amount = $4, resolved_at = $5,"
		" result_entry_id = $6 WHERE account_id = $1 AND hold_id = $2 AND state = 'pending'",
		6, {INT8OID, INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT8OID}
	};
	Datum		values[6] = {
		Int64GetDatum(op->account_id), Int64GetDatum(hold_id), CStringGetTextDatum(state),
		Int64GetDatum(settled_amount), TimestampTzGetDatum(op->now), Int64GetDatum(result_entry_id)
	};
	char		nulls[6] = {' ', ' ', ' ', has_settled_amount ? ' ' : 'n', ' ', ' '};

	/* under the account lock the hold is pending: no row means a trigger skipped it */
	query_write_one(&q, values, nulls, SPI_OK_UPDATE, "UPDATE", "hold");
}

/*
 * Releases a pending hold without consuming anything (cancel, expiry): the
 * entry gives the reservation back, the hold takes its final state and the
 * held slices return to their buckets (lapsing where a bucket expired
 * meanwhile). Returns the entry's id.
 */
int64
hold_release(LedgerOp *op, const Hold *hold, const char *kind, const char *state,
			 const char *description)
{
	LedgerEntry e = {0};
	int64		entry_id;

	e.kind = kind;
	e.reserved_delta = -hold->amount;
	e.hold_id = hold->hold_id;
	e.description = description;
	entry_id = entry_write(op, &e);
	hold_settle(op, hold->hold_id, state, 0, false, entry_id);
	buckets_give_back(op, &hold->slices, entry_id);
	return entry_id;
}

/* Expires every pending hold of the account past its expires_at. */
void
holds_expire_due(LedgerOp *op)
{
	static CachedQuery q = {
		"SELECT hold_id, amount, slice_bucket_ids, slice_amounts FROM credit_ledger.hold"
		" WHERE account_id = $1 AND state = 'pending' AND expires_at <= $2"
		" ORDER BY hold_id",
		2, {INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), TimestampTzGetDatum(op->now)};
	uint64		rows;
	Hold	   *due;

	rows = query_run(&q, values, NULL, false, 0, SPI_OK_SELECT);
	if (rows == 0)
		return;

	/* copy out: the statements below replace SPI_tuptable */
	due = palloc0(sizeof(Hold) * rows);
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;

		due[i].hold_id = query_int64(i, 1, NULL);
		due[i].amount = query_int64(i, 2, NULL);
		slices_from_arrays(&due[i].slices, query_datum(i, 3, &isnull), query_datum(i, 4, &isnull));
	}

	for (uint64 i = 0; i < rows; i++)
		hold_release(op, &due[i], "expire_hold", "expired", NULL);
	op->holds_expired += rows;
}
