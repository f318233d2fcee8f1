/*
 * account.c
 *		Accounts: the row lock every money-moving call starts with, the
 *		status and credit-limit rules, and the SQL-callable open_account,
 *		set_status and set_credit_limit.
 */
#include "postgres.h"

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
account_lock(LedgerAccount *acct, int64 account_id)
{
	static CachedQuery q = {
		"SELECT status, credit_limit, balance, reserved, debt, total_granted,"
		" total_consumed, total_expired, total_refunded, next_expiry_at"
		" FROM credit_ledger.account WHERE account_id = $1 FOR UPDATE",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(account_id)};
	bool		isnull;
	char	   *status;

	if (query_run(&q, values, NULL, false, 0, SPI_OK_SELECT) == 0)
		return false;

	acct->account_id = account_id;
	status = query_text(0, 1);
	if (!account_status_parse(status, &acct->status))
		elog(ERROR, "credit_ledger: account %lld has unknown status \"%s\"",
			 (long long) account_id, status);
	acct->credit_limit = query_int64(0, 2, NULL);
	acct->balance = query_int64(0, 3, NULL);
	acct->reserved = query_int64(0, 4, NULL);
	acct->debt = query_int64(0, 5, NULL);
	acct->total_granted = query_int64(0, 6, NULL);
	acct->total_consumed = query_int64(0, 7, NULL);
	acct->total_expired = query_int64(0, 8, NULL);
	acct->total_refunded = query_int64(0, 9, NULL);
	acct->next_expiry_at = DatumGetTimestampTz(query_datum(0, 10, &isnull));
	acct->has_next_expiry = !isnull;
	return true;
}

/* Opens the account unless it exists; concurrent openers are harmless. */
void
account_create(int64 account_id, int64 credit_limit, Datum metadata, bool has_metadata)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.account (account_id, credit_limit, metadata)"
		" VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING",
		3, {INT8OID, INT8OID, JSONBOID}
	};
	Datum		values[3] = {Int64GetDatum(account_id), Int64GetDatum(credit_limit), metadata};
	char		nulls[3] = {' ', ' ', has_metadata ? ' ' : 'n'};

	query_run(&q, values, nulls, false, 0, SPI_OK_INSERT);
}

/* Writes back the figures a call changed, while still holding the lock. */
void
account_store(const LedgerAccount *acct)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.account SET balance = $2, reserved = $3, debt = $4,"
		" total_granted = $5, total_consumed = $6, total_expired = $7,"
		" total_refunded = $8, next_expiry_at = $9 WHERE account_id = $1",
		9, {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[9] = {
		Int64GetDatum(acct->account_id), Int64GetDatum(acct->balance),
		Int64GetDatum(acct->reserved), Int64GetDatum(acct->debt),
		Int64GetDatum(acct->total_granted), Int64GetDatum(acct->total_consumed),
		Int64GetDatum(acct->total_expired), Int64GetDatum(acct->total_refunded),
		TimestampTzGetDatum(acct->next_expiry_at)
	};
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', acct->has_next_expiry ? ' ' : 'n'};

	if (query_run(&q, values, nulls, false, 0, SPI_OK_UPDATE) != 1)
		elog(ERROR, "credit_ledger: account %lld vanished under its lock", (long long) acct->account_id);
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

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	credit_limit = arg_credit_limit(fcinfo, 1);

	SPI_connect();
	account_create(account_id, credit_limit,
				   PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), !PG_ARGISNULL(2));
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
credit_ledger_set_status(PG_FUNCTION_ARGS)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.account SET status = $2, status_reason = $3,"
		" status_changed_at = statement_timestamp() WHERE account_id = $1",
		3, {INT8OID, TEXTOID, TEXTOID}
	};
	int64		account_id;
	char	   *status_name;
	AccountStatus status;
	LedgerAccount acct;
	char	   *reason;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	arg_require_not_null(fcinfo, 0, "account_id");
	account_id = PG_GETARG_INT64(0);
	status_name = arg_nonempty_text(fcinfo, 1, "status");
	if (!account_status_parse(status_name, &status))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid account status"),
				 errdetail("Status \"%s\" is not one of active, frozen, closed.", status_name)));

	SPI_connect();
	if (!account_lock(&acct, account_id))
		account_not_found(account_id);
	values[0] = Int64GetDatum(account_id);
	values[1] = CStringGetTextDatum(status_name);
	reason = arg_optional_text(fcinfo, 2);
	values[2] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	nulls[2] = reason ? ' ' : 'n';
	query_run(&q, values, nulls, false, 0, SPI_OK_UPDATE);
	SPI_finish();
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
	static CachedQuery q = {
		"UPDATE credit_ledger.account SET credit_limit = $2 WHERE account_id = $1",
		2, {INT8OID, INT8OID}
	};
	int64		account_id;
	int64		credit_limit;
	int64		available;
	int64		expiring;
	LedgerOp	op;
	Datum		values[2];

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
	/*
	 * The expiries first: until they are stored, the row still counts an
	 * expired hold, and its CHECK would judge the new limit against that
	 * (23514 where the figures above allow the limit).
	 */
	account_store(&op.acct);
	values[0] = Int64GetDatum(account_id);
	values[1] = Int64GetDatum(credit_limit);
	query_run(&q, values, NULL, false, 0, SPI_OK_UPDATE);
	SPI_finish();
	PG_RETURN_VOID();
}
