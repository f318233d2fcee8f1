/*
 * charge.c
 *		Usage pricing for callers: quote (what a call costs now), charge
 *		(price a call and deduct it, or confirm its hold, in one idempotent
 *		step that records the rule and the token counts), charge_usage
 *		(the same, with the counts read from the provider's usage object)
 *		and charge_many (many charges in one call, each item run as charge:
 *		api/batch.c). The pricing itself is pricing/'s price_call.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

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
PG_FUNCTION_INFO_V1(credit_ledger_charge_usage);
PG_FUNCTION_INFO_V1(credit_ledger_charge_many);

/* Where a function takes the arguments of the call it prices (-1: it has none). */
typedef struct CallArgs
{
	int			scene;			/* then provider and model */
	int			tokens[TOKEN_KINDS];
	int			service_tier;
	int			hold_id;		/* the charges' */
	int			metadata;
	int			subject;
} CallArgs;

static const CallArgs quote_args = {
	.scene = 0,
	.tokens = {[TOKEN_INPUT] = 3, [TOKEN_OUTPUT] = 4, [TOKEN_CACHED] = 5, [TOKEN_REASONING] = 6,
	[TOKEN_CACHE_WRITE] = 7},
	.service_tier = 8, .hold_id = -1, .metadata = -1, .subject = -1
};
static const CallArgs charge_args_at = {
	.scene = 2,
	.tokens = {[TOKEN_INPUT] = 5, [TOKEN_OUTPUT] = 6, [TOKEN_CACHED] = 7, [TOKEN_REASONING] = 8,
	[TOKEN_CACHE_WRITE] = 12},
	.service_tier = 13, .hold_id = 9, .metadata = 10, .subject = 11
};
/* charge_usage: the counts come from its usage object (argument 5) */
static const CallArgs charge_usage_args = {
	.scene = 2,
	.tokens = {-1, -1, -1, -1, -1},
	.service_tier = 8, .hold_id = 6, .metadata = 9, .subject = 7
};

/* The call's names and tier, and its counts where the function takes them. */
static void
call_args(FunctionCallInfo fcinfo, const CallArgs *where, CallUsage *call)
{
	call->scene = arg_optional_text(fcinfo, where->scene, "scene");
	call->provider = arg_optional_text(fcinfo, where->scene + 1, "provider");
	call->model = arg_optional_text(fcinfo, where->scene + 2, "model");
	for (int i = 0; i < TOKEN_KINDS; i++)
	{
		call->tokens[i] = 0;
		if (where->tokens[i] < 0)
			continue;
		call->tokens[i] = token_kind_info(i)->since_1_1 ?
			arg_count_since_1_1(fcinfo, where->tokens[i], token_count_name(i)) :
			arg_count(fcinfo, where->tokens[i], token_count_name(i));
	}
	call->service_tier = arg_optional_text(fcinfo, where->service_tier, "service_tier");
}

/*
 * The charge entry's description: "scene=chat provider=openai model=gpt-4o"
 * (and service_tier=batch when the call names one).
 */
static char *
call_description(const CallUsage *call)
{
	StringInfoData d;
	const char *names[4] = {"scene", "provider", "model", "service_tier"};
	const char *values[4] = {call->scene, call->provider, call->model, call->service_tier};

	initStringInfo(&d);
	for (int i = 0; i < 4; i++)
	{
		if (values[i] != NULL)
			appendStringInfo(&d, "%s%s=%s", d.len > 0 ? " " : "", names[i], values[i]);
	}
	return d.len > 0 ? d.data : NULL;
}

/*
 * The fingerprint of a charge. A 1.1 token kind at 0 and no service tier
 * leave no line: a charge made by 1.0 (which had neither) and retried
 * after the update is the same request and replays.
 */
static void
request_add_call(StringInfo request, const CallUsage *call, bool has_hold, int64 hold_id)
{
	request_add_optional_text(request, "scene", call->scene);
	request_add_optional_text(request, "provider", call->provider);
	request_add_optional_text(request, "model", call->model);
	for (int i = 0; i < TOKEN_KINDS; i++)
	{
		if (!token_kind_info(i)->since_1_1 || call->tokens[i] != 0)
			request_add_int64(request, token_count_name(i), call->tokens[i]);
	}
	if (has_hold)
		request_add_int64(request, "hold_id", hold_id);
	else
		request_add_null(request, "hold_id");
	if (call->service_tier != NULL)
		request_add_text(request, "service_tier", call->service_tier);
}

/* Priced at the statement's start, the instant a charge in its place would use. */
Datum
credit_ledger_quote(PG_FUNCTION_ARGS)
{
	CallUsage	call;
	int64		price_rule_id;

	call_args(fcinfo, &quote_args, &call);
	PG_RETURN_INT64(price_call(&call, GetCurrentStatementStartTimestamp(), &price_rule_id));
}

/* What a charge asks: its key, the call, the hold it settles, its metadata, who spends. */
typedef struct ChargeRequest
{
	char	   *event_id;
	CallUsage	call;
	bool		has_hold;
	int64		hold_id;
	bool		has_metadata;
	Datum		metadata;
	char	   *subject;
} ChargeRequest;

