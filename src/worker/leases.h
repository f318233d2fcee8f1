/*
 * leases.h
 *		Leased holds whose owning session is gone, found and ended.
 */
#ifndef CREDIT_LEDGER_LEASES_H
#define CREDIT_LEDGER_LEASES_H

extern void leases_end_dead(int max_accounts, int64 *holds_ended, int64 *grants_expired);

#endif
