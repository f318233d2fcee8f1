/*
 * hold.h
 *		Holds: reserve, capture, confirm, cancel, extension, leases and
 *		expiry of the hold row.
 */
#ifndef CREDIT_LEDGER_HOLD_H
#define CREDIT_LEDGER_HOLD_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#include "ledger/op.h"
#include "ledger/slices.h"

/* The states of a hold (the hold.state constraint's list). */
typedef enum HoldState
{
	HOLD_PENDING,
	HOLD_CONFIRMED,
	HOLD_CANCELLED,
	HOLD_EXPIRED,
	HOLD_STATE_COUNT
} HoldState;

/* What an expiring hold does with what it still holds (reserve's on_expiry, 1.1). */
typedef enum HoldOnExpiry
{
	HOLD_EXPIRY_RELEASE,
	HOLD_EXPIRY_CAPTURE,
	HOLD_ON_EXPIRY_COUNT
} HoldOnExpiry;

typedef struct Hold
{
	int64		hold_id;
	HoldState	state;
	int64		amount;			/* credits reserved */
	int64		captured;		/* taken by its capture entries so far (1.1) */
	Slices		slices;			/* still held from buckets; the rest of what it
								 * holds (amount - captured) is unbacked */
	char	   *source;			/* the reserve's; NULL where not loaded */
	HoldOnExpiry on_expiry;
	TimestampTz created_at;		/* the reserve's instant: what prices pin to */
	TimestampTz expires_at;
	char	   *event_id;		/* the reserve's */
	char	   *subject;		/* the reserve's (its entry's); NULL: none or not loaded */
	int64		settled_amount;
	bool		has_settled_amount;
	int64		result_entry_id;	/* 0 while pending */
	int64		transfer_to;	/* a transfer's hold: the receiving account; 0 = not one */
} Hold;

/* A reserve: what to hold, and until when (hold_expiry). */
typedef struct HoldReserve
{
	int64		amount;
	const char *source;
	const char *description;
	Datum		metadata;
	bool		has_metadata;
	TimestampTz expires_at;
	HoldOnExpiry on_expiry;
	bool		lease;			/* owned by the calling session (1.1) */
	const char *subject;		/* who holds (NULL: none named) */
} HoldReserve;

/* A capture of part of a hold (1.1); final ends the hold. */
typedef struct HoldCapture
{
	int64		hold_id;
	int64		amount;
	bool		final;
	Datum		metadata;
	bool		has_metadata;
	const char *subject;		/* who spent; NULL: the hold's */
} HoldCapture;

/* A confirm of a hold; a priced charge also names its rule and tokens. */
typedef struct HoldConfirm
{
	int64		hold_id;
	bool		has_amount;		/* false: the held amount */
	int64		amount;
	Datum		metadata;
	bool		has_metadata;
	int64		price_rule_id;	/* 0 = not priced */
	const int64 *tokens;		/* NULL = not priced */
	const char *subject;		/* who spent; NULL: the hold's */
} HoldConfirm;

extern void hold_init(void);
extern const char *hold_state_name(HoldState state);
extern HoldOnExpiry hold_on_expiry_parse(const char *name);
extern TimestampTz hold_expiry(const Interval *ttl, StringInfo request);
extern void hold_reserve(LedgerOp *op, const HoldReserve *r);
extern TimestampTz hold_reserved_at(LedgerOp *op, int64 hold_id);
extern void hold_capture(LedgerOp *op, const HoldCapture *c);
extern void hold_confirm(LedgerOp *op, const HoldConfirm *c);
extern void hold_cancel(LedgerOp *op, int64 hold_id, const char *reason);
extern void hold_extend(LedgerOp *op, int64 hold_id, TimestampTz expires_at);
extern void holds_expire_due(LedgerOp *op, HoldOnExpiry which);
extern int64 hold_transfer_create(LedgerOp *op, int64 amount, int64 to_account,
								  const Slices *drawn, const char *description,
								  Datum metadata, bool has_metadata);
extern int64 hold_transfer_end(LedgerOp *op, int64 hold_id, bool settle, int64 in_entry_id,
							   const char *description, Datum metadata, bool has_metadata);
extern void holds_end_lease(LedgerOp *op, int32 lease_pid, TimestampTz lease_started_at);

#endif
