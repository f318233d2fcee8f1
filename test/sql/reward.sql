-- reward: the rule's amount as a bucket with the rule's expiry; NULL (and
-- nothing written) when the rule is missing or inactive or today's cap is
-- reached; idempotent on event_id.

INSERT INTO credit_ledger.reward_rule (source, amount, expires_after, daily_cap, description)
VALUES ('signup', 100, '30 days', NULL, 'welcome gift'),
       ('checkin', 5, NULL, 2, 'daily check-in'),
       ('retired', 50, NULL, NULL, 'no longer given');
UPDATE credit_ledger.reward_rule SET active = false WHERE source = 'retired';

-- the first reward opens the wallet
SELECT amount, balance, available, replayed FROM credit_ledger.reward(4200, 'signup', 'rw-1');
SELECT source, granted, remaining,
       expires_at BETWEEN now() + interval '29 days' AND now() + interval '31 days' AS expires_in_30_days
FROM credit_ledger.bucket WHERE account_id = 4200;
SELECT kind, amount, source, event_id FROM credit_ledger.entries WHERE account_id = 4200;
SELECT total_granted FROM credit_ledger.balance(4200);
-- a replay returns the original result
SELECT amount, balance, replayed FROM credit_ledger.reward(4200, 'signup', 'rw-1');
SELECT expect_error($$SELECT credit_ledger.reward(4200, 'checkin', 'rw-1')$$);

-- missing or inactive rule: NULL, no error, nothing written, no account opened
SELECT credit_ledger.reward(4201, 'retired', 'rw-2') IS NULL AS inactive_is_null,
       credit_ledger.reward(4201, 'no such reward', 'rw-3') IS NULL AS missing_is_null,
       credit_ledger.reward(4200, 'retired', 'rw-4') IS NULL AS inactive_on_existing_account;
SELECT count(*) AS accounts_opened FROM credit_ledger.account WHERE account_id = 4201;
SELECT count(*) AS entries FROM credit_ledger.entries WHERE account_id = 4200;
-- ... but a replay still answers after the rule was switched off
UPDATE credit_ledger.reward_rule SET active = false WHERE source = 'signup';
SELECT amount, replayed FROM credit_ledger.reward(4200, 'signup', 'rw-1');
UPDATE credit_ledger.reward_rule SET active = true WHERE source = 'signup';

-- the daily cap: two check-ins a day
SELECT amount, balance FROM credit_ledger.reward(4200, 'checkin', 'rw-c1');
SELECT amount, balance FROM credit_ledger.reward(4200, 'checkin', 'rw-c2');
SELECT credit_ledger.reward(4200, 'checkin', 'rw-c3') IS NULL AS capped;
SELECT count(*) AS checkin_entries FROM credit_ledger.entries WHERE account_id = 4200 AND source = 'checkin';
-- capped now, yet the replay of an earlier check-in returns its result
SELECT amount, replayed FROM credit_ledger.reward(4200, 'checkin', 'rw-c1');
-- the cap is per source and per account
SELECT amount FROM credit_ledger.reward(4200, 'signup', 'rw-5');
SELECT amount FROM credit_ledger.reward(4202, 'checkin', 'rw-c1');
-- raising the cap lets the next one through
UPDATE credit_ledger.reward_rule SET daily_cap = 3 WHERE source = 'checkin';
SELECT amount FROM credit_ledger.reward(4200, 'checkin', 'rw-c3');

-- The day is the UTC day of the call, whatever the session's time zone:
-- rewards written at the last instant of yesterday (UTC) do not count,
-- one at the first instant of today does. Such entries are placed by hand
-- (the ledger accepts INSERTs), with amount 0 so the figures stay whole.
-- (Should the clock be within 5 s of midnight UTC, wait it out first.)
SELECT pg_sleep(extract(epoch FROM d.next_midnight - clock_timestamp()) + 1)
FROM (SELECT date_trunc('day', clock_timestamp() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
             + interval '1 day' AS next_midnight) d
WHERE d.next_midnight - clock_timestamp() < interval '5 seconds';
CREATE FUNCTION place_reward(account bigint, source text, at timestamptz) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO credit_ledger.entry (account_id, kind, amount, reserved_delta, balance_after,
                                     reserved_after, source, created_at)
    SELECT a.account_id, 'reward', 0, 0, a.balance, a.reserved, place_reward.source, at
    FROM credit_ledger.account a WHERE a.account_id = account
$$;
CREATE FUNCTION utc_midnight() RETURNS timestamptz LANGUAGE sql AS $$
    SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;
UPDATE credit_ledger.reward_rule SET daily_cap = 1 WHERE source = 'checkin';
-- far east and far west of UTC, so that a day taken in local time would be
-- caught at any time of day
SET TimeZone = 'Pacific/Kiritimati';     -- UTC+14
SELECT credit_ledger.open_account(4210), credit_ledger.open_account(4211);
SELECT place_reward(4210, 'checkin', utc_midnight() - interval '1 microsecond');
SELECT place_reward(4211, 'checkin', utc_midnight());
SELECT (credit_ledger.reward(4210, 'checkin', 'rw-d1')).amount AS yesterday_not_counted,
       credit_ledger.reward(4211, 'checkin', 'rw-d1') IS NULL AS today_counted;
SET TimeZone = 'Pacific/Honolulu';       -- UTC-10
SELECT credit_ledger.open_account(4212), credit_ledger.open_account(4213);
SELECT place_reward(4212, 'checkin', utc_midnight() - interval '1 microsecond');
SELECT place_reward(4213, 'checkin', utc_midnight());
SELECT (credit_ledger.reward(4212, 'checkin', 'rw-d1')).amount AS yesterday_not_counted,
       credit_ledger.reward(4213, 'checkin', 'rw-d1') IS NULL AS today_counted;
-- nor does one placed at the first instant of tomorrow
SELECT credit_ledger.open_account(4214);
SELECT place_reward(4214, 'checkin', utc_midnight() + interval '24 hours');
SELECT (credit_ledger.reward(4214, 'checkin', 'rw-d1')).amount AS tomorrow_not_counted;
RESET TimeZone;
-- the one granted today now caps the account
SELECT credit_ledger.reward(4210, 'checkin', 'rw-d2') IS NULL AS capped;

-- account state and arguments
SELECT credit_ledger.set_status(4202, 'frozen');
SELECT amount FROM credit_ledger.reward(4202, 'signup', 'rw-6');    -- money in: allowed
SELECT credit_ledger.set_status(4202, 'closed');
SELECT expect_error($$SELECT credit_ledger.reward(4202, 'signup', 'rw-7')$$);
SELECT expect_error($$SELECT credit_ledger.reward(4200, NULL, 'rw-8')$$);
SELECT expect_error($$SELECT credit_ledger.reward(4200, '', 'rw-8')$$);
SELECT expect_error($$SELECT credit_ledger.reward(4200, 'signup', NULL)$$);
SELECT expect_error($$SELECT credit_ledger.reward(NULL, 'signup', 'rw-8')$$);

SELECT account_id, check_name FROM credit_ledger.verify()
WHERE account_id BETWEEN 4200 AND 4299 ORDER BY 1, 2;
DROP FUNCTION place_reward, utc_midnight;
DELETE FROM credit_ledger.reward_rule;
