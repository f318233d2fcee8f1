/*
 * credit_ledger.c
 *		Module entry: PG_MODULE_MAGIC, the settings, and what _PG_init sets
 *		up when the library is preloaded (shared memory, the worker).
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "credit_ledger.h"

PG_MODULE_MAGIC;

char	   *credit_ledger_database = NULL;
int			credit_ledger_sweep_interval_ms = 1000;
int			credit_ledger_sweep_batch_size = 1000;
int			credit_ledger_default_hold_ttl_s = 30 * 60;
bool		credit_ledger_sweeper_enabled = true;
int			credit_ledger_max_text_size_kb = 64;

void		_PG_init(void);

void
_PG_init(void)
{
	/* pg_upgrade starts the server with the library loaded: stay out of its way */
	if (IsBinaryUpgrade)
		return;

	DefineCustomIntVariable("credit_ledger.sweep_interval",
							"Time between two sweeps of due holds and grants.",
							NULL,
							&credit_ledger_sweep_interval_ms,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("credit_ledger.sweep_batch_size",
							"Most accounts one sweep transaction expires.",
							"Each batch is one short transaction that skips accounts locked by callers.",
							&credit_ledger_sweep_batch_size,
							1000, 1, 1000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("credit_ledger.default_hold_ttl",
							"How long a hold lasts when reserve() is given no ttl.",
							NULL,
							&credit_ledger_default_hold_ttl_s,
							30 * 60, 1, 365 * 24 * 3600,
							PGC_USERSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("credit_ledger.default_low_balance",
							   "Low-balance threshold of accounts that have none of their own (set_alert).",
							   "available going below it writes a balance.low event; empty: none.",
							   &credit_ledger_default_low_balance,
							   "",
							   PGC_USERSET,
							   0,
							   default_low_balance_check, default_low_balance_assign, NULL);

	DefineCustomIntVariable("credit_ledger.event_retention",
							"How long events are kept once every consumer has acknowledged them.",
							"The worker (and sweep()) deletes older ones.",
							&credit_ledger_event_retention_s,
							7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	orders_define_settings();

	/* superuser-set: an application role must not raise its own bound */
	DefineCustomIntVariable("credit_ledger.max_text_size",
							"Largest description, reason, source or metadata a call may store.",
							"Entries are append-only: what a call stores stays for good. Larger is 22023.",
							&credit_ledger_max_text_size_kb,
							64, 1, MaxAllocSize / 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("credit_ledger.sweeper_enabled",
							 "Whether the background worker sweeps due holds and grants.",
							 "Off leaves expiry to the calls themselves, which stay exact.",
							 &credit_ledger_sweeper_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	/*
	 * The worker and its shared state exist only in a preloading server;
	 * so does its database setting, as PGC_POSTMASTER settings can only be
	 * defined then (a session loading the library later would be FATAL).
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomStringVariable("credit_ledger.database",
								   "Database the credit_ledger background worker sweeps.",
								   "The worker waits quietly until this database and the extension in it exist.",
								   &credit_ledger_database,
								   "postgres",
								   PGC_POSTMASTER,
								   0,
								   NULL, NULL, NULL);
		shmem_install_hooks();
		worker_register();
	}

	MarkGUCPrefixReserved("credit_ledger");
}
