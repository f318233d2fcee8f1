/*
 * triggers.c
 *		Triggers on the extension's tables: the ledger is append-only; the
 *		rule tables accept only valid rows, and a change of the price rules
 *		makes every backend drop its cached rules when it commits.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "tokens.h"

PG_FUNCTION_INFO_V1(credit_ledger_refuse_entry_change);
PG_FUNCTION_INFO_V1(credit_ledger_check_price_rule);
PG_FUNCTION_INFO_V1(credit_ledger_price_rules_changed);
PG_FUNCTION_INFO_V1(credit_ledger_check_reward_rule);

#define PRICE_MAX_DECIMALS 6

static TriggerData *
trigger_data(FunctionCallInfo fcinfo, const char *name)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "credit_ledger: %s must be called as a trigger", name);
	return (TriggerData *) fcinfo->context;
}

Datum
credit_ledger_refuse_entry_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo, "refuse_entry_change");

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("ledger entries are append-only"),
			 errdetail("%s on %s is refused.",
					   TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" :
					   TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE" : "TRUNCATE",
					   RelationGetRelationName(trigdata->tg_relation)),
			 errhint("Correct a balance with credit_ledger.adjust().")));
	PG_RETURN_NULL();
}

/* ---- rule rows ---- */

/* The row a BEFORE INSERT OR UPDATE row trigger checks, with its table. */
typedef struct RuleRow
{
	TriggerData *trigdata;
	HeapTuple	tuple;
} RuleRow;

static RuleRow
rule_row(FunctionCallInfo fcinfo, const char *name)
{
	RuleRow		row;

	row.trigdata = trigger_data(fcinfo, name);
	row.tuple = TRIGGER_FIRED_BY_UPDATE(row.trigdata->tg_event) ?
		row.trigdata->tg_newtuple : row.trigdata->tg_trigtuple;
	return row;
}

/*
 * A column of the row by name. A 1.1 column reads as NULL in a 1.0 schema
 * not yet updated (the 1.1 library checks its rows too).
 */
static Datum
rule_field(const RuleRow *row, const char *column, bool *isnull)
{
	TupleDesc	desc = RelationGetDescr(row->trigdata->tg_relation);

	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (!att->attisdropped && strcmp(NameStr(att->attname), column) == 0)
			return heap_getattr(row->tuple, a + 1, desc, isnull);
	}
	*isnull = true;
	return (Datum) 0;
}

static void
rule_refuse(const RuleRow *row, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s row", RelationGetRelationName(row->trigdata->tg_relation)),
			 errdetail("%s", detail)));
}

/* NULL passes (the column's NOT NULL, if any, speaks for itself); '' does not. */
static char *
rule_text(const RuleRow *row, const char *column, const char *null_means)
{
	bool		isnull;
	Datum		d = rule_field(row, column, &isnull);
	char	   *value = isnull ? NULL : TextDatumGetCString(d);

	if (value != NULL && value[0] == '\0')
		rule_refuse(row, psprintf("%s is empty; %s.", column, null_means));
	return value;
}

/* A price (or a markup, `what`): finite, zero or more, at most six decimals. */
static void
check_decimal(const RuleRow *row, const char *column, const char *what)
{
	bool		isnull;
	Datum		price = rule_field(row, column, &isnull);
	char	   *shown;

	if (isnull)
		return;
	shown = DatumGetCString(DirectFunctionCall1(numeric_out, price));
	if (numeric_is_nan(DatumGetNumeric(price)) || numeric_is_inf(DatumGetNumeric(price)))
		rule_refuse(row, psprintf("%s is %s; %s must be a finite number.", column, shown, what));
	if (DatumGetBool(DirectFunctionCall2(numeric_lt, price,
										 NumericGetDatum(int64_to_numeric(0)))))
		rule_refuse(row, psprintf("%s is %s; %s must not be negative.", column, shown, what));
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, price,
										  DirectFunctionCall2(numeric_round, price,
															  Int32GetDatum(PRICE_MAX_DECIMALS)))))
		rule_refuse(row, psprintf("%s is %s; %s has at most %d decimals.",
								  column, shown, what, PRICE_MAX_DECIMALS));
}

