/*
 * events.c
 *		The transactional outbox. An event is written in the transaction,
 *		and under the account lock, of the change it reports: a call that
 *		rolls back leaves none, and two racing calls cannot both report one
 *		crossing, because the second sees what the first stored. Balance
 *		events compare available as stored when the lock was taken with
 *		available at the end of the call, so each crossing of a stored state
 *		fires once; expiry events come from the expiry code, one per hold
 *		or bucket. Every event also queues NOTIFY credit_ledger_events,
 *		which PostgreSQL sends at commit. Consumers read events through
 *		poll_events and ack_events (SQL functions of the 1.1 script), which
 *		number them for delivery once no older transaction can still add one.
 *
 *		The events need the 1.1 schema: with a 1.0 schema (the 1.1 library
 *		installed, ALTER EXTENSION ... UPDATE not run yet) none is written.
 *		Its settings (default_low_balance, event_retention) are defined
 *		here, by events_init; set_alert is api/set_alert.c.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "store/catalog.h"
#include "store/query.h"
#include "store/row.h"
#include "ledger/credits.h"
#include "ledger/events.h"

#define EVENTS_CHANNEL "credit_ledger_events"

static char *default_low_balance_text = NULL;
static int	event_retention_s = 7 * 24 * 3600;

/* credit_ledger.default_low_balance, parsed by its check hook */
static bool default_low_balance_set = false;
static int64 default_low_balance = 0;

/* A bigint, or empty for none. */
static bool
default_low_balance_check(char **newval, void **extra, GucSource source)
{
	int64	   *parsed;
	int64		value = 0;
	char	   *end;

	if (**newval != '\0')
	{
		errno = 0;
		value = strtoi64(*newval, &end, 10);
		if (errno != 0 || end == *newval || *end != '\0')
		{
			GUC_check_errdetail("credit_ledger.default_low_balance must be a bigint, or empty for none.");
			return false;
		}
	}
	/* GUC extras are malloc'd: the GUC machinery frees them */
	parsed = malloc(sizeof(int64) * 2);
	if (parsed == NULL)
		return false;
	parsed[0] = (**newval != '\0');
	parsed[1] = value;
	*extra = parsed;
	return true;
}

static void
default_low_balance_assign(const char *newval, void *extra)
{
	default_low_balance_set = ((int64 *) extra)[0] != 0;
	default_low_balance = ((int64 *) extra)[1];
}

/* Defines the events' settings; called by _PG_init. */
void
events_init(void)
{
	DefineCustomStringVariable("credit_ledger.default_low_balance",
							   "Low-balance threshold of accounts that have none of their own (set_alert).",
							   "available going below it writes a balance.low event; empty: none.",
							   &default_low_balance_text,
							   "",
							   PGC_USERSET,
							   0,
							   default_low_balance_check, default_low_balance_assign, NULL);

	DefineCustomIntVariable("credit_ledger.event_retention",
							"How long events are kept once every consumer has acknowledged them.",
							"The worker (and sweep()) deletes older ones.",
							&event_retention_s,
							7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

/* What an event's payload says besides its kind; 0 / false = not said. */
typedef struct EventFigures
{
	int64		entry_id;
	bool		has_available_before;
	int64		available_before;
	bool		has_threshold;
	int64		threshold;
	int64		hold_id;
	int64		bucket_id;
	int64		amount;
	/* a spend limit reached */
	bool		has_limit;
	const char *subject;		/* NULL: the whole account's limit */
	const char *period;
	int64		max_credits;
	int64		used;
	int64		held;
} EventFigures;

/* The schema has the event table: it is 1.1's (row.c knows the column). */
static bool
events_enabled(void)
{
	return row_schema_1_1();
}

/* Appends one event and queues its notification; under the account lock. */
static void
event_write(LedgerOp *op, const char *kind, const EventFigures *f)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.event (account_id, kind, entry_id, payload, created_at)"
		" VALUES ($1, $2, $3, pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
		"   'account_id', $1, 'kind', $2, 'entry_id', $3, 'available_before', $4,"
		"   'available_after', $5, 'balance', $6, 'threshold', $7, 'hold_id', $8,"
		"   'bucket_id', $9, 'amount', $10, 'subject', $12, 'period', $13,"
		"   'max_credits', $14, 'used', $15, 'held', $16)), $11)"
		" RETURNING event_seq",
		16, {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
			INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID}
	};
	Datum		values[16] = {
		Int64GetDatum(op->account_id), CStringGetTextDatum(kind), Int64GetDatum(f->entry_id),
		Int64GetDatum(f->available_before),
		Int64GetDatum(credits_sub(op->acct.balance, op->acct.reserved)),
		Int64GetDatum(op->acct.balance), Int64GetDatum(f->threshold), Int64GetDatum(f->hold_id),
		Int64GetDatum(f->bucket_id), Int64GetDatum(f->amount), TimestampTzGetDatum(op->now),
		f->subject ? CStringGetTextDatum(f->subject) : (Datum) 0,
		f->period ? CStringGetTextDatum(f->period) : (Datum) 0,
		Int64GetDatum(f->max_credits), Int64GetDatum(f->used), Int64GetDatum(f->held)
	};
	char		nulls[16] = {
		' ', ' ', f->entry_id ? ' ' : 'n', f->has_available_before ? ' ' : 'n', ' ', ' ',
		f->has_threshold ? ' ' : 'n', f->hold_id ? ' ' : 'n', f->bucket_id ? ' ' : 'n',
		f->amount ? ' ' : 'n', ' ', f->subject ? ' ' : 'n', f->period ? ' ' : 'n',
		f->has_limit ? ' ' : 'n', f->has_limit ? ' ' : 'n', f->has_limit ? ' ' : 'n'
	};

	query_write_one(&q, values, nulls, QUERY_INSERT_RETURNING, "INSERT", "event");
	Async_Notify(EVENTS_CHANNEL,
				 psprintf(INT64_FORMAT " " INT64_FORMAT " %s",
						  query_int64(0, 1, NULL), op->account_id, kind));
}

