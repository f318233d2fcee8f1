/*
 * orders.c
 *		The shop's part of the sweep: unpaid orders past their expires_at
 *		are expired in every answer already (the orders view, pay_order and
 *		cancel_order compare the time); the sweep writes it, through the
 *		1.1 script's expire_orders(). And its setting, order_ttl.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "credit_ledger.h"
#include "query.h"

int			credit_ledger_order_ttl_s = 24 * 3600;

void
orders_define_settings(void)
{
	DefineCustomIntVariable("credit_ledger.order_ttl",
							"How long an order may stay unpaid before it expires.",
							"create_order sets the order's expires_at this long after now.",
							&credit_ledger_order_ttl_s,
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
	Oid			namespace = get_namespace_oid("credit_ledger", true);
	Datum		values[1] = {Int32GetDatum(max_rows)};

	if (!OidIsValid(namespace) || !OidIsValid(get_relname_relid("credit_order", namespace)))
		return 0;
	query_run(&q, values, NULL, false, 0, SPI_OK_SELECT);
	return query_int64(0, 1, NULL);
}
