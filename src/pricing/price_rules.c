/*
 * price_rules.c
 *		The price rules, cached for the backend's life: read with one query
 *		into their own memory context, sorted from most to least specific,
 *		and dropped by a relcache invalidation of credit_ledger.price_rule,
 *		which the table's statement trigger sends when a change commits.
 *		Resolving a price is a walk, in that order, for the first rule that
 *		matches: first the rules naming the call's exact model (found by a
 *		hash of the model names, so a catalog of a thousand models costs no
 *		more than ten), then the prefix patterns and the any-model rules.
 *		resolve_price (api/resolve_price.c) is its SQL face.
 */
#include "postgres.h"

#include <limits.h>

#include "common/int.h"

#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "store/catalog.h"
#include "store/query.h"
#include "pricing/price_rules.h"

static MemoryContext rules_context = NULL;
static PriceRule *rules = NULL;
static int	rule_count = 0;
static HTAB *rules_by_model = NULL;	/* exact model -> its first rule */
static int	first_other_rule = -1;	/* the first rule of a prefix or any model */
static bool rules_valid = false;
static Oid	rules_relid = InvalidOid;	/* credit_ledger.price_rule when last read */
static uint64 rules_invalidations = 0;

/*
 * Relcache callback: a change of price_rule committed (or this transaction
 * changed it, or rolled such a change back), or every cache is being reset
 * (relid InvalidOid). Only a flag may change here: the rules are read again
 * on next use, under the OID the table has then (DROP and CREATE EXTENSION
 * give it a new one).
 */
static void
price_rules_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == rules_relid)
	{
		rules_valid = false;
		rules_invalidations++;
	}
}

/* Hash keys: a longer model name shares its chain with those of its first bytes. */
#define MODEL_KEY_SIZE 128

typedef struct ModelRules
{
	char		model[MODEL_KEY_SIZE];
	int			first;			/* index in rules of its most specific rule */
} ModelRules;

/* Higher is more specific: exact model, then longer prefixes, then any model. */
static int
model_rank(const PriceRule *rule)
{
	if (rule->model == NULL)
		return 0;
	if (rule->model_prefix_len < 0)
		return INT_MAX;
	return rule->model_prefix_len + 1;
}

/* Scene and provider named > scene only > provider only > neither. */
static int
named_rank(const PriceRule *rule)
{
	return (rule->scene != NULL ? 2 : 0) + (rule->provider != NULL ? 1 : 0);
}

/*
 * qsort order: the rule that wins a tie comes first. The model's
 * specificity, then (among the rules for one model) the highest tier a
 * call reaches, a named service tier, then scene and provider, priority,
 * the latest valid_from and the highest id.
 */
static int
rule_precedence_cmp(const void *a, const void *b)
{
	const PriceRule *x = a;
	const PriceRule *y = b;

	if (model_rank(x) != model_rank(y))
		return model_rank(x) > model_rank(y) ? -1 : 1;
	if (x->min_input_tokens != y->min_input_tokens)
		return x->min_input_tokens > y->min_input_tokens ? -1 : 1;
	if ((x->service_tier != NULL) != (y->service_tier != NULL))
		return x->service_tier != NULL ? -1 : 1;
	if (named_rank(x) != named_rank(y))
		return named_rank(x) > named_rank(y) ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->valid_from != y->valid_from)
		return x->valid_from > y->valid_from ? -1 : 1;
	return x->id > y->id ? -1 : (x->id < y->id ? 1 : 0);
}

/* The load query's columns, in its order (both schemas). */
enum
{
	RULE_COL_ID = 1,
	RULE_COL_SCENE,
	RULE_COL_PROVIDER,
	RULE_COL_MODEL,
	RULE_COL_PRICES,			/* TOKEN_KINDS columns from here */
	RULE_COL_REQUEST_PRICE = RULE_COL_PRICES + TOKEN_KINDS,
	RULE_COL_MIN_CHARGE,
	RULE_COL_PRIORITY,
	RULE_COL_VALID_FROM,
	RULE_COL_VALID_UNTIL,
	RULE_COL_SERVICE_TIER,
	RULE_COL_MIN_INPUT_TOKENS,
	RULE_COL_MARKUP_PERCENT,
	RULE_COL_ROW
};

/*
 * Copies one row of the load query into the rules context (the current
 * one). A NULL price takes its fallback kind's, which comes earlier in the
 * token order; a markup of 0 is no markup, so the common case multiplies
 * nothing.
 */
