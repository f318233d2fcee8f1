/*
 * refund.h
 *		Refunds of an earlier charge.
 */
#ifndef CREDIT_LEDGER_REFUND_H
#define CREDIT_LEDGER_REFUND_H

#include "ledger/op.h"

/* A refund of the charge that original_event_id names. */
typedef struct RefundRequest
{
	const char *original_event_id;
	bool		has_amount;		/* false: all that is left to refund */
	int64		amount;
	const char *description;
} RefundRequest;

extern void refund_charge(LedgerOp *op, const RefundRequest *r);

#endif
