/*
 * worker.h
 *		The background worker: its settings and its registration.
 */
#ifndef CREDIT_LEDGER_WORKER_H
#define CREDIT_LEDGER_WORKER_H

extern void worker_init(void);
extern const char *worker_database(void);

#endif
