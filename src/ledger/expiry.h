/*
 * expiry.h
 *		Expiry written by every call before it works on an account.
 */
#ifndef CREDIT_LEDGER_EXPIRY_H
#define CREDIT_LEDGER_EXPIRY_H

#include "datatype/timestamp.h"

#include "ledger/op.h"

extern void expire_due(LedgerOp *op);

#endif
