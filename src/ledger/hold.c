/*
 * hold.c
 *		Holds: credits reserved for a call whose cost is known at its end,
 *		settled once by confirm or cancel, or expired. This unit owns the
 *		hold row: creating it (reserve), loading it, the pending-or-replay
 *		rule of terminal states, confirming it (also what a priced charge of
 *		a hold runs), releasing it (cancel, expiry) and the final state
 *		change; and credit_ledger.default_hold_ttl, the ttl of a reserve
 *		that gives none.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "store/query.h"
#include "store/row.h"
#include "ledger/bucket.h"
#include "ledger/credits.h"
#include "ledger/entry.h"
#include "ledger/events.h"
#include "ledger/utc.h"
#include "ledger/hold.h"
#include "ledger/idempotency.h"
#include "ledger/limits.h"
#include "ledger/money.h"

#define TTL_MAX_YEARS 10000

static int	default_hold_ttl_s = 30 * 60;

static const char *const state_names[HOLD_STATE_COUNT] = {
	[HOLD_PENDING] = "pending",
	[HOLD_CONFIRMED] = "confirmed",
	[HOLD_CANCELLED] = "cancelled",
	[HOLD_EXPIRED] = "expired",
};

/* Defines credit_ledger.default_hold_ttl; called by _PG_init. */
void
hold_init(void)
{
	DefineCustomIntVariable("credit_ledger.default_hold_ttl",
							"How long a hold lasts when reserve() is given no ttl.",
							NULL,
							&default_hold_ttl_s,
							30 * 60, 1, 365 * 24 * 3600,
							PGC_USERSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

/* The state as stored in hold.state. */
const char *
hold_state_name(HoldState state)
{
	return state_names[state];
}

static HoldState
hold_state_parse(const char *name, int64 hold_id)
{
	for (int i = 0; i < HOLD_STATE_COUNT; i++)
		if (strcmp(name, state_names[i]) == 0)
			return (HoldState) i;
	elog(ERROR, "credit_ledger: hold %lld has unknown state \"%s\"", (long long) hold_id, name);
	return HOLD_PENDING;		/* keep compiler quiet */
}

static void
ttl_not_positive(const Interval *ttl)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ttl must be positive"),
			 errdetail("ttl is %s.",
					   DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(ttl))))));
}

/*
 * When a hold reserved now expires: now + ttl, or now +
 * credit_ledger.default_hold_ttl when ttl is NULL. "now" is the
 * statement's start, the instant op_begin will use. The ttl also goes into
 * the request fingerprint, in ISO 8601 so that IntervalStyle cannot make
 * one ttl two requests.
 */
TimestampTz
hold_expiry(const Interval *ttl, StringInfo request)
{
	static const Interval ttl_zero = {0};
	static const Interval ttl_max = {.month = TTL_MAX_YEARS * MONTHS_PER_YEAR};
	TimestampTz now = GetCurrentStatementStartTimestamp();
	TimestampTz expires_at;
	struct pg_itm itm;
	char		iso[MAXDATELEN + 1];

	if (ttl == NULL)
	{
		request_add_null(request, "ttl");
		return TimestampTzPlusMilliseconds(now, (int64) default_hold_ttl_s * 1000);
	}

	/* positive, and short of the end of time (now + ttl would fail with 22008) */
	if (DatumGetBool(DirectFunctionCall2(interval_le, IntervalPGetDatum(ttl),
										 IntervalPGetDatum(&ttl_zero))))
		ttl_not_positive(ttl);
	if (DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(ttl),
										 IntervalPGetDatum(&ttl_max))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl is too long"),
				 errdetail("ttl is %s; the limit is %d years.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(ttl))),
						   TTL_MAX_YEARS)));
	expires_at = timestamptz_plus_utc(now, ttl);
	/* '1 month -30 days' compares as positive but may not be, from now */
	if (expires_at <= now)
		ttl_not_positive(ttl);
	interval2itm(*ttl, &itm);
	EncodeInterval(&itm, INTSTYLE_ISO_8601, iso);
	request_add_text(request, "ttl", iso);
	return expires_at;
}

