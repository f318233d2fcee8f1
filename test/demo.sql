-- The demo run by test/demo.sh: every feature, on a fresh database.
\pset footer off

-- shows how a refused call is reported to the application (created before
-- the echo starts: the demo is the calls, not this helper)
\set QUIET on
CREATE FUNCTION pg_temp.show_refusal(call text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE call;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, SQLERRM || COALESCE(' (' || NULLIF(detail, '') || ')', '');
END $$;
\set QUIET off
\set ECHO queries

-- A wallet opens with its first top-up: 1000 paid credits...
SELECT * FROM credit_ledger.grant_credits(42, 1000, 'stripe-pi-001');
-- ...and 200 gift credits that expire in a week and are spent first.
SELECT * FROM credit_ledger.grant_credits(42, 200, 'welcome-gift', 'gift', now() + interval '7 days');

-- Charge an LLM call: 250 credits, gift first, then paid.
SELECT * FROM credit_ledger.deduct(42, 250, 'chat-7f3a', 'usage', 'gpt answer', '{"model": "gpt-4o"}');

-- A retry of the same call (same event_id) is answered, not charged again.
SELECT * FROM credit_ledger.deduct(42, 250, 'chat-7f3a');

-- The same event_id for a different request is refused: LD004 says what differs.
SELECT pg_temp.show_refusal($$SELECT credit_ledger.deduct(42, 999, 'chat-7f3a')$$);

-- Overspending is impossible: LD001, and nothing changes.
SELECT pg_temp.show_refusal($$SELECT credit_ledger.deduct(42, 5000, 'chat-huge')$$);

-- Money out of an account that does not exist: LD002.
SELECT pg_temp.show_refusal($$SELECT credit_ledger.deduct(399, 10, 'chat-x')$$);

-- A refund returns credits to the buckets they came from (paid ones first)...
SELECT * FROM credit_ledger.refund(42, 'refund-7f3a', 'chat-7f3a', 100);
-- ...never more than the charge took: LD008.
SELECT pg_temp.show_refusal($$SELECT credit_ledger.refund(42, 'refund-7f3a-2', 'chat-7f3a', 200)$$);

-- An operator correction, either sign.
SELECT * FROM credit_ledger.adjust(42, 25, 'ops-ticket-9', 'outage goodwill');

-- A business account may go 500 below zero; new credits repay the debt first.
SELECT credit_ledger.open_account(7, 500);
SELECT * FROM credit_ledger.deduct(7, 300, 'batch-1');
SELECT * FROM credit_ledger.grant_credits(7, 400, 'invoice-2026-11');

-- Freezing stops money out, not money in.
SELECT credit_ledger.set_status(7, 'frozen', 'payment dispute');
SELECT pg_temp.show_refusal($$SELECT credit_ledger.deduct(7, 1, 'batch-2')$$);
SELECT credit_ledger.set_status(7, 'active');
-- Its credit limit can be changed, never below what it already uses (LD001).
SELECT credit_ledger.set_credit_limit(7, 1000);
SELECT account_id, balance, available, credit_limit FROM credit_ledger.balance(7);

-- Streaming LLM calls: hold an estimate first, settle for the real cost at the end.
SELECT * FROM credit_ledger.reserve(42, 300, 'stream-1', interval '5 minutes') \gset first_
\echo hold :first_hold_id: reserved :first_reserved, available now :first_available
SELECT * FROM credit_ledger.confirm(42, :first_hold_id, 180);       -- cost 180: the other 120 come back
SELECT * FROM credit_ledger.reserve(42, 100, 'stream-2') \gset second_
\echo hold :second_hold_id: reserved :second_reserved, available now :second_available
SELECT * FROM credit_ledger.cancel(42, :second_hold_id, 'user stopped the stream');
-- A settled hold stays settled: LD005 names its state; another account's hold is LD006.
SELECT pg_temp.show_refusal(format('SELECT credit_ledger.confirm(42, %s, 10)', :second_hold_id));
SELECT pg_temp.show_refusal(format('SELECT credit_ledger.cancel(7, %s)', :first_hold_id));
-- A hold nobody settles lapses at its expiry; the background worker writes it.
SELECT * FROM credit_ledger.reserve(42, 50, 'stream-3', interval '1 second');
SELECT hold_id, account_id, amount, event_id FROM credit_ledger.pending_holds;
DO $$
BEGIN
    -- the worker sweeps every second; allow it up to a minute to (re)connect
    FOR i IN 1..120 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM credit_ledger.hold WHERE event_id = 'stream-3' AND state = 'pending');
        PERFORM pg_sleep(0.5);
    END LOOP;
