/*
 * worker.c
 *		The background worker: one per server, registered when the library
 *		is preloaded, sweeping due holds and grants (sweep_batch, the code
 *		of sweep()) in the database named by credit_ledger.database, one
 *		short transaction per batch, every credit_ledger.sweep_interval;
 *		catching up, it rests after each batch so that sweeping takes at
 *		most credit_ledger.sweep_duty_cycle percent of one core.
 *
 *		A process connects to one database, once. So the worker runs in
 *		one of two modes, chosen when it starts:
 *		- waiting: connected to no database, it checks every interval that
 *		  the sweeper is enabled and the database exists. Until then it
 *		  waits quietly and blocks no DROP DATABASE. Then it asks, through
 *		  shared memory, for its next start to connect, and exits.
 *		- sweeping: connected to the database, it sweeps while the
 *		  extension is installed at a version this library serves. Disabled
 *		  (credit_ledger.sweeper_enabled = off), it exits to wait again.
 *		Every exit is non-zero, so the postmaster starts it again after
 *		WORKER_RESTART_SECONDS (exit code 0 would unregister it for good);
 *		an error records its message in shared memory and exits the same way.
 *
 *		The worker's settings (credit_ledger.database, sweep_interval,
 *		sweep_batch_size, sweep_duty_cycle, sweeper_enabled) are defined
 *		here, by worker_init.
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "store/query.h"
#include "worker/state.h"
#include "worker/sweep.h"
#include "worker/worker.h"

#define WORKER_NAME "credit_ledger sweeper"
#define WORKER_RESTART_SECONDS 5

PGDLLEXPORT void credit_ledger_worker_main(Datum main_arg);

/*
 * The schema versions this library's worker sweeps. A 1.0 schema (the 1.1
 * library installed, ALTER EXTENSION UPDATE not yet run) is served for
 * calls, since every C entry point of 1.0 is still here with its 1.0
 * arguments, but not swept: the worker logs one line and waits, so that a
 * sweep never meets tables of a version it was not written for (1.1's
 * later features add tables the sweep writes).
 */
static const char *const served_versions[] = {"1.1"};

/* Why the sweeping worker last waited instead of sweeping; logged once per change. */
typedef enum ExtensionState
{
	EXTENSION_UNKNOWN,
	EXTENSION_READY,
	EXTENSION_MISSING,
	EXTENSION_OTHER_VERSION
} ExtensionState;

static ExtensionState extension_state = EXTENSION_UNKNOWN;

static char *credit_ledger_database = NULL;
static int	credit_ledger_sweep_interval_ms = 1000;
static int	credit_ledger_sweep_batch_size = 1000;
static bool credit_ledger_sweeper_enabled = true;
static int	credit_ledger_sweep_duty_cycle = 25;

