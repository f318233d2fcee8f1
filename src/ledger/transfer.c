/*
 * transfer.c
 *		Transfers between two accounts of this server. Both accounts are
 *		locked in account_id order, so A->B and B->A at once never
 *		deadlock; the sender's event_id makes the transfer idempotent on
 *		(from_account, event_id). The credits leave the sender's buckets in
 *		burn-down order and enter the receiver in buckets of their own with
 *		the same source, expiry and priority (debt first, as any credits
 *		in), so a gift that expires in 10 days still does, and a refund of
 *		a charge paid with them returns them to the receiver's buckets.
 *		Entries transfer_out and transfer_in name each other (ref_entry_id),
 *		and a transfer row keeps the pair for verify().
 *
 *		transfer_send and transfer_receive are the two halves, each on one
 *		locked account, for a caller that moves credits between servers.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "store/query.h"
#include "store/row.h"
#include "ledger/bucket.h"
#include "ledger/credits.h"
#include "ledger/debt.h"
#include "ledger/entry.h"
#include "ledger/hold.h"
#include "ledger/operation.h"
#include "ledger/transfer.h"

/* The accounts in the order their locks are taken. */
static void
transfer_order(LedgerOp *from, LedgerOp *to, LedgerOp **first, LedgerOp **second)
{
	*first = from->account_id < to->account_id ? from : to;
	*second = (*first == from) ? to : from;
}

/*
 * Only credits the sender holds move: available must cover the amount
 * without the credit limit, so that the buckets cover all of it (debt
 * means no live bucket), and a transfer never lends the receiver credit.
 */
static void
transfer_require_held(const LedgerAccount *acct, int64 amount)
{
	int64		available = credits_sub(acct->balance, acct->reserved);

	if (available >= amount)
		return;
	account_refuse_credit(acct,
						  psprintf("Account %lld: available %lld, requested %lld; a transfer moves only credits the account holds, never its credit limit (%lld).",
								   (long long) acct->account_id, (long long) available,
								   (long long) amount, (long long) acct->credit_limit));
}

/*
 * The sending half: money out of an active account, within what it holds
 * (LD003, LD001); draws the credits in burn-down order into `drawn` and
 * describes each bucket's part in `parts`.
 */
void
transfer_send(LedgerOp *from, int64 amount, Slices *drawn, TransferParts *parts)
{
	Datum		keys[2] = {Int64GetDatum(from->account_id)};

	account_require_active(&from->acct, false);
	transfer_require_held(&from->acct, amount);
	if (buckets_draw(from, amount, drawn) != 0)
		elog(ERROR, "credit_ledger: account %lld holds less than its available",
			 (long long) from->account_id);

	parts->count = drawn->count;
	parts->parts = palloc0(sizeof(TransferPart) * Max(drawn->count, 1));
	for (int i = 0; i < drawn->count; i++)
	{
		TransferPart *p = &parts->parts[i];
		Row		   *bucket;
		bool		isnull;

		keys[1] = Int64GetDatum(drawn->bucket_ids[i]);
		bucket = row_fetch(from->rows, ROW_BUCKET_BY_ID, keys);
		if (bucket == NULL)
			elog(ERROR, "credit_ledger: account %lld is missing bucket %lld it drew from",
				 (long long) from->account_id, (long long) drawn->bucket_ids[i]);
		p->amount = drawn->amounts[i];
		p->source = row_text(bucket, BUCKET_SOURCE);
		p->priority = DatumGetInt32(row_datum(bucket, BUCKET_PRIORITY, &isnull));
		p->expires_at = DatumGetTimestampTz(row_datum(bucket, BUCKET_EXPIRES_AT, &isnull));
		p->has_expiry = !isnull;
	}
}

/*
 * The receiving half, on an account that takes money in (LD003 when
 * closed): repays its debt first, then gives each part a bucket of its
 * own with the part's source, expiry and priority, created by entry
 * entry_id. `credited` gets the buckets and what each holds.
 */