END $$;
SELECT h.state, e.kind, e.reserved_delta
FROM credit_ledger.hold h JOIN credit_ledger.entries e ON e.entry_id = h.result_entry_id
WHERE h.event_id = 'stream-3';
SELECT database, holds_expired, last_error FROM credit_ledger.worker_status();

-- Grants expire: 30 credits that last one second. Every answer leaves out an
-- expired bucket at once; sweep() (what the worker runs) writes the expiry.
SELECT * FROM credit_ledger.grant_credits(8, 30, 'trial-8', 'gift', clock_timestamp() + interval '1 second');
SELECT account_id, source, remaining FROM credit_ledger.expiring_grants WHERE account_id = 8;
SELECT pg_sleep(1.5);
SELECT balance, total_expired FROM credit_ledger.balance(8);
SELECT * FROM credit_ledger.sweep();
SELECT kind, amount, balance_after FROM credit_ledger.history(8);

-- Usage pricing: with no price rule, a charge is refused (LD007), never free.
SELECT pg_temp.show_refusal($$SELECT credit_ledger.quote('chat', 'openai', 'gpt-4o', 100)$$);
-- Operators keep prices in a table, in credits per million tokens.
INSERT INTO credit_ledger.price_rule (provider, model, input_price, output_price, cached_price,
                                      reasoning_price, description)
VALUES ('openai', 'gpt-4o*', 2500, 10000, 1250, 10000, 'GPT-4o family'),
       (NULL, NULL, 5000, 15000, 2500, 15000, 'any other model');
SELECT id, provider, model, description FROM credit_ledger.resolve_price('chat', 'openai', 'gpt-4o-mini');
-- 12,345 input + 800 output + 4,000 cached + 1,500 reasoning tokens:
-- 30.8625 + 8 + 5 + 15 = 58.8625 credits, rounded up once to 59.
SELECT credit_ledger.quote('chat', 'openai', 'gpt-4o', 12345, 800, 4000, 1500);
SELECT * FROM credit_ledger.charge(42, 'llm-call-1', 'chat', 'openai', 'gpt-4o', 12345, 800, 4000, 1500);
-- A streamed call: hold an estimate, then charge the priced usage through the hold
-- (6,000 input + 900 output + 2,000 reasoning = 44 credits; 6 of the 50 held come back).
SELECT hold_id AS stream_hold FROM credit_ledger.reserve(42, 50, 'stream-4') \gset
SELECT * FROM credit_ledger.charge(42, 'llm-call-2', 'chat', 'openai', 'gpt-4o', 6000, 900, 0, 2000,
                                   hold_id => :stream_hold);
SELECT kind, amount, price_rule_id, input_tokens, output_tokens, cached_tokens, reasoning_tokens
FROM credit_ledger.entries WHERE event_id IN ('llm-call-1', 'llm-call-2') ORDER BY entry_id;

-- Rewards: a daily check-in worth 5 credits that last a week, once a day (UTC).
INSERT INTO credit_ledger.reward_rule (source, amount, expires_after, daily_cap)
VALUES ('checkin', 5, '7 days', 1);
SELECT * FROM credit_ledger.reward(42, 'checkin', 'checkin-42-day-1');
SELECT credit_ledger.reward(42, 'checkin', 'checkin-42-day-1-again') IS NULL AS capped_for_today;

