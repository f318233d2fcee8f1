/*
 * account.c
 *		Accounts: the row lock every money-moving call starts with, the
 *		status and credit-limit rules, and the one place LD001 (insufficient
 *		credit) and LD002 (account not found) are raised. The SQL-callable
 *		open_account, set_status and set_credit_limit are in api/account.c.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "store/query.h"
#include "store/row.h"
#include "ledger/account.h"
#include "ledger/credits.h"

static const char *const status_names[] = {"active", "frozen", "closed"};

const char *
account_status_name(AccountStatus status)
{
	return status_names[status];
}

/* False when `name` is not a status. */
bool
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

/* LD002: the call names an account that does not exist. */
void
account_not_found(int64 account_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_LD_ACCOUNT_NOT_FOUND),
			 errmsg("account not found"),
			 errdetail("Account %lld does not exist.", (long long) account_id)));
	pg_unreachable();
}

/* LD001, with a DETAIL that gives the figures the refusal was made on. */
void
account_refuse_credit(const LedgerAccount *acct, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_LD_INSUFFICIENT_CREDIT),
			 errmsg("insufficient credit"),
			 errdetail("%s", detail)));
	pg_unreachable();
}

/*
 * Locks the account row (the first lock of every call, so locks are always
 * taken in the same order) and loads it, keeping the row's handle for
 * account_store. False when there is no such account.
 */
bool
account_lock(RowAccess *rows, LedgerAccount *acct, int64 account_id)
{
	Datum		key = Int64GetDatum(account_id);
	Row		   *row = row_lock(rows, ROW_ACCOUNT_BY_ID, &key);
	bool		isnull;
	char	   *status;

	if (row == NULL)
		return false;

	acct->account_id = account_id;
	acct->row = row;
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
	acct->low_balance = row_int64(row, ACCOUNT_LOW_BALANCE, &isnull);
	acct->has_low_balance = !isnull;
	acct->max_pending_holds = DatumGetInt32(row_datum(row, ACCOUNT_MAX_PENDING_HOLDS, &isnull));
	acct->has_max_pending_holds = !isnull;
	acct->spend_limits = row_int64(row, ACCOUNT_SPEND_LIMITS, &isnull);
	acct->available_locked = credits_sub(acct->balance, acct->reserved);
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

	if (query_run(&q, values, nulls, false, 0, QUERY_INSERT) == 0 &&
		query_run(&exists, values, NULL, false, 0, QUERY_SELECT) == 0)
		row_report_skipped("INSERT", "account");
}

/*
 * Writes back the figures and the credit limit, while still holding the
 * lock, as the new version of the row account_lock locked.
 */
void
account_store(const LedgerAccount *acct)
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

	row_update(acct->row, lengthof(columns), columns, values, nulls);
}

/* Writes the account's new status, with its reason (NULL: none) and now. */
void
account_set_status(LedgerAccount *acct, AccountStatus status, const char *reason)
{
	static const int columns[] = {ACCOUNT_STATUS, ACCOUNT_STATUS_REASON, ACCOUNT_STATUS_CHANGED_AT};
	Datum		values[lengthof(columns)] = {
		CStringGetTextDatum(account_status_name(status)),
		reason ? CStringGetTextDatum(reason) : (Datum) 0,
		TimestampTzGetDatum(GetCurrentStatementStartTimestamp())
	};
	bool		nulls[lengthof(columns)] = {[1] = (reason == NULL)};

	row_update(acct->row, lengthof(columns), columns, values, nulls);
	acct->status = status;
}

/* Writes the account's own low-balance threshold (set_alert); none: the default. */
void
account_set_low_balance(LedgerAccount *acct, bool has_low_balance, int64 low_balance)
{
	static const int columns[] = {ACCOUNT_LOW_BALANCE};
	Datum		values[lengthof(columns)] = {Int64GetDatum(low_balance)};
	bool		nulls[lengthof(columns)] = {!has_low_balance};

	row_update(acct->row, lengthof(columns), columns, values, nulls);
	acct->has_low_balance = has_low_balance;
	acct->low_balance = low_balance;
}

/* Writes the most pending holds the account may have (set_hold_limit); none: no limit. */
void
account_set_hold_limit(LedgerAccount *acct, bool has_max_pending_holds, int32 max_pending_holds)
{
	static const int columns[] = {ACCOUNT_MAX_PENDING_HOLDS};
	Datum		values[lengthof(columns)] = {Int32GetDatum(max_pending_holds)};
	bool		nulls[lengthof(columns)] = {!has_max_pending_holds};

	row_update(acct->row, lengthof(columns), columns, values, nulls);
	acct->has_max_pending_holds = has_max_pending_holds;
	acct->max_pending_holds = max_pending_holds;
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

/* The overspend rule: whether available may fall by amount, never below -credit_limit. */
bool
account_can_spend(const LedgerAccount *acct, int64 amount)
{
	int64		after;

	return !pg_sub_s64_overflow(credits_sub(acct->balance, acct->reserved), amount, &after) &&
		after >= -acct->credit_limit;
}

/* LD001 unless the account can spend amount (account_can_spend). */
void
account_require_available(const LedgerAccount *acct, int64 amount)
{
	int64		available = credits_sub(acct->balance, acct->reserved);

	if (account_can_spend(acct, amount))
		return;
	account_refuse_credit(acct,
						  psprintf("Account %lld: available %lld, requested %lld, credit limit %lld.",
								   (long long) acct->account_id, (long long) available,
								   (long long) amount, (long long) acct->credit_limit));
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

	query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	return query_int64(0, 1, NULL);
}

/*
 * A new credit limit, refused (LD001) when available, less the credits
 * that will lapse, would fall below it. Call it with due expiries written,
 * so that the figures are exact; the caller stores the account.
 */
void
account_set_credit_limit(LedgerAccount *acct, int64 credit_limit)
{
	int64		available = credits_sub(acct->balance, acct->reserved);
	int64		expiring = account_expiring_credits(acct->account_id);

	if (credits_sub(available, expiring) < -credit_limit)
		account_refuse_credit(acct, expiring == 0 ?
							  psprintf("Account %lld has available %lld; a credit limit of %lld would not cover it.",
									   (long long) acct->account_id, (long long) available,
									   (long long) credit_limit) :
							  psprintf("Account %lld has available %lld, %lld of it in credits that expire; a credit limit of %lld would not cover it once they lapse.",
									   (long long) acct->account_id, (long long) available,
									   (long long) expiring, (long long) credit_limit));
	acct->credit_limit = credit_limit;
}
