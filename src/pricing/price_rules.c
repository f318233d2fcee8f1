/*
 * price_cache.c
 *		The price rules, cached for the backend's life: read with one query
 *		into their own memory context, sorted from most to least specific,
 *		and dropped by a relcache invalidation of credit_ledger.price_rule,
 *		which the table's statement trigger sends when a change commits.
 *		Resolving a price is a scan for the first rule that matches;
 *		resolve_price (api/resolve_price.c) is its SQL face.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/builtins.h"
#include "utils/datum.h"
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

/* qsort order: the rule that wins a tie comes first. */
static int
rule_precedence_cmp(const void *a, const void *b)
{
	const PriceRule *x = a;
	const PriceRule *y = b;

	if (model_rank(x) != model_rank(y))
		return model_rank(x) > model_rank(y) ? -1 : 1;
	if (named_rank(x) != named_rank(y))
		return named_rank(x) > named_rank(y) ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->valid_from != y->valid_from)
		return x->valid_from > y->valid_from ? -1 : 1;
	return x->id > y->id ? -1 : (x->id < y->id ? 1 : 0);
}

/* Copies one row of the load query into the rules context (the current one). */
static void
price_rule_read(uint64 row, PriceRule *rule)
{
	bool		isnull;
	int			col;

	rule->id = query_int64(row, 1, NULL);
	rule->scene = query_text(row, 2);
	rule->provider = query_text(row, 3);
	rule->model = query_text(row, 4);
	rule->model_prefix_len = -1;
	if (rule->model != NULL)
	{
		int			len = (int) strlen(rule->model);

		if (len > 0 && rule->model[len - 1] == '*')
			rule->model_prefix_len = len - 1;
	}
	/* the token prices, then the columns after them */
	for (int i = 0; i < TOKEN_KINDS; i++)
		rule->token_prices[i] = DatumGetNumericCopy(query_datum(row, 5 + i, &isnull));
	col = 5 + TOKEN_KINDS;
	rule->request_price = DatumGetNumericCopy(query_datum(row, col, &isnull));
	rule->min_charge = query_int64(row, col + 1, NULL);
	rule->priority = DatumGetInt32(query_datum(row, col + 2, &isnull));
	rule->valid_from = DatumGetTimestampTz(query_datum(row, col + 3, &isnull));
	rule->valid_until = DatumGetTimestampTz(query_datum(row, col + 4, &isnull));
	rule->has_valid_until = !isnull;
	rule->row = datumCopy(query_datum(row, col + 5, &isnull), false, -1);
}

/*
 * Reads the active rules on a snapshot that sees every committed change:
 * any change committed later sends an invalidation this backend has not
 * yet processed, so the cache can be stale only until the next call. The
 * rules read are used even when an invalidation arrived while reading (they
 * are the latest committed at the start of the read); the next call reads
 * again.
 */
static void
price_rules_load(void)
{
#define PRICE_COLUMN(kind, count, price) " p." price ","
	static CachedQuery q = {
		"SELECT p.id, p.scene, p.provider, p.model," TOKEN_KIND_LIST(PRICE_COLUMN)
		" p.request_price, p.min_charge, p.priority, p.valid_from, p.valid_until, p"
		" FROM credit_ledger.price_rule p WHERE p.active",
		0, {InvalidOid}
	};
#undef PRICE_COLUMN
	static bool callback_registered = false;
	uint64		invalidations_before;
	uint64		rows;
	MemoryContext spi_context;

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
	rule_count = 0;
	rules_valid = false;

	rules_relid = get_relname_relid("price_rule", catalog_namespace(false));
	invalidations_before = rules_invalidations;

	query_connect();
	rows = query_run_latest(&q, NULL, NULL, QUERY_SELECT);
	spi_context = MemoryContextSwitchTo(rules_context);
	rules = palloc0(sizeof(PriceRule) * Max(rows, 1));
	for (uint64 i = 0; i < rows; i++)
		price_rule_read(i, &rules[i]);
	MemoryContextSwitchTo(spi_context);
	query_finish();

	qsort(rules, rows, sizeof(PriceRule), rule_precedence_cmp);
	rule_count = (int) rows;
	rules_valid = (rules_invalidations == invalidations_before);
}

static bool
rule_matches(const PriceRule *rule, const char *scene, const char *provider,
			 const char *model, TimestampTz at)
{
	if (at < rule->valid_from || (rule->has_valid_until && at >= rule->valid_until))
		return false;
	if (rule->scene != NULL && (scene == NULL || strcmp(rule->scene, scene) != 0))
		return false;
	if (rule->provider != NULL && (provider == NULL || strcmp(rule->provider, provider) != 0))
		return false;
	if (rule->model == NULL)
		return true;
	if (model == NULL)
		return false;
	if (rule->model_prefix_len < 0)
		return strcmp(rule->model, model) == 0;
	return strncmp(rule->model, model, rule->model_prefix_len) == 0;
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
price_rule_resolve(const char *scene, const char *provider, const char *model, TimestampTz at)
{
	/* a change committed by another session counts from this call on */
	AcceptInvalidationMessages();
	if (!rules_valid)
		price_rules_load();

	for (int i = 0; i < rule_count; i++)
	{
		if (rule_matches(&rules[i], scene, provider, model, at))
			return &rules[i];
	}
	ereport(ERROR,
			(errcode(ERRCODE_LD_NO_PRICE_RULE),
			 errmsg("no price rule matches"),
			 errdetail("No active price rule is valid for scene %s, provider %s, model %s at %s.",
					   quoted_or_null(scene), quoted_or_null(provider), quoted_or_null(model),
					   timestamptz_to_str(at))));
	pg_unreachable();
}
