-- calls-1.0.sql: every 1.0 function called positionally, as the 1.0 README's
-- roles, on a database just created. test/upgrade.sh runs it on a 1.0
-- schema served by this library (before ALTER EXTENSION UPDATE) and on a
-- schema updated to the current version; both outputs must equal
-- calls-1.0.out. It leaves holds pending for after-update.sql: 'keep-1'
-- and 'keep-2' (an hour), and 'short-1' on account 1002 (2 seconds, for
-- the worker to expire once the schema is updated).
\pset format unaligned
\pset pager off
\set VERBOSITY terse
SET ROLE ledger_operator;
INSERT INTO credit_ledger.price_rule (provider, model, input_price, output_price, cached_price, reasoning_price)
VALUES ('openai', 'gpt-4o*', 2500, 10000, 1250, 10000);
INSERT INTO credit_ledger.reward_rule (source, amount, expires_after, daily_cap)
VALUES ('checkin', 5, interval '30 days', 1);
SELECT credit_ledger.open_account(1001, 100, '{"plan": "pro"}');
SELECT credit_ledger.set_credit_limit(1001, 50);
SELECT credit_ledger.open_account(1003);
SELECT credit_ledger.set_status(1003, 'frozen', 'chargeback');
SET ROLE app;
SELECT * FROM credit_ledger.grant_credits(1001, 1000, 'g-1');
SELECT * FROM credit_ledger.grant_credits(1001, 200, 'g-2', 'gift', now() + interval '30 days', -1, 'welcome', '{"k": 1}');
SELECT * FROM credit_ledger.deduct(1001, 250, 'd-1', 'usage', 'answer', '{"m": "x"}');
SELECT * FROM credit_ledger.deduct(1001, 100000, 'd-too-much');
SELECT * FROM credit_ledger.refund(1001, 'r-1', 'd-1', 50, 'partial');
SELECT * FROM credit_ledger.reserve(1001, 300, 'h-1', interval '1 hour', 'usage', 'stream', '{"s": 1}');
SELECT * FROM credit_ledger.confirm(1001, 1, 180, '{"final": true}');
SELECT * FROM credit_ledger.reserve(1001, 100, 'h-2', interval '1 hour');
SELECT * FROM credit_ledger.cancel(1001, 2, 'stopped');
SELECT * FROM credit_ledger.reserve(1001, 100, 'h-3');
SELECT * FROM credit_ledger.charge(1001, 'c-1', 'chat', 'openai', 'gpt-4o', 12345, 800, 4000, 1500);
SELECT * FROM credit_ledger.charge(1001, 'c-2', 'chat', 'openai', 'gpt-4o', 1000, 100, 0, 0, 3, '{"h": 3}');
SELECT * FROM credit_ledger.reward(1001, 'checkin', 'rw-1', '{"day": 1}');
SELECT * FROM credit_ledger.reward(1001, 'checkin', 'rw-2');
SELECT * FROM credit_ledger.reserve(1001, 40, 'keep-1', interval '1 hour');
SELECT * FROM credit_ledger.reserve(1001, 60, 'keep-2', interval '1 hour');
SELECT * FROM credit_ledger.grant_credits(1002, 10, 'g-3');
SELECT * FROM credit_ledger.reserve(1002, 7, 'short-1', interval '2 seconds');
SELECT credit_ledger.quote('chat', 'openai', 'gpt-4o', 12345, 800, 4000, 1500);
SELECT id, model FROM credit_ledger.resolve_price('chat', 'openai', 'gpt-4o-mini', now());
SELECT account_id, balance, reserved, available, credit_limit, status, total_granted,
       total_consumed, total_expired, total_refunded, next_expiry_amount
FROM credit_ledger.balance(1001);
SELECT entry_id, kind, amount, reserved_delta, balance_after, reserved_after, event_id, hold_id,
       source, price_rule_id, input_tokens, bucket_ids, bucket_amounts, ref_entry_id
FROM credit_ledger.history(1001, 100, NULL);
SELECT * FROM credit_ledger.consumption(1001, NULL, now() + interval '1 hour');
SELECT account_id, balance, reserved, available, status FROM credit_ledger.accounts ORDER BY 1;
SELECT hold_id, account_id, amount, event_id FROM credit_ledger.pending_holds ORDER BY 1;
SELECT account_id, bucket_id, source, remaining FROM credit_ledger.expiring_grants ORDER BY 1, 2;
SELECT count(*) AS entries FROM credit_ledger.entries;
SET ROLE ledger_operator;
SELECT * FROM credit_ledger.adjust(1001, -5, 'a-1', 'goodwill correction');
SELECT * FROM credit_ledger.deduct(1003, 1, 'frozen-1');
SELECT * FROM credit_ledger.verify();
SELECT * FROM credit_ledger.sweep(10);
SELECT count(*) AS worker_rows FROM credit_ledger.worker_status();
RESET ROLE;
