/*
 * price_quote.c
 *		The arithmetic of a charge: tokens x price per million over the
 *		token kinds, times the rule's markup, plus the per-call price, in
 *		exact numeric (never float), rounded up to whole credits once, then
 *		at least the rule's minimum. A figure past bigint is an error, never
 *		a wrap. price_call is the pricing of one call: resolve, then quote.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "pricing/price_rules.h"

/* The credits a call with these token counts costs under the rule. */
int64
price_quote(const PriceRule *rule, const int64 *tokens)
{
	Numeric		per_million = int64_to_numeric(0);
	Numeric		credits;
	int64		whole;

	for (int i = 0; i < TOKEN_KINDS; i++)
		per_million = numeric_add_opt_error(per_million,
											numeric_mul_opt_error(int64_to_numeric(tokens[i]),
																  rule->token_prices[i], NULL),
											NULL);
	/* multiplying by exactly 0.000001 divides by a million without rounding */
	credits = numeric_mul_opt_error(per_million, int64_div_fast_to_numeric(1, 6), NULL);
	/* the markup is exact too (1 + percent / 100 has a finite decimal form) */
	if (rule->markup_factor != NULL)
		credits = numeric_mul_opt_error(credits, rule->markup_factor, NULL);
	credits = numeric_add_opt_error(credits, rule->request_price, NULL);
	credits = DatumGetNumeric(DirectFunctionCall1(numeric_ceil, NumericGetDatum(credits)));

	if (DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(credits),
										 NumericGetDatum(int64_to_numeric(PG_INT64_MAX)))))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("charge out of range"),
				 errdetail("The call prices to %s credits under price rule %lld; a charge is at most %lld.",
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(credits))),
						   (long long) rule->id, (long long) PG_INT64_MAX)));
	whole = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(credits)));
	return Max(whole, rule->min_charge);
}

/*
 * The pricing of one call at `at`, shared by every function that charges:
 * the rule that prices it (its id in *price_rule_id) and the credits.
 */
int64
price_call(const CallUsage *call, TimestampTz at, int64 *price_rule_id)
{
	const PriceRule *rule = price_rule_resolve(call, at);

	*price_rule_id = rule->id;
	return price_quote(rule, call->tokens);
}
