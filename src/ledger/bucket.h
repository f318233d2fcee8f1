/*
 * bucket.h
 *		Grant buckets: burn-down draws, give-back, creation, lapsing.
 */
#ifndef CREDIT_LEDGER_BUCKET_H
#define CREDIT_LEDGER_BUCKET_H

#include "ledger/op.h"
#include "ledger/slices.h"

/* A bucket for credits entering the account (bucket_create). */
typedef struct BucketNew
{
	const char *source;
	int64		granted;
	int64		remaining;		/* granted less what repaid debt */
	int			priority;
	bool		has_expiry;
	TimestampTz expires_at;
} BucketNew;

extern void buckets_apply(LedgerOp *op, const Slices *slices, int sign);
extern int64 buckets_draw(LedgerOp *op, int64 amount, Slices *drawn);
extern void buckets_expire_due(LedgerOp *op);
extern void buckets_lapse_arrived(LedgerOp *op, int64 cause_entry_id);
extern void buckets_give_back(LedgerOp *op, const Slices *slices, int64 cause_entry_id);
extern int64 bucket_create(LedgerOp *op, int64 *entry_id, const BucketNew *b);
extern void bucket_void(LedgerOp *op, int64 bucket_id, const char *reason);
extern void bucket_extend(LedgerOp *op, int64 bucket_id, TimestampTz expires_at);
extern void bucket_defer(LedgerOp *op, int64 bucket_id, TimestampTz effective_at);
extern void bucket_arrive(LedgerOp *op, int64 bucket_id, int64 remaining);

#endif
