/*
 * pricing.c
 *		The arithmetic of a charge: tokens x price per million over the four
 *		token kinds plus the per-call price, in exact numeric (never float),
 *		rounded up to whole credits once, then at least the rule's minimum.
 *		A figure past bigint is an error, never a wrap.
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
	credits = numeric_add_opt_error(numeric_mul_opt_error(per_million,
														  int64_div_fast_to_numeric(1, 6), NULL),
									rule->request_price, NULL);
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
