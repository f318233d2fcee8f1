/*
 * resolve_price.c
 *		resolve_price(scene, provider, model, at): the price_rule row that
 *		prices such a call at `at` (pricing/price_rules.c resolves it): the
 *		standard service tier's, below every long-context tier.
 */
#include "postgres.h"

#include "utils/datum.h"
#include "utils/timestamp.h"

#include "api/args.h"
#include "pricing/price_rules.h"

PG_FUNCTION_INFO_V1(credit_ledger_resolve_price);

Datum
credit_ledger_resolve_price(PG_FUNCTION_ARGS)
{
	/* a call of no tokens on the standard tier: the base tier's rule */
	CallUsage	call = {0};
	const PriceRule *rule;

	arg_require_not_null(fcinfo, 3, "at");
	call.scene = arg_optional_text(fcinfo, 0, "scene");
	call.provider = arg_optional_text(fcinfo, 1, "provider");
	call.model = arg_optional_text(fcinfo, 2, "model");
	rule = price_rule_resolve(&call, PG_GETARG_TIMESTAMPTZ(3));
	PG_RETURN_DATUM(datumCopy(rule->row, false, -1));
}
