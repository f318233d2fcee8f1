/*
 * hold.c
 *		Holds: credits reserved for a call whose cost is known at its end,
 *		taken in parts by captures (1.1) and settled once by a final capture,
 *		confirm or cancel, or expired. This unit owns the hold row: creating
 *		it (reserve, with the hold limit, its expiry policy and its lease),
 *		loading it, the pending-or-replay rule of terminal states, taking
 *		credits from it (capture, confirm, what a priced charge of a hold
 *		runs, a capture on expiry), releasing it (cancel, expiry), extending
 *		it, ending the holds of a dead lease owner, and the final state
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

static const char *const on_expiry_names[HOLD_ON_EXPIRY_COUNT] = {
	[HOLD_EXPIRY_RELEASE] = "release",
	[HOLD_EXPIRY_CAPTURE] = "capture",
};

/*
 * The hold columns the 1.1 script added, and what they read as in a 1.0
 * schema not yet updated (nothing captured, released on expiry): a
 * statement that names them has one text per schema, chosen by
 * row_schema_1_1().
 */
#define HOLD_COLUMNS_1_1 "captured, on_expiry, transfer_to"
#define HOLD_COLUMNS_1_0 "0::bigint, 'release'::text, NULL::bigint"

/* The state as stored in hold.state. */
const char *
hold_state_name(HoldState state)
{
	return state_names[state];
}

/* reserve's on_expiry; 22023 for anything but release or capture. */
HoldOnExpiry
hold_on_expiry_parse(const char *name)
{
	for (int i = 0; i < HOLD_ON_EXPIRY_COUNT; i++)
		if (strcmp(name, on_expiry_names[i]) == 0)
			return (HoldOnExpiry) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid on_expiry"),
			 errdetail("on_expiry is \"%s\", not one of release, capture.", name)));
	return HOLD_EXPIRY_RELEASE; /* keep compiler quiet */
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

/*
 * Inserts the pending hold for the reserve and returns its id. A lease
 * records the calling session as the backend's pid and start time, two
 * values the process has at hand: no lookup, no round trip. The worker
 * matches them against the live backends (worker/leases.c).
 */
static int64
hold_create(LedgerOp *op, const HoldReserve *r, const Slices *slices)
{
#define HOLD_INSERT(columns, params) \
	"INSERT INTO credit_ledger.hold (account_id, amount, slice_bucket_ids, slice_amounts," \
	" event_id, source, description, metadata, created_at, expires_at" columns ")" \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10" params ") RETURNING hold_id"
	static CachedQuery q[2] = {
		{HOLD_INSERT("", ""), 10,
			{INT8OID, INT8OID, INT8ARRAYOID, INT8ARRAYOID, TEXTOID, TEXTOID, TEXTOID,
			JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}},
		{HOLD_INSERT(", on_expiry, lease_pid, lease_started_at", ", $11, $12, $13"), 13,
			{INT8OID, INT8OID, INT8ARRAYOID, INT8ARRAYOID, TEXTOID, TEXTOID, TEXTOID,
			JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, INT4OID, TIMESTAMPTZOID}}
	};
#undef HOLD_INSERT
	Datum		values[13] = {
		Int64GetDatum(op->account_id), Int64GetDatum(r->amount), slices_ids_array(slices),
		slices_amounts_array(slices), CStringGetTextDatum(op->event_id),
		CStringGetTextDatum(r->source),
		r->description ? CStringGetTextDatum(r->description) : (Datum) 0,
		r->metadata, TimestampTzGetDatum(op->now), TimestampTzGetDatum(r->expires_at),
		CStringGetTextDatum(on_expiry_names[r->on_expiry]), Int32GetDatum(MyProcPid),
		TimestampTzGetDatum(MyStartTimestamp)
	};
	char		nulls[13] = {' ', ' ', ' ', ' ', ' ', ' ', r->description ? ' ' : 'n',
		r->has_metadata ? ' ' : 'n', ' ', ' ', ' ', r->lease ? ' ' : 'n', r->lease ? ' ' : 'n'};

	query_write_one(&q[row_schema_1_1()], values, nulls, QUERY_INSERT_RETURNING, "INSERT", "hold");
	return query_int64(0, 1, NULL);
}

