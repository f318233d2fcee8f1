-- after-update.sql: run by test/upgrade.sh on the database that calls-1.0.sql
-- populated under 1.0 and that was then updated (while the worker ran and a
-- load called the ledger). Every line must be "t"; after-update.out says so.
\pset format unaligned
\pset pager off
\set VERBOSITY terse
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'credit_ledger')
    AS at_default_version FROM pg_extension WHERE extname = 'credit_ledger';
SET ROLE ledger_operator;
SELECT count(*) = 0 AS verify_empty FROM credit_ledger.verify();
SET ROLE app;
-- the holds left pending under 1.0 can still be settled, as the app role
SELECT amount = 30 AND NOT replayed AS confirmed_1_0_hold
FROM credit_ledger.confirm(1001, (SELECT hold_id FROM credit_ledger.pending_holds WHERE event_id = 'keep-1'), 30);
SELECT amount = 60 AND NOT replayed AS cancelled_1_0_hold
FROM credit_ledger.cancel(1001, (SELECT hold_id FROM credit_ledger.pending_holds WHERE event_id = 'keep-2'));
-- 1.0 events replay: same answer, replayed, nothing new
SELECT count(*) AS entries_before FROM credit_ledger.entries WHERE account_id = 1001 \gset
SELECT replayed AND amount = 1000 AS grant_replays FROM credit_ledger.grant_credits(1001, 1000, 'g-1');
SELECT replayed AND amount = 250 AS deduct_replays FROM credit_ledger.deduct(1001, 250, 'd-1', 'usage', 'answer');
SELECT replayed AND amount = 50 AS refund_replays FROM credit_ledger.refund(1001, 'r-1', 'd-1', 50);
SELECT replayed AND amount = 300 AS reserve_replays FROM credit_ledger.reserve(1001, 300, 'h-1', interval '1 hour');
SELECT replayed AND amount = 180 AS confirm_replays FROM credit_ledger.confirm(1001, 1, 180);
SELECT replayed AS cancel_replays FROM credit_ledger.cancel(1001, 2);
SELECT replayed AS charge_replays FROM credit_ledger.charge(1001, 'c-1', 'chat', 'openai', 'gpt-4o', 12345, 800, 4000, 1500);
-- the 1.0 rule (gpt-4o*; the load adds its own exact gpt-4o) keeps its
-- prices (12345 x 2500 + 800 x 10000 + 4000 x 1250 + 1500 x 10000 per
-- million, rounded up: 59), and bills the cache writes 1.0 had no price for
-- at its input_price (1,000,000 x 2500 per million)
SELECT credit_ledger.quote('chat', 'openai', 'gpt-4o-mini', 12345, 800, 4000, 1500) = 59
       AND credit_ledger.quote('chat', 'openai', 'gpt-4o-mini', cache_write_tokens => 1000000) = 2500
    AS rule_1_0_keeps_prices;
SELECT replayed AS reward_replays FROM credit_ledger.reward(1001, 'checkin', 'rw-1');
SELECT count(*) = :entries_before AS replays_wrote_nothing FROM credit_ledger.entries WHERE account_id = 1001;
-- a 1.0 event under a different request is still LD004
DO $$
BEGIN
    PERFORM credit_ledger.deduct(1001, 999, 'd-1');
    PERFORM pg_catalog.set_config('upgrade.conflict', 'no error', false);
EXCEPTION WHEN SQLSTATE 'LD004' THEN
    PERFORM pg_catalog.set_config('upgrade.conflict', 'LD004', false);
END
$$;
SELECT current_setting('upgrade.conflict') = 'LD004' AS conflict_refused;
RESET ROLE;
SET ROLE ledger_operator;
SELECT count(*) = 0 AS verify_still_empty FROM credit_ledger.verify();
RESET ROLE;