/* A model is a name or a prefix followed by one '*' at its end. */
static void
check_model(const RuleRow *row)
{
	char	   *model = rule_text(row, "model", "use NULL for any model");
	char	   *star;

	if (model == NULL)
		return;
	star = strchr(model, '*');
	if (star == NULL)
		return;
	if (star[1] != '\0')
		rule_refuse(row, psprintf("model \"%s\" has a * before its end; a pattern is a prefix followed by one *.",
								  model));
	if (star == model)
		rule_refuse(row, psprintf("model \"%s\" is a pattern without a prefix; use NULL for any model.",
								  model));
}

Datum
credit_ledger_check_price_rule(PG_FUNCTION_ARGS)
{
	RuleRow		row = rule_row(fcinfo, "check_price_rule");
#define PRICE_NAME(kind, count, price, fallback, since_1_1) price,
	const char *const prices[] = {TOKEN_KIND_LIST(PRICE_NAME) "request_price"};
#undef PRICE_NAME
	bool		isnull;
	bool		until_null;
	Datum		min_charge = rule_field(&row, "min_charge", &isnull);
	Datum		min_input_tokens;
	Datum		valid_from;
	Datum		valid_until;

	rule_text(&row, "scene", "use NULL for any scene");
	rule_text(&row, "provider", "use NULL for any provider");
	rule_text(&row, "service_tier", "use NULL for any service tier");
	check_model(&row);
	for (size_t i = 0; i < lengthof(prices); i++)
		check_decimal(&row, prices[i], "a price");
	check_decimal(&row, "markup_percent", "a markup");
	if (!isnull && DatumGetInt64(min_charge) < 0)
		rule_refuse(&row, psprintf("min_charge is %lld; it must not be negative.",
								   (long long) DatumGetInt64(min_charge)));
	min_input_tokens = rule_field(&row, "min_input_tokens", &isnull);
	if (!isnull && DatumGetInt64(min_input_tokens) < 0)
		rule_refuse(&row, psprintf("min_input_tokens is %lld; it must not be negative.",
								   (long long) DatumGetInt64(min_input_tokens)));

	valid_from = rule_field(&row, "valid_from", &isnull);
	valid_until = rule_field(&row, "valid_until", &until_null);
	if (!isnull && !until_null &&
		DatumGetTimestampTz(valid_until) <= DatumGetTimestampTz(valid_from))
	{
		/* timestamptz_to_str answers in a static buffer: copy the first */
		char	   *until = pstrdup(timestamptz_to_str(DatumGetTimestampTz(valid_until)));

		rule_refuse(&row, psprintf("valid_until (%s) is not after valid_from (%s).",
								   until, timestamptz_to_str(DatumGetTimestampTz(valid_from))));
	}
	return PointerGetDatum(row.tuple);
}

/*
 * After any statement that changed price_rule: a relcache invalidation of
 * the table, sent to every backend when the transaction commits (and
 * processed by this one at once and again on rollback). Row changes alone
 * send none, and the cached rules listen for exactly this one.
 */
Datum
credit_ledger_price_rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo, "price_rules_changed");

	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

Datum
credit_ledger_check_reward_rule(PG_FUNCTION_ARGS)
{
	RuleRow		row = rule_row(fcinfo, "check_reward_rule");
	bool		isnull;
	Datum		amount;
	Datum		expires_after;
	Datum		daily_cap;

	rule_text(&row, "source", "a reward rule needs a source");
	amount = rule_field(&row, "amount", &isnull);
	if (!isnull && DatumGetInt64(amount) <= 0)
		rule_refuse(&row, psprintf("amount is %lld; a reward must be positive.",
								   (long long) DatumGetInt64(amount)));
	expires_after = rule_field(&row, "expires_after", &isnull);
	if (!isnull &&
		!DatumGetBool(DirectFunctionCall2(interval_gt, expires_after,
										  IntervalPGetDatum(palloc0(sizeof(Interval))))))
		rule_refuse(&row, psprintf("expires_after is %s; it must be positive (NULL = never expires).",
								   DatumGetCString(DirectFunctionCall1(interval_out, expires_after))));
	daily_cap = rule_field(&row, "daily_cap", &isnull);
	if (!isnull && DatumGetInt32(daily_cap) < 1)
		rule_refuse(&row, psprintf("daily_cap is %d; it must be at least 1 (NULL = no cap).",
								   DatumGetInt32(daily_cap)));
	return PointerGetDatum(row.tuple);
}
