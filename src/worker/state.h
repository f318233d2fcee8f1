/*
 * state.h
 *		The worker's state in shared memory, written by the worker and read
 *		by worker_status().
 */
#ifndef CREDIT_LEDGER_WORKER_STATE_H
#define CREDIT_LEDGER_WORKER_STATE_H

#include "datatype/timestamp.h"

#include "worker/sweep.h"

#define WORKER_LAST_ERROR_LEN 256

/* What worker_status() shows: a copy taken under the state's lock. */
typedef struct WorkerStatus
{
	pid_t		pid;			/* 0 = not running */
	bool		connected;		/* to credit_ledger.database (sweeping) */
	TimestampTz last_sweep_at;	/* 0 = never */
	int64		holds_expired;
	int64		grants_expired;
	char		last_error[WORKER_LAST_ERROR_LEN];	/* "" = none */
} WorkerStatus;

extern void worker_state_install_hooks(void);
extern bool worker_state_start(void);
extern void worker_state_set_connected(void);
extern void worker_state_request_connect(void);
extern void worker_state_swept(const SweepResult *result);
extern void worker_state_error(const char *message);
extern bool worker_state_read(WorkerStatus *status);

#endif
