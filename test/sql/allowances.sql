-- Recurring allowances (DESIGN 16): a bucket every UTC day, week or month
-- plus a capped rollover, expiring at the period's end; exact without the
-- worker: a period that has begun counts in every read before anything
-- writes it, and the next call (or the sweep) writes it once. Accounts
-- 16000-16099.
--
-- Time is faked in two ways, never by sleeping: a starts_at in the past
-- issues the periods since then (their boundaries are fixed instants), and
-- travel() moves an account's stored instants back, as if time had passed.
\set VERBOSITY terse
CREATE FUNCTION travel(acct bigint, span interval) RETURNS void LANGUAGE sql AS $$
    UPDATE credit_ledger.bucket SET expires_at = expires_at - span, effective_at = effective_at - span
    WHERE account_id = acct;
    UPDATE credit_ledger.allowance SET next_issue_at = next_issue_at - span, starts_at = starts_at - span,
        ends_at = ends_at - span
    WHERE account_id = acct;
    UPDATE credit_ledger.hold SET expires_at = expires_at - span WHERE account_id = acct AND state = 'pending';
    UPDATE credit_ledger.account SET next_expiry_at = next_expiry_at - span WHERE account_id = acct;
$$;
-- to one minute past the end of the account's current allowance period
CREATE FUNCTION travel_to_next_period(acct bigint) RETURNS void LANGUAGE sql AS $$
    SELECT travel(acct, min(next_issue_at) - now() + interval '1 minute')
    FROM credit_ledger.allowance WHERE account_id = acct;
$$;

-- Boundaries on the UTC calendar, whatever the session's TimeZone: a day
-- ends at 00:00 UTC (2024 is a leap year), a week on Monday 00:00 UTC, a
-- month on the 1st. Each period's bucket gets amount plus what the previous
-- one left (nobody spent from these), at most rollover_max.
SET TimeZone = 'America/Adak';
SELECT credit_ledger.set_allowance(16001, 'daily', 10, 'day', 5, starts_at => '2024-02-28 18:00+00');
SELECT credit_ledger.set_allowance(16002, 'weekly', 70, 'week', 0, starts_at => '2024-02-28 18:00+00');
SELECT credit_ledger.set_allowance(16003, 'pro', 500, 'month', 100, starts_at => '2024-01-31 12:00+00');
SELECT account_id, granted, source, priority, created_at = now() AS written_now,
       expires_at AT TIME ZONE 'UTC' AS expires_utc
FROM (SELECT b.*, row_number() OVER (PARTITION BY account_id ORDER BY bucket_id) AS n
      FROM credit_ledger.bucket b WHERE account_id BETWEEN 16001 AND 16003) b
WHERE n <= 4 ORDER BY account_id, bucket_id;
RESET TimeZone;
-- one bucket per period up to now, only the current one live, exactly as
-- many as the calendar has periods since starts_at
SELECT account_id, count(*) AS buckets_match_periods, count(*) FILTER (WHERE live) AS live,
       bool_and(expires_at <= now()) FILTER (WHERE NOT live) AS lapsed_ones_ended
FROM credit_ledger.bucket WHERE account_id BETWEEN 16001 AND 16003 GROUP BY account_id ORDER BY account_id;
SELECT (SELECT count(*) FROM credit_ledger.bucket WHERE account_id = 16001)
     = 1 + ((now() AT TIME ZONE 'UTC')::date - date '2024-02-29') + 1 AS days_counted,
       (SELECT count(*) FROM credit_ledger.bucket WHERE account_id = 16003)
     = (extract(year FROM now() AT TIME ZONE 'UTC') - 2024) * 12 + extract(month FROM now() AT TIME ZONE 'UTC')
       AS months_counted;
-- the live bucket: amount + rollover_max, expiring at the end of today, of
-- this week, of this month (UTC)
SELECT b.account_id, b.remaining,
       b.expires_at = (date_trunc(a.period, now() AT TIME ZONE 'UTC') + ('1 ' || a.period)::interval) AT TIME ZONE 'UTC'
           AS ends_with_the_period
FROM credit_ledger.bucket b JOIN credit_ledger.allowance a USING (account_id)
WHERE b.account_id BETWEEN 16001 AND 16003 AND b.live ORDER BY b.account_id;
SELECT account_id, balance, total_granted = (SELECT sum(amount) FROM credit_ledger.entry e
           WHERE e.account_id = x.account_id AND kind = 'grant') AS granted_matches_entries,
       total_expired > 0 AS some_lapsed
