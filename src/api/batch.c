/*
 * batch.c
 *		The batch calls' frame: their array arguments read and checked
 *		(equal lengths, at most credit_ledger.max_batch items), and every
 *		item run as the single call it stands for, through that call's own C
 *		function, so that each item obeys exactly what the single call obeys.
 *		Items run in account_id order (two batches over the same accounts
 *		lock them in the same order: no deadlock), each in a subtransaction:
 *		an item refused (a ledger refusal, class LD, or its bad input, class
 *		22) is rolled back alone and reported with its SQLSTATE; any other
 *		error (a cancel, a deadlock, a serialization failure) ends the whole
 *		call, as it would end a single call's transaction. One row per item,
 *		in item order.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "funcapi.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "errors.h"
#include "api/args.h"
#include "api/batch.h"

/* batch_result: item, sqlstate, message, then the op_result columns */
#define BATCH_HEAD_COLUMNS 3
#define OP_RESULT_COLUMNS 8
#define BATCH_RESULT_COLUMNS (BATCH_HEAD_COLUMNS + OP_RESULT_COLUMNS)
#define OP_RESULT_ACCOUNT_ID 2

static int	max_batch = 10000;

/* Defines credit_ledger.max_batch; called by _PG_init. */
void
batch_init(void)
{
	/* superuser-set: one call's transaction holds every item's account lock to its end */
	DefineCustomIntVariable("credit_ledger.max_batch",
							"Most items one deduct_many or charge_many call may carry.",
							"A batch is one transaction: it holds the row lock of every account it touched until it commits. More is 22023.",
							&max_batch,
							10000, 1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

static void
batch_refuse_argument(const char *message, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", message),
			 errdetail("%s", detail)));
}

/* One array argument: its elements, or not given (NULL, where allowed). */
static int
batch_array_read(FunctionCallInfo fcinfo, BatchArray *array)
{
	ArrayType  *a;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			count;

	array->given = !arg_is_null(fcinfo, array->argno);
	if (!array->given)
	{
		if (array->required)
			arg_require_not_null(fcinfo, array->argno, array->name);
		return -1;
	}
	a = PG_GETARG_ARRAYTYPE_P(array->argno);
	if (ARR_NDIM(a) > 1)
		batch_refuse_argument(psprintf("%s must be a one-dimensional array", array->name),
							  psprintf("%s has %d dimensions.", array->name, ARR_NDIM(a)));
	get_typlenbyvalalign(array->element_type, &typlen, &typbyval, &typalign);
	deconstruct_array(a, array->element_type, typlen, typbyval, typalign,
					  &array->values, &array->nulls, &count);
	return count;
}

/*
 * Reads every array argument: one-dimensional, all of one length (22023
 * naming the two that differ), at most credit_ledger.max_batch items.
 * Sets batch->count.
 */
void
batch_arrays(BatchCall *batch)
{
	const BatchArray *first = &batch->arrays[0];

	batch->count = batch_array_read(batch->fcinfo, &batch->arrays[0]);
	for (int a = 1; a < batch->array_count; a++)
	{
		BatchArray *array = &batch->arrays[a];
		int			count = batch_array_read(batch->fcinfo, array);

		if (array->given && count != batch->count)
			batch_refuse_argument("arrays of a batch must have equal lengths",
								  psprintf("%s has %d items, %s has %d.",
										   first->name, batch->count, array->name, count));
	}
	if (batch->count > max_batch)
		batch_refuse_argument("batch is too large",
							  psprintf("The batch has %d items; credit_ledger.max_batch allows %d.",
									   batch->count, max_batch));
}

/*
 * Sets argument argno of an item's call to the array's element for the
 * item, or to when_null when the array was not given.
 */
void
batch_item_arg(FunctionCallInfo call, int argno, const BatchArray *array, int item,
			   Datum when_null)
{
	call->args[argno].value = array->given ? array->values[item] : when_null;
	call->args[argno].isnull = array->given && array->nulls[item];
}

/* The same for an argument whose default is NULL (subjects[i]). */
void
batch_item_arg_or_null(FunctionCallInfo call, int argno, const BatchArray *array, int item)
{
	call->args[argno].value = array->given ? array->values[item] : (Datum) 0;
	call->args[argno].isnull = !array->given || array->nulls[item];
}

/* An item's place in the order items are applied in. */
typedef struct BatchOrder
{
	int			item;
	bool		null_account;	/* refused at once (22004), so first */
	int64		account_id;
} BatchOrder;

static int
batch_order_compare(const void *a, const void *b)
{
	const BatchOrder *x = a;
	const BatchOrder *y = b;

	if (x->null_account != y->null_account)
		return x->null_account ? -1 : 1;
	if (x->account_id != y->account_id)
		return x->account_id < y->account_id ? -1 : 1;
	return x->item - y->item;
}

/* The single call's function, as the database has it now. */
static void
batch_single_function(const BatchCall *batch, FmgrInfo *flinfo)
{
	List	   *name = list_make2(makeString("credit_ledger"),
								  makeString(pstrdup(batch->single_name)));

	memset(flinfo, 0, sizeof(*flinfo));
	/* its oid is what op_result reads the result type from */
	flinfo->fn_oid = LookupFuncName(name, batch->single_nargs, batch->single_argtypes, false);
	/* called directly: the batch runs as the same definer with the same search_path */
	flinfo->fn_addr = batch->single;
	flinfo->fn_nargs = batch->single_nargs;
	flinfo->fn_mcxt = CurrentMemoryContext;
}