static void
worker_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = WORKER_RESTART_SECONDS;
	strlcpy(worker.bgw_library_name, "credit_ledger", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "credit_ledger_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, WORKER_NAME, BGW_MAXLEN);
	strlcpy(worker.bgw_type, WORKER_NAME, BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * Defines the worker's settings; when the library is being preloaded, also
 * its database setting, its shared state and the worker itself. Called by
 * _PG_init.
 */
void
worker_init(void)
{
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

	DefineCustomIntVariable("credit_ledger.sweep_duty_cycle",
							"Largest share of its time the worker spends sweeping while it catches up, in percent.",
							"After a full batch the worker rests so that sweeping takes at most this share of one core; the rest goes to the callers.",
							&credit_ledger_sweep_duty_cycle,
							25, 1, 100,
							PGC_SIGHUP,
							0,
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
		worker_state_install_hooks();
		worker_register();
	}
}

/* credit_ledger.database; NULL when the library was not preloaded. */
const char *
worker_database(void)
{
	return credit_ledger_database;
}

/* Sleeps one sweep_interval, or until signalled; the server's death ends the worker. */
static void
worker_sleep(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 credit_ledger_sweep_interval_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * After a full batch that took `busy_us`: rests so that the batches take
 * at most sweep_duty_cycle percent of the time, or until signalled.
 */
static void
worker_yield(double busy_us)
{
	long		rest_ms = (long) ceil(busy_us * (100 - credit_ledger_sweep_duty_cycle) /
									  credit_ledger_sweep_duty_cycle / 1000.0);

	if (rest_ms <= 0)
		return;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 rest_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/* SIGTERM ends the worker here; SIGHUP rereads the settings. */
static void
worker_check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

static void
worker_restart(const char *why)
{
	ereport(LOG, (errmsg("%s: %s, restarting", WORKER_NAME, why)));
	proc_exit(1);
}

/*
 * Whether credit_ledger.database exists. Without a database the worker can
 * read shared catalogs but not their indexes (no pg_class to open them),
 * so this scans pg_database itself, as autovacuum's launcher does.
 */
static bool
database_exists(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	bool		exists = false;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!exists && (tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
		exists = strcmp(NameStr(((Form_pg_database) GETSTRUCT(tuple))->datname),
						credit_ledger_database) == 0;
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return exists;
}

/* Waiting mode: no database connection until there is something to sweep. */
static void
worker_wait_for_database(void)
{
	pgstat_report_activity(STATE_IDLE, NULL);
	for (;;)
	{
		worker_check_interrupts();
		if (credit_ledger_sweeper_enabled && database_exists())
		{
			worker_state_request_connect();
			worker_restart(psprintf("database \"%s\" exists; exiting with code 1 so that the "
									"postmaster starts the worker again connected to it",
									credit_ledger_database));
		}
		worker_sleep();
	}
}

/*
 * Whether the extension's tables are there in a shape this library knows:
 * installed, at a version it serves. The extension is locked for the rest
 * of the transaction, so a DROP EXTENSION waits for the batch instead of
 * pulling its tables away mid-sweep. Logs a change of the answer once.
 */
static bool
extension_ready(void)
{
	static CachedQuery q = {
		"SELECT extversion FROM pg_catalog.pg_extension WHERE oid OPERATOR(pg_catalog.=) $1",
		1, {OIDOID}
	};
	ExtensionState state = EXTENSION_MISSING;
	char	   *version = NULL;
	Oid			extoid = get_extension_oid("credit_ledger", true);

	if (OidIsValid(extoid))
	{
		Datum		values[1] = {ObjectIdGetDatum(extoid)};

		LockDatabaseObject(ExtensionRelationId, extoid, 0, AccessShareLock);
		/* a fresh snapshot: it may have been dropped while we waited */
		if (query_run(&q, values, NULL, false, 0, QUERY_SELECT) == 1)
		{
			version = query_text(0, 1);
			state = EXTENSION_OTHER_VERSION;
			for (size_t i = 0; i < lengthof(served_versions); i++)
				if (strcmp(version, served_versions[i]) == 0)
					state = EXTENSION_READY;
		}
	}

	if (state != extension_state)
	{
		if (state == EXTENSION_READY)
			ereport(LOG, (errmsg("%s: sweeping database \"%s\"", WORKER_NAME, credit_ledger_database)));
		else if (state == EXTENSION_MISSING)
			ereport(LOG, (errmsg("%s: extension credit_ledger is not installed in database \"%s\", waiting",
								 WORKER_NAME, credit_ledger_database),
						  errhint("Run CREATE EXTENSION credit_ledger there, or set credit_ledger.database "
								  "to the database that has it and restart the server.")));
		else
			ereport(LOG, (errmsg("%s: extension credit_ledger version %s in database \"%s\" is not swept by this library, waiting",
								 WORKER_NAME, version, credit_ledger_database),
						  errhint("Run ALTER EXTENSION credit_ledger UPDATE in database \"%s\".",
								  credit_ledger_database)));
		extension_state = state;
	}
	return state == EXTENSION_READY;
}

/* One batch in one transaction; returns how many accounts it swept. */
static int
worker_sweep_transaction(void)
{
	SweepResult result = {0};
	bool		ready;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	query_connect();
	PushActiveSnapshot(GetTransactionSnapshot());

	ready = extension_ready();
	if (ready)
	{
		/* what pg_stat_activity shows, and an error's STATEMENT line */
		debug_query_string = "credit_ledger sweep";
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
		sweep_batch(credit_ledger_sweep_batch_size, &result);
	}

	query_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	debug_query_string = NULL;
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	if (ready)
		worker_state_swept(&result);
	return result.accounts;
}

/*
 * Sweeping mode: while batches come back full, one after another with a
 * rest after each (worker_yield); then one interval's rest.
 */
static void
worker_sweep_database(void)
{
	/*
	 * The worker is a superuser in a database someone else may own: the
	 * owner's ALTER DATABASE ... SET search_path must not put its operators
	 * and functions before pg_catalog's in the sweep's statements.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	/* SKIP LOCKED and fresh row versions, and writes: whatever the defaults */
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	for (;;)
	{
		int			swept = 0;
		instr_time	started;
		instr_time	busy;

		worker_check_interrupts();
		INSTR_TIME_SET_CURRENT(started);
		if (!credit_ledger_sweeper_enabled)
			worker_restart("sweeper disabled, leaving the database");

		PG_TRY();
		{
			swept = worker_sweep_transaction();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(TopMemoryContext);
			edata = CopyErrorData();
			worker_state_error(edata->message);
			/* no outer handler: the error becomes FATAL and the worker restarts */
			PG_RE_THROW();
		}
		PG_END_TRY();

		if (swept < credit_ledger_sweep_batch_size)
			worker_sleep();
		else
		{
			INSTR_TIME_SET_CURRENT(busy);
			INSTR_TIME_SUBTRACT(busy, started);
			worker_yield(INSTR_TIME_GET_MICROSEC(busy));
		}
	}
}

void
credit_ledger_worker_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (worker_state_start() && credit_ledger_sweeper_enabled)
	{
		/* FATAL if the database went away meanwhile: the next start waits again */
		BackgroundWorkerInitializeConnection(credit_ledger_database, NULL, 0);
		worker_state_set_connected();
		worker_sweep_database();
	}
	else
	{
		BackgroundWorkerInitializeConnection(NULL, NULL, 0);
		worker_wait_for_database();
	}
}
