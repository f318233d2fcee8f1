/*
 * op_result.h
 *		The credit_ledger.op_result row every money-moving function returns.
 */
#ifndef CREDIT_LEDGER_OP_RESULT_H
#define CREDIT_LEDGER_OP_RESULT_H

#include "fmgr.h"

#include "ledger/op.h"

extern Datum op_result(LedgerOp *op, FunctionCallInfo fcinfo);

#endif
