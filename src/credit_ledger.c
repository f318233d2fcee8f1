/*
 * credit_ledger.c
 *		Module entry: PG_MODULE_MAGIC and _PG_init, which only calls the
 *		init function of each unit that has settings or, when preloaded,
 *		shared memory and a worker. This file is the top of the layers
 *		(src/README): it may include any unit's header, and none includes it.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "api/args.h"
#include "api/batch.h"
#include "worker/worker.h"
#include "shop/orders.h"
#include "ledger/events.h"
#include "ledger/hold.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/* pg_upgrade starts the server with the library loaded: stay out of its way */
	if (IsBinaryUpgrade)
		return;

	args_init();
	batch_init();
	hold_init();
	events_init();
	orders_init();
	worker_init();

	MarkGUCPrefixReserved("credit_ledger");
}
