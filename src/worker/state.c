/*
 * shmem.c
 *		The worker's state in shared memory (PG15 shmem_request_hook and
 *		shmem_startup_hook, chained): its pid, whether it is connected to
 *		its database, what it swept and its last error, which
 *		worker_status() (api/worker_status.c) reads. Exists only when the
 *		library is preloaded.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "worker/state.h"

typedef struct WorkerState
{
	slock_t		mutex;
	bool		connect_next;	/* the waiting worker found the database */
	WorkerStatus status;
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

/* Called by worker_init while shared_preload_libraries is being processed. */
void
worker_state_install_hooks(void)
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
	worker_state->status.pid = 0;
	worker_state->status.connected = false;
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
	worker_state->status.pid = MyProcPid;
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
	worker_state->status.connected = true;
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
	worker_state->status.last_sweep_at = now;
	worker_state->status.holds_expired += result->holds_expired;
	worker_state->status.grants_expired += result->grants_expired;
	SpinLockRelease(&worker_state->mutex);
}

void
worker_state_error(const char *message)
{
	SpinLockAcquire(&worker_state->mutex);
	strlcpy(worker_state->status.last_error, message, WORKER_LAST_ERROR_LEN);
	SpinLockRelease(&worker_state->mutex);
}

/*
 * Copies the worker's status; false when there is no shared state (the
 * library was not preloaded).
 */
bool
worker_state_read(WorkerStatus *status)
{
	if (worker_state == NULL)
		return false;
	SpinLockAcquire(&worker_state->mutex);
	memcpy(status, &worker_state->status, sizeof(*status));
	SpinLockRelease(&worker_state->mutex);
	return true;
}
