/*
 * operation.h
 *		The frame of a money-moving call: op_init, op_begin, op_end.
 */
#ifndef CREDIT_LEDGER_OPERATION_H
#define CREDIT_LEDGER_OPERATION_H

#include "ledger/op.h"

typedef enum OpAccountMode
{
	OP_ACCOUNT_MUST_EXIST,		/* LD002 when missing */
	OP_ACCOUNT_OPEN_IF_MISSING, /* money in opens the wallet */
	OP_ACCOUNT_MAY_BE_MISSING	/* the caller handles a missing one (op_lock false) */
} OpAccountMode;

extern void op_init(LedgerOp *op, int64 account_id, const char *event_id, const char *operation);
extern bool op_lock(LedgerOp *op, OpAccountMode mode);
extern bool op_start(LedgerOp *op);
extern bool op_begin(LedgerOp *op, OpAccountMode mode);
extern void op_end(LedgerOp *op);

#endif