/* An item's errors that refuse the item alone: the ledger's and its input's. */
static bool
batch_item_refusal(const ErrorData *error)
{
	int			category = ERRCODE_TO_CATEGORY(error->sqlerrcode);

	return category == ERRCODE_TO_CATEGORY(ERRCODE_LD_INSUFFICIENT_CREDIT) ||
		category == ERRCODE_DATA_EXCEPTION;
}

/* An applied item's row: sqlstate 00000, then its op_result. */
static void
batch_row_applied(Datum *row, bool *nulls, Datum op_result)
{
	HeapTupleHeader header = DatumGetHeapTupleHeader(op_result);
	HeapTupleData tuple;
	TupleDesc	desc;

	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(header),
								  HeapTupleHeaderGetTypMod(header));
	tuple.t_len = HeapTupleHeaderGetDatumLength(header);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = header;
	heap_deform_tuple(&tuple, desc, row + BATCH_HEAD_COLUMNS, nulls + BATCH_HEAD_COLUMNS);
	ReleaseTupleDesc(desc);
	row[1] = CStringGetTextDatum("00000");
	nulls[2] = true;
}

/*
 * A refused item's row: its SQLSTATE, the message with its DETAIL, and of
 * the op_result only the account (nothing happened).
 */
static void
batch_row_refused(Datum *row, bool *nulls, const ErrorData *error, Datum account_id,
				  bool account_null)
{
	for (int c = BATCH_HEAD_COLUMNS; c < BATCH_RESULT_COLUMNS; c++)
		nulls[c] = true;
	row[BATCH_HEAD_COLUMNS + OP_RESULT_ACCOUNT_ID] = account_id;
	nulls[BATCH_HEAD_COLUMNS + OP_RESULT_ACCOUNT_ID] = account_null;
	row[1] = CStringGetTextDatum(unpack_sql_state(error->sqlerrcode));
	row[2] = CStringGetTextDatum(error->detail != NULL ?
								 psprintf("%s (%s)", error->message, error->detail) :
								 error->message);
}

/*
 * Runs one item as its single call in a subtransaction; fills its row.
 * Errors that are not the item's refusal are raised again.
 */
static void
batch_item_run(const BatchCall *batch, FunctionCallInfo call, int item,
			   Datum *row, bool *nulls)
{
	MemoryContext item_context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	const BatchArray *accounts = &batch->arrays[0];

	batch->item_args(batch, item, call);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(item_context);
	PG_TRY();
	{
		Datum		result;

		call->isnull = false;
		result = FunctionCallInvoke(call);
		if (call->isnull)
			elog(ERROR, "credit_ledger: %s() returned NULL", batch->single_name);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(item_context);
		CurrentResourceOwner = owner;
		batch_row_applied(row, nulls, result);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(item_context);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(item_context);
		CurrentResourceOwner = owner;
		if (!batch_item_refusal(error))
			ReThrowError(error);
		batch_row_refused(row, nulls, error, accounts->values[item], accounts->nulls[item]);
	}
	PG_END_TRY();
}

/*
 * Runs every item in account_id order (items of one account in their
 * order) and returns one batch_result row per item, in item order.
 */
void
batch_run(BatchCall *batch)
{
	FunctionCallInfo fcinfo = batch->fcinfo;
	ReturnSetInfo *rsinfo;
	MemoryContext batch_context = CurrentMemoryContext;
	MemoryContext item_context;
	const BatchArray *accounts = &batch->arrays[0];
	BatchOrder *order;
	FmgrInfo	flinfo;
	FunctionCallInfo call;
	Datum	   *rows;
	bool	   *nulls;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	if (batch->count <= 0)
		return;

	order = palloc(sizeof(BatchOrder) * batch->count);
	for (int i = 0; i < batch->count; i++)
	{
		order[i].item = i;
		order[i].null_account = accounts->nulls[i];
		order[i].account_id = accounts->nulls[i] ? 0 : DatumGetInt64(accounts->values[i]);
	}
	qsort(order, batch->count, sizeof(BatchOrder), batch_order_compare);

	batch_single_function(batch, &flinfo);
	call = palloc0(SizeForFunctionCallInfo(batch->single_nargs));
	InitFunctionCallInfoData(*call, &flinfo, batch->single_nargs, PG_GET_COLLATION(), NULL, NULL);
	rows = palloc(sizeof(Datum) * BATCH_RESULT_COLUMNS * batch->count);
	nulls = palloc0(sizeof(bool) * BATCH_RESULT_COLUMNS * batch->count);
	item_context = AllocSetContextCreate(batch_context, "credit_ledger batch item",
										 ALLOCSET_DEFAULT_SIZES);

	for (int k = 0; k < batch->count; k++)
	{
		int			item = order[k].item;
		Datum	   *row = rows + item * BATCH_RESULT_COLUMNS;
		bool	   *row_nulls = nulls + item * BATCH_RESULT_COLUMNS;

		MemoryContextSwitchTo(item_context);
		batch_item_run(batch, call, item, row, row_nulls);
		/* the row outlives the item's memory */
		MemoryContextSwitchTo(batch_context);
		row[0] = Int32GetDatum(item + 1);
		row[1] = PointerGetDatum(DatumGetTextPCopy(row[1]));
		if (!row_nulls[2])
			row[2] = PointerGetDatum(DatumGetTextPCopy(row[2]));
		MemoryContextReset(item_context);
	}
	MemoryContextDelete(item_context);

	for (int i = 0; i < batch->count; i++)
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 rows + i * BATCH_RESULT_COLUMNS, nulls + i * BATCH_RESULT_COLUMNS);
}
