/*
 * reward.c
 *		reward: credits for an application event (sign-up, daily check-in)
 *		as the reward rule of its source says: the amount, as a bucket that
 *		expires expires_after from now, at most daily_cap times per account
 *		per UTC day. A missing or inactive rule or a reached cap is not an
 *		error: the call grants nothing and returns NULL.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "api/args.h"
#include "api/op_result.h"
#include "store/query.h"
#include "ledger/account.h"
#include "ledger/utc.h"
#include "ledger/idempotency.h"
#include "ledger/money.h"
#include "ledger/operation.h"

PG_FUNCTION_INFO_V1(credit_ledger_reward);

typedef struct RewardRule
{
	bool		active;			/* false: missing or inactive */
	int64		amount;
	bool		has_expiry;
	Interval	expires_after;
	bool		has_cap;
	int32		daily_cap;
} RewardRule;

/*
 * Reads the source's rule, and whether the account exists: a reward whose
 * rule is off must not open an account, and on a missing account it cannot
 * be a replay either.
 */
static void
reward_rule_load(const char *source, int64 account_id, RewardRule *rule, bool *account_exists)
{
	static CachedQuery q = {
		"SELECT r.amount, r.expires_after, r.daily_cap,"
		" EXISTS (SELECT FROM credit_ledger.account a WHERE a.account_id = $2)"
		" FROM (VALUES (1)) AS one"
		" LEFT JOIN credit_ledger.reward_rule r ON r.source = $1 AND r.active",
		2, {TEXTOID, INT8OID}
	};
	Datum		values[2] = {CStringGetTextDatum(source), Int64GetDatum(account_id)};
	bool		isnull;
	Datum		expires_after;

	query_connect();
	query_run(&q, values, NULL, true, 0, QUERY_SELECT);
	rule->amount = query_int64(0, 1, &isnull);
	rule->active = !isnull;
	expires_after = query_datum(0, 2, &isnull);
	rule->has_expiry = !isnull;
	if (rule->has_expiry)
		rule->expires_after = *DatumGetIntervalP(expires_after);
	rule->daily_cap = DatumGetInt32(query_datum(0, 3, &isnull));
	rule->has_cap = !isnull;
	*account_exists = DatumGetBool(query_datum(0, 4, &isnull));
	query_finish();
}

/*
 * Rewards of this source the account got today. The day is the UTC day of
 * the call's instant: timestamps count from midnight UTC, 2000-01-01.
 */
static int64
rewards_today(LedgerOp *op, const char *source)
{
	static CachedQuery q = {
		"SELECT count(*) FROM credit_ledger.entry"
		" WHERE account_id = $1 AND kind = 'reward' AND source = $2"
		"   AND created_at >= $3 AND created_at < $4",
		4, {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	};
	TimestampTz day_start = op->now - ((op->now % USECS_PER_DAY) + USECS_PER_DAY) % USECS_PER_DAY;

	/* 24 hours, not "+ interval '1 day'", which follows the session's DST */
	Datum		values[4] = {
		Int64GetDatum(op->account_id), CStringGetTextDatum(source),
		TimestampTzGetDatum(day_start), TimestampTzGetDatum(day_start + USECS_PER_DAY)
	};

	/* under the account lock: read what a reward we waited for committed */
	query_run(&q, values, NULL, false, 0, QUERY_SELECT);
	return query_int64(0, 1, NULL);
}

Datum
credit_ledger_reward(PG_FUNCTION_ARGS)
{
	LedgerOp	op;
	char	   *source;
	char	   *event_id;
	bool		has_metadata;
	Datum		metadata;
	RewardRule	rule;
	bool		account_exists;

	arg_require_not_null(fcinfo, 0, "account_id");
	source = arg_nonempty_text(fcinfo, 1, "source");
	event_id = arg_event_id(fcinfo, 2, "event_id");
	metadata = arg_optional_jsonb(fcinfo, 3, "metadata", &has_metadata);

	op_init(&op, PG_GETARG_INT64(0), event_id, "reward");
	request_add_text(&op.request, "source", source);

	reward_rule_load(source, op.account_id, &rule, &account_exists);
	if (!rule.active && !account_exists)
		PG_RETURN_NULL();

	/* under the account lock, so that concurrent rewards cannot pass the cap together */
	if (op_begin(&op, rule.active ? OP_ACCOUNT_OPEN_IF_MISSING : OP_ACCOUNT_MUST_EXIST))
	{
		TimestampTz expires_at = 0;

		if (rule.active)
			account_require_active(&op.acct, true);
		if (!rule.active ||
			(rule.has_cap && rewards_today(&op, source) >= rule.daily_cap))
		{
			op_end(&op);
			PG_RETURN_NULL();
		}
		if (rule.has_expiry)
			expires_at = timestamptz_plus_utc(op.now, &rule.expires_after);
		money_in(&op, &(MoneyIn) {
			.kind = ENTRY_REWARD, .amount = rule.amount, .source = source,
			.has_expiry = rule.has_expiry, .expires_at = expires_at,
			.metadata = metadata, .has_metadata = has_metadata
		});
	}
	PG_RETURN_DATUM(op_result(&op, fcinfo));
}
