/*
 * idempotency.h
 *		event_id rules and the request fingerprint a replay must match.
 */
#ifndef CREDIT_LEDGER_IDEMPOTENCY_H
#define CREDIT_LEDGER_IDEMPOTENCY_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#include "ledger/op.h"

extern void event_id_check(const char *event_id);
extern void request_add_text(StringInfo request, const char *key, const char *value);
extern void request_add_int64(StringInfo request, const char *key, int64 value);
extern void request_add_null(StringInfo request, const char *key);
extern void request_add_optional_text(StringInfo request, const char *key, const char *value);
extern void request_add_timestamp(StringInfo request, const char *key, TimestampTz value);
extern void request_require_same(const LedgerOp *op, const char *stored);

#endif