-- The consumption dashboard: the last 24 hours.
SELECT * FROM credit_ledger.consumption(42, since => now() - interval '24 hours');

-- Events (1.1): a low-balance alert at 5 below what account 42 has now. psql
-- LISTENs as an application would: the notification comes with the commit of
-- the deduct that crosses the threshold, once, and the event waits in the outbox.
LISTEN credit_ledger_events;
SELECT credit_ledger.set_alert(42, available - 5) FROM credit_ledger.balance(42);
SELECT amount, available FROM credit_ledger.deduct(42, 10, 'demo-cross-1');
SELECT amount, available FROM credit_ledger.deduct(42, 10, 'demo-cross-2');
SELECT event_seq, kind, payload->>'available_before' AS before,
       payload->>'available_after' AS after, payload->>'threshold' AS threshold
FROM credit_ledger.poll_events('demo', 1000) WHERE account_id = 42 AND kind = 'balance.low';
SELECT credit_ledger.ack_events('demo', max(event_seq)) FROM credit_ledger.poll_events('demo', 1000);
UNLISTEN credit_ledger_events;

-- The shop (1.1): a credit pack, an order, and the payment webhook delivered
-- twice (one grant); a payment of the wrong amount is refused (LD011).
INSERT INTO credit_ledger.product (sku, name, credits, price_minor, original_price_minor,
                                   currency, badge, sort_order)
VALUES ('pack-500', '500 credits', 500, 499, 699, 'USD', 'launch offer', 1);
SELECT sku, name, credits, price_minor, original_price_minor, badge FROM credit_ledger.products;
SELECT order_no, status, credits, amount_minor, currency FROM credit_ledger.create_order(42, 'pack-500', 1, 'demo-order-1');
SELECT pg_temp.show_refusal($$SELECT credit_ledger.pay_order('demo-order-1', 'pay-1', 100, 'USD')$$);
SELECT order_no, status, payment_ref FROM credit_ledger.pay_order('demo-order-1', 'pay-1', 499, 'USD');
SELECT order_no, status, payment_ref FROM credit_ledger.pay_order('demo-order-1', 'pay-1', 499, 'USD');
SELECT count(*) AS grants_for_the_order FROM credit_ledger.entries WHERE event_id = 'order:demo-order-1';

-- Reading: exact balances, the ledger, and a consistency check.
SELECT * FROM credit_ledger.balance(42);
SELECT entry_id, kind, amount, balance_after, event_id, source, bucket_amounts
FROM credit_ledger.history(42);
SELECT account_id, balance, reserved, available, credit_limit, status FROM credit_ledger.accounts ORDER BY account_id;
SELECT count(*) AS inconsistencies FROM credit_ledger.verify();

-- Roles: nothing is granted to PUBLIC. The application role of the README
-- calls the money functions and reads the views, and cannot touch a table.
CREATE ROLE demo_app;
GRANT USAGE ON SCHEMA credit_ledger TO demo_app;
GRANT EXECUTE ON FUNCTION credit_ledger.deduct(bigint, bigint, text, text, text, jsonb, text),
    credit_ledger.balance(bigint) TO demo_app;
GRANT SELECT ON credit_ledger.accounts TO demo_app;
SET ROLE demo_app;
SELECT amount, available FROM credit_ledger.deduct(42, 10, 'app-call-1');
SELECT pg_temp.show_refusal($$UPDATE credit_ledger.account SET balance = 1000000 WHERE account_id = 42$$);
SELECT pg_temp.show_refusal($$SELECT credit_ledger.adjust(42, 1000000, 'app-adjust', 'free money')$$);
RESET ROLE;
DROP OWNED BY demo_app;
DROP ROLE demo_app;

