/*
 * allowance.h
 *		Recurring allowances: setting, ending, and recording an issued
 *		period.
 */
#ifndef CREDIT_LEDGER_ALLOWANCE_H
#define CREDIT_LEDGER_ALLOWANCE_H

#include "ledger/op.h"

/* What set_allowance gives. */
typedef struct AllowanceSpec
{
	const char *name;
	int64		amount;
	const char *period;			/* day, week or month (checked by the caller) */
	int64		rollover_max;
	const char *source;
	int32		priority;
	TimestampTz starts_at;
	bool		has_ends_at;
	TimestampTz ends_at;
} AllowanceSpec;

/* One period's bucket, written (arrivals.c). */
typedef struct AllowanceIssue
{
	const char *name;
	TimestampTz period_start;
	TimestampTz period_end;
	int64		bucket_id;
	int64		entry_id;
	int64		amount;
	int64		carry;
} AllowanceIssue;

extern void allowance_set(LedgerOp *op, const AllowanceSpec *spec);
extern void allowance_end(LedgerOp *op, const char *name);
extern void allowance_issued(LedgerOp *op, const AllowanceIssue *issue);

#endif
