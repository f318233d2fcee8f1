/*
 * orders.c
 *		The shop's part of the sweep: unpaid orders past their expires_at
 *		are expired in every answer already (the orders view, pay_order and
 *		cancel_order compare the time); the sweep writes it, through the
 *		1.1 script's expire_orders(). And its setting, order_ttl, defined
 *		by orders_init. The shop is its own layer (src/README): below the
 *		worker that sweeps it, above the ledger it will move money with.
 */
#include "postgres.h"

#include <limits.h>

#include "catalog/pg_type.h"
#include "utils/guc.h"

#include "store/catalog.h"
#include "store/query.h"
#include "shop/orders.h"

static int	order_ttl_s = 24 * 3600;

/* Defines credit_ledger.order_ttl; called by _PG_init. */
void
orders_init(void)
{
	DefineCustomIntVariable("credit_ledger.order_ttl",
							"How long an order may stay unpaid before it expires.",
							"create_order sets the order's expires_at this long after now.",
							&order_ttl_s,
							24 * 3600, 1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

/*
 * Expires up to max_rows unpaid orders that are due; returns how many. The
 * caller has SPI connected. Nothing to do on a 1.0 schema.
 */
int64
orders_expire_due(int max_rows)
{
	static CachedQuery q = {
		"SELECT credit_ledger.expire_orders($1)", 1, {INT4OID}
	};
	Datum		values[1] = {Int32GetDatum(max_rows)};

	if (!OidIsValid(catalog_relid("credit_order")))
		return 0;
	query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	return query_int64(0, 1, NULL);
}
