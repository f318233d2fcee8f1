/*
 * sweep.h
 *		One sweep batch: due expiries written for accounts nobody works on.
 */
#ifndef CREDIT_LEDGER_SWEEP_H
#define CREDIT_LEDGER_SWEEP_H

typedef struct SweepResult
{
	int			accounts;		/* accounts locked and swept */
	int64		holds_expired;
	int64		grants_expired; /* bucket lapses */
} SweepResult;

extern void sweep_batch(int max_accounts, SweepResult *result);

#endif