FROM credit_ledger.accounts x WHERE account_id BETWEEN 16001 AND 16003 ORDER BY account_id;
SELECT * FROM credit_ledger.verify(16001) UNION ALL SELECT * FROM credit_ledger.verify(16002)
UNION ALL SELECT * FROM credit_ledger.verify(16003);
-- the rollover moves out of the bucket it came from: the month's 600 is
-- 500 new credits (the entry's amount) and 100 carried
SELECT kind, amount, bucket_amounts, description FROM credit_ledger.entries
WHERE account_id = 16003 ORDER BY entry_id LIMIT 4;

-- A Pro plan, month by month: 500 credits a month, 100 roll over
SELECT credit_ledger.set_allowance(16010, 'pro', 500, 'month', rollover_max => 100);
SELECT name, amount, period, rollover_max, source, priority, ends_at,
       next_issue_at = (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
           AS next_is_the_1st
FROM credit_ledger.allowances WHERE account_id = 16010;
SELECT balance, available FROM credit_ledger.balance(16010);
-- spent first (priority -1) before a paid top-up
SELECT balance FROM credit_ledger.grant_credits(16010, 1000, 'a-paid');
SELECT balance FROM credit_ledger.deduct(16010, 420, 'a-d1');
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 16010 ORDER BY bucket_id;
-- the month turns: before anything is written, every answer counts the new
-- month's 500 + the 80 left (under the cap), and the old bucket is gone
SELECT travel_to_next_period(16010);
SELECT count(*) AS entries_before FROM credit_ledger.entry WHERE account_id = 16010;
SELECT balance, available, total_granted, total_expired, next_expiry_amount,
       next_expiry_at = (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
           AS expires_at_month_end
FROM credit_ledger.balance(16010);
SELECT bucket_id IS NULL AS not_written_yet, source, remaining FROM credit_ledger.expiring_grants
WHERE account_id = 16010 ORDER BY expires_at;
-- a read-only transaction (as on a standby) sees the same
BEGIN READ ONLY;
SELECT balance, available FROM credit_ledger.accounts WHERE account_id = 16010;
COMMIT;
SELECT count(*) AS entries_still FROM credit_ledger.entry WHERE account_id = 16010;
-- the next call writes it, once: a grant of 500, the 80 carried, nothing lapses
SELECT balance, available FROM credit_ledger.deduct(16010, 1, 'a-d2');
SELECT kind, amount, balance_after, source, bucket_amounts, description FROM credit_ledger.entries
WHERE account_id = 16010 AND entry_id > (SELECT max(entry_id) FROM credit_ledger.entry
    WHERE account_id = 16010 AND event_id = 'a-d1') ORDER BY entry_id;
SELECT payload->>'allowance' AS allowance, payload->>'amount' AS amount, payload->>'rolled_over' AS rolled_over,
       (payload->>'bucket_id')::bigint = (SELECT max(bucket_id) FROM credit_ledger.bucket WHERE account_id = 16010)
           AS names_the_bucket
FROM credit_ledger.events WHERE account_id = 16010 AND kind = 'allowance.issued' ORDER BY event_seq;
SELECT balance, available FROM credit_ledger.balance(16010);
-- another month: 579 left, so only 100 roll over and 479 lapse; the sweep
-- writes it, with the figures every read gave before
SELECT travel_to_next_period(16010);
SELECT balance, total_expired FROM credit_ledger.balance(16010);
SELECT accounts >= 1 AS swept FROM credit_ledger.sweep() AS s(holds_expired, grants_expired),
    LATERAL (SELECT 1 AS accounts) x;
SELECT balance, total_expired FROM credit_ledger.balance(16010);
SELECT kind, amount, bucket_amounts FROM credit_ledger.entries
WHERE account_id = 16010 AND kind IN ('grant', 'expire_grant') AND event_id IS NULL ORDER BY entry_id;
SELECT count(*) AS buckets_of_pro FROM credit_ledger.bucket WHERE account_id = 16010 AND source = 'allowance';
SELECT * FROM credit_ledger.verify(16010);

-- Several periods pass unwritten (a daily allowance, three days): every
-- read computes them all, the next call writes the same figures
SELECT credit_ledger.set_allowance(16020, 'daily', 10, 'day', 25);
SELECT travel(16020, (SELECT next_issue_at - now() + interval '2 days 1 minute'
                      FROM credit_ledger.allowance WHERE account_id = 16020));
SELECT balance, total_granted, total_expired FROM credit_ledger.balance(16020);
SELECT seq, amount, carry, live, lapsed FROM credit_ledger.arrivals WHERE account_id = 16020 ORDER BY seq;
SELECT balance, total_granted, total_expired FROM credit_ledger.sweep() s, credit_ledger.balance(16020);
SELECT granted, remaining, live FROM credit_ledger.bucket WHERE account_id = 16020 ORDER BY bucket_id;
SELECT * FROM credit_ledger.verify(16020);

-- Debt is repaid first: an account 30 in debt gets 20 of a period's 50
SELECT credit_ledger.open_account(16030, credit_limit => 100);
SELECT balance FROM credit_ledger.deduct(16030, 30, 'a-debt');
SELECT credit_ledger.set_allowance(16030, 'gift', 50, 'week', 50);
SELECT balance, available FROM credit_ledger.balance(16030);
SELECT debt, (SELECT remaining FROM credit_ledger.bucket WHERE account_id = 16030) AS bucket
FROM credit_ledger.account WHERE account_id = 16030;
SELECT * FROM credit_ledger.verify(16030);

-- Ending: no period starts after end_allowance; the current bucket stays
SELECT credit_ledger.set_allowance(16040, 'trial', 30, 'day');
SELECT credit_ledger.end_allowance(16040, 'trial');
SELECT ends_at IS NOT NULL AS ended, next_issue_at FROM credit_ledger.allowances WHERE account_id = 16040;
SELECT travel(16040, interval '2 days');
SELECT balance FROM credit_ledger.balance(16040);
SELECT count(*) AS arrivals FROM credit_ledger.arrivals WHERE account_id = 16040;
SELECT credit_ledger.end_allowance(16040, 'trial');
-- set again: it starts anew
SELECT credit_ledger.set_allowance(16040, 'trial', 30, 'day');
SELECT balance FROM credit_ledger.balance(16040);
-- ends_at ahead: the period that starts at or after it is not issued
SELECT credit_ledger.set_allowance(16041, 'short', 5, 'day', ends_at => now() + interval '1 hour');
SELECT travel(16041, interval '3 days');
SELECT balance, total_expired FROM credit_ledger.balance(16041);
SELECT count(*) AS arrivals FROM credit_ledger.arrivals WHERE account_id = 16041;
-- changing an allowance applies from its next period on
SELECT credit_ledger.set_allowance(16042, 'plan', 100, 'month');
SELECT credit_ledger.set_allowance(16042, 'plan', 300, 'month');
SELECT balance FROM credit_ledger.balance(16042);
SELECT travel_to_next_period(16042);
SELECT balance FROM credit_ledger.balance(16042);

-- refusals: 22023 / 22004 / LD003, nothing changes
\set VERBOSITY default
SELECT expect_error($$SELECT credit_ledger.set_allowance(16050, 'x', 10, 'year')$$);
SELECT expect_error($$SELECT credit_ledger.set_allowance(16050, 'x', 0, 'day')$$);
SELECT expect_error($$SELECT credit_ledger.set_allowance(16050, '', 10, 'day')$$);
SELECT expect_error($$SELECT credit_ledger.set_allowance(16050, NULL, 10, 'day')$$);
SELECT expect_error($$SELECT credit_ledger.set_allowance(16050, 'x', 10, 'day', -1)$$);
SELECT regexp_replace(expect_error($$SELECT credit_ledger.set_allowance(16050, 'x', 10, 'day',
    starts_at => '2030-01-02', ends_at => '2030-01-01')$$), '\d{4}-\d\d-\d\d [0-9:+-]+', '<t>', 'g');
SELECT expect_error($$SELECT credit_ledger.set_allowance(16050, 'x', 10, 'day', starts_at => 'infinity')$$);
SELECT regexp_replace(expect_error($$SELECT credit_ledger.set_allowance(16050, 'x', 10, 'day',
    starts_at => now() - interval '10 years 1 day')$$), '\d{4}-\d\d-\d\d [0-9:.+-]+', '<t>', 'g');
SELECT expect_error($$SELECT credit_ledger.end_allowance(16040, 'nope')$$);
SELECT expect_error($$SELECT credit_ledger.end_allowance(16050, 'x')$$);
SELECT credit_ledger.set_status(16040, 'closed');
SELECT expect_error($$SELECT credit_ledger.set_allowance(16040, 'trial', 30, 'day')$$);
\set VERBOSITY terse
SELECT count(*) AS nothing_for_16050 FROM credit_ledger.allowance WHERE account_id = 16050;
