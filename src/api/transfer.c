/*
 * transfer.c
 *		transfer: moves credits between two accounts of this server in one
 *		step (ledger/transfer.c), returning a transfer_result; and the
 *		steps of a transfer between two servers (transfer_hold,
 *		transfer_receive, transfer_settle, transfer_undo), each returning a
 *		transfer_step.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"

#include "utils/builtins.h"

#include "api/args.h"
#include "ledger/credits.h"
#include "ledger/idempotency.h"
#include "ledger/operation.h"
#include "ledger/transfer.h"

/* What transfer and transfer_hold take, in the same argument order. */
typedef struct TransferArgs
{
	int64		from_account;
	int64		to_account;
	char	   *event_id;
	Transfer	t;
} TransferArgs;

/* (from_account, to_account, amount, event_id, description, metadata), checked. */
static void
transfer_args(FunctionCallInfo fcinfo, TransferArgs *a)
{
	arg_require_not_null(fcinfo, 0, "from_account");
	arg_require_not_null(fcinfo, 1, "to_account");
	a->from_account = PG_GETARG_INT64(0);
	a->to_account = PG_GETARG_INT64(1);
	a->t.amount = arg_positive_amount(fcinfo, 2, "amount");
	a->event_id = arg_event_id(fcinfo, 3, "event_id");
	a->t.description = arg_optional_text(fcinfo, 4, "description");
	a->t.metadata = arg_optional_jsonb(fcinfo, 5, "metadata", &a->t.has_metadata);
	if (a->from_account == a->to_account)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a transfer needs two accounts"),
				 errdetail("from_account and to_account are both %lld.",
						   (long long) a->from_account)));
}

/*
 * The sender's op with the fingerprint of transfer(): the same request,
 * whether it runs on one server or as the saga's hold.
 */
static void
transfer_op_init(LedgerOp *from, const TransferArgs *a)
{
	op_init(from, a->from_account, a->event_id, "transfer");
	request_add_int64(&from->request, "to_account", a->to_account);
	request_add_int64(&from->request, "amount", a->t.amount);
}

PG_FUNCTION_INFO_V1(credit_ledger_transfer);