/* Inserts the pending hold for the reserve and returns its id. */
static int64
hold_create(LedgerOp *op, const HoldReserve *r, const Slices *slices)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.hold (account_id, amount, slice_bucket_ids, slice_amounts,"
		" event_id, source, description, metadata, created_at, expires_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING hold_id",
		10, {INT8OID, INT8OID, INT8ARRAYOID, INT8ARRAYOID, TEXTOID, TEXTOID, TEXTOID,
			JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	};
	Datum		values[10] = {
		Int64GetDatum(op->account_id), Int64GetDatum(r->amount), slices_ids_array(slices),
		slices_amounts_array(slices), CStringGetTextDatum(op->event_id),
		CStringGetTextDatum(r->source),
		r->description ? CStringGetTextDatum(r->description) : (Datum) 0,
		r->metadata, TimestampTzGetDatum(op->now), TimestampTzGetDatum(r->expires_at)
	};
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', r->description ? ' ' : 'n',
		r->has_metadata ? ' ' : 'n', ' ', ' '};

	query_write_one(&q, values, nulls, QUERY_INSERT_RETURNING, "INSERT", "hold");
	return query_int64(0, 1, NULL);
}

/*
 * Reserves: draws the held credits from the buckets now, so that
 * concurrent holds can never overspend together, and writes the hold and
 * its entry. The op's result is that entry.
 */
void
hold_reserve(LedgerOp *op, const HoldReserve *r)
{
	Slices		drawn;

	account_require_active(&op->acct, false);
	/* the whole amount lowers available, backed by buckets or not */
	account_require_available(&op->acct, r->amount);
	/* what the buckets cannot cover stays unbacked until confirm makes it debt */
	buckets_draw(op, r->amount, &drawn);
	op->hold_id = hold_create(op, r, &drawn);
	account_note_expiry(&op->acct, r->expires_at);

	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_RESERVE, .reserved_delta = r->amount, .event_id = op->event_id,
		.hold_id = op->hold_id, .source = r->source, .description = r->description,
		.metadata = r->metadata, .has_metadata = r->has_metadata, .slices = &drawn,
		.subject = r->subject
	});
	op->amount = r->amount;
	limits_count(op, &(SpendCount) {.hold_subject = r->subject, .held = r->amount});
}

/*
 * The subject a hold was reserved for: its reserve entry's (found by the
 * reserve's event_id, which the hold keeps). NULL: none, or a 1.0 schema.
 */
static char *
hold_subject(LedgerOp *op, const char *event_id)
{
	Datum		keys[2] = {Int64GetDatum(op->account_id), CStringGetTextDatum(event_id)};
	Row		   *reserve = row_fetch(op->rows, ROW_ENTRY_BY_EVENT, keys);

	if (reserve == NULL)
		elog(ERROR, "credit_ledger: account %lld has no reserve entry for event_id \"%s\"",
			 (long long) op->account_id, event_id);
	return row_text(reserve, ENTRY_SUBJECT);
}

/* Loads a hold of the op's account; LD006 when the account has no such hold. */
static void
hold_load(LedgerOp *op, int64 hold_id, Hold *hold)
{
	static CachedQuery q = {
		"SELECT state, amount, slice_bucket_ids, slice_amounts, settled_amount,"
		" result_entry_id, source, event_id"
		" FROM credit_ledger.hold WHERE account_id = $1 AND hold_id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), Int64GetDatum(hold_id)};
	bool		isnull;
	bool		unsettled;

	if (query_run(&q, values, NULL, false, 0, QUERY_SELECT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_LD_HOLD_NOT_FOUND),
				 errmsg("hold not found"),
				 errdetail("Account %lld has no hold %lld.",
						   (long long) op->account_id, (long long) hold_id)));

	hold->hold_id = hold_id;
	hold->state = hold_state_parse(query_text(0, 1), hold_id);
	hold->amount = query_int64(0, 2, NULL);
	slices_from_arrays(&hold->slices, query_datum(0, 3, &isnull), query_datum(0, 4, &isnull));
	hold->settled_amount = query_int64(0, 5, &unsettled);
	hold->has_settled_amount = !unsettled;
	hold->result_entry_id = query_int64(0, 6, &isnull);
	hold->source = query_text(0, 7);
	hold->event_id = query_text(0, 8);
	hold->subject = hold_subject(op, hold->event_id);
}

/*
 * Terminal states are final. Returns true when the hold is pending. A
 * repeat of the request that settled it (same final state, same_request)
 * gets that call's result back and false; anything else is LD005, naming
 * the state.
 */
