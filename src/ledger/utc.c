/*
 * utc.c
 *		The UTC calendar: spans added to an instant (a ttl, a reward's
 *		expires_after) and the periods spend limits count in (day, week,
 *		month). Every span the ledger adds and every period it finds is
 *		computed here, so that the caller's TimeZone never changes how long
 *		credits or holds last, or which day a call counts in.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "ledger/utc.h"

static const char *const period_names[UTC_PERIOD_COUNT] = {
	[UTC_DAY] = "day",
	[UTC_WEEK] = "week",
	[UTC_MONTH] = "month",
};

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

/* The period as stored in spend_limit.period. */
const char *
utc_period_name(UtcPeriod period)
{
	return period_names[period];
}

/* False when `name` is not a period. */
bool
utc_period_parse(const char *name, UtcPeriod *period)
{
	for (int i = 0; i < UTC_PERIOD_COUNT; i++)
	{
		if (strcmp(name, period_names[i]) == 0)
		{
			*period = (UtcPeriod) i;
			return true;
		}
	}
	return false;
}

static void
utc_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("timestamp out of range"),
			 errdetail("A period of the UTC calendar needs a finite instant.")));
}

/*
 * The first instant of the UTC day, week (Monday) or month that holds t:
 * a call at 23:59:59.999999 UTC counts in its day, one at 00:00 in the
 * next.
 */
TimestampTz
utc_period_start(UtcPeriod period, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	TimestampTz start;

	if (TIMESTAMP_NOT_FINITE(t) || timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		utc_out_of_range();
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (period == UTC_WEEK)
	{
		int			julian = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);

		/* j2day: 0 is Sunday; Monday starts the week */
		j2date(julian - (j2day(julian) + 6) % 7, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	}
	else if (period == UTC_MONTH)
		tm.tm_mday = 1;
	if (tm2timestamp(&tm, 0, NULL, &start) != 0)
		utc_out_of_range();
	return start;
}

/* The first instant after the period that starts at start. */
TimestampTz
utc_period_end(UtcPeriod period, TimestampTz start)
{
	Interval	span = {0};

	if (period == UTC_MONTH)
		span.month = 1;
	else
		span.day = (period == UTC_WEEK) ? 7 : 1;
	return timestamptz_plus_utc(start, &span);
}
