/*
 * operation.c
 *		The frame every money-moving call runs in: lock the account, answer
 *		a repeated event_id with the original result, write what expired,
 *		and at the end store the account. The op_result row is built by
 *		the SQL-callable layer (api/op_result.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/builtins.h"

#include "store/query.h"
#include "store/row.h"
#include "ledger/account.h"
#include "ledger/entry.h"
#include "ledger/events.h"
#include "ledger/expiry.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"

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
 * Whether the event_id already has its entry, seen by the view (NULL: a
 * snapshot taken now), and then the replay: the same request answers the
 * original result, another is LD004.
 */
static bool
event_replay(LedgerOp *op, const RowView *view)
{
	Datum		keys[2] = {Int64GetDatum(op->account_id), CStringGetTextDatum(op->event_id)};
	Row		   *entry = view != NULL ? row_fetch_in(op->rows, ROW_ENTRY_BY_EVENT, keys, view) :
		row_fetch(op->rows, ROW_ENTRY_BY_EVENT, keys);

	if (entry == NULL)
		return false;
	request_require_same(op, row_text(entry, ENTRY_REQUEST));
	entry_replay_row(op, entry);
	return true;
}

/* Connects SPI and opens the ledger's tables for the call. */
static void
op_open(LedgerOp *op)
{
	query_connect();
	op->now = GetCurrentStatementStartTimestamp();
	op->rows = rows_open();
}

/*
 * Locks the account, opening it first where the mode says so. False only
 * for OP_ACCOUNT_MAY_BE_MISSING and no such account (nothing is locked).
 */
static bool
op_lock_account(LedgerOp *op, OpAccountMode mode)
{
	if (!account_lock(op->rows, &op->acct, op->account_id))
	{
		if (mode == OP_ACCOUNT_MAY_BE_MISSING)
			return false;
		if (mode == OP_ACCOUNT_MUST_EXIST)
			account_not_found(op->account_id);
		account_create(op->account_id, 0, (Datum) 0, false);
		if (!account_lock(op->rows, &op->acct, op->account_id))
			row_report_skipped("INSERT", "account");
	}
	return true;
}

/*
 * Connects SPI and locks the account, for a caller that locks two (a
 * transfer takes its two in account_id order) or that handles a missing
 * account itself (a transfer between servers' receiving step); op_start
 * goes on. Returns false only for OP_ACCOUNT_MAY_BE_MISSING and no such
 * account (nothing is locked; the caller ends the op).
 */
bool
op_lock(LedgerOp *op, OpAccountMode mode)
{
	op_open(op);
	return op_lock_account(op, mode);
}

/*
 * With the account locked: returns false when the event_id was already
 * used by the same request, the result then being the original one.
 * Otherwise writes the account's due expiries, and the caller goes on to
 * do its work. The event is looked up under the lock: a concurrent call
 * with the same key has then committed or rolled back, and the lookup's
 * fresh snapshot sees which.
 */
bool
op_start(LedgerOp *op)
{
	if (op->event_id != NULL && event_replay(op, NULL))
		return false;
	expire_due(op);
	return true;
}

/*
 * op_lock and op_start for one account, with a replay that takes no lock.
 * Returns false when the event_id was already used by the same request:
 * the result is then the original one.
 *
 * An event whose entry a snapshot already sees is committed (entries are
 * never updated or deleted): it is answered before any lock, so a replay
 * takes no row lock and writes nothing. A call that writes an entry also
 * stores its account (entry_write, op_end), so an entry committed after
 * that snapshot comes with an account row newer than the snapshot sees:
 * only then is the event looked up again under the lock, when a concurrent
 * call with the same key has committed or rolled back.
 */
bool
op_begin(LedgerOp *op, OpAccountMode mode)
{
	RowView    *view = NULL;

	op_open(op);
	if (op->event_id != NULL)
	{
		view = row_view_take();
		if (event_replay(op, view))
		{
			row_view_release(view);
			return false;
		}
	}

	op_lock_account(op, mode);

	if (view != NULL)
	{
		bool		changed = !row_seen_in(op->acct.row, view);

		row_view_release(view);
		if (changed && event_replay(op, NULL))
			return false;
	}

	expire_due(op);
	return true;
}

/*
 * Stores the account if the call changed it, closes the tables and SPI,
 * and sets the result's figures. Every path out of a money-moving call
 * ends here.
 */
void
op_end(LedgerOp *op)
{
	if (op->account_changed)
	{
		events_balance_changed(op);
		account_store(&op->acct);
	}
	rows_end(op->rows);
	op->rows = NULL;
	if (!op->replayed)
	{
		op->result_balance = op->acct.balance;
		op->result_reserved = op->acct.reserved;
	}
	query_finish();
}
