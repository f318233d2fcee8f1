/*
 * account.c
 *		Accounts: the row lock every money-moving call starts with, the
 *		status and credit-limit rules, and the SQL-callable open_account,
 *		set_status and set_credit_limit.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "credit_ledger.h"
#include "errors.h"
#include "query.h"

PG_FUNCTION_INFO_V1(credit_ledger_open_account);
PG_FUNCTION_INFO_V1(credit_ledger_set_status);
PG_FUNCTION_INFO_V1(credit_ledger_set_credit_limit);

static const char *const status_names[] = {"active", "frozen", "closed"};

const char *
account_status_name(AccountStatus status)
{
	return status_names[status];
}

static bool
account_status_parse(const char *name, AccountStatus *status)
{
	for (size_t i = 0; i < lengthof(status_names); i++)
	{
		if (strcmp(name, status_names[i]) == 0)
		{
			*status = (AccountStatus) i;
			return true;
		}
	}
	return false;
}

/*
 * Locks the account row (the first lock of every call, so locks are always
 * taken in the same order) and loads it. False when there is no such account.
 */
bool
account_lock(RowAccess *rows, LedgerAccount *acct, int64 account_id)
{
	Datum		key = Int64GetDatum(account_id);
	TupleTableSlot *row = row_lock(rows, ROW_ACCOUNT_BY_ID, &key);
	bool		isnull;
	char	   *status;

	if (row == NULL)
		return false;

	acct->account_id = account_id;
	status = row_text(row, ACCOUNT_STATUS);
	if (!account_status_parse(status, &acct->status))
		elog(ERROR, "credit_ledger: account %lld has unknown status \"%s\"",
			 (long long) account_id, status);
	acct->credit_limit = row_int64(row, ACCOUNT_CREDIT_LIMIT, NULL);
	acct->balance = row_int64(row, ACCOUNT_BALANCE, NULL);
	acct->reserved = row_int64(row, ACCOUNT_RESERVED, NULL);
	acct->debt = row_int64(row, ACCOUNT_DEBT, NULL);
	acct->total_granted = row_int64(row, ACCOUNT_TOTAL_GRANTED, NULL);
	acct->total_consumed = row_int64(row, ACCOUNT_TOTAL_CONSUMED, NULL);
	acct->total_expired = row_int64(row, ACCOUNT_TOTAL_EXPIRED, NULL);
	acct->total_refunded = row_int64(row, ACCOUNT_TOTAL_REFUNDED, NULL);
	acct->next_expiry_at = DatumGetTimestampTz(row_datum(row, ACCOUNT_NEXT_EXPIRY_AT, &isnull));
	acct->has_next_expiry = !isnull;
	return true;
}

/*
 * Opens the account unless it exists; concurrent openers are harmless.
 * Nothing inserted and no such account means a trigger skipped the row.
 */
void
account_create(int64 account_id, int64 credit_limit, Datum metadata, bool has_metadata)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.account (account_id, credit_limit, metadata)"
		" VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING",
		3, {INT8OID, INT8OID, JSONBOID}
	};
	static CachedQuery exists = {
		"SELECT FROM credit_ledger.account WHERE account_id OPERATOR(pg_catalog.=) $1",
		1, {INT8OID}
	};
	Datum		values[3] = {Int64GetDatum(account_id), Int64GetDatum(credit_limit), metadata};
	char		nulls[3] = {' ', ' ', has_metadata ? ' ' : 'n'};

	if (query_run(&q, values, nulls, false, 0, SPI_OK_INSERT) == 0 &&
		query_run(&exists, values, NULL, false, 0, SPI_OK_SELECT) == 0)
		row_report_skipped("INSERT", "account");
}

/*
 * Writes back the figures and the credit limit, while still holding the
 * lock, as the new version of the row account_lock fetched.
 */
void
account_store(RowAccess *rows, const LedgerAccount *acct)
{
	static const int columns[] = {
		ACCOUNT_CREDIT_LIMIT, ACCOUNT_BALANCE, ACCOUNT_RESERVED, ACCOUNT_DEBT,
		ACCOUNT_TOTAL_GRANTED, ACCOUNT_TOTAL_CONSUMED, ACCOUNT_TOTAL_EXPIRED,
		ACCOUNT_TOTAL_REFUNDED, ACCOUNT_NEXT_EXPIRY_AT
	};
	Datum		values[lengthof(columns)] = {
		Int64GetDatum(acct->credit_limit), Int64GetDatum(acct->balance),
		Int64GetDatum(acct->reserved), Int64GetDatum(acct->debt),
		Int64GetDatum(acct->total_granted), Int64GetDatum(acct->total_consumed),
		Int64GetDatum(acct->total_expired), Int64GetDatum(acct->total_refunded),
		TimestampTzGetDatum(acct->next_expiry_at)
	};
	bool		nulls[lengthof(columns)] = {[lengthof(columns) - 1] = !acct->has_next_expiry};

	row_update(rows, ROW_ACCOUNT, lengthof(columns), columns, values, nulls);
}

/* Keeps next_expiry_at a lower bound when a bucket or hold with an expiry appears. */
void
account_note_expiry(LedgerAccount *acct, TimestampTz expires_at)
{
	if (!acct->has_next_expiry || expires_at < acct->next_expiry_at)
	{
		acct->next_expiry_at = expires_at;
		acct->has_next_expiry = true;
	}
}