void
transfer_receive(LedgerOp *to, const TransferParts *parts, int64 entry_id, Slices *credited)
{
	account_require_active(&to->acct, true);
	slices_init(credited);
	for (int i = 0; i < parts->count; i++)
	{
		const TransferPart *p = &parts->parts[i];
		int64		kept = debt_repay(&to->acct, p->amount);
		int64		id = entry_id;

		if (kept > 0)
			slices_add(credited,
					   bucket_create(to, &id, &(BucketNew) {
						   .source = p->source, .granted = kept, .remaining = kept,
						   .priority = p->priority, .has_expiry = p->has_expiry,
						   .expires_at = p->expires_at
					   }),
					   kept);
	}
}

/* Keeps the pair of entries for verify() and replays. */
static void
transfer_record(const LedgerOp *from, const LedgerOp *to, int64 amount)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.transfer (from_account, out_entry_id, to_account, in_entry_id,"
		" amount, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		6, {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID}
	};
	Datum		values[6] = {
		Int64GetDatum(from->account_id), Int64GetDatum(from->entry_id),
		Int64GetDatum(to->account_id), Int64GetDatum(to->entry_id), Int64GetDatum(amount),
		TimestampTzGetDatum(from->now)
	};

	query_write_one(&q, values, NULL, QUERY_INSERT, "INSERT", "transfer");
}

/* A replayed transfer: the receiver's figures as its transfer_in left them. */
static void
transfer_replay(const LedgerOp *from, LedgerOp *to)
{
	static CachedQuery q = {
		"SELECT in_entry_id FROM credit_ledger.transfer"
		" WHERE from_account = $1 AND out_entry_id = $2",
		2, {INT8OID, INT8OID}
	};
	Datum		values[2] = {Int64GetDatum(from->account_id), Int64GetDatum(from->entry_id)};

	/* the key's entry is the hold of a transfer between two servers (its saga) */
	if (query_run(&q, values, NULL, false, 0, QUERY_SELECT) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_LD_EVENT_CONFLICT),
				 errmsg("event_id already used for a different request"),
				 errdetail("Account %lld used event_id \"%s\" for a transfer between two servers, not within one.",
						   (long long) from->account_id, from->event_id)));
	entry_replay(to, query_int64(0, 1, NULL));
}

/*
 * Moves t->amount from `from` to `to` (ops initialised for both, the
 * request fingerprint on from's), or replays the transfer its event_id
 * made; transfer_end ends both. A refusal on either side (LD001, LD002,
 * LD003) raises before anything stays.
 */
void
transfer_run(LedgerOp *from, LedgerOp *to, const Transfer *t)
{
	LedgerOp   *first;
	LedgerOp   *second;
	Slices		drawn;
	Slices		credited;
	TransferParts parts;
	int64		out_id;
	int64		in_id;

	transfer_order(from, to, &first, &second);
	op_lock(first, OP_ACCOUNT_MUST_EXIST);
	op_lock(second, OP_ACCOUNT_MUST_EXIST);
	if (!op_start(from))
	{
		transfer_replay(from, to);
		return;
	}
	(void) op_start(to);

	transfer_send(from, t->amount, &drawn, &parts);
	out_id = entry_next_id();
	in_id = entry_next_id();
	from->entry_id = entry_write(from, &(LedgerEntry) {
		.entry_id = out_id, .kind = ENTRY_TRANSFER_OUT, .amount = -t->amount,
		.event_id = from->event_id, .description = t->description, .metadata = t->metadata,
		.has_metadata = t->has_metadata, .slices = &drawn, .ref_entry_id = in_id
	});
	transfer_receive(to, &parts, in_id, &credited);
	to->entry_id = entry_write(to, &(LedgerEntry) {
		.entry_id = in_id, .kind = ENTRY_TRANSFER_IN, .amount = t->amount,
		.description = t->description, .metadata = t->metadata,
		.has_metadata = t->has_metadata, .slices = &credited, .ref_entry_id = out_id
	});
	from->amount = to->amount = t->amount;
	transfer_record(from, to, t->amount);
}