/*
 * LD010 when the account has as many pending holds as set_hold_limit
 * allows. Due expiries are written already: only holds that still count
 * are counted (a lease whose owner died counts until the worker ends it).
 * A transfer's hold is not the application's: it does not count. (Only a
 * 1.1 schema has hold limits, and every 1.1 schema has transfer_to.)
 */
static void
hold_require_room(LedgerOp *op)
{
	static CachedQuery q = {
		"SELECT count(*) FROM credit_ledger.hold WHERE account_id = $1 AND state = 'pending'"
		" AND transfer_to IS NULL",
		1, {INT8OID}
	};
	Datum		values[1] = {Int64GetDatum(op->account_id)};
	int64		pending;

	if (!op->acct.has_max_pending_holds)
		return;
	query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	pending = query_int64(0, 1, NULL);
	if (pending >= op->acct.max_pending_holds)
		ereport(ERROR,
				(errcode(ERRCODE_LD_TOO_MANY_HOLDS),
				 errmsg("too many pending holds"),
				 errdetail("Account %lld has %lld pending holds; its limit is %d.",
						   (long long) op->account_id, (long long) pending,
						   op->acct.max_pending_holds)));
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
	hold_require_room(op);
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
#define HOLD_SELECT(columns) \
	"SELECT state, amount, slice_bucket_ids, slice_amounts, settled_amount," \
	" result_entry_id, source, created_at, expires_at, event_id, " columns \
	" FROM credit_ledger.hold WHERE account_id = $1 AND hold_id = $2"
	static CachedQuery q[2] = {
		{HOLD_SELECT(HOLD_COLUMNS_1_0), 2, {INT8OID, INT8OID}},
		{HOLD_SELECT(HOLD_COLUMNS_1_1), 2, {INT8OID, INT8OID}}
	};
#undef HOLD_SELECT
	Datum		values[2] = {Int64GetDatum(op->account_id), Int64GetDatum(hold_id)};
	bool		isnull;
	bool		unsettled;

	if (query_run(&q[row_schema_1_1()], values, NULL, false, 0, QUERY_SELECT) == 0)
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
	hold->created_at = DatumGetTimestampTz(query_datum(0, 8, &isnull));
	hold->expires_at = DatumGetTimestampTz(query_datum(0, 9, &isnull));
	hold->event_id = query_text(0, 10);
	hold->subject = hold_subject(op, hold->event_id);
	hold->captured = query_int64(0, 11, NULL);
	hold->on_expiry = hold_on_expiry_parse(query_text(0, 12));
	hold->transfer_to = query_int64(0, 13, &isnull);
}

/* What a pending hold still holds. */
static int64
hold_held(const Hold *hold)
{
	return hold->amount - hold->captured;
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
	/* a transfer's hold is its saga's alone (hold_transfer_end) */
	if (hold->transfer_to != 0)
		ereport(ERROR,
				(errcode(ERRCODE_LD_HOLD_NOT_PENDING),
				 errmsg("hold not pending"),
				 errdetail("Hold %lld of account %lld belongs to a transfer to account %lld; only the transfer settles it.",
						   (long long) hold->hold_id, (long long) op->account_id,
						   (long long) hold->transfer_to)));
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

/*
 * The instant a pending hold of the op's account was reserved: a priced
 * charge of the hold prices with the rules of then. LD006 when there is no
 * such hold, LD005 when it is settled (nothing left to price).
 */
TimestampTz
hold_reserved_at(LedgerOp *op, int64 hold_id)
{
	Hold		hold;

	hold_load(op, hold_id, &hold);
	hold_require_pending(op, &hold, HOLD_PENDING, false);
	return hold.created_at;
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

/* Stores what a capture left of a pending hold: its captured total and the slices it still holds. */
static void
hold_store_captured(LedgerOp *op, const Hold *hold, const Slices *held)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.hold SET captured = $3, slice_bucket_ids = $4, slice_amounts = $5"
		" WHERE account_id = $1 AND hold_id = $2 AND state = 'pending'",
		5, {INT8OID, INT8OID, INT8OID, INT8ARRAYOID, INT8ARRAYOID}
	};
	Datum		values[5] = {
		Int64GetDatum(op->account_id), Int64GetDatum(hold->hold_id),
		Int64GetDatum(hold->captured), slices_ids_array(held), slices_amounts_array(held)
	};

	query_write_one(&q, values, NULL, QUERY_UPDATE, "UPDATE", "hold");
}

