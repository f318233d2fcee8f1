/*
 * op.h
 *		LedgerOp: what one money-moving call carries through the ledger's
 *		units (its account, locked; its request fingerprint; its result).
 *		The frame that opens and closes it is operation.c.
 */
#ifndef CREDIT_LEDGER_OP_H
#define CREDIT_LEDGER_OP_H

#include "lib/stringinfo.h"

#include "store/row.h"
#include "ledger/account.h"

typedef struct LedgerOp
{
	int64		account_id;
	const char *event_id;		/* NULL for calls keyed by hold (confirm, cancel) */
	StringInfoData request;		/* the call's arguments, compared on replay */
	TimestampTz now;			/* one instant for the whole call */
	RowAccess  *rows;			/* account, bucket and entry rows (row.c) */
	LedgerAccount acct;
	bool		account_changed;	/* acct must be written back */
	/* the result */
	int64		entry_id;
	int64		hold_id;		/* 0 = none */
	int64		amount;
	int64		result_balance;
	int64		result_reserved;
	bool		replayed;
	int64		last_entry_id;	/* the last entry the call wrote, 0 = none */
	/* expiries this call wrote (sweep reports them) */
	int64		holds_expired;
	int64		grants_expired;
} LedgerOp;

#endif
