/*
 * transfer.h
 *		Transfers between two accounts of one server: credits leave one
 *		account's buckets and enter the other's with their source, expiry
 *		and priority.
 */
#ifndef CREDIT_LEDGER_TRANSFER_H
#define CREDIT_LEDGER_TRANSFER_H

#include "ledger/op.h"
#include "ledger/slices.h"

/* A transfer's amount and the annotations both its entries carry. */
typedef struct Transfer
{
	int64		amount;
	const char *description;
	Datum		metadata;
	bool		has_metadata;
} Transfer;

/*
 * Credits as they left their buckets: one part per bucket drawn, with
 * what the receiving bucket keeps of it. What a transfer (or, across
 * servers, a saga's grant step) gives the receiver.
 */
typedef struct TransferPart
{
	int64		amount;
	char	   *source;
	int			priority;
	bool		has_expiry;
	TimestampTz expires_at;
} TransferPart;

typedef struct TransferParts
{
	int			count;
	TransferPart *parts;
} TransferParts;

extern void transfer_send(LedgerOp *from, int64 amount, Slices *drawn, TransferParts *parts);
extern void transfer_receive(LedgerOp *to, const TransferParts *parts, int64 entry_id,
							 Slices *credited);
extern void transfer_run(LedgerOp *from, LedgerOp *to, const Transfer *t);
extern void transfer_end(LedgerOp *from, LedgerOp *to);

#endif