static bool
hold_require_pending(LedgerOp *op, const Hold *hold, HoldState repeat_state, bool same_request)
{
	if (hold->state == HOLD_PENDING)
		return true;
	if (hold->state == repeat_state && same_request)
	{
		entry_replay(op, hold->result_entry_id);
		return false;
	}
	if (hold->has_settled_amount)
		ereport(ERROR,
				(errcode(ERRCODE_LD_HOLD_NOT_PENDING),
				 errmsg("hold not pending"),
				 errdetail("Hold %lld of account %lld is %s for %lld credits.",
						   (long long) hold->hold_id, (long long) op->account_id,
						   hold_state_name(hold->state), (long long) hold->settled_amount)));
	ereport(ERROR,
			(errcode(ERRCODE_LD_HOLD_NOT_PENDING),
			 errmsg("hold not pending"),
			 errdetail("Hold %lld of account %lld is %s.",
					   (long long) hold->hold_id, (long long) op->account_id,
					   hold_state_name(hold->state))));
	return false;				/* not reached */
}

/* Moves a pending hold to its final state. */
static void
hold_settle(LedgerOp *op, int64 hold_id, HoldState state, int64 settled_amount,
			bool has_settled_amount, int64 result_entry_id)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.hold SET state = $3, settled_amount = $4, resolved_at = $5,"
		" result_entry_id = $6 WHERE account_id = $1 AND hold_id = $2 AND state = 'pending'",
		6, {INT8OID, INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT8OID}
	};
	Datum		values[6] = {
		Int64GetDatum(op->account_id), Int64GetDatum(hold_id),
		CStringGetTextDatum(hold_state_name(state)), Int64GetDatum(settled_amount),
		TimestampTzGetDatum(op->now), Int64GetDatum(result_entry_id)
	};
	char		nulls[6] = {' ', ' ', ' ', has_settled_amount ? ' ' : 'n', ' ', ' '};

	/* under the account lock the hold is pending: no row means a trigger skipped it */
	query_write_one(&q, values, nulls, QUERY_UPDATE, "UPDATE", "hold");
}

/*
 * Splits the held credits for a final amount up to the held amount: the
 * slices consumed in order, the slices left unused, and the part of the
 * final amount no slice covers (what the hold held on credit).
 */
static void
hold_split(const Hold *hold, int64 final, Slices *consumed, Slices *unused, int64 *unbacked)
{
	int64		left = final;

	slices_init(consumed);
	slices_init(unused);
	for (int i = 0; i < hold->slices.count; i++)
	{
		int64		take = Min(left, hold->slices.amounts[i]);

		if (take > 0)
			slices_add(consumed, hold->slices.bucket_ids[i], take);
		if (hold->slices.amounts[i] > take)
			slices_add(unused, hold->slices.bucket_ids[i], hold->slices.amounts[i] - take);
		left -= take;
	}
	*unbacked = Min(left, hold->amount - slices_total(&hold->slices));
}

/*
 * A confirm for more than held draws the excess from available: refused
 * (LD001) past the credit limit, with a DETAIL that names what the caller
 * asked for (the final amount), not only the excess.
 */
static void
confirm_require_available(const LedgerAccount *acct, const Hold *hold, int64 final)
{
	int64		excess = final - hold->amount;

	if (account_can_spend(acct, excess))
		return;
	account_refuse_credit(acct,
						  psprintf("Account %lld: available %lld, requested %lld (hold %lld holds %lld, so %lld more), credit limit %lld.",
								   (long long) acct->account_id,
								   (long long) credits_sub(acct->balance, acct->reserved),
								   (long long) final, (long long) hold->hold_id,
								   (long long) hold->amount, (long long) excess,
								   (long long) acct->credit_limit));
}

/*
 * Confirms a pending hold for its final amount (the held amount unless
 * has_amount), or replays the confirm that settled it; fills the op's
 * result. Less than held consumes the hold's slices in order and gives the
 * rest back; more than held draws the excess like a deduct, within the
 * credit limit. The entry carries op->event_id when set, and the price
 * rule and tokens of a priced charge.
 */
