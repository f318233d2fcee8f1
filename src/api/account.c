/*
 * account.c
 *		open_account, set_status, set_credit_limit and set_hold_limit (1.1):
 *		the SQL faces of the account rules in ledger/account.c.
 */
#include "postgres.h"

#include "fmgr.h"

#include "api/args.h"
#include "store/query.h"
#include "store/row.h"
#include "ledger/account.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_open_account);
PG_FUNCTION_INFO_V1(credit_ledger_set_status);
PG_FUNCTION_INFO_V1(credit_ledger_set_credit_limit);
PG_FUNCTION_INFO_V1(credit_ledger_set_hold_limit);

Datum
credit_ledger_open_account(PG_FUNCTION_ARGS)
{
	int64		account_id;
	int64		credit_limit;
	Datum		metadata;
	bool		has_metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	credit_limit = arg_count(fcinfo, 1, "credit_limit");
	metadata = arg_optional_jsonb(fcinfo, 2, "metadata", &has_metadata);

	row_require_writable("open_account", "account");
	query_connect();
	account_create(account_id, credit_limit, metadata, has_metadata);
	query_finish();
	PG_RETURN_VOID();
}

Datum
credit_ledger_set_status(PG_FUNCTION_ARGS)
{
	int64		account_id;
	char	   *status_name;
	AccountStatus status;
	LedgerAccount acct;
	RowAccess  *rows;
	char	   *reason;

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	status_name = arg_nonempty_text(fcinfo, 1, "status");
	if (!account_status_parse(status_name, &status))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid account status"),
				 errdetail("Status \"%s\" is not one of active, frozen, closed.", status_name)));
	reason = arg_optional_text(fcinfo, 2, "reason");
	row_require_writable("set_status", "account");

	rows = rows_open();
	if (!account_lock(rows, &acct, account_id))
		account_not_found(account_id);
	account_set_status(&acct, status, reason);
	rows_end(rows);
	PG_RETURN_VOID();
}

Datum
credit_ledger_set_credit_limit(PG_FUNCTION_ARGS)
{
	int64		credit_limit;
	LedgerOp	op;

	arg_require_not_null(fcinfo, 0, "account_id");
	credit_limit = arg_count(fcinfo, 1, "credit_limit");

	/* expiries due first, so the check sees the exact figures */
	op_init(&op, PG_GETARG_INT64(0), NULL, "set_credit_limit");
	op_begin(&op, OP_ACCOUNT_MUST_EXIST);
	/* stored with the expiries written, in one new version of the row */
	account_set_credit_limit(&op.acct, credit_limit);
	op.account_changed = true;
	op_end(&op);
	PG_RETURN_VOID();
}

/*
 * The most pending holds the account may have (NULL: no limit); a reserve
 * past it is LD010. Holds already pending stay, whatever the new limit.
 */
Datum
credit_ledger_set_hold_limit(PG_FUNCTION_ARGS)
{
	int64		account_id;
	LedgerAccount acct;
	RowAccess  *rows;
	bool		has_limit = !PG_ARGISNULL(1);
	int32		max_pending = has_limit ? PG_GETARG_INT32(1) : 0;

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	if (max_pending < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_pending must not be negative"),
				 errdetail("max_pending is %d; NULL removes the limit.", max_pending)));
	row_require_writable("set_hold_limit", "account");

	rows = rows_open();
	if (!account_lock(rows, &acct, account_id))
		account_not_found(account_id);
	account_set_hold_limit(&acct, has_limit, max_pending);
	rows_end(rows);
	PG_RETURN_VOID();
}
