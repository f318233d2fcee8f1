/*
 * hold.c
 *		Holds: credits reserved for a call whose cost is known at its end,
 *		settled once by confirm or cancel, or expired.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "credit_ledger.h"
#include "query.h"

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

	if (query_run(&q, values, nulls, false, 0, SPI_OK_UPDATE) != 1)
		elog(ERROR, "credit_ledger: hold %lld of account %lld is not pending",
			 (long long) hold_id, (long long) op->account_id);
}

/*
 * Expires every pending hold past its expires_at: an expire_hold entry
 * releases the reservation and the held slices go back to their buckets.
 */
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
	int64	   *hold_ids;
	int64	   *amounts;
	Slices	   *slices;

	rows = query_run(&q, values, NULL, false, 0, SPI_OK_SELECT);
	if (rows == 0)
		return;

	/* copy out: the statements below replace SPI_tuptable */
	hold_ids = palloc(sizeof(int64) * rows);
	amounts = palloc(sizeof(int64) * rows);
	slices = palloc(sizeof(Slices) * rows);
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;

		hold_ids[i] = query_int64(i, 1, NULL);
		amounts[i] = query_int64(i, 2, NULL);
		slices_from_arrays(&slices[i], query_datum(i, 3, &isnull), query_datum(i, 4, &isnull));
	}

	for (uint64 i = 0; i < rows; i++)
	{
		LedgerEntry e = {0};
		int64		entry_id;

		e.kind = "expire_hold";
		e.reserved_delta = -amounts[i];
		e.hold_id = hold_ids[i];
		entry_id = entry_write(op, &e);
		hold_settle(op, hold_ids[i], "expired", 0, false, entry_id);
		buckets_give_back(op, &slices[i], entry_id);
	}
}