/* Ends both ops, the one locked last first (their SPI connections nest). */
void
transfer_end(LedgerOp *from, LedgerOp *to)
{
	LedgerOp   *first;
	LedgerOp   *second;

	transfer_order(from, to, &first, &second);
	op_end(second);
	op_end(first);
}

/*
 * Transfers between two servers: the steps of a saga that a router (a
 * PL/Proxy function, sql/credit_ledger_router.sql) runs on the two
 * servers, each step one transaction there, each idempotent on
 * (from_account, event_id):
 *
 *	1. transfer_hold, on the sender's: the credits leave its buckets into a
 *	   transfer's hold (hold_transfer_create) and its leg row says what they
 *	   were (the parts), state held;
 *	2. transfer_accept, on the receiver's: the parts enter the receiver
 *	   (transfer_receive, entry transfer_in), state received; or, receiver
 *	   missing or closed, state refused with the error, recorded so that
 *	   the answer never changes;
 *	3. transfer_finish, on the sender's: the hold becomes the transfer_out
 *	   entry (settled) after a received, or is released (undone) after a
 *	   refused.
 *
 * The receiver's leg decides the saga once: the router settles only after
 * received and undoes only after refused, so a retry, a resume after a
 * crash and a call in flight, racing, always agree, and credits are never
 * created or lost.
 */

static const char *const leg_state_names[LEG_STATE_COUNT] = {
	[LEG_HELD] = "held",
	[LEG_SETTLED] = "settled",
	[LEG_UNDONE] = "undone",
	[LEG_RECEIVED] = "received",
	[LEG_REFUSED] = "refused",
};

/* The state as stored in transfer_leg.state. */
const char *
transfer_leg_state_name(TransferLegState state)
{
	return leg_state_names[state];
}

static TransferLegState
leg_state_parse(const char *name)
{
	for (int i = 0; i < LEG_STATE_COUNT; i++)
		if (strcmp(name, leg_state_names[i]) == 0)
			return (TransferLegState) i;
	elog(ERROR, "credit_ledger: transfer leg has unknown state \"%s\"", name);
	return LEG_HELD;			/* keep compiler quiet */
}

/*
 * Reads one side's leg of the transfer (from_account, event_id) into cxt;
 * false when there is none.
 */
static bool
leg_load(int64 from_account, const char *event_id, bool out, TransferLeg *leg, MemoryContext cxt)
{
	static CachedQuery q = {
		"SELECT state, to_account, amount, hold_id, out_entry_id, in_entry_id, part_amounts,"
		" part_sources, part_priorities, part_expires_at, description, metadata,"
		" error_sqlstate, error_message, error_detail"
		" FROM credit_ledger.transfer_leg WHERE from_account = $1 AND event_id = $2 AND side = $3",
		3, {INT8OID, TEXTOID, TEXTOID}
	};
	Datum		values[3] = {
		Int64GetDatum(from_account), CStringGetTextDatum(event_id),
		CStringGetTextDatum(out ? "out" : "in")
	};
	MemoryContext old;
	bool		isnull;

	memset(leg, 0, sizeof(*leg));
	if (query_run(&q, values, NULL, false, 0, QUERY_SELECT) == 0)
		return false;
	old = MemoryContextSwitchTo(cxt);
	leg->state = leg_state_parse(query_text(0, 1));
	leg->to_account = query_int64(0, 2, NULL);
	leg->amount = query_int64(0, 3, NULL);
	leg->hold_id = query_int64(0, 4, &isnull);
	leg->out_entry_id = query_int64(0, 5, &isnull);
	leg->in_entry_id = query_int64(0, 6, &isnull);
	leg->part_amounts = datumCopy(query_datum(0, 7, &isnull), false, -1);
	leg->part_sources = datumCopy(query_datum(0, 8, &isnull), false, -1);
	leg->part_priorities = datumCopy(query_datum(0, 9, &isnull), false, -1);
	leg->part_expires_at = datumCopy(query_datum(0, 10, &isnull), false, -1);
	leg->description = query_text(0, 11);
	leg->metadata = query_datum(0, 12, &isnull);
	leg->has_metadata = !isnull;
	if (leg->has_metadata)
		leg->metadata = datumCopy(leg->metadata, false, -1);
	leg->error_sqlstate = query_text(0, 13);
	leg->error_message = query_text(0, 14);
	leg->error_detail = query_text(0, 15);
	MemoryContextSwitchTo(old);
	return true;
}

