/*
 * arrivals.h
 *		Credits that arrive later (grants effective later, allowance
 *		periods), written when they are due.
 */
#ifndef CREDIT_LEDGER_ARRIVALS_H
#define CREDIT_LEDGER_ARRIVALS_H

#include "ledger/op.h"

extern void arrivals_write(LedgerOp *op);
extern void arrivals_note_next(LedgerOp *op);
extern uint64 arrivals_due_accounts(int max_accounts, int64 **account_ids);

#endif