/*
 * Splits what the hold holds for an amount taken from it: the slices
 * consumed in order, the slices left unused, and the part of the amount
 * no slice covers, up to what the hold held on credit.
 */
static void
hold_split(const Hold *hold, int64 take, Slices *consumed, Slices *unused, int64 *unbacked)
{
	int64		left = take;

	slices_init(consumed);
	slices_init(unused);
	for (int i = 0; i < hold->slices.count; i++)
	{
		int64		part = Min(left, hold->slices.amounts[i]);

		if (part > 0)
			slices_add(consumed, hold->slices.bucket_ids[i], part);
		if (hold->slices.amounts[i] > part)
			slices_add(unused, hold->slices.bucket_ids[i], hold->slices.amounts[i] - part);
		left -= part;
	}
	*unbacked = Min(left, hold_held(hold) - slices_total(&hold->slices));
}

/*
 * Taking more than the hold holds draws the excess from available: refused
 * (LD001) past the credit limit, with a DETAIL that names what the caller
 * asked for, not only the excess. Only the caller's request can: a hold
 * ending by itself takes what it holds.
 */
static void
hold_require_available(const LedgerAccount *acct, const Hold *hold, int64 take)
{
	int64		held = hold_held(hold);
	int64		excess = take - held;

	if (account_can_spend(acct, excess))
		return;
	account_refuse_credit(acct,
						  psprintf("Account %lld: available %lld, requested %lld (hold %lld holds %lld, so %lld more), credit limit %lld.",
								   (long long) acct->account_id,
								   (long long) credits_sub(acct->balance, acct->reserved),
								   (long long) take, (long long) hold->hold_id,
								   (long long) held, (long long) excess,
								   (long long) acct->credit_limit));
}

/* Credits taken from a pending hold: by a capture, a confirm, or the hold's own expiry. */
typedef struct HoldTake
{
	EntryKind	kind;			/* ENTRY_CAPTURE or ENTRY_CONFIRM */
	int64		amount;
	bool		final;			/* the hold ends: the rest comes back */
	HoldState	end_state;		/* its state when it ends */
	const char *event_id;		/* the caller's key; NULL for an expiry */
	const char *description;
	Datum		metadata;
	bool		has_metadata;
	int64		price_rule_id;	/* 0 = not priced */
	const int64 *tokens;		/* NULL = not priced */
	const char *subject;		/* who spends; NULL: the hold's */
} HoldTake;

/*
 * The one rule of taking from a hold, what capture, confirm and a capture
 * on expiry share: the amount consumes the hold's slices in order, then
 * what it held on credit, then, past what it holds, is drawn from
 * available like a deduct. The part no slice covers comes from the
 * buckets live now, in burn-down order, and only the rest is debt:
 * credits granted since the reserve pay first (debt next to a live bucket
 * would break verify()'s "no live bucket while in debt"). The hold ends
 * when the take is final or uses up what it holds, and gives back what is
 * left; otherwise it keeps the unused slices. The account's status rule is
 * the caller's. Returns the entry's id.
 */
static int64
hold_take(LedgerOp *op, Hold *hold, const HoldTake *t)
{
	int64		held = hold_held(hold);
	bool		ends = t->final || t->amount >= held;
	int64		released = ends ? held : t->amount;
	const char *subject = t->subject ? t->subject : hold->subject;
	int64		entry_id;
	Slices		consumed;
	Slices		unused;
	int64		unbacked;

	hold_split(hold, t->amount, &consumed, &unused, &unbacked);
	if (t->amount > held)
	{
		hold_require_available(&op->acct, hold, t->amount);
		unbacked = credits_add(unbacked, t->amount - held);
	}
	if (unbacked > 0)
	{
		Slices		drawn;

		money_draw(op, unbacked, &drawn);
		slices_add_all(&consumed, &drawn);
	}

	entry_id = entry_write(op, &(LedgerEntry) {
		.kind = t->kind, .amount = -t->amount, .reserved_delta = -released,
		.event_id = t->event_id, .hold_id = hold->hold_id, .source = hold->source,
		.description = t->description, .metadata = t->metadata,
		.has_metadata = t->has_metadata, .price_rule_id = t->price_rule_id,
		.tokens = t->tokens, .slices = &consumed, .subject = subject
	});
	op->acct.total_consumed = credits_add(op->acct.total_consumed, t->amount);
	/* what was held is consumed: only a take past the hold raises a limit */
	limits_count(op, &(SpendCount) {
		.subject = subject, .used = t->amount, .hold_subject = hold->subject, .held = -released
	});

	if (t->kind == ENTRY_CAPTURE)
	{
		hold->captured = credits_add(hold->captured, t->amount);
		hold_store_captured(op, hold, ends ? &hold->slices : &unused);
	}
	if (ends)
	{
		hold_settle(op, hold->hold_id, t->end_state,
					t->kind == ENTRY_CAPTURE ? hold->captured : credits_add(hold->captured, t->amount),
					true, entry_id);
		buckets_give_back(op, &unused, entry_id);
	}
	return entry_id;
}