/* The parts as the leg row's four arrays (NULL expiry: never). */
static void
parts_to_arrays(const TransferParts *parts, Datum arrays[4])
{
	int			n = parts->count;
	Datum	   *amounts = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *sources = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *priorities = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *expires = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *expires_null = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		amounts[i] = Int64GetDatum(parts->parts[i].amount);
		sources[i] = CStringGetTextDatum(parts->parts[i].source);
		priorities[i] = Int32GetDatum(parts->parts[i].priority);
		expires[i] = TimestampTzGetDatum(parts->parts[i].expires_at);
		expires_null[i] = !parts->parts[i].has_expiry;
	}
	arrays[0] = PointerGetDatum(construct_array_builtin(amounts, n, INT8OID));
	arrays[1] = PointerGetDatum(construct_array_builtin(sources, n, TEXTOID));
	arrays[2] = PointerGetDatum(construct_array_builtin(priorities, n, INT4OID));
	arrays[3] = PointerGetDatum(construct_md_array(expires, expires_null, 1, dims, lbs,
												   TIMESTAMPTZOID, sizeof(TimestampTz),
												   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static void
parts_invalid(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid transfer parts"),
			 errdetail("%s", detail)));
}

/*
 * The parts a transfer_hold returned, from its four arrays: one element per
 * part, amounts positive, sources and priorities not NULL; 22023 otherwise.
 */
void
transfer_parts_from_arrays(Datum amounts, Datum sources, Datum priorities, Datum expires_at,
						   TransferParts *parts)
{
	Datum	   *a;
	Datum	   *s;
	Datum	   *p;
	Datum	   *e;
	bool	   *a_null;
	bool	   *s_null;
	bool	   *p_null;
	bool	   *e_null;
	int			na;
	int			ns;
	int			np;
	int			ne;

	deconstruct_array(DatumGetArrayTypeP(amounts), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &a, &a_null, &na);
	deconstruct_array(DatumGetArrayTypeP(sources), TEXTOID, -1, false, TYPALIGN_INT,
					  &s, &s_null, &ns);
	deconstruct_array(DatumGetArrayTypeP(priorities), INT4OID, sizeof(int32), true,
					  TYPALIGN_INT, &p, &p_null, &np);
	deconstruct_array(DatumGetArrayTypeP(expires_at), TIMESTAMPTZOID, sizeof(TimestampTz),
					  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &e, &e_null, &ne);
	if (na == 0 || na != ns || na != np || na != ne)
		parts_invalid(psprintf("part_amounts has %d elements, part_sources %d, part_priorities %d, part_expires_at %d; one each per part, at least one.",
							   na, ns, np, ne));
	parts->count = na;
	parts->parts = palloc0(sizeof(TransferPart) * na);
	for (int i = 0; i < na; i++)
	{
		if (a_null[i] || s_null[i] || p_null[i] || DatumGetInt64(a[i]) <= 0)
			parts_invalid(psprintf("Part %d needs a positive amount, a source and a priority.", i + 1));
		parts->parts[i].amount = DatumGetInt64(a[i]);
		parts->parts[i].source = TextDatumGetCString(s[i]);
		parts->parts[i].priority = DatumGetInt32(p[i]);
		parts->parts[i].has_expiry = !e_null[i];
		if (!e_null[i])
			parts->parts[i].expires_at = DatumGetTimestampTz(e[i]);
	}
}

