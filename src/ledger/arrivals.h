/*
 * arrivals.h
 *		Credits that arrive later (grants effective later, allowance
 *		periods), written when they are due.
 */
#ifndef CREDIT_LEDGER_ARRIVALS_H
#define CREDIT_LEDGER_ARRIVALS_H

#include "ledger/op.h"

extern bool arrivals_enabled(void);
extern void arrivals_write(LedgerOp *op);
extern void arrivals_note_next(LedgerOp *op);

#endif
