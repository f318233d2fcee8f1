/*
 * limits.c
 *		Spend limits: what an account (or one subject inside it: a member,
 *		an API key) may consume per UTC day, week or month, pending holds
 *		included. Each limit row keeps its counters (used in its period,
 *		held by pending holds), and every money-out call updates the rows
 *		that apply to it, under the account lock it already holds, checking
 *		each before it counts: so a check reads a few rows, never the
 *		period's entries, and two concurrent calls cannot both pass (the
 *		second waits for the lock and reads what the first stored).
 *		verify() recomputes the counters from the entries and holds.
 *
 *		LD009 (spend limit reached) is raised here; limit.reached fires
 *		here, once per period. set_spend_limit, limits() and the dashboards
 *		are SQL functions of the 1.1 script; the calendar is utc.c's.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "store/row.h"
#include "ledger/credits.h"
#include "ledger/events.h"
#include "ledger/limits.h"
#include "ledger/utc.h"

/* One limit row as a call found it, with its counters brought to now's period. */
typedef struct SpendLimit
{
	char	   *subject;		/* NULL: the whole account */
	UtcPeriod	period;
	int64		max_credits;
	TimestampTz period_start;	/* now's period */
	int64		used;
	int64		held;
	bool		reached;		/* limit.reached fired in now's period */
} SpendLimit;

/* A limit of subject limit_subject (NULL: every subject) applies to subject. */
static bool
limit_applies(const char *limit_subject, const char *subject)
{
	return limit_subject == NULL || (subject != NULL && strcmp(limit_subject, subject) == 0);
}

/*
 * Reads the row's figures; a counter of an earlier period starts afresh in now's
 * (held is not per period: a pending hold counts in every period it spans).
 */
static void
limit_load(LedgerOp *op, const Row *row, SpendLimit *l)
{
	char	   *period = row_text(row, SPEND_LIMIT_PERIOD);
	bool		isnull;
	TimestampTz reached_in;

	if (!utc_period_parse(period, &l->period))
		elog(ERROR, "credit_ledger: a spend limit of account %lld has unknown period \"%s\"",
			 (long long) op->account_id, period);
	l->max_credits = row_int64(row, SPEND_LIMIT_MAX_CREDITS, NULL);
	l->period_start = utc_period_start(l->period, op->now);
	l->used = row_int64(row, SPEND_LIMIT_USED, NULL);
	if (DatumGetTimestampTz(row_datum(row, SPEND_LIMIT_PERIOD_START, &isnull)) != l->period_start)
		l->used = 0;
	l->held = row_int64(row, SPEND_LIMIT_HELD, NULL);
	reached_in = DatumGetTimestampTz(row_datum(row, SPEND_LIMIT_REACHED_IN, &isnull));
	l->reached = !isnull && reached_in == l->period_start;
}

/* LD009: the call would take the limit past its maximum. */
static void
limit_refuse(const LedgerOp *op, const SpendLimit *l, int64 requested)
{
	const char *whose = l->subject ? psprintf("subject \"%s\"", l->subject) : "whole account";

	ereport(ERROR,
			(errcode(ERRCODE_LD_SPEND_LIMIT),
			 errmsg("spend limit reached"),
			 errdetail("Account %lld, %s: %s limit %lld, used %lld, held %lld, requested %lld.",
					   (long long) op->account_id, whose, utc_period_name(l->period),
					   (long long) l->max_credits, (long long) l->used, (long long) l->held,
					   (long long) requested)));
}

/* Writes the counters back to the row just read. */
static void
limit_store(Row *row, const SpendLimit *l)
{
	static const int columns[] = {
		SPEND_LIMIT_PERIOD_START, SPEND_LIMIT_USED, SPEND_LIMIT_HELD, SPEND_LIMIT_REACHED_IN
	};
	Datum		values[lengthof(columns)] = {
		TimestampTzGetDatum(l->period_start), Int64GetDatum(l->used), Int64GetDatum(l->held),
		TimestampTzGetDatum(l->period_start)
	};
	bool		nulls[lengthof(columns)] = {[3] = !l->reached};

	row_update(row, lengthof(columns), columns, values, nulls);
}

/*
 * Counts the call on one limit row, if it applies. A limit whose used +
 * held the call raises is checked first: past max_credits is LD009 (the
 * call fails, so nothing it did stays). What a call lowers or leaves as it
 * is (a cancel, a confirm within its hold) is never refused, even under a
 * limit lowered meanwhile. The call that leaves a limit with nothing
 * remaining fires limit.reached, once per period.
 */
static void
limit_count(LedgerOp *op, Row *row, const SpendCount *count)
{
	SpendLimit	l;
	char	   *subject = row_text(row, SPEND_LIMIT_SUBJECT);
	int64		used = limit_applies(subject, count->subject) ? count->used : 0;
	int64		held = limit_applies(subject, count->hold_subject) ? count->held : 0;
	int64		raised = credits_add(used, held);

	if (used == 0 && held == 0)
		return;
	l.subject = subject;
	limit_load(op, row, &l);
	if (raised > 0 && credits_add(credits_add(l.used, l.held), raised) > l.max_credits)
		limit_refuse(op, &l, raised);
	l.used = credits_add(l.used, used);
	l.held = credits_add(l.held, held);
	if (raised > 0 && !l.reached && credits_add(l.used, l.held) >= l.max_credits)
	{
		events_limit_reached(op, l.subject, utc_period_name(l.period), l.max_credits,
							 l.used, l.held);
		l.reached = true;
	}
	limit_store(row, &l);
}

/* Counts the call on the limits of one subject ("": the whole account's). */
static void
limits_count_subject(LedgerOp *op, const char *subject, const SpendCount *count)
{
	Datum		keys[2] = {Int64GetDatum(op->account_id), CStringGetTextDatum(subject)};
	RowScan    *scan = row_scan_begin(op->rows, ROW_SPEND_LIMIT_BY_SUBJECT, keys);
	Row		   *row;

	while ((row = row_scan_next(scan)) != NULL)
		limit_count(op, row, count);
	row_scan_end(scan);
}

/*
 * Counts the call on every limit of the account that applies to it: the
 * whole account's and those of the subjects it names, each found by index
 * (however many subjects have limits). Run it after the call's entry is
 * written (a limit.reached event names it). An account without limits
 * costs one comparison.
 */
void
limits_count(LedgerOp *op, const SpendCount *count)
{
	if (op->acct.spend_limits == 0)
		return;
	limits_count_subject(op, "", count);
	if (count->subject != NULL)
		limits_count_subject(op, count->subject, count);
	if (count->hold_subject != NULL &&
		(count->subject == NULL || strcmp(count->subject, count->hold_subject) != 0))
		limits_count_subject(op, count->hold_subject, count);
}