void
hold_confirm(LedgerOp *op, const HoldConfirm *c)
{
	Hold		hold;
	Slices		consumed;
	Slices		unused;
	int64		final;
	int64		unbacked;
	const char *subject;

	hold_load(op, c->hold_id, &hold);
	subject = c->subject ? c->subject : hold.subject;
	final = c->has_amount ? c->amount : hold.amount;
	if (!hold_require_pending(op, &hold, HOLD_CONFIRMED, hold.settled_amount == final))
		return;

	hold_split(&hold, final, &consumed, &unused, &unbacked);
	if (final > hold.amount)
	{
		/* the excess is new money out: an active account, within the limit */
		int64		excess = final - hold.amount;

		account_require_active(&op->acct, false);
		confirm_require_available(&op->acct, &hold, final);
		unbacked = credits_add(unbacked, excess);
	}
	else
	{
		/* reserved while active: a frozen account still settles what it held */
		account_require_active(&op->acct, true);
	}

	/*
	 * What the slices do not cover (the part held on credit, and any excess)
	 * comes from the buckets live now, in burn-down order, and only the rest
	 * is debt: credits granted since the reserve pay first. Debt next to a
	 * live bucket would break verify()'s "no live bucket while in debt", and
	 * those credits could expire unspent while the debt stayed.
	 */
	if (unbacked > 0)
	{
		Slices		drawn;

		money_draw(op, unbacked, &drawn);
		slices_add_all(&consumed, &drawn);
	}

	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_CONFIRM, .amount = -final, .reserved_delta = -hold.amount,
		.event_id = op->event_id, .hold_id = c->hold_id, .source = hold.source,
		.metadata = c->metadata, .has_metadata = c->has_metadata,
		.price_rule_id = c->price_rule_id, .tokens = c->tokens, .slices = &consumed,
		.subject = subject
	});
	op->hold_id = c->hold_id;
	op->amount = final;
	op->acct.total_consumed = credits_add(op->acct.total_consumed, final);
	/* what was held is consumed: only an excess over the hold raises a limit */
	limits_count(op, &(SpendCount) {
		.subject = subject, .used = final, .hold_subject = hold.subject, .held = -hold.amount
	});
	hold_settle(op, c->hold_id, HOLD_CONFIRMED, final, true, op->entry_id);
	buckets_give_back(op, &unused, op->entry_id);
}

/*
 * Releases a pending hold without consuming anything (cancel, expiry): the
 * entry gives the reservation back, the hold takes its final state and the
 * held slices return to their buckets (lapsing where a bucket expired
 * meanwhile). Returns the entry's id.
 */
static int64
hold_release(LedgerOp *op, const Hold *hold, EntryKind kind, HoldState state,
			 const char *description)
{
	int64		entry_id;

	entry_id = entry_write(op, &(LedgerEntry) {
		.kind = kind, .reserved_delta = -hold->amount, .hold_id = hold->hold_id,
		.description = description
	});
	hold_settle(op, hold->hold_id, state, 0, false, entry_id);
	buckets_give_back(op, &hold->slices, entry_id);
	limits_count(op, &(SpendCount) {.hold_subject = hold->subject, .held = -hold->amount});
	return entry_id;
}

/*
 * Cancels a pending hold (its slices go back to their buckets), or
 * replays the cancel that settled it; fills the op's result.
 */
void
hold_cancel(LedgerOp *op, int64 hold_id, const char *reason)
{
	Hold		hold;

	hold_load(op, hold_id, &hold);
	if (!hold_require_pending(op, &hold, HOLD_CANCELLED, true))
		return;
	/* releasing is money in: frozen accounts may, closed ones may not */
	account_require_active(&op->acct, true);
	op->entry_id = hold_release(op, &hold, ENTRY_CANCEL, HOLD_CANCELLED, reason);
	op->hold_id = hold.hold_id;
	op->amount = hold.amount;
}

/* Expires every pending hold of the account past its expires_at. */
void
holds_expire_due(LedgerOp *op)
{
	static CachedQuery q = {
		"SELECT hold_id, amount, slice_bucket_ids, slice_amounts, event_id FROM credit_ledger.hold"
		" WHERE account_id = $1 AND state = 'pending' AND expires_at <= $2"
		" ORDER BY hold_id",
		2, {INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), TimestampTzGetDatum(op->now)};
	uint64		rows;
	Hold	   *due;

	rows = query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	if (rows == 0)
		return;

	/* copy out: the statements below replace SPI_tuptable */
	due = palloc0(sizeof(Hold) * rows);
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;

		due[i].hold_id = query_int64(i, 1, NULL);
		due[i].amount = query_int64(i, 2, NULL);
		slices_from_arrays(&due[i].slices, query_datum(i, 3, &isnull), query_datum(i, 4, &isnull));
		due[i].event_id = query_text(i, 5);
	}
	/* the subject counts only on spend limits: read where there are some */
	for (uint64 i = 0; i < rows && op->acct.spend_limits > 0; i++)
		due[i].subject = hold_subject(op, due[i].event_id);

	for (uint64 i = 0; i < rows; i++)
		events_hold_expired(op, due[i].hold_id, due[i].amount,
							hold_release(op, &due[i], ENTRY_EXPIRE_HOLD, HOLD_EXPIRED, NULL));
	op->holds_expired += rows;
}
