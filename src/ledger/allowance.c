/*
 * allowance.c
 *		The allowance table: set_allowance and end_allowance under the
 *		account lock, and the record of each period written (its next
 *		period, its bucket, the allowance.issued event). When periods are
 *		due and what they bring is the arrivals view's rule (arrivals.c).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "store/query.h"
#include "ledger/allowance.h"
#include "ledger/credits.h"

/*
 * Creates or changes the account's allowance `name`. A new one (or one
 * that had ended) starts at starts_at; one in the past issues the periods
 * since then as if it had been set then (nothing spent from them). An open
 * one keeps its next period: the change applies from then on. next_expiry_at comes down to that instant, so the
 * period is written (by the caller's expire_due if it is now) and every
 * read counts it.
 */
void
allowance_set(LedgerOp *op, const AllowanceSpec *spec)
{
	static CachedQuery q = {
		"INSERT INTO credit_ledger.allowance AS al (account_id, name, amount, period, rollover_max,"
		" source, priority, starts_at, ends_at, next_issue_at, created_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
		"  CASE WHEN $9 IS NULL OR $8 < $9 THEN $8 END, $10)"
		" ON CONFLICT (account_id, name) DO UPDATE SET amount = excluded.amount,"
		" period = excluded.period, rollover_max = excluded.rollover_max,"
		" source = excluded.source, priority = excluded.priority, ends_at = excluded.ends_at,"
		" starts_at = CASE WHEN al.next_issue_at IS NULL THEN excluded.starts_at ELSE al.starts_at END,"
		" next_issue_at = CASE WHEN excluded.ends_at IS NULL"
		"   OR coalesce(al.next_issue_at, excluded.starts_at) < excluded.ends_at"
		"  THEN coalesce(al.next_issue_at, excluded.starts_at) END"
		" RETURNING next_issue_at",
		10, {INT8OID, TEXTOID, INT8OID, TEXTOID, INT8OID, TEXTOID, INT4OID, TIMESTAMPTZOID,
			TIMESTAMPTZOID, TIMESTAMPTZOID}
	};
	Datum		values[10] = {
		Int64GetDatum(op->account_id), CStringGetTextDatum(spec->name), Int64GetDatum(spec->amount),
		CStringGetTextDatum(spec->period), Int64GetDatum(spec->rollover_max),
		CStringGetTextDatum(spec->source), Int32GetDatum(spec->priority),
		TimestampTzGetDatum(spec->starts_at), TimestampTzGetDatum(spec->ends_at),
		TimestampTzGetDatum(op->now)
	};
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', spec->has_ends_at ? ' ' : 'n', ' '};
	bool		isnull;
	TimestampTz next;

	query_write_one(&q, values, nulls, QUERY_INSERT_RETURNING, "INSERT", "allowance");
	next = DatumGetTimestampTz(query_datum(0, 1, &isnull));
	if (!isnull)
	{
		account_note_expiry(&op->acct, next);
		op->account_changed = true;
	}
}

/*
 * Ends the allowance now: no period starts from now on. Due periods were
 * written by op_begin; the current period's bucket keeps its credits.
 * Ending an ended allowance keeps its end. 22023 for an unknown name.
 */
void
allowance_end(LedgerOp *op, const char *name)
{
	static CachedQuery q = {
		"UPDATE credit_ledger.allowance"
		" SET ends_at = least(coalesce(ends_at, $3), $3), next_issue_at = NULL"
		" WHERE account_id = $1 AND name = $2",
		3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
	};
	Datum		values[3] = {
		Int64GetDatum(op->account_id), CStringGetTextDatum(name), TimestampTzGetDatum(op->now)
	};

	if (query_run(&q, values, NULL, false, 0, QUERY_UPDATE) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("allowance not found"),
				 errdetail("Account %lld has no allowance \"%s\".", (long long) op->account_id, name)));
}

/*
 * Records a period written: the allowance's next period starts at this
 * one's end (none when that is at or past ends_at), its rollover comes
 * from this bucket. The update names the period it writes, so a period is
 * never written twice. Then the allowance.issued event.
 */
void
allowance_issued(LedgerOp *op, const AllowanceIssue *issue)
{
	static CachedQuery advance = {
		"UPDATE credit_ledger.allowance"
		" SET next_issue_at = CASE WHEN ends_at <= $4 THEN NULL ELSE $4 END, last_bucket_id = $5"
		" WHERE account_id = $1 AND name = $2 AND next_issue_at = $3",
		5, {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID}
	};
	static CachedQuery event = {
		"SELECT credit_ledger.event_emit($1, 'allowance.issued', $2, pg_catalog.jsonb_build_object("
		" 'allowance', $3, 'bucket_id', $4, 'amount', $5, 'rolled_over', $6,"
		" 'period_start', $7, 'expires_at', $8, 'balance', $9, 'available_after', $10))",
		10, {INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID,
			TIMESTAMPTZOID, INT8OID, INT8OID}
	};
	Datum		keys[5] = {
		Int64GetDatum(op->account_id), CStringGetTextDatum(issue->name),
		TimestampTzGetDatum(issue->period_start), TimestampTzGetDatum(issue->period_end),
		Int64GetDatum(issue->bucket_id)
	};
	Datum		figures[10] = {
		Int64GetDatum(op->account_id), Int64GetDatum(issue->entry_id),
		CStringGetTextDatum(issue->name), Int64GetDatum(issue->bucket_id),
		Int64GetDatum(issue->amount), Int64GetDatum(issue->carry),
		TimestampTzGetDatum(issue->period_start), TimestampTzGetDatum(issue->period_end),
		Int64GetDatum(op->acct.balance),
		Int64GetDatum(credits_sub(op->acct.balance, op->acct.reserved))
	};

	query_write_one(&advance, keys, NULL, QUERY_UPDATE, "UPDATE", "allowance");
	query_run(&event, figures, NULL, false, 0, QUERY_SELECT);
}
