/*
 * utc.c
 *		Spans on the UTC calendar: a ttl, a reward's expires_after. Every
 *		span the ledger adds to an instant is added here, so that the
 *		caller's TimeZone never changes how long credits or holds last.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ledger/utc.h"

/*
 * t + span on the UTC calendar: a ttl or an expires_after of 103 days is
 * 103 times 24 hours whatever the caller's TimeZone and its DST changes,
 * as the daily cap's UTC day is. A timestamptz is UTC time inside, so the
 * timestamp (without time zone) arithmetic on it is UTC's.
 */
TimestampTz
timestamptz_plus_utc(TimestampTz t, const Interval *span)
{
	return DatumGetTimestamp(DirectFunctionCall2(timestamp_pl_interval, TimestampGetDatum(t),
												 IntervalPGetDatum(span)));
}
