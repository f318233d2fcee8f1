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
#include "utils/lsyscache.h"

#include "credit_ledger.h"

/* The called function's name, for a DETAIL ("credit_ledger.deduct()"). */
static const char *
arg_function_name(FunctionCallInfo fcinfo)
{
	char	   *name = NULL;

	if (fcinfo->flinfo != NULL && OidIsValid(fcinfo->flinfo->fn_oid))
		name = get_func_name(fcinfo->flinfo->fn_oid);
	return name != NULL ? name : "?";
}

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

int64
arg_positive_amount(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return arg_int64_at_least(fcinfo, argno, name, 1);
}

/* A count such as a number of tokens: required, zero or more. */
int64
arg_count(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return arg_int64_at_least(fcinfo, argno, name, 0);
}

static void
arg_require_size(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Size		bytes = toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ;

	if (bytes > (Size) credit_ledger_max_text_size_kb * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", name),
				 errdetail("%s is %zu bytes; credit_ledger.max_text_size allows %d kB.",
						   name, bytes, credit_ledger_max_text_size_kb)));
}

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

char *
arg_optional_text(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	arg_require_size(fcinfo, argno, name);
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

Datum
arg_optional_jsonb(FunctionCallInfo fcinfo, int argno, const char *name, bool *given)
{
	*given = !PG_ARGISNULL(argno);
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

Datum
arg_optional_datum(FunctionCallInfo fcinfo, int argno, bool *given)
{
	*given = !PG_ARGISNULL(argno);
	return *given ? PG_GETARG_DATUM(argno) : (Datum) 0;
}