/* The leg row a step writes; a refusal is written once, whoever comes first. */
typedef struct LegNew
{
	int64		from_account;
	const char *event_id;
	bool		out;
	int64		to_account;
	const Transfer *t;
	Datum		arrays[4];
	TransferLegState state;
	int64		hold_id;		/* 0 = none */
	int64		in_entry_id;	/* 0 = none */
	const char *error[3];		/* sqlstate, message, detail; NULL = none */
	TimestampTz now;
} LegNew;

static bool
leg_insert(const LegNew *l)
{
#define LEG_INSERT \
	"INSERT INTO credit_ledger.transfer_leg (from_account, event_id, side, to_account, amount," \
	" state, hold_id, in_entry_id, part_amounts, part_sources, part_priorities, part_expires_at," \
	" description, metadata, error_sqlstate, error_message, error_detail, created_at)" \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
#define LEG_TYPES {INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID, \
		INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID, TEXTOID, JSONBOID, \
		TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID}
	static CachedQuery q[2] = {
		{LEG_INSERT, 18, LEG_TYPES},
		{LEG_INSERT " ON CONFLICT DO NOTHING", 18, LEG_TYPES}
	};
#undef LEG_INSERT
#undef LEG_TYPES
	bool		refused = l->state == LEG_REFUSED;
	Datum		values[18] = {
		Int64GetDatum(l->from_account), CStringGetTextDatum(l->event_id),
		CStringGetTextDatum(l->out ? "out" : "in"), Int64GetDatum(l->to_account),
		Int64GetDatum(l->t->amount), CStringGetTextDatum(leg_state_names[l->state]),
		Int64GetDatum(l->hold_id), Int64GetDatum(l->in_entry_id),
		l->arrays[0], l->arrays[1], l->arrays[2], l->arrays[3],
		l->t->description ? CStringGetTextDatum(l->t->description) : (Datum) 0,
		l->t->metadata,
		l->error[0] ? CStringGetTextDatum(l->error[0]) : (Datum) 0,
		l->error[1] ? CStringGetTextDatum(l->error[1]) : (Datum) 0,
		l->error[2] ? CStringGetTextDatum(l->error[2]) : (Datum) 0,
		TimestampTzGetDatum(l->now)
	};
	char		nulls[18];

	memset(nulls, ' ', sizeof(nulls));
	nulls[6] = l->hold_id ? ' ' : 'n';
	nulls[7] = l->in_entry_id ? ' ' : 'n';
	nulls[12] = l->t->description ? ' ' : 'n';
	nulls[13] = l->t->has_metadata ? ' ' : 'n';
	for (int i = 0; i < 3; i++)
		nulls[14 + i] = l->error[i] ? ' ' : 'n';
	/* under the receiver's lock, or (no receiver) racing only its twin */
	if (refused)
		return query_run(&q[1], values, nulls, false, 0, QUERY_INSERT) == 1;
	query_write_one(&q[0], values, nulls, QUERY_INSERT, "INSERT", "transfer_leg");
	return true;
}

/* The sender's leg ends: settled (its transfer_out entry, the receiver's entry) or undone. */
static void
leg_finish(int64 from_account, const char *event_id, TransferLegState state, int64 out_entry_id,
		   int64 in_entry_id, const char *const error[3], TimestampTz now)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.transfer_leg SET state = $3, out_entry_id = $4, in_entry_id = $5,"
		" error_sqlstate = $6, error_message = $7, error_detail = $8, resolved_at = $9"
		" WHERE from_account = $1 AND event_id = $2 AND side = 'out' AND state = 'held'",
		9, {INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID}
	};
	Datum		values[9] = {
		Int64GetDatum(from_account), CStringGetTextDatum(event_id),
		CStringGetTextDatum(leg_state_names[state]), Int64GetDatum(out_entry_id),
		Int64GetDatum(in_entry_id),
		error && error[0] ? CStringGetTextDatum(error[0]) : (Datum) 0,
		error && error[1] ? CStringGetTextDatum(error[1]) : (Datum) 0,
		error && error[2] ? CStringGetTextDatum(error[2]) : (Datum) 0,
		TimestampTzGetDatum(now)
	};
	char		nulls[9] = {' ', ' ', ' ', out_entry_id ? ' ' : 'n', in_entry_id ? ' ' : 'n',
		error && error[0] ? ' ' : 'n', error && error[1] ? ' ' : 'n',
	error && error[2] ? ' ' : 'n', ' '};

	query_write_one(&q, values, nulls, QUERY_UPDATE, "UPDATE", "transfer_leg");
}

