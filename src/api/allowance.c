/*
 * allowance.c
 *		set_allowance and end_allowance (1.1): a recurring allowance, a
 *		bucket every UTC day, week or month (ledger/allowance.c keeps the
 *		row, ledger/arrivals.c writes the periods).
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/timestamp.h"

#include "api/args.h"
#include "ledger/allowance.h"
#include "ledger/operation.h"
#include "ledger/utc.h"

PG_FUNCTION_INFO_V1(credit_ledger_set_allowance);
PG_FUNCTION_INFO_V1(credit_ledger_end_allowance);

/*
 * How far back starts_at may be: the periods since then are written at
 * once, so a typo of a century must not write 36,500 daily buckets.
 */
#define STARTS_AT_PAST_YEARS 10

Datum
credit_ledger_set_allowance(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	AllowanceSpec spec;
	bool		has_starts_at;

	arg_require_not_null(fcinfo, 0, "account_id");
	spec.name = arg_nonempty_text(fcinfo, 1, "name");
	spec.amount = arg_positive_amount(fcinfo, 2, "amount");
	spec.period = arg_nonempty_text(fcinfo, 3, "period");
	if (strcmp(spec.period, "day") != 0 && strcmp(spec.period, "week") != 0 &&
		strcmp(spec.period, "month") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid period"),
				 errdetail("period is \"%s\"; it takes day, week or month.", spec.period)));
	spec.rollover_max = arg_count(fcinfo, 4, "rollover_max");
	spec.source = arg_nonempty_text(fcinfo, 5, "source");
	arg_require_not_null(fcinfo, 6, "priority");
	spec.priority = PG_GETARG_INT32(6);
	spec.starts_at = arg_optional_time(fcinfo, 7, "starts_at", NULL, &has_starts_at);
	if (spec.starts_at < timestamptz_plus_utc(GetCurrentStatementStartTimestamp(), &(Interval) {
		.month = -STARTS_AT_PAST_YEARS * MONTHS_PER_YEAR}))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("starts_at is too far in the past"),
				 errdetail("starts_at is %s; an allowance starts at most %d years back (the periods since then are issued at once).",
						   timestamptz_to_str(spec.starts_at), STARTS_AT_PAST_YEARS)));
	spec.ends_at = arg_optional_time(fcinfo, 8, "ends_at", "NULL means it never ends.", &spec.has_ends_at);
	if (spec.has_ends_at && spec.ends_at <= spec.starts_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ends_at must be after starts_at"),
				 errdetail("ends_at is %s, starts_at %s.",
						   pstrdup(timestamptz_to_str(spec.ends_at)), timestamptz_to_str(spec.starts_at))));

	op_init(&op, PG_GETARG_INT64(0), NULL, "set_allowance");
	op_begin(&op, OP_ACCOUNT_OPEN_IF_MISSING);
	account_require_active(&op.acct, true);
	allowance_set(&op, &spec);
	op_end(&op);
	/*
	 * A period that starts now is written now, by a frame of its own: the
	 * arrivals view reads the account as stored, so that is what it must be.
	 */
	op_init(&op, PG_GETARG_INT64(0), NULL, "set_allowance");
	op_begin(&op, OP_ACCOUNT_MUST_EXIST);
	op_end(&op);
	PG_RETURN_VOID();
}

Datum
credit_ledger_end_allowance(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	char	   *name;

	arg_require_not_null(fcinfo, 0, "account_id");
	name = arg_nonempty_text(fcinfo, 1, "name");

	op_init(&op, PG_GETARG_INT64(0), NULL, "end_allowance");
	op_begin(&op, OP_ACCOUNT_MUST_EXIST);
	allowance_end(&op, name);
	op_end(&op);
	PG_RETURN_VOID();
}