/*
 * The crossings of this call, from available as stored when the lock was
 * taken to available now: below the threshold (the account's, else
 * credit_ledger.default_low_balance), to zero or less, and back above zero.
 * Costs two comparisons when nothing crossed.
 */
void
events_balance_changed(LedgerOp *op)
{
	int64		before = op->acct.available_locked;
	int64		after = credits_sub(op->acct.balance, op->acct.reserved);
	EventFigures f = {
		.entry_id = op->entry_id ? op->entry_id : op->last_entry_id,
		.has_available_before = true, .available_before = before
	};

	if (before == after || !events_enabled())
		return;
	if (op->acct.has_low_balance || default_low_balance_set)
	{
		f.has_threshold = true;
		f.threshold = op->acct.has_low_balance ? op->acct.low_balance : default_low_balance;
		if (before >= f.threshold && after < f.threshold)
			event_write(op, "balance.low", &f);
	}
	if (before > 0 && after <= 0)
		event_write(op, "balance.depleted", &f);
	if (before <= 0 && after > 0)
		event_write(op, "balance.recovered", &f);
}

/* The hold.expired event of a hold the call let expire. */
void
events_hold_expired(LedgerOp *op, int64 hold_id, int64 amount, int64 entry_id)
{
	if (events_enabled())
		event_write(op, "hold.expired", &(EventFigures) {
			.entry_id = entry_id, .hold_id = hold_id, .amount = amount
		});
}

/* One event per bucket whose credits lapsed in the entry. */
void
events_grant_expired(LedgerOp *op, const Slices *lapsed, int64 entry_id)
{
	if (!events_enabled())
		return;
	for (int i = 0; i < lapsed->count; i++)
		event_write(op, "grant.expired", &(EventFigures) {
			.entry_id = entry_id, .bucket_id = lapsed->bucket_ids[i], .amount = lapsed->amounts[i]
		});
}

/*
 * The limit.reached event of a spend limit the call left with nothing
 * remaining (limits.c fires it once per period). Limits exist only in a
 * 1.1 schema.
 */
void
events_limit_reached(LedgerOp *op, const char *subject, const char *period,
					 int64 max_credits, int64 used, int64 held)
{
	event_write(op, "limit.reached", &(EventFigures) {
		.entry_id = op->last_entry_id, .has_limit = true, .subject = subject, .period = period,
		.max_credits = max_credits, .used = used, .held = held
	});
}

/*
 * Deletes up to max_rows events older than credit_ledger.event_retention
 * that every registered consumer has acknowledged (all of them when no
 * consumer is registered); returns how many. Each case walks an index from
 * its oldest end, so a lagging consumer or a young table costs a probe, not
 * a scan. The caller has SPI connected. Nothing to do on a 1.0 schema.
 */
int64
events_prune(int max_rows)
{
	static CachedQuery cursor = {
		"SELECT min(after_delivery) FROM credit_ledger.event_consumer", 0, {0}
	};
	static CachedQuery acknowledged = {
		"DELETE FROM credit_ledger.event WHERE event_seq IN ("
		" SELECT event_seq FROM credit_ledger.event"
		" WHERE delivery <= $3 AND created_at < $1 ORDER BY delivery LIMIT $2)",
		3, {TIMESTAMPTZOID, INT4OID, INT8OID}
	};
	static CachedQuery unwatched = {
		"DELETE FROM credit_ledger.event WHERE event_seq IN ("
		" SELECT event_seq FROM credit_ledger.event"
		" WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
		2, {TIMESTAMPTZOID, INT4OID}
	};
	bool		none;
	Datum		values[3] = {
		TimestampTzGetDatum(GetCurrentStatementStartTimestamp() -
							(TimestampTz) event_retention_s * USECS_PER_SEC),
		Int32GetDatum(max_rows)
	};

	if (!OidIsValid(catalog_relid("event")))
		return 0;
	query_run(&cursor, NULL, NULL, false, 0, QUERY_SELECT);
	values[2] = Int64GetDatum(query_int64(0, 1, &none));
	if (none)
		return (int64) query_run(&unwatched, values, NULL, false, 0, QUERY_DELETE);
	return (int64) query_run(&acknowledged, values, NULL, false, 0, QUERY_DELETE);
}
