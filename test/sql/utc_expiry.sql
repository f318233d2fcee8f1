-- A ttl or a reward's expires_after is added on the UTC calendar, as the
-- daily cap's day is: the same call lasts the same from every TimeZone,
-- across DST changes too. 240 days from any instant cross at least one DST
-- change of America/Adak (they are at most 238 days apart).
SET TimeZone = 'America/Adak';
SELECT amount FROM credit_ledger.grant_credits(7851, 100, 'utc-g1');
SELECT hold_id IS NOT NULL AS held FROM credit_ledger.reserve(7851, 10, 'utc-h1', '240 days');
INSERT INTO credit_ledger.reward_rule (source, amount, expires_after) VALUES ('utc-bonus', 5, '240 days');
SELECT amount FROM credit_ledger.reward(7851, 'utc-bonus', 'utc-r1');
SELECT (expires_at AT TIME ZONE 'UTC') - (created_at AT TIME ZONE 'UTC') AS hold_lasts
FROM credit_ledger.hold WHERE account_id = 7851;
SELECT (expires_at AT TIME ZONE 'UTC') - (created_at AT TIME ZONE 'UTC') AS reward_lasts
FROM credit_ledger.bucket WHERE account_id = 7851 AND source = 'utc-bonus';
-- the same ttl from UTC replays as the same request
SET TimeZone = 'UTC';
SELECT replayed FROM credit_ledger.reserve(7851, 10, 'utc-h1', '240 days');
-- a ttl that is not positive is 22023 with its DETAIL, however large
SELECT expect_error($$SELECT credit_ledger.reserve(7851, 1, 'utc-h2', '-100000 years')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(7851, 1, 'utc-h2', '-5 minutes')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(7851, 1, 'utc-h2', '1 month -31 days')$$);
DELETE FROM credit_ledger.reward_rule WHERE source = 'utc-bonus';
RESET TimeZone;