-- Agent sessions (1.1): an agent turn reserves a budget of 2,000, bills
-- three tool calls against it as it goes and ends with a final capture that
-- gives the rest back; a retried capture is replayed.
SELECT (credit_ledger.grant_credits(90, 5000, 'demo-topup-90')).balance;
SELECT hold_id AS turn FROM credit_ledger.reserve(90, 2000, 'demo-turn-1', interval '10 minutes') \gset
SELECT amount, balance, reserved, available FROM credit_ledger.capture(90, :turn, 300, 'demo-turn-1-search');
SELECT amount, balance, reserved, available FROM credit_ledger.capture(90, :turn, 450, 'demo-turn-1-browse');
SELECT amount, balance, reserved, available FROM credit_ledger.capture(90, :turn, 250, 'demo-turn-1-code');
SELECT amount, replayed FROM credit_ledger.capture(90, :turn, 250, 'demo-turn-1-code');
SELECT amount FROM credit_ledger.extend_hold(90, :turn, interval '10 minutes', 'demo-turn-1-extend');
SELECT amount, balance, reserved, available FROM credit_ledger.capture(90, :turn, 200, 'demo-turn-1-answer', final => true);
SELECT pg_temp.show_refusal(format('SELECT credit_ledger.capture(90, %s, 10, %L)', :turn, 'demo-turn-1-late'));
-- The crash case: a hold that charges on expiry, leased to this session.
-- The agent dies after one tool call; past the ttl every answer counts
-- what it still held as charged, before the sweep writes the capture.
SELECT hold_id AS turn2 FROM credit_ledger.reserve(90, 500, 'demo-turn-2', interval '2 seconds',
                                                    on_expiry => 'capture', lease => true) \gset
SELECT amount FROM credit_ledger.capture(90, :turn2, 120, 'demo-turn-2-search');
SELECT hold_id, amount, captured, on_expiry, lease FROM credit_ledger.pending_holds WHERE account_id = 90;
SELECT pg_sleep(2.1);
SELECT balance, reserved, available, total_consumed FROM credit_ledger.balance(90);
SELECT credits, calls FROM credit_ledger.consumption(90);
SELECT * FROM credit_ledger.sweep();
SELECT kind, amount, reserved_delta, description FROM credit_ledger.history(90, 3);
-- At most three holds in flight (LD010); a price change mid-stream does not
-- change what a hold's stream costs (charge with hold_id is priced at its
-- reserve instant).
SELECT credit_ledger.set_hold_limit(90, 3);
SELECT (credit_ledger.reserve(90, 10, 'demo-h1')).amount, (credit_ledger.reserve(90, 10, 'demo-h2')).amount,
       (credit_ledger.reserve(90, 10, 'demo-h3')).amount;
SELECT pg_temp.show_refusal($$SELECT credit_ledger.reserve(90, 10, 'demo-h4')$$);
SELECT count(*) AS inconsistencies FROM credit_ledger.verify(90);
-- Pricing 1.1: a provider's price catalog imported (the hand-written sample
-- of LiteLLM's model_prices_and_context_window.json in test/, passed in by
-- the script as :sample_catalog), then usage objects charged as each
-- provider returns them. Importing the same catalog again writes nothing.
\set catalog `cat :sample_catalog`
-- (the statements are shown as typed, not with the whole catalog in them)
\set ECHO none
\echo 'SELECT credit_ledger.import_prices(:''catalog'', 1000) AS rules_written;'
SELECT credit_ledger.import_prices(:'catalog', 1000) AS rules_written;
\echo 'SELECT credit_ledger.import_prices(:''catalog'', 1000) AS rules_written_again;'
SELECT credit_ledger.import_prices(:'catalog', 1000) AS rules_written_again;
\set ECHO queries
SELECT provider, model, input_price, output_price, cached_price, cache_write_price, min_input_tokens,
       service_tier
