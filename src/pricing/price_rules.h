/*
 * price_rules.h
 *		Price rules: the cached rules, resolving the one that prices a call
 *		(price_rules.c), and the arithmetic of a charge (price_quote.c).
 */
#ifndef CREDIT_LEDGER_PRICE_RULES_H
#define CREDIT_LEDGER_PRICE_RULES_H

#include "datatype/timestamp.h"
#include "utils/numeric.h"

#include "tokens.h"

typedef struct PriceRule
{
	int64		id;
	const char *scene;			/* NULL = any */
	const char *provider;		/* NULL = any */
	const char *model;			/* NULL = any */
	int			model_prefix_len;	/* -1: model is exact; else the part before '*' */
	Numeric		token_prices[TOKEN_KINDS];	/* credits per million tokens */
	Numeric		request_price;	/* credits per call */
	int64		min_charge;
	int32		priority;
	TimestampTz valid_from;
	bool		has_valid_until;
	TimestampTz valid_until;
	Datum		row;			/* the whole price_rule row, as resolve_price returns it */
} PriceRule;

extern const PriceRule *price_rule_resolve(const char *scene, const char *provider,
										   const char *model, TimestampTz at);
extern int64 price_quote(const PriceRule *rule, const int64 *tokens);

#endif