/* LD004 for a step that names the transfer's key with other figures. */
static void
leg_conflict(int64 from_account, const char *event_id, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_LD_EVENT_CONFLICT),
			 errmsg("event_id already used for a different request"),
			 errdetail("Transfer \"%s\" of account %lld: %s", event_id,
					   (long long) from_account, detail)));
}

/*
 * Step 1, on the sender's server: holds t->amount of the credits `from`
 * holds (never its credit limit: LD001; LD002, LD003 as a transfer) for
 * to_account on another server, and writes the sender's leg, state held,
 * with the parts; or, the key used before by the same request, leaves
 * everything as it is. Either way `leg` is the saga as it stands. The op
 * was initialised with the transfer's fingerprint; the caller ends it.
 */
void
transfer_hold(LedgerOp *from, int64 to_account, const Transfer *t, TransferLeg *leg,
			  MemoryContext cxt)
{
	bool		first = op_begin(from, OP_ACCOUNT_MUST_EXIST);

	if (first)
	{
		Slices		drawn;
		TransferParts parts;
		LegNew		l = {
			.from_account = from->account_id, .event_id = from->event_id, .out = true,
			.to_account = to_account, .t = t, .state = LEG_HELD, .now = from->now
		};

		transfer_send(from, t->amount, &drawn, &parts);
		l.hold_id = hold_transfer_create(from, t->amount, to_account, &drawn, t->description,
										 t->metadata, t->has_metadata);
		parts_to_arrays(&parts, l.arrays);
		(void) leg_insert(&l);
	}
	if (!leg_load(from->account_id, from->event_id, true, leg, cxt))
		leg_conflict(from->account_id, from->event_id,
					 "it was a transfer within one server, not between two.");
	leg->entry_id = from->entry_id;
	leg->replayed = !first;
}

/*
 * Step 2, on the receiver's server: the parts (what transfer_hold drew)
 * enter `to` as a transfer would credit them (transfer_receive; entry
 * transfer_in), state received; a receiver that does not exist (LD002) or
 * is closed (LD003) is state refused, the error recorded in the leg and
 * never raised, so that the saga's outcome is decided once. A repeat
 * answers as the first did. The caller ends the op.
 */
