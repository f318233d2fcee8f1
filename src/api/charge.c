/*
 * charge.c
 *		Usage pricing for callers: quote (what a call costs now) and charge
 *		(price a call and deduct it, or confirm its hold, in one idempotent
 *		step that records the rule and the token counts). charge_many: many
 *		charges in one call, each item run as charge (api/batch.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"

#include "tokens.h"
#include "api/args.h"
#include "api/batch.h"
#include "api/op_result.h"
#include "pricing/price_rules.h"
#include "ledger/hold.h"
#include "ledger/idempotency.h"
#include "ledger/money.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_quote);
PG_FUNCTION_INFO_V1(credit_ledger_charge);
PG_FUNCTION_INFO_V1(credit_ledger_charge_many);

/* What a call used: where, on which model, and how many tokens of each kind. */
typedef struct Usage
{
	char	   *scene;			/* NULL = none */
	char	   *provider;
	char	   *model;
	int64		tokens[TOKEN_KINDS];
} Usage;

/* scene, provider, model from argument argno on, then the four token counts */
static void
usage_args(FunctionCallInfo fcinfo, int argno, Usage *usage)
{
	usage->scene = arg_optional_text(fcinfo, argno, "scene");
	usage->provider = arg_optional_text(fcinfo, argno + 1, "provider");
	usage->model = arg_optional_text(fcinfo, argno + 2, "model");
	for (int i = 0; i < TOKEN_KINDS; i++)
		usage->tokens[i] = arg_count(fcinfo, argno + 3 + i, token_count_name(i));
}

/* The charge entry's description: "scene=chat provider=openai model=gpt-4o". */
static char *
usage_description(const Usage *usage)
{
	StringInfoData d;
	const char *names[3] = {"scene", "provider", "model"};
	const char *values[3] = {usage->scene, usage->provider, usage->model};

	initStringInfo(&d);
	for (int i = 0; i < 3; i++)
	{
		if (values[i] != NULL)
			appendStringInfo(&d, "%s%s=%s", d.len > 0 ? " " : "", names[i], values[i]);
	}
	return d.len > 0 ? d.data : NULL;
}

/* Priced at the statement's start, the instant a charge in its place would use. */
Datum
credit_ledger_quote(PG_FUNCTION_ARGS)
{
	Usage		usage;
	const PriceRule *rule;

	usage_args(fcinfo, 0, &usage);
	rule = price_rule_resolve(usage.scene, usage.provider, usage.model,
							  GetCurrentStatementStartTimestamp());
	PG_RETURN_INT64(price_quote(rule, usage.tokens));
}

/*
 * The rule is resolved after the account lock is held and read once: the
 * amount and the recorded price_rule_id always come from the same rule, and
 * a price change committed while the call waited for the lock applies. A
 * replay answers from the original entry and never looks at the rules.
 * A call that prices to 0 credits still writes its entry (amount 0) so that
 * the call and its tokens are on record; with a hold, that confirms the
 * hold for 0 and gives all it held back.
 */
Datum
credit_ledger_charge(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	char	   *event_id;
	Usage		usage;
	bool		has_hold;
	int64		hold_id;
	bool		has_metadata;
	Datum		metadata;

	arg_require_not_null(fcinfo, 0, "account_id");
	event_id = arg_event_id(fcinfo, 1, "event_id");
	usage_args(fcinfo, 2, &usage);
	hold_id = DatumGetInt64(arg_optional_datum(fcinfo, 9, &has_hold));
	metadata = arg_optional_jsonb(fcinfo, 10, "metadata", &has_metadata);

	op_init(&op, PG_GETARG_INT64(0), event_id, "charge");
	request_add_optional_text(&op.request, "scene", usage.scene);
	request_add_optional_text(&op.request, "provider", usage.provider);
	request_add_optional_text(&op.request, "model", usage.model);
	for (int i = 0; i < TOKEN_KINDS; i++)
		request_add_int64(&op.request, token_count_name(i), usage.tokens[i]);
	if (has_hold)
		request_add_int64(&op.request, "hold_id", hold_id);
	else
		request_add_null(&op.request, "hold_id");

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		const PriceRule *rule;
		int64		price_rule_id;
		int64		credits;

		/* a hold's confirm applies its own status rule (a frozen account settles) */
		if (!has_hold)
			account_require_active(&op.acct, false);
		rule = price_rule_resolve(usage.scene, usage.provider, usage.model, op.now);
		price_rule_id = rule->id;
		credits = price_quote(rule, usage.tokens);
		if (has_hold)
			hold_confirm(&op, &(HoldConfirm) {
				.hold_id = hold_id, .has_amount = true, .amount = credits,
				.metadata = metadata, .has_metadata = has_metadata,
				.price_rule_id = price_rule_id, .tokens = usage.tokens
			});
		else
			money_out(&op, &(MoneyOut) {
				.kind = ENTRY_DEDUCT, .amount = credits, .source = "usage",
				.description = usage_description(&usage),
				.metadata = metadata, .has_metadata = has_metadata,
				.price_rule_id = price_rule_id, .tokens = usage.tokens
			});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}

