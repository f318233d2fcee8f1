/*
 * money.h
 *		Credits in and credits out, each with its entry.
 */
#ifndef CREDIT_LEDGER_MONEY_H
#define CREDIT_LEDGER_MONEY_H

#include "ledger/entry.h"

/* Credits entering the account (grant, reward, a positive adjust). */
typedef struct MoneyIn
{
	EntryKind	kind;
	int64		amount;
	const char *source;
	bool		has_expiry;
	TimestampTz expires_at;
	int			priority;
	const char *description;
	Datum		metadata;
	bool		has_metadata;
	bool		deferred;		/* the credits arrive at effective_at (1.1) */
	TimestampTz effective_at;
} MoneyIn;

/* Credits consumed now (deduct, a charge, a negative adjust). */
typedef struct MoneyOut
{
	EntryKind	kind;
	int64		amount;
	const char *source;
	const char *description;
	Datum		metadata;
	bool		has_metadata;
	int64		price_rule_id;	/* 0 = not priced */
	const int64 *tokens;		/* NULL = not priced */
	const char *subject;		/* who spends (NULL: none named); spend limits count it */
} MoneyOut;

extern void money_in(LedgerOp *op, const MoneyIn *in);
extern void money_out(LedgerOp *op, const MoneyOut *out);
extern void money_draw(LedgerOp *op, int64 amount, Slices *drawn);

#endif