void
transfer_accept(LedgerOp *to, int64 from_account, const char *event_id, const Transfer *t,
				const TransferParts *parts, TransferLeg *leg, MemoryContext cxt)
{
	bool		found = op_lock(to, OP_ACCOUNT_MAY_BE_MISSING);
	bool		inserted;
	int64		total = 0;
	LegNew		l = {
		.from_account = from_account, .event_id = event_id, .out = false,
		.to_account = to->account_id, .t = t, .now = to->now
	};

	if (leg_load(from_account, event_id, false, leg, cxt))
	{
		if (leg->to_account != to->account_id || leg->amount != t->amount)
			leg_conflict(from_account, event_id,
						 psprintf("its receiver has it for %lld credits to account %lld, not %lld to %lld.",
								  (long long) leg->amount, (long long) leg->to_account,
								  (long long) t->amount, (long long) to->account_id));
		if (leg->state == LEG_RECEIVED)
			entry_replay(to, leg->in_entry_id);
		leg->entry_id = leg->in_entry_id;
		leg->replayed = true;
		return;
	}
	for (int i = 0; i < parts->count; i++)
		total = credits_add(total, parts->parts[i].amount);
	if (total != t->amount)
		parts_invalid(psprintf("The parts add up to %lld, the amount is %lld.",
							   (long long) total, (long long) t->amount));
	parts_to_arrays(parts, l.arrays);

	/* the texts of account_not_found and account_require_active */
	if (!found)
	{
		l.state = LEG_REFUSED;
		l.error[0] = "LD002";
		l.error[1] = "account not found";
		l.error[2] = psprintf("Account %lld does not exist.", (long long) to->account_id);
	}
	else if (to->acct.status == ACCOUNT_CLOSED)
	{
		l.state = LEG_REFUSED;
		l.error[0] = "LD003";
		l.error[1] = "account not active";
		l.error[2] = psprintf("Account %lld is %s.", (long long) to->account_id,
							  account_status_name(to->acct.status));
	}
	else
	{
		Slices		credited;
		int64		in_id;

		(void) op_start(to);
		in_id = entry_next_id();
		transfer_receive(to, parts, in_id, &credited);
		to->entry_id = entry_write(to, &(LedgerEntry) {
			.entry_id = in_id, .kind = ENTRY_TRANSFER_IN, .amount = t->amount,
			.description = t->description, .metadata = t->metadata,
			.has_metadata = t->has_metadata, .slices = &credited
		});
		/* a part whose bucket expired while the saga held it */
		buckets_lapse_arrived(to, in_id);
		to->amount = t->amount;
		l.state = LEG_RECEIVED;
		l.in_entry_id = in_id;
	}
	inserted = leg_insert(&l);
	if (!leg_load(from_account, event_id, false, leg, cxt))
		elog(ERROR, "credit_ledger: transfer leg \"%s\" of account %lld not written",
			 event_id, (long long) from_account);
	leg->entry_id = to->entry_id;
	/* not inserted: the same refusal, written first by a twin call */
	leg->replayed = !inserted;
}

/*
 * Step 3, on the sender's server: settle (the receiver's leg received, as
 * entry in_entry_id there) turns the hold into the transfer_out entry;
 * otherwise (refused, error the receiver's sqlstate, message and detail)
 * the hold is released and the error kept, state undone. A repeat answers
 * as the first did; settling an undone saga or undoing a settled one is
 * LD005. The op has no event_id; the caller ends it.
 */
void
transfer_finish(LedgerOp *from, const char *event_id, bool settle, int64 in_entry_id,
				const char *const error[3], TransferLeg *leg, MemoryContext cxt)
{
	TransferLegState want = settle ? LEG_SETTLED : LEG_UNDONE;

	op_lock(from, OP_ACCOUNT_MUST_EXIST);
	if (!leg_load(from->account_id, event_id, true, leg, cxt))
		ereport(ERROR,
				(errcode(ERRCODE_LD_HOLD_NOT_FOUND),
				 errmsg("transfer not found"),
				 errdetail("Account %lld has no transfer to another server with event_id \"%s\".",
						   (long long) from->account_id, event_id)));
	if (leg->state == want)
	{
		if (settle && leg->in_entry_id != in_entry_id)
			leg_conflict(from->account_id, event_id,
						 psprintf("it settled with the receiver's entry %lld, not %lld.",
								  (long long) leg->in_entry_id, (long long) in_entry_id));
		if (settle)
			entry_replay(from, leg->out_entry_id);
		leg->entry_id = settle ? leg->out_entry_id : 0;
		leg->replayed = true;
		return;
	}
	if (leg->state != LEG_HELD)
		ereport(ERROR,
				(errcode(ERRCODE_LD_HOLD_NOT_PENDING),
				 errmsg("transfer not in flight"),
				 errdetail("Transfer \"%s\" of account %lld is %s.", event_id,
						   (long long) from->account_id, leg_state_names[leg->state])));

	(void) op_start(from);
	from->entry_id = hold_transfer_end(from, leg->hold_id, settle, in_entry_id, leg->description,
									   leg->metadata, leg->has_metadata);
	from->hold_id = leg->hold_id;
	from->amount = leg->amount;
	leg_finish(from->account_id, event_id, want, settle ? from->entry_id : 0,
			   settle ? in_entry_id : 0, settle ? NULL : error, from->now);
	(void) leg_load(from->account_id, event_id, true, leg, cxt);
	leg->entry_id = from->entry_id;
	leg->replayed = false;
}