/*
 * Taking past what the hold holds is new money out: an active account.
 * Up to it, credits set aside while active: a frozen account still
 * settles them.
 */
static void
hold_require_status(const LedgerOp *op, const Hold *hold, int64 take)
{
	account_require_active(&op->acct, take <= hold_held(hold));
}

/*
 * Captures part of a pending hold (1.1). Repeats are replayed by event_id
 * before this runs (op_begin); a hold no longer pending is LD005.
 */
void
hold_capture(LedgerOp *op, const HoldCapture *c)
{
	Hold		hold;

	hold_load(op, c->hold_id, &hold);
	hold_require_pending(op, &hold, HOLD_PENDING, false);
	hold_require_status(op, &hold, c->amount);
	op->entry_id = hold_take(op, &hold, &(HoldTake) {
		.kind = ENTRY_CAPTURE, .amount = c->amount, .final = c->final,
		.end_state = HOLD_CONFIRMED, .event_id = op->event_id, .metadata = c->metadata,
		.has_metadata = c->has_metadata, .subject = c->subject
	});
	op->hold_id = hold.hold_id;
	op->amount = c->amount;
}

/*
 * Confirms a pending hold: a final take of the amount, or of all it still
 * holds (no amount); or replays the confirm that settled it: the same
 * amount again, which is what the hold's settled amount says beyond its
 * captures. The entry carries the price rule and tokens of a priced
 * charge.
 */
void
hold_confirm(LedgerOp *op, const HoldConfirm *c)
{
	Hold		hold;
	int64		take;

	hold_load(op, c->hold_id, &hold);
	take = c->has_amount ? c->amount : hold_held(&hold);
	if (!hold_require_pending(op, &hold, HOLD_CONFIRMED,
							  take > 0 && hold.settled_amount - hold.captured == take))
		return;
	hold_require_status(op, &hold, take);
	op->entry_id = hold_take(op, &hold, &(HoldTake) {
		.kind = ENTRY_CONFIRM, .amount = take, .final = true, .end_state = HOLD_CONFIRMED,
		.event_id = op->event_id, .metadata = c->metadata, .has_metadata = c->has_metadata,
		.price_rule_id = c->price_rule_id, .tokens = c->tokens, .subject = c->subject
	});
	op->hold_id = hold.hold_id;
	op->amount = take;
}

/*
 * Releases what a pending hold still holds without consuming it (cancel,
 * expiry): the entry gives the reservation back, the hold takes its final
 * state (its settled amount is what its captures took, if any) and the
 * held slices return to their buckets (lapsing where a bucket expired
 * meanwhile). Returns the entry's id.
 */
static int64
hold_release(LedgerOp *op, const Hold *hold, EntryKind kind, HoldState state,
			 const char *description)
{
	int64		entry_id;

	entry_id = entry_write(op, &(LedgerEntry) {
		.kind = kind, .reserved_delta = -hold_held(hold), .hold_id = hold->hold_id,
		.description = description
	});
	hold_settle(op, hold->hold_id, state, hold->captured, hold->captured > 0, entry_id);
	buckets_give_back(op, &hold->slices, entry_id);
	limits_count(op, &(SpendCount) {.hold_subject = hold->subject, .held = -hold_held(hold)});
	return entry_id;
}

