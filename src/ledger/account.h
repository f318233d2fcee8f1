/*
 * account.h
 *		The account, as loaded under its row lock, and its rules: status,
 *		the credit limit, the lower bound on its next expiry.
 */
#ifndef CREDIT_LEDGER_ACCOUNT_H
#define CREDIT_LEDGER_ACCOUNT_H

#include "datatype/timestamp.h"

#include "store/row.h"

typedef enum AccountStatus
{
	ACCOUNT_ACTIVE,
	ACCOUNT_FROZEN,
	ACCOUNT_CLOSED
} AccountStatus;

typedef struct LedgerAccount
{
	int64		account_id;
	Row		   *row;			/* the locked version, which account_store replaces */
	AccountStatus status;
	int64		credit_limit;
	int64		balance;
	int64		reserved;
	int64		debt;
	int64		total_granted;
	int64		total_consumed;
	int64		total_expired;
	int64		total_refunded;
	bool		has_next_expiry;
	TimestampTz next_expiry_at; /* never later than the true next expiry */
	bool		has_low_balance;	/* set_alert's threshold (1.1) */
	int64		low_balance;
	bool		has_max_pending_holds;	/* set_hold_limit's (1.1) */
	int32		max_pending_holds;
	int64		spend_limits;	/* how many spend limits it has (1.1) */
	int64		available_locked;	/* available as stored when the lock was taken */
} LedgerAccount;

extern const char *account_status_name(AccountStatus status);
extern bool account_status_parse(const char *name, AccountStatus *status);
extern bool account_lock(RowAccess *rows, LedgerAccount *acct, int64 account_id);
extern void account_create(int64 account_id, int64 credit_limit, Datum metadata, bool has_metadata);
extern void account_store(const LedgerAccount *acct);
extern void account_set_status(LedgerAccount *acct, AccountStatus status, const char *reason);
extern void account_set_low_balance(LedgerAccount *acct, bool has_low_balance, int64 low_balance);
extern void account_set_credit_limit(LedgerAccount *acct, int64 credit_limit);
extern void account_set_hold_limit(LedgerAccount *acct, bool has_max_pending_holds,
								   int32 max_pending_holds);
extern void account_note_expiry(LedgerAccount *acct, TimestampTz expires_at);
extern void account_require_active(const LedgerAccount *acct, bool money_in);
extern bool account_can_spend(const LedgerAccount *acct, int64 amount);
extern void account_require_available(const LedgerAccount *acct, int64 amount);
extern void account_refuse_credit(const LedgerAccount *acct, const char *detail) pg_attribute_noreturn();
extern void account_not_found(int64 account_id) pg_attribute_noreturn();

#endif
