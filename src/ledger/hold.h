/*
 * hold.h
 *		Holds: reserve, confirm, cancel and expiry of the hold row.
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

typedef struct Hold
{
	int64		hold_id;
	HoldState	state;
	int64		amount;			/* credits held */
	Slices		slices;			/* drawn from buckets; the rest of amount is unbacked */
	char	   *source;			/* the reserve's; NULL where not loaded */
	char	   *event_id;		/* the reserve's */
	char	   *subject;		/* the reserve's (its entry's); NULL: none or not loaded */
	int64		settled_amount;
	bool		has_settled_amount;
	int64		result_entry_id;	/* 0 while pending */
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
	const char *subject;		/* who holds (NULL: none named) */
} HoldReserve;

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
extern TimestampTz hold_expiry(const Interval *ttl, StringInfo request);
extern void hold_reserve(LedgerOp *op, const HoldReserve *r);
extern void hold_confirm(LedgerOp *op, const HoldConfirm *c);
extern void hold_cancel(LedgerOp *op, int64 hold_id, const char *reason);
extern void holds_expire_due(LedgerOp *op);

#endif