Datum
credit_ledger_transfer(PG_FUNCTION_ARGS)
{
	LedgerOp	from;
	LedgerOp	to;
	TransferArgs a;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};

	transfer_args(fcinfo, &a);
	transfer_op_init(&from, &a);
	op_init(&to, a.to_account, NULL, "transfer");
	transfer_run(&from, &to, &a.t);
	transfer_end(&from, &to);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: function must return credit_ledger.transfer_result");
	values[0] = Int64GetDatum(from.entry_id);
	values[1] = Int64GetDatum(to.entry_id);
	values[2] = Int64GetDatum(from.result_balance);
	values[3] = Int64GetDatum(credits_sub(from.result_balance, from.result_reserved));
	values[4] = Int64GetDatum(to.result_balance);
	values[5] = Int64GetDatum(credits_sub(to.result_balance, to.result_reserved));
	values[6] = BoolGetDatum(from.replayed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * The steps of a transfer between two servers (the router's saga,
 * ledger/transfer.c), each returning a transfer_step.
 */

/* The transfer_step row of a step: the leg, and this side's figures after it. */
static Datum
transfer_step_result(FunctionCallInfo fcinfo, const LedgerOp *op, const TransferLeg *leg,
					 bool has_figures)
{
	TupleDesc	tupdesc;
	Datum		values[15];
	bool		nulls[15] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "credit_ledger: function must return credit_ledger.transfer_step");
	values[0] = CStringGetTextDatum(transfer_leg_state_name(leg->state));
	values[1] = Int64GetDatum(leg->entry_id);
	nulls[1] = leg->entry_id == 0;
	values[2] = Int64GetDatum(leg->hold_id);
	nulls[2] = leg->hold_id == 0;
	values[3] = Int64GetDatum(leg->out_entry_id);
	nulls[3] = leg->out_entry_id == 0;
	values[4] = Int64GetDatum(leg->in_entry_id);
	nulls[4] = leg->in_entry_id == 0;
	values[5] = Int64GetDatum(op->result_balance);
	values[6] = Int64GetDatum(credits_sub(op->result_balance, op->result_reserved));
	nulls[5] = nulls[6] = !has_figures;
	values[7] = leg->part_amounts;
	values[8] = leg->part_sources;
	values[9] = leg->part_priorities;
	values[10] = leg->part_expires_at;
	values[11] = leg->error_sqlstate ? CStringGetTextDatum(leg->error_sqlstate) : (Datum) 0;
	values[12] = leg->error_message ? CStringGetTextDatum(leg->error_message) : (Datum) 0;
	values[13] = leg->error_detail ? CStringGetTextDatum(leg->error_detail) : (Datum) 0;
	nulls[11] = leg->error_sqlstate == NULL;
	nulls[12] = leg->error_message == NULL;
	nulls[13] = leg->error_detail == NULL;
	values[14] = BoolGetDatum(leg->replayed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

PG_FUNCTION_INFO_V1(credit_ledger_transfer_hold);

/* transfer_hold(from_account, to_account, amount, event_id, description, metadata) */
Datum
credit_ledger_transfer_hold(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	LedgerOp	from;
	TransferArgs a;
	TransferLeg leg;

	transfer_args(fcinfo, &a);
	transfer_op_init(&from, &a);
	transfer_hold(&from, a.to_account, &a.t, &leg, cxt);
	op_end(&from);
	return transfer_step_result(fcinfo, &from, &leg, true);
}

PG_FUNCTION_INFO_V1(credit_ledger_transfer_receive);

/*
 * transfer_receive(to_account, from_account, event_id, amount, part_amounts,
 * part_sources, part_priorities, part_expires_at, description, metadata)
 */
Datum
credit_ledger_transfer_receive(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	LedgerOp	to;
	Transfer	t;
	TransferParts parts;
	TransferLeg leg;
	char	   *event_id;
	int64		to_account;
	int64		from_account;

	arg_require_not_null(fcinfo, 0, "to_account");
	arg_require_not_null(fcinfo, 1, "from_account");
	to_account = PG_GETARG_INT64(0);
	from_account = PG_GETARG_INT64(1);
	event_id = arg_event_id(fcinfo, 2, "event_id");
	t.amount = arg_positive_amount(fcinfo, 3, "amount");
	arg_require_not_null(fcinfo, 4, "part_amounts");
	arg_require_not_null(fcinfo, 5, "part_sources");
	arg_require_not_null(fcinfo, 6, "part_priorities");
	arg_require_not_null(fcinfo, 7, "part_expires_at");
	t.description = arg_optional_text(fcinfo, 8, "description");
	t.metadata = arg_optional_jsonb(fcinfo, 9, "metadata", &t.has_metadata);
	if (from_account == to_account)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a transfer needs two accounts"),
				 errdetail("from_account and to_account are both %lld.", (long long) from_account)));
	transfer_parts_from_arrays(PG_GETARG_DATUM(4), PG_GETARG_DATUM(5), PG_GETARG_DATUM(6),
							   PG_GETARG_DATUM(7), &parts);

	op_init(&to, to_account, NULL, "transfer");
	transfer_accept(&to, from_account, event_id, &t, &parts, &leg, cxt);
	op_end(&to);
	return transfer_step_result(fcinfo, &to, &leg, leg.state == LEG_RECEIVED);
}

/* transfer_settle and transfer_undo: the sender's last step. */
static Datum
transfer_finish_call(FunctionCallInfo fcinfo, bool settle)
{
	MemoryContext cxt = CurrentMemoryContext;
	LedgerOp	from;
	TransferLeg leg;
	const char *error[3] = {NULL, NULL, NULL};
	char	   *event_id;
	int64		in_entry_id = 0;

	arg_require_not_null(fcinfo, 0, "from_account");
	event_id = arg_event_id(fcinfo, 1, "event_id");
	if (settle)
	{
		arg_require_not_null(fcinfo, 2, "in_entry_id");
		in_entry_id = PG_GETARG_INT64(2);
	}
	else
	{
		error[0] = arg_nonempty_text(fcinfo, 2, "error_sqlstate");
		error[1] = arg_nonempty_text(fcinfo, 3, "error_message");
		error[2] = arg_optional_text(fcinfo, 4, "error_detail");
	}

	op_init(&from, PG_GETARG_INT64(0), NULL, "transfer");
	transfer_finish(&from, event_id, settle, in_entry_id, error, &leg, cxt);
	op_end(&from);
	return transfer_step_result(fcinfo, &from, &leg, true);
}

PG_FUNCTION_INFO_V1(credit_ledger_transfer_settle);

/* transfer_settle(from_account, event_id, in_entry_id) */
Datum
credit_ledger_transfer_settle(PG_FUNCTION_ARGS)
{
	return transfer_finish_call(fcinfo, true);
}

PG_FUNCTION_INFO_V1(credit_ledger_transfer_undo);

/* transfer_undo(from_account, event_id, error_sqlstate, error_message, error_detail) */
Datum
credit_ledger_transfer_undo(PG_FUNCTION_ARGS)
{
	return transfer_finish_call(fcinfo, false);
}
