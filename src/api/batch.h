/*
 * batch.h
 *		The batch calls (deduct_many, charge_many; this layer only): many
 *		items of one single call in one round trip and one commit, each item
 *		run as that single call, in account_id order, refused on its own.
 *		Also credit_ledger.max_batch, which bounds them.
 */
#ifndef CREDIT_LEDGER_BATCH_H
#define CREDIT_LEDGER_BATCH_H

#include "fmgr.h"

/* One array argument of a batch call. */
typedef struct BatchArray
{
	int			argno;			/* its position in the batch call */
	Oid			element_type;
	const char *name;
	bool		required;		/* NULL array is 22004; else NULL = every item NULL */
	/* read by batch_arrays */
	bool		given;
	Datum	   *values;
	bool	   *nulls;
} BatchArray;

/* A batch: which single call each item is, and how an item's arguments are made. */
typedef struct BatchCall
{
	FunctionCallInfo fcinfo;	/* the batch call itself */
	const char *single_name;	/* the single call, in schema credit_ledger */
	PGFunction	single;			/* its C function */
	int			single_nargs;	/* its 1.1 argument list */
	const Oid  *single_argtypes;
	BatchArray *arrays;			/* the first is account_ids */
	int			array_count;
	int			count;			/* items, set by batch_arrays */
	/* sets every argument of `call` for item `item` (0-based) */
	void		(*item_args) (const struct BatchCall *batch, int item, FunctionCallInfo call);
} BatchCall;

extern void batch_init(void);
extern void batch_arrays(BatchCall *batch);
extern void batch_item_arg(FunctionCallInfo call, int argno, const BatchArray *array, int item,
						   Datum when_null);
extern void batch_item_arg_or_null(FunctionCallInfo call, int argno, const BatchArray *array,
								   int item);
extern void batch_run(BatchCall *batch);

#endif
