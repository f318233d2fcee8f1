/*
 * args.c
 *		Argument checks shared by the SQL-callable functions: a required
 *		NULL is 22004, a non-positive amount, a negative count or empty text
 *		is 22023, each naming the argument. Text and jsonb arguments are
 *		kept in rows nobody may delete: larger than credit_ledger.max_text_size
 *		is 22023 too, checked before the value is even detoasted.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "api/args.h"
#include "ledger/idempotency.h"

static int	max_text_size_kb = 64;

/* Defines credit_ledger.max_text_size; called by _PG_init. */
void
args_init(void)
{
	/* superuser-set: an application role must not raise its own bound */
	DefineCustomIntVariable("credit_ledger.max_text_size",
							"Largest description, reason, source or metadata a call may store.",
							"Entries are append-only: what a call stores stays for good. Larger is 22023.",
							&max_text_size_kb,
							64, 1, MaxAllocSize / 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

/* The called function's name, for a DETAIL ("credit_ledger.deduct()"). */
static const char *
arg_function_name(FunctionCallInfo fcinfo)
{
	char	   *name = NULL;

	if (fcinfo->flinfo != NULL && OidIsValid(fcinfo->flinfo->fn_oid))
		name = get_func_name(fcinfo->flinfo->fn_oid);
	return name != NULL ? name : "?";
}

/* 22004 when the argument is NULL. */
void
arg_require_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
	{
		const char *function = arg_function_name(fcinfo);

		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errdetail("credit_ledger.%s() was called with %s NULL.", function, name)));
	}
}

/* A required bigint of at least `least` (1 or 0), else 22023 naming it. */
static int64
arg_int64_at_least(FunctionCallInfo fcinfo, int argno, const char *name, int64 least)
{
	int64		value;

	arg_require_not_null(fcinfo, argno, name);
	value = PG_GETARG_INT64(argno);
	if (value < least)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(least > 0 ? "%s must be positive" : "%s must not be negative", name),
				 errdetail("%s is %lld.", name, (long long) value)));
	return value;
}

/* An amount: required, positive. */
int64
arg_positive_amount(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return arg_int64_at_least(fcinfo, argno, name, 1);
}

/* A count such as a number of tokens or a credit limit: required, zero or more. */
int64
arg_count(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return arg_int64_at_least(fcinfo, argno, name, 0);
}

/*
 * A count a 1.0 declaration lacks (the 1.1 library serves a 1.0 schema):
 * 0 there; else as arg_count (NULL is 22004, like every count).
 */
int64
arg_count_since_1_1(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return argno < PG_NARGS() ? arg_count(fcinfo, argno, name) : 0;
}

static void
arg_require_size(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Size		bytes = toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ;

	if (bytes > (Size) max_text_size_kb * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", name),
				 errdetail("%s is %zu bytes; credit_ledger.max_text_size allows %d kB.",
						   name, bytes, max_text_size_kb)));
}

/* Required text, not empty, within max_text_size. */
char *
arg_nonempty_text(FunctionCallInfo fcinfo, int argno, const char *name)
{
	char	   *value;

	arg_require_not_null(fcinfo, argno, name);
	arg_require_size(fcinfo, argno, name);
	value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (value[0] == '\0')
	{
		const char *function = arg_function_name(fcinfo);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name),
				 errdetail("credit_ledger.%s() was called with an empty %s.", function, name)));
	}
	return value;
}

/*
 * NULL, or an argument the function's declaration lacks: the 1.1 library
 * serves a 1.0 schema, whose declarations stop before the 1.1 arguments.
 */
bool
arg_is_null(FunctionCallInfo fcinfo, int argno)
{
	return !arg_declared(fcinfo, argno) || PG_ARGISNULL(argno);
}

/*
 * Whether the function's declaration has the argument: a 1.0 declaration
 * lacks the 1.1 ones, which then take their defaults. For 1.1 arguments
 * whose NULL is 22004, not the default.
 */
bool
arg_declared(FunctionCallInfo fcinfo, int argno)
{
	return argno < PG_NARGS();
}

/* Text or NULL, within max_text_size. */
char *
arg_optional_text(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (arg_is_null(fcinfo, argno))
		return NULL;
	arg_require_size(fcinfo, argno, name);
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* The optional subject of a money-out call (1.1): NULL, or non-empty text. */
char *
arg_subject(FunctionCallInfo fcinfo, int argno)
{
	return arg_is_null(fcinfo, argno) ? NULL : arg_nonempty_text(fcinfo, argno, "subject");
}

/* jsonb or NULL (*given false), within max_text_size. */
Datum
arg_optional_jsonb(FunctionCallInfo fcinfo, int argno, const char *name, bool *given)
{
	*given = !arg_is_null(fcinfo, argno);
	if (!*given)
		return (Datum) 0;
	arg_require_size(fcinfo, argno, name);
	return PG_GETARG_DATUM(argno);
}

/* An idempotency key: required, non-empty, at most 255 bytes. */
char *
arg_event_id(FunctionCallInfo fcinfo, int argno, const char *name)
{
	char	   *event_id = arg_nonempty_text(fcinfo, argno, name);

	event_id_check(event_id);
	return event_id;
}

/* Any argument or NULL (*given false). */
Datum
arg_optional_datum(FunctionCallInfo fcinfo, int argno, bool *given)
{
	*given = !arg_is_null(fcinfo, argno);
	return *given ? PG_GETARG_DATUM(argno) : (Datum) 0;
}

/*
 * A finite instant, or NULL (*given false) when null_means says what NULL
 * means (the DETAIL of an infinite one ends with it); with null_means NULL
 * the argument is required (22004).
 */
TimestampTz
arg_optional_time(FunctionCallInfo fcinfo, int argno, const char *name, const char *null_means,
				  bool *given)
{
	TimestampTz t;

	if (null_means == NULL)
		arg_require_not_null(fcinfo, argno, name);
	t = DatumGetTimestampTz(arg_optional_datum(fcinfo, argno, given));
	if (*given && TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite time", name),
				 null_means ? errdetail("%s is %s; %s", name, timestamptz_to_str(t), null_means)
				 : errdetail("%s is %s.", name, timestamptz_to_str(t))));
	return t;
}

/*
 * account_id, amount and event_id (arguments 0 to 2) and the source (at
 * source_argno), checked in that order.
 */
void
arg_money(FunctionCallInfo fcinfo, int source_argno, MoneyArgs *args)
{
	arg_require_not_null(fcinfo, 0, "account_id");
	args->account_id = PG_GETARG_INT64(0);
	args->amount = arg_positive_amount(fcinfo, 1, "amount");
	args->event_id = arg_event_id(fcinfo, 2, "event_id");
	args->source = arg_nonempty_text(fcinfo, source_argno, "source");
}

/*
 * A subject in the request fingerprint when one is given: a call without
 * one has a 1.0 call's fingerprint, so that replays of those still match.
 */
void
request_add_subject(StringInfo request, const char *subject)
{
	if (subject != NULL)
		request_add_text(request, "subject", subject);
}

/* The amount and source in the request fingerprint, as every money call has them. */
void
request_add_money(StringInfo request, const MoneyArgs *args)
{
	request_add_int64(request, "amount", args->amount);
	request_add_text(request, "source", args->source);
}