FROM credit_ledger.price_rule WHERE description = 'import_prices'
ORDER BY model, min_input_tokens, service_tier NULLS FIRST;
SELECT balance FROM credit_ledger.grant_credits(43, 100000, 'demo-pricing-topup');
-- OpenAI chat completions: the cached tokens are part of prompt_tokens
SELECT amount FROM credit_ledger.charge_usage(43, 'demo-usage-openai', 'chat', 'openai', 'gpt-4o',
    '{"prompt_tokens": 2006, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1920}}');
-- OpenAI responses: the reasoning tokens are part of output_tokens
SELECT amount FROM credit_ledger.charge_usage(43, 'demo-usage-responses', 'chat', 'openai', 'o4-mini',
    '{"input_tokens": 75, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 1186,
      "output_tokens_details": {"reasoning_tokens": 1024}}');
-- Anthropic: input, cache reads and cache writes are disjoint; above 200k
-- input tokens the long-context tier's rule prices the call
SELECT amount FROM credit_ledger.charge_usage(43, 'demo-usage-anthropic', 'chat', 'anthropic',
    'claude-sonnet-4-20250514',
    '{"input_tokens": 21, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 0, "output_tokens": 393}');
SELECT amount FROM credit_ledger.charge_usage(43, 'demo-usage-long', 'chat', 'anthropic',
    'claude-sonnet-4-20250514', '{"input_tokens": 250000, "output_tokens": 2000}');
SELECT e.event_id, e.amount, e.input_tokens, e.cached_tokens, e.cache_write_tokens, e.output_tokens,
       e.reasoning_tokens, r.min_input_tokens AS tier
FROM credit_ledger.entries e JOIN credit_ledger.price_rule r ON r.id = e.price_rule_id
WHERE e.account_id = 43 AND e.event_id LIKE 'demo-usage-%' ORDER BY e.entry_id;
-- a usage object it cannot read is refused, naming the field
SELECT pg_temp.show_refusal($$SELECT credit_ledger.charge_usage(43, 'demo-usage-bad', 'chat', 'openai', 'gpt-4o',
    '{"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 11}}')$$);
