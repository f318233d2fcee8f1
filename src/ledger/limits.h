/*
 * limits.h
 *		Spend limits: the per-period counters every money-out call updates
 *		under the account lock, and LD009.
 */
#ifndef CREDIT_LEDGER_LIMITS_H
#define CREDIT_LEDGER_LIMITS_H

#include "ledger/op.h"

/*
 * What one call does to the counters: credits it consumes for `subject`
 * and the change of what holds hold for `hold_subject` (negative: a hold
 * settled or released). A confirm consumes and settles in one count.
 * A subject NULL is none: only the whole account's limits count it.
 */
typedef struct SpendCount
{
	const char *subject;
	int64		used;
	const char *hold_subject;
	int64		held;
} SpendCount;

extern void limits_count(LedgerOp *op, const SpendCount *count);

#endif
