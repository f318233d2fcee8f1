/*
 * debt.c
 *		The debt rule, in one place. An account owes credits when a charge
 *		took more than its buckets held (within the credit limit): that
 *		shortfall is debt. Credits entering the account later (a grant, a
 *		reward, a refund, credits a hold or a refund gives back) repay the
 *		debt before they go into any bucket, so that no live bucket sits
 *		next to debt (verify() checks it).
 */
#include "postgres.h"

#include "ledger/credits.h"
#include "ledger/debt.h"

/*
 * Repays the account's debt from `amount` credits entering it; returns
 * the part left for a bucket.
 */
int64
debt_repay(LedgerAccount *acct, int64 amount)
{
	int64		repaid = Min(acct->debt, amount);

	acct->debt -= repaid;
	return amount - repaid;
}

/* What the buckets could not cover of a charge becomes debt. */
void
debt_owe(LedgerAccount *acct, int64 shortfall)
{
	acct->debt = credits_add(acct->debt, shortfall);
}
