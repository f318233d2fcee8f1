/*
 * charge.c
 *		Usage pricing for callers: quote (what a call costs now) and charge
 *		(price a call and deduct it, or confirm its hold, in one idempotent
 *		step that records the rule and the token counts).
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/stringinfo.h"

#include "tokens.h"
#include "api/args.h"
#include "api/op_result.h"
#include "pricing/price_rules.h"
#include "ledger/hold.h"
#include "ledger/idempotency.h"
#include "ledger/money.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_quote);
PG_FUNCTION_INFO_V1(credit_ledger_charge);

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
	char	   *subject;

	arg_require_not_null(fcinfo, 0, "account_id");
	event_id = arg_event_id(fcinfo, 1, "event_id");
	usage_args(fcinfo, 2, &usage);
	hold_id = DatumGetInt64(arg_optional_datum(fcinfo, 9, &has_hold));
	metadata = arg_optional_jsonb(fcinfo, 10, "metadata", &has_metadata);
	subject = arg_subject(fcinfo, 11);

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
	request_add_subject(&op.request, subject);

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
				.price_rule_id = price_rule_id, .tokens = usage.tokens, .subject = subject
			});
		else
			money_out(&op, &(MoneyOut) {
				.kind = ENTRY_DEDUCT, .amount = credits, .source = "usage",
				.description = usage_description(&usage),
				.metadata = metadata, .has_metadata = has_metadata,
				.price_rule_id = price_rule_id, .tokens = usage.tokens, .subject = subject
			});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
