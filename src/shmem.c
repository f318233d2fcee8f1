/*
 * shmem.c
 *		The worker's state in shared memory (PG15 shmem_request_hook and
 *		shmem_startup_hook, chained): its pid, whether it is connected to
 *		its database, what it swept and its last error, and
 *		worker_status(), which reads them. Exists only when the library is
 *		preloaded.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "credit_ledger.h"

PG_FUNCTION_INFO_V1(credit_ledger_worker_status);

#define LAST_ERROR_LEN 256

typedef struct WorkerState
{
	slock_t		mutex;
	pid_t		pid;			/* 0 = not running */
	bool		connected;		/* to credit_ledger.database (sweeping) */
	bool		connect_next;	/* the waiting worker found the database */
	TimestampTz last_sweep_at;	/* 0 = never */
	int64		holds_expired;
	int64		grants_expired;
	char		last_error[LAST_ERROR_LEN];
} WorkerState;

static WorkerState *worker_state = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
worker_state_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerState)));
}

static void
worker_state_attach(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	worker_state = ShmemInitStruct("credit_ledger worker", sizeof(WorkerState), &found);
	if (!found)
	{
		memset(worker_state, 0, sizeof(WorkerState));
		SpinLockInit(&worker_state->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called by _PG_init while shared_preload_libraries is being processed. */
void
shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_state_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_state_attach;
}

static void
worker_state_detach(int code, Datum arg)
{
	SpinLockAcquire(&worker_state->mutex);
	worker_state->pid = 0;
	worker_state->connected = false;
	SpinLockRelease(&worker_state->mutex);
}

/*
 * The worker has started, connected to its database or waiting for it.
 * Returns whether the previous run found the database and asked for this
 * one to connect (the request is used up).
 */
bool
worker_state_start(void)
{
	bool		connect;

	SpinLockAcquire(&worker_state->mutex);
	worker_state->pid = MyProcPid;
	connect = worker_state->connect_next;
	worker_state->connect_next = false;
	SpinLockRelease(&worker_state->mutex);
	on_shmem_exit(worker_state_detach, (Datum) 0);
	return connect;
}

void
worker_state_set_connected(void)
{
	SpinLockAcquire(&worker_state->mutex);
	worker_state->connected = true;
	SpinLockRelease(&worker_state->mutex);
}

/* The next start of the worker connects to its database. */
void
worker_state_request_connect(void)
{
	SpinLockAcquire(&worker_state->mutex);
	worker_state->connect_next = true;
	SpinLockRelease(&worker_state->mutex);
}

void
worker_state_swept(const SweepResult *result)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&worker_state->mutex);
	worker_state->last_sweep_at = now;
	worker_state->holds_expired += result->holds_expired;
	worker_state->grants_expired += result->grants_expired;
	SpinLockRelease(&worker_state->mutex);
}

void
worker_state_error(const char *message)
{
	SpinLockAcquire(&worker_state->mutex);
	strlcpy(worker_state->last_error, message, LAST_ERROR_LEN);
	SpinLockRelease(&worker_state->mutex);
}

Datum
credit_ledger_worker_status(PG_FUNCTION_ARGS)
{
	WorkerState copy;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (worker_state == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("credit_ledger is not loaded through shared_preload_libraries"),
				 errdetail("The background worker and its status exist only when the library is preloaded."),
				 errhint("Add credit_ledger to shared_preload_libraries and restart the server.")));

	SpinLockAcquire(&worker_state->mutex);
	memcpy(&copy, worker_state, sizeof(copy));
	SpinLockRelease(&worker_state->mutex);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: worker_status must return a record");
	tupdesc = BlessTupleDesc(tupdesc);

	values[0] = Int32GetDatum(copy.pid);
	nulls[0] = (copy.pid == 0);
	values[1] = copy.connected ? CStringGetTextDatum(credit_ledger_database) : (Datum) 0;
	nulls[1] = !copy.connected;
	values[2] = TimestampTzGetDatum(copy.last_sweep_at);
	nulls[2] = (copy.last_sweep_at == 0);
	values[3] = Int64GetDatum(copy.holds_expired);
	values[4] = Int64GetDatum(copy.grants_expired);
	values[5] = copy.last_error[0] ? CStringGetTextDatum(copy.last_error) : (Datum) 0;
	nulls[5] = (copy.last_error[0] == '\0');
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