/*
 * Cancels a pending hold (its slices go back to their buckets), or
 * replays the cancel that settled it; fills the op's result. What
 * captures took stays taken.
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
	op->amount = hold_held(&hold);
}

/* Sets a pending hold's expires_at. */
static void
hold_store_expiry(LedgerOp *op, int64 hold_id, TimestampTz expires_at)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.hold SET expires_at = $3"
		" WHERE account_id = $1 AND hold_id = $2 AND state = 'pending'",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[3] = {
		Int64GetDatum(op->account_id), Int64GetDatum(hold_id), TimestampTzGetDatum(expires_at)
	};

	query_write_one(&q, values, NULL, QUERY_UPDATE, "UPDATE", "hold");
}

/*
 * Extends a pending hold (1.1): it expires at expires_at, or later if it
 * already did (an extension never shortens a hold). One extend_hold entry
 * records it; it moves no credits. A hold past its expiry was expired by
 * op_begin: LD005. The account's next_expiry_at stays a lower bound.
 */
void
hold_extend(LedgerOp *op, int64 hold_id, TimestampTz expires_at)
{
	Hold		hold;

	hold_load(op, hold_id, &hold);
	hold_require_pending(op, &hold, HOLD_PENDING, false);
	account_require_active(&op->acct, true);
	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_EXTEND_HOLD, .event_id = op->event_id, .hold_id = hold_id,
		.source = hold.source
	});
	if (expires_at > hold.expires_at)
		hold_store_expiry(op, hold_id, expires_at);
	op->hold_id = hold_id;
	op->amount = 0;
}

/*
 * A pending hold ends by itself (its ttl passed, or its lease owner is
 * gone): released, or with on_expiry => 'capture' charged all it holds, in
 * a capture entry that says why; either way its state is expired and a
 * hold.expired event reports it. The account's status does not matter:
 * the credits were set aside while it was active.
 */
static void
hold_expire(LedgerOp *op, Hold *hold, const char *why)
{
	int64		held = hold_held(hold);
	int64		entry_id;

	if (hold->on_expiry == HOLD_EXPIRY_CAPTURE)
		entry_id = hold_take(op, hold, &(HoldTake) {
			.kind = ENTRY_CAPTURE, .amount = held, .final = true, .end_state = HOLD_EXPIRED,
			.description = why ? psprintf("%s; on_expiry capture", why) : "on_expiry capture"
		});
	else
		entry_id = hold_release(op, hold, ENTRY_EXPIRE_HOLD, HOLD_EXPIRED, why);
	events_hold_expired(op, hold->hold_id, held, entry_id);
	op->holds_expired++;
}

/* Ends each hold of the ids (query results copied out first: hold_expire runs statements). */
static void
holds_expire_listed(LedgerOp *op, uint64 rows, const char *why)
{
	int64	   *hold_ids = palloc(sizeof(int64) * (rows + 1));

	for (uint64 i = 0; i < rows; i++)
		hold_ids[i] = query_int64(i, 1, NULL);
	for (uint64 i = 0; i < rows; i++)
	{
		Hold		hold;

		hold_load(op, hold_ids[i], &hold);
		hold_expire(op, &hold, why);
	}
}

/*
 * Expires the account's pending holds past their expires_at whose
 * on_expiry is `which` (expiry.c runs the releases before the buckets'
 * expiry and the captures after it, so that a capture draws only from
 * buckets still live). A 1.0 schema has no capturing holds.
 */
void
holds_expire_due(LedgerOp *op, HoldOnExpiry which)
{
#define HOLDS_DUE(filter) \
	"SELECT hold_id FROM credit_ledger.hold" \
	" WHERE account_id = $1 AND state = 'pending' AND expires_at <= $2" filter \
	" ORDER BY hold_id"
	static CachedQuery q[2] = {
		{HOLDS_DUE(""), 3, {INT8OID, TIMESTAMPTZOID, TEXTOID}},
		{HOLDS_DUE(" AND on_expiry = $3"), 3, {INT8OID, TIMESTAMPTZOID, TEXTOID}}
	};
#undef HOLDS_DUE
	Datum		values[3] = {
		Int64GetDatum(op->account_id), TimestampTzGetDatum(op->now),
		CStringGetTextDatum(on_expiry_names[which])
	};
	bool		schema_1_1 = row_schema_1_1();

	if (which == HOLD_EXPIRY_CAPTURE && !schema_1_1)
		return;
	holds_expire_listed(op, query_run(&q[schema_1_1], values, NULL, false, 0, QUERY_SELECT), NULL);
}

/*
 * Ends the account's pending holds leased by a session that is gone
 * (lease_pid and lease_started_at name it; worker/leases.c found it dead),
 * as their expiry would.
 */