SELECT credits, calls, cached_tokens, cache_write_tokens FROM credit_ledger.consumption(43);
-- Teams (1.1): one org wallet, members and keys spending from it under their
-- own caps, a dashboard per member, and a transfer to a project wallet.
SELECT balance FROM credit_ledger.grant_credits(500, 100000, 'org-topup-1');
SELECT balance FROM credit_ledger.grant_credits(500, 5000, 'org-gift', 'gift', now() + interval '10 days', -1);
SELECT credit_ledger.set_spend_limit(500, 'day', 1000, 'alice');
SELECT credit_ledger.set_spend_limit(500, 'day', 2000, 'bob');
SELECT credit_ledger.set_spend_limit(500, 'month', 50000, 'key-ci');
SELECT credit_ledger.set_spend_limit(500, 'month', 1000000);
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, cached_price, reasoning_price)
VALUES ('ci', 'acme', 'acme-mini', 100, 400, 10, 400);
SELECT amount, available FROM credit_ledger.deduct(500, 700, 'chat-a1', subject => 'alice');
SELECT amount, available FROM credit_ledger.deduct(500, 1500, 'chat-b1', subject => 'bob');
SELECT amount, reserved FROM credit_ledger.reserve(500, 250, 'stream-a2', '5 minutes', subject => 'alice');
SELECT amount FROM credit_ledger.charge(500, 'ci-run-1', 'ci', 'acme', 'acme-mini', 120000, 30000, subject => 'key-ci');
-- Alice has 50 left today (700 used, 250 held): 100 more is LD009, and nothing changes.
SELECT pg_temp.show_refusal($$SELECT credit_ledger.deduct(500, 100, 'chat-a3', subject => 'alice')$$);
SELECT subject, period, max_credits, used, held, remaining FROM credit_ledger.limits(500);
-- The per-member dashboard, and one member's figures.
SELECT subject, credits, calls, input_tokens, output_tokens
FROM credit_ledger.consumption_by_subject(500, since => now() - interval '24 hours');
SELECT credits, calls FROM credit_ledger.consumption(500, subject => 'bob');
-- The org funds a project wallet: the gift keeps its expiry and priority there.
SELECT credit_ledger.open_account(501);
SELECT out_entry_id IS NOT NULL AS moved, from_balance, to_balance, replayed
FROM credit_ledger.transfer(500, 501, 6000, 'fund-project-501', 'Q4 budget');
SELECT out_entry_id IS NOT NULL AS moved, from_balance, to_balance, replayed
FROM credit_ledger.transfer(500, 501, 6000, 'fund-project-501', 'Q4 budget');
SELECT source, remaining, priority, expires_at > now() + interval '9 days' AS expires_in_10_days
FROM credit_ledger.bucket WHERE account_id = 501 ORDER BY priority, bucket_id;
SELECT pg_temp.show_refusal($$SELECT credit_ledger.transfer(501, 500, 1000000, 'too-much')$$);
-- Batches (1.1): a usage pipeline bills many events in one call and one
-- commit. Items apply in account_id order; a refused item reports its
-- SQLSTATE and changes nothing, the others apply; the same batch again
-- replays every item it applied.
SELECT amount FROM credit_ledger.grant_credits(43, 50, 'demo-batch-seed');
SELECT item, sqlstate, message, account_id, amount, available, replayed
FROM credit_ledger.deduct_many(ARRAY[43, 42, 43, 399], ARRAY[20, 5, 1000, 1],
                               ARRAY['demo-usage-1', 'demo-usage-2', 'demo-usage-3', 'demo-usage-4'])
ORDER BY item;
SELECT item, sqlstate, amount, replayed
FROM credit_ledger.deduct_many(ARRAY[43, 42, 43, 399], ARRAY[20, 5, 1000, 1],
                               ARRAY['demo-usage-1', 'demo-usage-2', 'demo-usage-3', 'demo-usage-4'])
ORDER BY item;
SELECT item, sqlstate, account_id, amount
FROM credit_ledger.charge_many(ARRAY[42, 43], ARRAY['demo-llm-1', 'demo-llm-2'], 'chat', 'openai',
                               ARRAY['gpt-4o', 'gpt-4o'], ARRAY[1200, 300], ARRAY[400, 100])
ORDER BY item;
-- Allowances (1.1): a Pro plan gives 500 credits every UTC month, up to 100
-- unspent ones roll over; a member since the month before last has had three
-- months (the first 500, then 500 + 100 rolled over, twice: the rest lapsed).
SELECT credit_ledger.set_allowance(43, 'pro', 500, 'month', rollover_max => 100,
    starts_at => date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '2 months');
SELECT name, amount, period, rollover_max, next_issue_at FROM credit_ledger.allowances WHERE account_id = 43;
SELECT kind, amount, bucket_amounts, description FROM credit_ledger.entries
WHERE account_id = 43 ORDER BY entry_id;
SELECT balance, total_granted, total_expired, next_expiry_at FROM credit_ledger.balance(43);
-- A voucher that starts tomorrow: 0 credits now, counted from then on.
SELECT amount, balance FROM credit_ledger.grant_credits(43, 200, 'voucher-43', 'gift',
                                                       effective_at => now() + interval '1 day');
SELECT balance, available FROM credit_ledger.balance(43);
-- The plan is cancelled: no month starts after this one.
SELECT credit_ledger.end_allowance(43, 'pro');
SELECT name, ends_at IS NOT NULL AS ended, next_issue_at FROM credit_ledger.allowances WHERE account_id = 43;
SELECT count(*) AS inconsistencies FROM credit_ledger.verify();
