/*
 * utc.h
 *		Spans added on the UTC calendar, and the UTC calendar's periods.
 */
#ifndef CREDIT_LEDGER_UTC_H
#define CREDIT_LEDGER_UTC_H

#include "datatype/timestamp.h"

/* The periods of spend limits (the spend_limit.period constraint's list). */
typedef enum UtcPeriod
{
	UTC_DAY,
	UTC_WEEK,					/* from Monday, as ISO 8601 */
	UTC_MONTH,
	UTC_PERIOD_COUNT
} UtcPeriod;

extern TimestampTz timestamptz_plus_utc(TimestampTz t, const Interval *span);
extern const char *utc_period_name(UtcPeriod period);
extern bool utc_period_parse(const char *name, UtcPeriod *period);
extern TimestampTz utc_period_start(UtcPeriod period, TimestampTz t);
extern TimestampTz utc_period_end(UtcPeriod period, TimestampTz start);

#endif
