/*
 * set_alert.c
 *		set_alert(account_id, low_balance): the account's own low-balance
 *		threshold for balance.low events (ledger/events.c); NULL: the
 *		default (credit_ledger.default_low_balance).
 */
#include "postgres.h"

#include "fmgr.h"

#include "api/args.h"
#include "store/row.h"
#include "ledger/account.h"

PG_FUNCTION_INFO_V1(credit_ledger_set_alert);

Datum
credit_ledger_set_alert(PG_FUNCTION_ARGS)
{
	int64		account_id;
	LedgerAccount acct;
	RowAccess  *rows;
	bool		has_low_balance = !PG_ARGISNULL(1);

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	row_require_writable("set_alert", "account");

	rows = rows_open();
	if (!account_lock(rows, &acct, account_id))
		account_not_found(account_id);
	account_set_low_balance(&acct, has_low_balance, has_low_balance ? PG_GETARG_INT64(1) : 0);
	rows_end(rows);
	PG_RETURN_VOID();
}
