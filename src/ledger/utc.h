/*
 * utc.h
 *		Spans added on the UTC calendar.
 */
#ifndef CREDIT_LEDGER_UTC_H
#define CREDIT_LEDGER_UTC_H

#include "datatype/timestamp.h"

extern TimestampTz timestamptz_plus_utc(TimestampTz t, const Interval *span);

#endif
