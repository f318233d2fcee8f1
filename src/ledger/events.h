/*
 * events.h
 *		The transactional outbox: events written with the change they report.
 */
#ifndef CREDIT_LEDGER_EVENTS_H
#define CREDIT_LEDGER_EVENTS_H

#include "ledger/op.h"
#include "ledger/slices.h"

extern void events_init(void);
extern void events_balance_changed(LedgerOp *op);
extern void events_hold_expired(LedgerOp *op, int64 hold_id, int64 amount, int64 entry_id);
extern void events_grant_expired(LedgerOp *op, const Slices *lapsed, int64 entry_id);
extern void events_limit_reached(LedgerOp *op, const char *subject, const char *period,
								 int64 max_credits, int64 used, int64 held);
extern int64 events_prune(int max_rows);

#endif
