/*
 * operation.c
 *		The frame every money-moving call runs in: lock the account, answer
 *		a repeated event_id with the original result, write what expired,
 *		and at the end store the account and build the op_result.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "credit_ledger.h"
#include "errors.h"
#include "query.h"

/*
 * Starts the request fingerprint with the operation's name. Every
 * money-moving call writes, its replays included: none runs read-only.
 * The tables are locked before anything reads them (reward reads its rule
 * and the account before op_begin).
 */
void
op_init(LedgerOp *op, int64 account_id, const char *event_id, const char *operation)
{
	row_require_writable(operation, "account");
	rows_lock_tables();
	memset(op, 0, sizeof(*op));
	op->account_id = account_id;
	op->event_id = event_id;
	initStringInfo(&op->request);
	request_add_text(&op->request, "operation", operation);
}

/*
 * Fills the result from an earlier call's entry: its id, hold and amount,
 * and the account's figures as that call left them (after any credits its
 * own expire_grant entries let lapse).
 */
void
op_replay_entry(LedgerOp *op, int64 entry_id)
{
	static CachedQuery q = {
		"SELECT e.hold_id, e.kind, e.amount, e.reserved_delta,"
		" coalesce(l.balance_after, e.balance_after),"
		" coalesce(l.reserved_after, e.reserved_after)"
		" FROM credit_ledger.entry e"
		" LEFT JOIN LATERAL (SELECT x.balance_after, x.reserved_after"
		"   FROM credit_ledger.entry x"
		"   WHERE x.account_id = e.account_id AND x.ref_entry_id = e.entry_id"
		"     AND x.kind = 'expire_grant'"
		"   ORDER BY x.entry_id DESC LIMIT 1) l ON true"
		" WHERE e.account_id = $1 AND e.entry_id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), Int64GetDatum(entry_id)};
	bool		isnull;
	char	   *kind;

	if (query_run(&q, values, NULL, false, 0, SPI_OK_SELECT) != 1)
		elog(ERROR, "credit_ledger: entry %lld of account %lld not found",
			 (long long) entry_id, (long long) op->account_id);

	op->entry_id = entry_id;
	op->hold_id = query_int64(0, 1, &isnull);
	kind = query_text(0, 2);
	op->amount = entry_op_amount(kind, query_int64(0, 3, NULL), query_int64(0, 4, NULL));
	op->result_balance = query_int64(0, 5, NULL);
	op->result_reserved = query_int64(0, 6, NULL);
	op->replayed = true;
}

/* The entry an event_id already wrote on this account, or 0. */
static int64
event_lookup(LedgerOp *op, char **stored_request)
{
	Datum		keys[2] = {Int64GetDatum(op->account_id), CStringGetTextDatum(op->event_id)};
	TupleTableSlot *entry = row_fetch(&op->rows, ROW_ENTRY_BY_EVENT, keys);

	if (entry == NULL)
		return 0;
	*stored_request = row_text(entry, ENTRY_REQUEST);
	return row_int64(entry, ENTRY_ENTRY_ID, NULL);
}

/*
 * Connects SPI and locks the account. Returns false when the event_id was
 * already used by the same request: the result is then the original one.
 * Otherwise the account is locked with its due expiries written, and the
 * caller goes on to do its work.
 *
 * The event is looked up only after the lock is held: a concurrent call
 * with the same key has then committed or rolled back, and the lookup's
 * fresh snapshot sees which.
 */
bool
op_begin(LedgerOp *op, OpAccountMode mode)
{
	SPI_connect();
	op->now = GetCurrentStatementStartTimestamp();

	if (!account_lock(&op->rows, &op->acct, op->account_id))
	{
		if (mode == OP_ACCOUNT_MUST_EXIST)
			ereport(ERROR,
					(errcode(ERRCODE_LD_ACCOUNT_NOT_FOUND),
					 errmsg("account not found"),
					 errdetail("Account %lld does not exist.", (long long) op->account_id)));
		account_create(op->account_id, 0, (Datum) 0, false);
		if (!account_lock(&op->rows, &op->acct, op->account_id))
			row_report_skipped("INSERT", "account");
	}

	if (op->event_id != NULL)
	{
		char	   *stored_request;
		int64		entry_id = event_lookup(op, &stored_request);

		if (entry_id != 0)
		{
			request_require_same(op, stored_request);
			op_replay_entry(op, entry_id);
			return false;
		}
	}

	expire_due(op);
	return true;
}

/* Stores the account if the call changed it, closes the tables and SPI. */
void
op_end(LedgerOp *op)
{
	if (op->account_changed)
		account_store(&op->rows, &op->acct);
	rows_end(&op->rows);
	if (!op->replayed)
	{
		op->result_balance = op->acct.balance;
		op->result_reserved = op->acct.reserved;
	}
	SPI_finish();
}

/*
 * Ends the op and returns the op_result. Every path out of a money-moving
 * function ends here.
 */
Datum
op_finish(LedgerOp *op, FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};

	op_end(op);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: function must return credit_ledger.op_result");
	tupdesc = BlessTupleDesc(tupdesc);

	values[0] = Int64GetDatum(op->entry_id);
	values[1] = Int64GetDatum(op->hold_id);
	nulls[1] = (op->hold_id == 0);
	values[2] = Int64GetDatum(op->account_id);
	values[3] = Int64GetDatum(op->amount);
	values[4] = Int64GetDatum(op->result_balance);
	values[5] = Int64GetDatum(op->result_reserved);
	values[6] = Int64GetDatum(credits_sub(op->result_balance, op->result_reserved));
	values[7] = BoolGetDatum(op->replayed);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}