void
holds_end_lease(LedgerOp *op, int32 lease_pid, TimestampTz lease_started_at)
{
	static CachedQuery q = {
		"SELECT hold_id FROM credit_ledger.hold"
		" WHERE account_id = $1 AND state = 'pending' AND lease_pid = $2"
		"   AND lease_started_at = $3 ORDER BY hold_id",
		3, {INT8OID, INT4OID, TIMESTAMPTZOID}
	};
	Datum		values[3] = {
		Int64GetDatum(op->account_id), Int32GetDatum(lease_pid),
		TimestampTzGetDatum(lease_started_at)
	};

	holds_expire_listed(op, query_run(&q, values, NULL, false, 0, QUERY_SELECT), "lease ended");
}

/*
 * Holds credits for a transfer to an account of another server, the first
 * step of its saga (transfer.c): the slices drawn become a pending hold
 * that never expires by itself (expires_at infinity: releasing it after the
 * receiver got the credits would create them) and that capture, confirm,
 * cancel, extend_hold and a charge refuse; it is not spend, so no spend
 * limit counts it. Its reserve entry carries the transfer's event_id.
 * Returns the hold's id.
 */
int64
hold_transfer_create(LedgerOp *op, int64 amount, int64 to_account, const Slices *drawn,
					 const char *description, Datum metadata, bool has_metadata)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.hold SET transfer_to = $3 WHERE account_id = $1 AND hold_id = $2",
		3, {INT8OID, INT8OID, INT8OID}
	};
	HoldReserve r = {
		.amount = amount, .source = "transfer", .description = description,
		.metadata = metadata, .has_metadata = has_metadata, .on_expiry = HOLD_EXPIRY_RELEASE
	};
	Datum		values[3];
	int64		hold_id;

	TIMESTAMP_NOEND(r.expires_at);
	hold_id = hold_create(op, &r, drawn);
	values[0] = Int64GetDatum(op->account_id);
	values[1] = Int64GetDatum(hold_id);
	values[2] = Int64GetDatum(to_account);
	query_write_one(&q, values, NULL, QUERY_UPDATE, "UPDATE", "hold");
	op->entry_id = entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_RESERVE, .reserved_delta = amount, .event_id = op->event_id,
		.hold_id = hold_id, .source = r.source, .description = description,
		.metadata = metadata, .has_metadata = has_metadata, .slices = drawn
	});
	op->hold_id = hold_id;
	op->amount = amount;
	return hold_id;
}

/*
 * Ends a transfer's pending hold, the last step of its saga: settled, its
 * slices become the transfer_out entry (credits out, not consumption:
 * neither total_consumed nor a spend limit counts them), naming the
 * receiver's transfer_in entry on the other server; or released (the
 * receiver refused), a cancel entry giving the slices back. The account's
 * status does not matter: the credits were set aside while it was active.
 * Returns the entry's id.
 */
int64
hold_transfer_end(LedgerOp *op, int64 hold_id, bool settle, int64 in_entry_id,
				  const char *description, Datum metadata, bool has_metadata)
{
	Hold		hold;
	int64		entry_id;

	hold_load(op, hold_id, &hold);
	if (hold.state != HOLD_PENDING || hold.transfer_to == 0)
		elog(ERROR, "credit_ledger: hold %lld of account %lld is not a pending transfer's",
			 (long long) hold_id, (long long) op->account_id);
	if (!settle)
	{
		entry_id = entry_write(op, &(LedgerEntry) {
			.kind = ENTRY_CANCEL, .reserved_delta = -hold_held(&hold), .hold_id = hold_id,
			.description = "transfer undone"
		});
		hold_settle(op, hold_id, HOLD_CANCELLED, 0, false, entry_id);
		buckets_give_back(op, &hold.slices, entry_id);
		return entry_id;
	}
	entry_id = entry_write(op, &(LedgerEntry) {
		.kind = ENTRY_TRANSFER_OUT, .amount = -hold.amount, .reserved_delta = -hold.amount,
		.hold_id = hold_id, .description = description, .metadata = metadata,
		.has_metadata = has_metadata, .slices = &hold.slices, .ref_entry_id = in_entry_id
	});
	hold_settle(op, hold_id, HOLD_CONFIRMED, 0, false, entry_id);
	return entry_id;
}