/* Frozen accounts take money in but give none out; closed ones do neither. */
void
account_require_active(const LedgerAccount *acct, bool money_in)
{
	if (acct->status == ACCOUNT_ACTIVE || (money_in && acct->status == ACCOUNT_FROZEN))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_LD_ACCOUNT_NOT_ACTIVE),
			 errmsg("account not active"),
			 errdetail("Account %lld is %s.", (long long) acct->account_id,
					   account_status_name(acct->status))));
}

/* The overspend rule: available may not fall below -credit_limit. */
void
account_require_available(const LedgerAccount *acct, int64 amount)
{
	int64		available = credits_sub(acct->balance, acct->reserved);
	int64		after;

	if (!pg_sub_s64_overflow(available, amount, &after) && after >= -acct->credit_limit)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_LD_INSUFFICIENT_CREDIT),
			 errmsg("insufficient credit"),
			 errdetail("Account %lld: available %lld, requested %lld, credit limit %lld.",
					   (long long) acct->account_id, (long long) available,
					   (long long) amount, (long long) acct->credit_limit)));
}

/* A credit limit argument: required, zero or more. */
static int64
arg_credit_limit(FunctionCallInfo fcinfo, int argno)
{
	int64		credit_limit;

	arg_require_not_null(fcinfo, argno, "credit_limit");
	credit_limit = PG_GETARG_INT64(argno);
	if (credit_limit < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_limit must not be negative"),
				 errdetail("credit_limit is %lld.", (long long) credit_limit)));
	return credit_limit;
}

static void
account_not_found(int64 account_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_LD_ACCOUNT_NOT_FOUND),
			 errmsg("account not found"),
			 errdetail("Account %lld does not exist.", (long long) account_id)));
}

Datum
credit_ledger_open_account(PG_FUNCTION_ARGS)
{
	int64		account_id;
	int64		credit_limit;
	Datum		metadata;
	bool		has_metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	credit_limit = arg_credit_limit(fcinfo, 1);
	metadata = arg_optional_jsonb(fcinfo, 2, "metadata", &has_metadata);

	row_require_writable("open_account", "account");
	SPI_connect();
	account_create(account_id, credit_limit, metadata, has_metadata);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
credit_ledger_set_status(PG_FUNCTION_ARGS)
{
	static const int columns[] = {ACCOUNT_STATUS, ACCOUNT_STATUS_REASON, ACCOUNT_STATUS_CHANGED_AT};
	int64		account_id;
	char	   *status_name;
	AccountStatus status;
	LedgerAccount acct;
	RowAccess	rows = {0};
	char	   *reason;
	Datum		values[lengthof(columns)];
	bool		nulls[lengthof(columns)] = {false};

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

	if (!account_lock(&rows, &acct, account_id))
		account_not_found(account_id);
	values[0] = CStringGetTextDatum(status_name);
	values[1] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	nulls[1] = (reason == NULL);
	values[2] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	row_update(&rows, ROW_ACCOUNT, lengthof(columns), columns, values, nulls);
	rows_end(&rows);
	PG_RETURN_VOID();
}

/*
 * Credits in the account's buckets that will lapse. They count in available
 * only until then: a limit lowered on their strength would leave available
 * below it once they expire, and then every write of the account (the
 * sweep's included) would break the account's CHECK. Held slices are not
 * in remaining: they survive their bucket's expiry.
 */
static int64
account_expiring_credits(int64 account_id)
{
	static CachedQuery q = {
		"SELECT coalesce(sum(remaining), 0)::bigint FROM credit_ledger.bucket"
		" WHERE account_id = $1 AND live AND expires_at IS NOT NULL",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(account_id)};

	query_run(&q, values, NULL, false, 0, SPI_OK_SELECT);
	return query_int64(0, 1, NULL);
}

Datum
credit_ledger_set_credit_limit(PG_FUNCTION_ARGS)
{
	int64		account_id;
	int64		credit_limit;
	int64		available;
	int64		expiring;
	LedgerOp	op;

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	credit_limit = arg_credit_limit(fcinfo, 1);

	/* expiries due first, so the check below sees the exact figures */
	op_init(&op, account_id, NULL, "set_credit_limit");
	op_begin(&op, OP_ACCOUNT_MUST_EXIST);
	available = credits_sub(op.acct.balance, op.acct.reserved);
	expiring = account_expiring_credits(account_id);
	if (credits_sub(available, expiring) < -credit_limit)
		ereport(ERROR,
				(errcode(ERRCODE_LD_INSUFFICIENT_CREDIT),
				 errmsg("insufficient credit"),
				 expiring == 0 ?
				 errdetail("Account %lld has available %lld; a credit limit of %lld would not cover it.",
						   (long long) account_id, (long long) available,
						   (long long) credit_limit) :
				 errdetail("Account %lld has available %lld, %lld of it in credits that expire; a credit limit of %lld would not cover it once they lapse.",
						   (long long) account_id, (long long) available,
						   (long long) expiring, (long long) credit_limit)));
	/* stored with the expiries written above, in one new version of the row */
	op.acct.credit_limit = credit_limit;
	op.account_changed = true;
	op_end(&op);
	PG_RETURN_VOID();
}
