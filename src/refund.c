/*
 * refund.c
 *		refund: returns credits of an earlier charge (deduct, confirm or a
 *		charge) to the buckets they were drawn from, at most what the charge
 *		took minus earlier refunds. Refunds undo the charge backwards: the
 *		part drawn on credit first, then the buckets spent last, so a
 *		partial refund gives back the longest-lived credits.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "credit_ledger.h"
#include "errors.h"
#include "query.h"

PG_FUNCTION_INFO_V1(credit_ledger_refund);

/* The charge being refunded: what it consumed and from which buckets. */
typedef struct Charge
{
	int64		entry_id;
	int64		consumed;
	Slices		slices;
	int64		refunded;		/* by earlier refunds */
} Charge;

static void
refund_refused(const LedgerOp *op, const char *original_event_id, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_LD_REFUND_EXCEEDS),
			 errmsg("refund refused"),
			 errdetail("Account %lld, original event_id \"%s\": %s.",
					   (long long) op->account_id, original_event_id, why)));
}

/*
 * Finds the charge an event_id names. The event of a reserve names the
 * confirm that settled its hold.
 */
static void
charge_load(LedgerOp *op, const char *original_event_id, Charge *charge)
{
	static CachedQuery q = {
		"SELECT coalesce(h.result_entry_id, e.entry_id), coalesce(c.kind, e.kind),"
		" coalesce(c.amount, e.amount), coalesce(c.bucket_ids, e.bucket_ids),"
		" coalesce(c.bucket_amounts, e.bucket_amounts), h.state,"
		" (SELECT coalesce(sum(r.amount), 0)::bigint FROM credit_ledger.entry r"
		"   WHERE r.account_id = $1 AND r.kind = 'refund'"
		"     AND r.ref_entry_id = coalesce(h.result_entry_id, e.entry_id))"
		" FROM credit_ledger.entry e"
		" LEFT JOIN credit_ledger.hold h ON e.kind = 'reserve'"
		"  AND h.account_id = e.account_id AND h.hold_id = e.hold_id"
		" LEFT JOIN credit_ledger.entry c ON h.state = 'confirmed'"
		"  AND c.account_id = e.account_id AND c.entry_id = h.result_entry_id"
		" WHERE e.account_id = $1 AND e.event_id = $2",
		2, {INT8OID, TEXTOID}
	};
	Datum		values[2] = {Int64GetDatum(op->account_id), CStringGetTextDatum(original_event_id)};
	char	   *kind;
	bool		isnull;

	if (query_run(&q, values, NULL, false, 0, SPI_OK_SELECT) == 0)
		refund_refused(op, original_event_id, "no such event on this account");
	kind = query_text(0, 2);
	if (strcmp(kind, "reserve") == 0)
		refund_refused(op, original_event_id,
					   psprintf("its hold is %s, not confirmed", query_text(0, 6)));
	if (strcmp(kind, "deduct") != 0 && strcmp(kind, "confirm") != 0)
		refund_refused(op, original_event_id, psprintf("it is a %s, not a charge", kind));

	charge->entry_id = query_int64(0, 1, NULL);
	charge->consumed = -query_int64(0, 3, NULL);
	slices_from_arrays(&charge->slices, query_datum(0, 4, &isnull), query_datum(0, 5, &isnull));
	charge->refunded = query_int64(0, 7, NULL);
}

/*
 * Splits `amount` into the pieces of the charge it undoes, walking the
 * charge backwards past what earlier refunds already undid: the part drawn
 * on credit goes to *on_credit, the bucket parts to `backed`.
 */
static void
charge_undo(const Charge *charge, int64 amount, int64 *on_credit, Slices *backed)
{
	int64		skip = charge->refunded;
	int64		left = amount;
	int64		credit_part = charge->consumed - slices_total(&charge->slices);
	int64		take;

	slices_init(backed);
	take = Min(Max(credit_part - skip, 0), left);
	*on_credit = take;
	left -= take;
	skip = Max(skip - credit_part, 0);

	for (int i = charge->slices.count - 1; i >= 0 && left > 0; i--)
	{
		int64		part = charge->slices.amounts[i];

		take = Min(Max(part - skip, 0), left);
		skip = Max(skip - part, 0);
		if (take > 0)
			slices_add(backed, charge->slices.bucket_ids[i], take);
		left -= take;
	}
}

Datum
credit_ledger_refund(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	char	   *event_id;
	char	   *original_event_id;
	bool		has_amount = !PG_ARGISNULL(3);
	int64		amount = 0;
	char	   *description;

	arg_require_not_null(fcinfo, 0, "account_id");
	event_id = arg_event_id(fcinfo, 1, "event_id");
	original_event_id = arg_event_id(fcinfo, 2, "original_event_id");
	if (has_amount)
		amount = arg_positive_amount(fcinfo, 3, "amount");
	description = arg_optional_text(fcinfo, 4, "description");

	op_init(&op, PG_GETARG_INT64(0), event_id, "refund");
	request_add_text(&op.request, "original_event_id", original_event_id);
	if (has_amount)
		request_add_int64(&op.request, "amount", amount);
	else
		request_add_null(&op.request, "amount");

	if (op_begin(&op, OP_ACCOUNT_MUST_EXIST))
	{
		Charge		charge;
		LedgerEntry e = {0};
		Slices		backed;
		Slices		credited;
		int64		on_credit;
		int64		repaid;
		int64		left;

		account_require_active(&op.acct, true);
		charge_load(&op, original_event_id, &charge);
		left = charge.consumed - charge.refunded;
		if (!has_amount)
			amount = left;
		if (left == 0)
			refund_refused(&op, original_event_id,
						   psprintf("all %lld credits of the charge are already refunded",
									(long long) charge.consumed));
		if (amount > left)
			refund_refused(&op, original_event_id,
						   psprintf("the charge took %lld, %lld already refunded, %lld requested",
									(long long) charge.consumed, (long long) charge.refunded,
									(long long) amount));

		charge_undo(&charge, amount, &on_credit, &backed);

		/* credit drawn on credit goes to the debt, or else to a new bucket */
		repaid = Min(op.acct.debt, on_credit);
		op.acct.debt -= repaid;
		slices_init(&credited);
		for (int i = 0; i < backed.count; i++)
			slices_add(&credited, backed.bucket_ids[i], backed.amounts[i]);
		if (on_credit > repaid)
			slices_add(&credited,
					   bucket_create(&op, &e.entry_id, "refund", on_credit - repaid,
									 on_credit - repaid, 0, false, 0),
					   on_credit - repaid);

		e.kind = "refund";
		e.amount = amount;
		e.event_id = op.event_id;
		e.source = "refund";
		e.description = description;
		e.slices = &credited;
		e.ref_entry_id = charge.entry_id;
		op.entry_id = entry_write(&op, &e);
		op.amount = amount;
		op.acct.total_refunded = credits_add(op.acct.total_refunded, amount);
		buckets_give_back(&op, &backed, op.entry_id);
	}
	PG_RETURN_DATUM(op_finish(&op, fcinfo));
}