static void
price_rule_read(uint64 row, PriceRule *rule)
{
	bool		isnull;
	Numeric		markup;

	rule->id = query_int64(row, RULE_COL_ID, NULL);
	rule->scene = query_text(row, RULE_COL_SCENE);
	rule->provider = query_text(row, RULE_COL_PROVIDER);
	rule->model = query_text(row, RULE_COL_MODEL);
	rule->model_prefix_len = -1;
	if (rule->model != NULL)
	{
		int			len = (int) strlen(rule->model);

		if (len > 0 && rule->model[len - 1] == '*')
			rule->model_prefix_len = len - 1;
	}
	for (int i = 0; i < TOKEN_KINDS; i++)
	{
		Datum		price = query_datum(row, RULE_COL_PRICES + i, &isnull);

		rule->token_prices[i] = isnull ? rule->token_prices[token_kind_info(i)->fallback] :
			DatumGetNumericCopy(price);
	}
	rule->request_price = DatumGetNumericCopy(query_datum(row, RULE_COL_REQUEST_PRICE, &isnull));
	rule->min_charge = query_int64(row, RULE_COL_MIN_CHARGE, NULL);
	rule->priority = DatumGetInt32(query_datum(row, RULE_COL_PRIORITY, &isnull));
	rule->valid_from = DatumGetTimestampTz(query_datum(row, RULE_COL_VALID_FROM, &isnull));
	rule->valid_until = DatumGetTimestampTz(query_datum(row, RULE_COL_VALID_UNTIL, &isnull));
	rule->has_valid_until = !isnull;
	rule->service_tier = query_text(row, RULE_COL_SERVICE_TIER);
	rule->min_input_tokens = query_int64(row, RULE_COL_MIN_INPUT_TOKENS, NULL);
	markup = DatumGetNumeric(query_datum(row, RULE_COL_MARKUP_PERCENT, &isnull));
	rule->markup_factor = NULL;
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(markup),
										  NumericGetDatum(int64_to_numeric(0)))))
		rule->markup_factor =
			numeric_add_opt_error(int64_to_numeric(1),
								  numeric_div_opt_error(markup, int64_to_numeric(100), NULL),
								  NULL);
	rule->row = datumCopy(query_datum(row, RULE_COL_ROW, &isnull), false, -1);
}

/*
 * Links the sorted rules into walks in precedence order: one per exact
 * model (from the hash), one of the rest. Every exact-model rule outranks
 * every other, so a call tries its model's walk first, then the rest.
 */
