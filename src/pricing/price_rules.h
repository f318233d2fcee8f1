/*
 * price_rules.h
 *		Price rules: the cached rules, resolving the one that prices a call
 *		(price_rules.c), the arithmetic of a charge (price_quote.c), and
 *		the token counts of a provider's usage object (usage_object.c).
 *		price_call is the pricing of one call that every charging function
 *		shares.
 */
#ifndef CREDIT_LEDGER_PRICE_RULES_H
#define CREDIT_LEDGER_PRICE_RULES_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "tokens.h"

/* One call to price: where, on which model and tier, and its tokens of each kind. */
typedef struct CallUsage
{
	const char *scene;			/* NULL = none */
	const char *provider;
	const char *model;
	const char *service_tier;	/* NULL = the standard tier */
	int64		tokens[TOKEN_KINDS];
} CallUsage;

typedef struct PriceRule
{
	int64		id;
	const char *scene;			/* NULL = any */
	const char *provider;		/* NULL = any */
	const char *model;			/* NULL = any */
	int			model_prefix_len;	/* -1: model is exact; else the part before '*' */
	const char *service_tier;	/* NULL = any */
	int64		min_input_tokens;	/* applies from this input side on */
	Numeric		token_prices[TOKEN_KINDS];	/* credits per million tokens, NULLs
											 * replaced by their fallback's */
	Numeric		request_price;	/* credits per call */
	Numeric		markup_factor;	/* 1 + markup_percent / 100; NULL when no markup */
	int64		min_charge;
	int32		priority;
	TimestampTz valid_from;
	bool		has_valid_until;
	TimestampTz valid_until;
	Datum		row;			/* the whole price_rule row, as resolve_price returns it */
	int			next;			/* the next rule to try after this one (-1: none) */
} PriceRule;

extern const PriceRule *price_rule_resolve(const CallUsage *call, TimestampTz at);
extern int64 price_quote(const PriceRule *rule, const int64 *tokens);
extern int64 price_call(const CallUsage *call, TimestampTz at, int64 *price_rule_id);
extern void usage_object_tokens(Jsonb *usage, int64 *tokens);

#endif
