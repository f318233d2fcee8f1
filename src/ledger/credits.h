/*
 * credits.h
 *		Checked arithmetic on credit amounts: money never wraps.
 */
#ifndef CREDIT_LEDGER_CREDITS_H
#define CREDIT_LEDGER_CREDITS_H

#include "common/int.h"

static inline void credits_out_of_range(int64 a, const char *op, int64 b) pg_attribute_noreturn();

static inline void
credits_out_of_range(int64 a, const char *op, int64 b)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("credit amount out of range"),
			 errdetail("%lld %s %lld does not fit in bigint.", (long long) a, op, (long long) b)));
	pg_unreachable();
}

static inline int64
credits_add(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		credits_out_of_range(a, "+", b);
	return r;
}

static inline int64
credits_sub(int64 a, int64 b)
{
	int64		r;

	if (pg_sub_s64_overflow(a, b, &r))
		credits_out_of_range(a, "-", b);
	return r;
}

#endif