static void
price_rules_index(void)
{
	HASHCTL		ctl = {
		.keysize = MODEL_KEY_SIZE,
		.entrysize = sizeof(ModelRules),
		.hcxt = rules_context
	};

	rules_by_model = hash_create("credit_ledger price rules by model", Max(rule_count, 16), &ctl,
								 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	first_other_rule = -1;
	for (int i = rule_count - 1; i >= 0; i--)
	{
		PriceRule  *rule = &rules[i];

		if (rule->model != NULL && rule->model_prefix_len < 0)
		{
			bool		found;
			ModelRules *entry = hash_search(rules_by_model, rule->model, HASH_ENTER, &found);

			rule->next = found ? entry->first : -1;
			entry->first = i;
		}
		else
		{
			rule->next = first_other_rule;
			first_other_rule = i;
		}
	}
}

/*
 * Reads the active rules on a snapshot that sees every committed change:
 * any change committed later sends an invalidation this backend has not
 * yet processed, so the cache can be stale only until the next call. The
 * rules read are used even when an invalidation arrived while reading (they
 * are the latest committed at the start of the read); the next call reads
 * again. A 1.0 schema not yet updated has none of the 1.1 columns: its
 * query reads them as what a 1.1 default means (no price of its own, no
 * tier, no markup).
 */
static void
price_rules_load(void)
{
#define PRICE_COLUMN(kind, count, price, fallback, since_1_1) " p." price ","
#define PRICE_COLUMN_1_0(kind, count, price, fallback, since_1_1) PRICE_COLUMN_1_0_##since_1_1(price)
#define PRICE_COLUMN_1_0_false(price) " p." price ","
#define PRICE_COLUMN_1_0_true(price) " NULL::numeric,"
#define RULE_COLUMNS(prices, since_1_1) \
	"SELECT p.id, p.scene, p.provider, p.model," TOKEN_KIND_LIST(prices) \
	" p.request_price, p.min_charge, p.priority, p.valid_from, p.valid_until," since_1_1 \
	" p FROM credit_ledger.price_rule p WHERE p.active"
	static CachedQuery q = {
		RULE_COLUMNS(PRICE_COLUMN, " p.service_tier, p.min_input_tokens, p.markup_percent,"),
		0, {InvalidOid}
	};
	static CachedQuery q_1_0 = {
		RULE_COLUMNS(PRICE_COLUMN_1_0, " NULL::text, 0::bigint, 0::numeric,"),
		0, {InvalidOid}
	};
#undef RULE_COLUMNS
#undef PRICE_COLUMN_1_0_true
#undef PRICE_COLUMN_1_0_false
#undef PRICE_COLUMN_1_0
#undef PRICE_COLUMN
	static bool callback_registered = false;
	uint64		invalidations_before;
	uint64		rows;
	MemoryContext spi_context;
	bool		schema_1_0;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(price_rules_invalidate, (Datum) 0);
		callback_registered = true;
	}
	if (rules_context == NULL)
		rules_context = AllocSetContextCreate(CacheMemoryContext, "credit_ledger price rules",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(rules_context);
	rules = NULL;
	rules_by_model = NULL;
	rule_count = 0;
	rules_valid = false;

	rules_relid = get_relname_relid("price_rule", catalog_namespace(false));
	schema_1_0 = get_attnum(rules_relid, "markup_percent") == InvalidAttrNumber;
	invalidations_before = rules_invalidations;

	query_connect();
	rows = query_run_latest(schema_1_0 ? &q_1_0 : &q, NULL, NULL, QUERY_SELECT);
	spi_context = MemoryContextSwitchTo(rules_context);
	rules = palloc0(sizeof(PriceRule) * Max(rows, 1));
	for (uint64 i = 0; i < rows; i++)
		price_rule_read(i, &rules[i]);
	MemoryContextSwitchTo(spi_context);
	query_finish();

	qsort(rules, rows, sizeof(PriceRule), rule_precedence_cmp);
	rule_count = (int) rows;
	price_rules_index();
	rules_valid = (rules_invalidations == invalidations_before);
}

/*
 * The tokens a call reads: the kinds billed at the input price when the
 * rule has no price of their own (input, cached, cache writes), which is
 * what a long-context tier counts. Saturates at bigint: past it, every
 * tier is reached.
 */
static int64
call_input_side(const CallUsage *call)
{
	int64		sum = 0;

	for (int i = 0; i < TOKEN_KINDS; i++)
	{
		if (token_kind_info(i)->fallback == TOKEN_INPUT &&
			pg_add_s64_overflow(sum, call->tokens[i], &sum))
			return PG_INT64_MAX;
	}
	return sum;
}

/* A rule naming a value matches only that value; NULL in the rule matches any. */
static bool
named_matches(const char *rule_value, const char *call_value)
{
	return rule_value == NULL || (call_value != NULL && strcmp(rule_value, call_value) == 0);
}

static bool
rule_matches(const PriceRule *rule, const CallUsage *call, int64 input_side, TimestampTz at)
{
	if (at < rule->valid_from || (rule->has_valid_until && at >= rule->valid_until))
		return false;
	if (input_side < rule->min_input_tokens)
		return false;
	if (!named_matches(rule->scene, call->scene) ||
		!named_matches(rule->provider, call->provider) ||
		!named_matches(rule->service_tier, call->service_tier))
		return false;
	if (rule->model == NULL)
		return true;
	if (call->model == NULL)
		return false;
	if (rule->model_prefix_len < 0)
		return strcmp(rule->model, call->model) == 0;
	return strncmp(rule->model, call->model, rule->model_prefix_len) == 0;
}

/* The first rule of a walk (price_rules_index) that matches; NULL when none. */
static const PriceRule *
rule_walk(int first, const CallUsage *call, int64 input_side, TimestampTz at)
{
	for (int i = first; i >= 0; i = rules[i].next)
	{
		if (rule_matches(&rules[i], call, input_side, at))
			return &rules[i];
	}
	return NULL;
}

static const char *
quoted_or_null(const char *value)
{
	return value != NULL ? psprintf("\"%s\"", value) : "NULL";
}

/*
 * The rule that prices a call at `at` (see the precedence in
 * rule_precedence_cmp); LD007 when none matches. The result lives in the
 * cache: read what you need from it before anything can process
 * invalidations (any SPI statement can).
 */
const PriceRule *
price_rule_resolve(const CallUsage *call, TimestampTz at)
{
	int64		input_side = call_input_side(call);
	const PriceRule *rule = NULL;

	/* a change committed by another session counts from this call on */
	AcceptInvalidationMessages();
	if (!rules_valid)
		price_rules_load();

	if (call->model != NULL)
	{
		ModelRules *exact = hash_search(rules_by_model, call->model, HASH_FIND, NULL);

		if (exact != NULL)
			rule = rule_walk(exact->first, call, input_side, at);
	}
	if (rule == NULL)
		rule = rule_walk(first_other_rule, call, input_side, at);
	if (rule != NULL)
		return rule;
	ereport(ERROR,
			(errcode(ERRCODE_LD_NO_PRICE_RULE),
			 errmsg("no price rule matches"),
			 errdetail("No active price rule is valid for scene %s, provider %s, model %s%s at %s.",
					   quoted_or_null(call->scene), quoted_or_null(call->provider),
					   quoted_or_null(call->model),
					   call->service_tier != NULL ?
					   psprintf(", service tier \"%s\"", call->service_tier) : "",
					   timestamptz_to_str(at))));
	pg_unreachable();
}
