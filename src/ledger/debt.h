/*
 * debt.h
 *		The debt rule: credits entering an account repay its debt first;
 *		what the buckets cannot cover of a charge becomes debt.
 */
#ifndef CREDIT_LEDGER_DEBT_H
#define CREDIT_LEDGER_DEBT_H

#include "ledger/account.h"

extern int64 debt_repay(LedgerAccount *acct, int64 amount);
extern void debt_owe(LedgerAccount *acct, int64 shortfall);

#endif