/* charge's 1.1 argument list, which each item of charge_many is called with */
static const Oid charge_argtypes[] = {
	INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID, JSONBOID, TEXTOID, INT8OID, TEXTOID
};

enum
{
	CHARGE_MANY_ACCOUNT_IDS, CHARGE_MANY_EVENT_IDS, CHARGE_MANY_MODELS,
	CHARGE_MANY_INPUT, CHARGE_MANY_OUTPUT, CHARGE_MANY_CACHED, CHARGE_MANY_REASONING,
	CHARGE_MANY_CACHE_WRITE, CHARGE_MANY_SUBJECTS
};

/*
 * charge(account_ids[i], event_ids[i], scene, provider, models[i], the
 * item's four token counts): a token array not given counts 0, as charge's
 * defaults do.
 */
static void
charge_item(const BatchCall *batch, int item, FunctionCallInfo call)
{
	const BatchArray *a = batch->arrays;

	batch_item_arg(call, 0, &a[CHARGE_MANY_ACCOUNT_IDS], item, (Datum) 0);
	batch_item_arg(call, 1, &a[CHARGE_MANY_EVENT_IDS], item, (Datum) 0);
	call->args[2] = batch->fcinfo->args[2];
	call->args[3] = batch->fcinfo->args[3];
	batch_item_arg(call, 4, &a[CHARGE_MANY_MODELS], item, (Datum) 0);
	batch_item_arg(call, 5, &a[CHARGE_MANY_INPUT], item, Int64GetDatum(0));
	batch_item_arg(call, 6, &a[CHARGE_MANY_OUTPUT], item, Int64GetDatum(0));
	batch_item_arg(call, 7, &a[CHARGE_MANY_CACHED], item, Int64GetDatum(0));
	batch_item_arg(call, 8, &a[CHARGE_MANY_REASONING], item, Int64GetDatum(0));
	/* no hold, no metadata; subject: subjects[i] once charge has it */
	for (int argno = 9; argno <= 11; argno++)
		call->args[argno].isnull = true;
	/* cache writes: cache_write_tokens[i] once charge has them */
	call->args[12].value = Int64GetDatum(0);
	call->args[12].isnull = false;
	call->args[13].isnull = true;
}

/*
 * charge_many(account_ids, event_ids, scene, provider, models, input_tokens,
 * output_tokens, cached_tokens, reasoning_tokens, cache_write_tokens,
 * subjects): one row per item, refused items with their SQLSTATE
 * (api/batch.c).
 */
Datum
credit_ledger_charge_many(PG_FUNCTION_ARGS)
{
	BatchArray	arrays[] = {
		[CHARGE_MANY_ACCOUNT_IDS] = {.argno = 0, .element_type = INT8OID, .name = "account_ids", .required = true},
		[CHARGE_MANY_EVENT_IDS] = {.argno = 1, .element_type = TEXTOID, .name = "event_ids", .required = true},
		[CHARGE_MANY_MODELS] = {.argno = 4, .element_type = TEXTOID, .name = "models", .required = true},
		[CHARGE_MANY_INPUT] = {.argno = 5, .element_type = INT8OID, .name = "input_tokens", .required = true},
		[CHARGE_MANY_OUTPUT] = {.argno = 6, .element_type = INT8OID, .name = "output_tokens", .required = true},
		[CHARGE_MANY_CACHED] = {.argno = 7, .element_type = INT8OID, .name = "cached_tokens"},
		[CHARGE_MANY_REASONING] = {.argno = 8, .element_type = INT8OID, .name = "reasoning_tokens"},
		[CHARGE_MANY_CACHE_WRITE] = {.argno = 9, .element_type = INT8OID, .name = "cache_write_tokens"},
		[CHARGE_MANY_SUBJECTS] = {.argno = 10, .element_type = TEXTOID, .name = "subjects"},
	};
	BatchCall	batch = {
		.fcinfo = fcinfo, .single_name = "charge", .single = credit_ledger_charge,
		.single_nargs = lengthof(charge_argtypes), .single_argtypes = charge_argtypes,
		.arrays = arrays, .array_count = lengthof(arrays), .item_args = charge_item
	};

	batch_arrays(&batch);
	batch_run(&batch);
	return (Datum) 0;
}
