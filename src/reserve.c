/*
 * reserve.c
 *		reserve: holds an estimate of a call's cost until confirm, cancel or
 *		expiry. The held credits are drawn from the buckets now, so that
 *		concurrent holds can never overspend together.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "credit_ledger.h"
#include "query.h"

PG_FUNCTION_INFO_V1(credit_ledger_reserve);

/* Inserts the pending hold and returns its id. */
static int64
hold_create(LedgerOp *op, int64 amount, const Slices *slices, const char *source,
			const char *description, Datum metadata, bool has_metadata, TimestampTz expires_at)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.hold (account_id, amount, slice_bucket_ids, slice_amounts,"
		" event_id, source, description, metadata, created_at, expires_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING hold_id",
		10, {INT8OID, INT8OID, INT8ARRAYOID, INT8ARRAYOID, TEXTOID, TEXTOID, TEXTOID,
			JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	};
	Datum		values[10] = {
		Int64GetDatum(op->account_id), Int64GetDatum(amount), slices_ids_array(slices),
		slices_amounts_array(slices), CStringGetTextDatum(op->event_id),
		CStringGetTextDatum(source), description ? CStringGetTextDatum(description) : (Datum) 0,
		metadata, TimestampTzGetDatum(op->now), TimestampTzGetDatum(expires_at)
	};
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', description ? ' ' : 'n',
		has_metadata ? ' ' : 'n', ' ', ' '};

	query_write_one(&q, values, nulls, SPI_OK_INSERT_RETURNING, "INSERT", "hold");
	return query_int64(0, 1, NULL);
}

/*
 * When the hold expires: now + ttl, or now + credit_ledger.default_hold_ttl
 * when ttl is NULL. "now" is the statement's start, the instant op_begin
 * will use. The ttl also goes into the request fingerprint, in ISO 8601
 * so that IntervalStyle cannot make one ttl two requests.
 */
#define TTL_MAX_YEARS 10000

static void
ttl_not_positive(Interval *ttl)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ttl must be positive"),
			 errdetail("ttl is %s.",
					   DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(ttl))))));
}

static TimestampTz
hold_expiry(FunctionCallInfo fcinfo, int argno, StringInfo request)
{
	static const Interval ttl_zero = {0};
	static const Interval ttl_max = {.month = TTL_MAX_YEARS * MONTHS_PER_YEAR};
	TimestampTz now = GetCurrentStatementStartTimestamp();
	TimestampTz expires_at;
	Interval   *ttl;
	struct pg_itm itm;
	char		iso[MAXDATELEN + 1];

	if (PG_ARGISNULL(argno))
	{
		request_add_null(request, "ttl");
		return TimestampTzPlusMilliseconds(now, (int64) credit_ledger_default_hold_ttl_s * 1000);
	}

	ttl = PG_GETARG_INTERVAL_P(argno);
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

Datum
credit_ledger_reserve(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	int64		amount;
	char	   *event_id;
	char	   *source;
	TimestampTz expires_at;
	char	   *description;
	bool		has_metadata;
	Datum		metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	amount = arg_positive_amount(fcinfo, 1, "amount");
	event_id = arg_event_id(fcinfo, 2, "event_id");
	source = arg_nonempty_text(fcinfo, 4, "source");
	description = arg_optional_text(fcinfo, 5, "description");
	metadata = arg_optional_jsonb(fcinfo, 6, "metadata", &has_metadata);

	op_init(&op, PG_GETARG_INT64(0), event_id, "reserve");
	request_add_int64(&op.request, "amount", amount);
	request_add_text(&op.request, "source", source);
	expires_at = hold_expiry(fcinfo, 3, &op.request);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		Slices		drawn;

		account_require_active(&op.acct, false);
		/* the whole amount lowers available, backed by buckets or not */
		account_require_available(&op.acct, amount);
		/* what the buckets cannot cover stays unbacked until confirm makes it debt */
		buckets_draw(&op, amount, &drawn);
		op.hold_id = hold_create(&op, amount, &drawn, source, description,
								 metadata, has_metadata, expires_at);
		account_note_expiry(&op.acct, expires_at);

		op.entry_id = entry_write(&op, &(LedgerEntry) {
			.kind = "reserve", .reserved_delta = amount, .event_id = op.event_id,
			.hold_id = op.hold_id, .source = source, .description = description,
			.metadata = metadata, .has_metadata = has_metadata, .slices = &drawn
		});
		op.amount = amount;
	}
	PG_RETURN_DATUM(op_finish(&op, fcinfo));
}
