/*
 * refund.c
 *		Refunds: return credits of an earlier charge (deduct, confirm or a
 *		charge) to the buckets they were drawn from, at most what the charge
 *		took minus earlier refunds. Refunds undo the charge backwards: the
 *		part drawn on credit first, then the buckets spent last, so a
 *		partial refund gives back the longest-lived credits.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "errors.h"
#include "store/query.h"
#include "ledger/bucket.h"
#include "ledger/credits.h"
#include "ledger/debt.h"
#include "ledger/entry.h"
#include "ledger/refund.h"

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
 * Finds the charge an event_id names: a deduct, charge, confirm or capture
 * (1.1). The event of a reserve names the confirm (or final capture) that
 * settled its hold; each capture is refunded by its own event_id.
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
	char	   *kind_name;
	EntryKind	kind;
	bool		isnull;

	if (query_run(&q, values, NULL, false, 0, QUERY_SELECT) == 0)
		refund_refused(op, original_event_id, "no such event on this account");
	kind_name = query_text(0, 2);
	if (!entry_kind_parse(kind_name, &kind))
		elog(ERROR, "credit_ledger: an entry of account %lld has unknown kind \"%s\"",
			 (long long) op->account_id, kind_name);
	if (kind == ENTRY_RESERVE)
		refund_refused(op, original_event_id,
					   psprintf("its hold is %s, not confirmed", query_text(0, 6)));
	if (kind != ENTRY_DEDUCT && kind != ENTRY_CONFIRM && kind != ENTRY_CAPTURE)
		refund_refused(op, original_event_id, psprintf("it is a %s, not a charge", kind_name));

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

/*
 * Refunds the charge r->original_event_id names, after the caller's
 * account checks; fills the op's result. What the charge drew on credit
 * repays debt, or else goes to a new bucket; the bucket parts go back to
 * their buckets (repaying debt first, lapsing where a bucket expired).
 */
void
refund_charge(LedgerOp *op, const RefundRequest *r)
{
	Charge		charge;
	LedgerEntry e = {0};
	Slices		backed;
	Slices		credited;
	int64		on_credit;
	int64		left;
	int64		amount = r->amount;

	charge_load(op, r->original_event_id, &charge);
	left = charge.consumed - charge.refunded;
	if (!r->has_amount)
		amount = left;
	if (left == 0)
		refund_refused(op, r->original_event_id,
					   psprintf("all %lld credits of the charge are already refunded",
								(long long) charge.consumed));
	if (amount > left)
		refund_refused(op, r->original_event_id,
					   psprintf("the charge took %lld, %lld already refunded, %lld requested",
								(long long) charge.consumed, (long long) charge.refunded,
								(long long) amount));

	charge_undo(&charge, amount, &on_credit, &backed);

	/* credit drawn on credit goes to the debt, or else to a new bucket */
	left = debt_repay(&op->acct, on_credit);
	slices_init(&credited);
	slices_add_all(&credited, &backed);
	if (left > 0)
		slices_add(&credited,
				   bucket_create(op, &e.entry_id, &(BucketNew) {
					   .source = "refund", .granted = left, .remaining = left
				   }),
				   left);

	e.kind = ENTRY_REFUND;
	e.amount = amount;
	e.event_id = op->event_id;
	e.source = "refund";
	e.description = r->description;
	e.slices = &credited;
	e.ref_entry_id = charge.entry_id;
	op->entry_id = entry_write(op, &e);
	op->amount = amount;
	op->acct.total_refunded = credits_add(op->acct.total_refunded, amount);
	buckets_give_back(op, &backed, op->entry_id);
}
