/*
 * orders.h
 *		The shop's orders: their setting and their part of the sweep.
 */
#ifndef CREDIT_LEDGER_ORDERS_H
#define CREDIT_LEDGER_ORDERS_H

extern void orders_init(void);
extern int64 orders_expire_due(int max_rows);

#endif
