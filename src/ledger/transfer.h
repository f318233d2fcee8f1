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

/* The states of a leg of a transfer between two servers (transfer_leg.state). */
typedef enum TransferLegState
{
	LEG_HELD,					/* the sender's: in flight, the credits held */
	LEG_SETTLED,				/* the sender's: moved (transfer_out) */
	LEG_UNDONE,					/* the sender's: the receiver refused, released */
	LEG_RECEIVED,				/* the receiver's: credited (transfer_in) */
	LEG_REFUSED,				/* the receiver's: refused, for good */
	LEG_STATE_COUNT
} TransferLegState;

/*
 * One side of a transfer between two servers, as its transfer_leg row says
 * after a step (copied into the caller's memory context), and what the
 * step did.
 */
typedef struct TransferLeg
{
	TransferLegState state;
	int64		to_account;
	int64		amount;
	int64		hold_id;		/* 0 = none */
	int64		out_entry_id;	/* 0 = none */
	int64		in_entry_id;	/* 0 = none */
	Datum		part_amounts;	/* bigint[], text[], integer[], timestamptz[] */
	Datum		part_sources;
	Datum		part_priorities;
	Datum		part_expires_at;
	char	   *description;
	Datum		metadata;
	bool		has_metadata;
	char	   *error_sqlstate; /* the receiver's refusal; NULL = none */
	char	   *error_message;
	char	   *error_detail;
	/* the step */
	int64		entry_id;		/* the entry it wrote (or first wrote); 0 = none */
	bool		replayed;
} TransferLeg;

extern const char *transfer_leg_state_name(TransferLegState state);
extern void transfer_parts_from_arrays(Datum amounts, Datum sources, Datum priorities,
									   Datum expires_at, TransferParts *parts);
extern void transfer_hold(LedgerOp *from, int64 to_account, const Transfer *t,
						  TransferLeg *leg, MemoryContext cxt);
extern void transfer_accept(LedgerOp *to, int64 from_account, const char *event_id,
							const Transfer *t, const TransferParts *parts,
							TransferLeg *leg, MemoryContext cxt);
extern void transfer_finish(LedgerOp *from, const char *event_id, bool settle,
							int64 in_entry_id, const char *const error[3],
							TransferLeg *leg, MemoryContext cxt);
extern void transfer_send(LedgerOp *from, int64 amount, Slices *drawn, TransferParts *parts);
extern void transfer_receive(LedgerOp *to, const TransferParts *parts, int64 entry_id,
							 Slices *credited);
extern void transfer_run(LedgerOp *from, LedgerOp *to, const Transfer *t);
extern void transfer_end(LedgerOp *from, LedgerOp *to);

#endif