/* account_id (argument 0), event_id (1), then the call's arguments where `where` says. */
static void
charge_args(FunctionCallInfo fcinfo, const CallArgs *where, ChargeRequest *r)
{
	arg_require_not_null(fcinfo, 0, "account_id");
	r->event_id = arg_event_id(fcinfo, 1, "event_id");
	call_args(fcinfo, where, &r->call);
	r->hold_id = DatumGetInt64(arg_optional_datum(fcinfo, where->hold_id, &r->has_hold));
	r->metadata = arg_optional_jsonb(fcinfo, where->metadata, "metadata", &r->has_metadata);
	r->subject = arg_subject(fcinfo, where->subject);
}

/*
 * What charge and charge_usage share. The rule is resolved after the
 * account lock is held and read once: the amount and the recorded
 * price_rule_id always come from the same rule, and a price change
 * committed while the call waited for the lock applies. A replay answers
 * from the original entry and never looks at the rules. With a hold, the
 * rules valid at the hold's reserve instant price it: a price change
 * mid-stream does not change what the stream costs. A call that prices
 * to 0 credits still writes its entry (amount 0) so that the call and its
 * tokens are on record; with a hold, that confirms the hold for 0 and gives
 * all it held back. charge_usage is charge with the counts read from the
 * usage object: the same request under either name replays.
 */
static Datum
charge_call(FunctionCallInfo fcinfo, const ChargeRequest *r)
{
	LedgerOp	op;

	op_init(&op, PG_GETARG_INT64(0), r->event_id, "charge");
	request_add_call(&op.request, &r->call, r->has_hold, r->hold_id);
	request_add_subject(&op.request, r->subject);

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		int64		price_rule_id;
		int64		credits;

		/* a hold's confirm applies its own status rule (a frozen account settles) */
		if (!r->has_hold)
			account_require_active(&op.acct, false);
		/* a hold's stream is priced with the rules of its reserve instant (1.1) */
		credits = price_call(&r->call,
							 r->has_hold ? hold_reserved_at(&op, r->hold_id) : op.now,
							 &price_rule_id);
		if (r->has_hold)
			hold_confirm(&op, &(HoldConfirm) {
				.hold_id = r->hold_id, .has_amount = true, .amount = credits,
				.metadata = r->metadata, .has_metadata = r->has_metadata,
				.price_rule_id = price_rule_id, .tokens = r->call.tokens,
				.subject = r->subject
			});
		else
			money_out(&op, &(MoneyOut) {
				.kind = ENTRY_DEDUCT, .amount = credits, .source = "usage",
				.description = call_description(&r->call),
				.metadata = r->metadata, .has_metadata = r->has_metadata,
				.price_rule_id = price_rule_id, .tokens = r->call.tokens,
				.subject = r->subject
			});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}

Datum
credit_ledger_charge(PG_FUNCTION_ARGS)
{
	ChargeRequest r;

	charge_args(fcinfo, &charge_args_at, &r);
	return charge_call(fcinfo, &r);
}

/* {"usage": <the usage object>}: what the entry records when the caller gives no metadata. */
static Datum
usage_metadata(Jsonb *usage)
{
	JsonbParseState *state = NULL;
	JsonbValue	key = {.type = jbvString, .val.string = {strlen("usage"), "usage"}};
	JsonbValue	value = {.type = jbvBinary,
	.val.binary = {VARSIZE(usage) - VARHDRSZ, &usage->root}};

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	pushJsonbValue(&state, WJB_KEY, &key);
	pushJsonbValue(&state, WJB_VALUE, &value);
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
}

/*
 * charge_usage(account_id, event_id, scene, provider, model, usage,
 * hold_id, subject, service_tier, metadata). The usage object is read
 * (and refused) before anything is locked.
 */
Datum
credit_ledger_charge_usage(PG_FUNCTION_ARGS)
{
	ChargeRequest r;
	Jsonb	   *usage;
	bool		has_usage;

	charge_args(fcinfo, &charge_usage_args, &r);
	arg_require_not_null(fcinfo, 5, "usage");
	usage = DatumGetJsonbP(arg_optional_jsonb(fcinfo, 5, "usage", &has_usage));
	usage_object_tokens(usage, r.call.tokens);
	if (!r.has_metadata)
	{
		r.metadata = usage_metadata(usage);
		r.has_metadata = true;
	}
	return charge_call(fcinfo, &r);
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
 * item's five token counts, subjects[i]): a token array not given counts
 * 0, as charge's defaults do.
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
	/* no hold, no metadata, no service tier */
	for (int argno = 9; argno <= 10; argno++)
		call->args[argno].isnull = true;
	batch_item_arg_or_null(call, 11, &a[CHARGE_MANY_SUBJECTS], item);
	batch_item_arg(call, 12, &a[CHARGE_MANY_CACHE_WRITE], item, Int64GetDatum(0));
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
