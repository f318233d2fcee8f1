-- charge: resolve + price + deduct in one idempotent call; the entry
-- records the rule, the four token counts and the credits.

INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price,
                                      cached_price, reasoning_price, description)
VALUES (NULL, 'openai', 'gpt-4o*', 2500, 10000, 1250, 10000, 'gpt-4o family'),
       ('free', NULL, NULL, 0, 0, 0, 0, 'free scene');
SELECT balance FROM credit_ledger.grant_credits(4100, 100, 'ch-g1');

-- 1,000 x 2,500 + 500 x 10,000 + 200 x 1,250 + 300 x 10,000 = 10,750,000
-- per million = 10.75 credits, rounded up to 11
SELECT credit_ledger.quote('chat', 'openai', 'gpt-4o', 1000, 500, 200, 300) AS quoted;
SELECT amount, balance, available, replayed
FROM credit_ledger.charge(4100, 'ch-1', 'chat', 'openai', 'gpt-4o', 1000, 500, 200, 300,
                          metadata => '{"request": "r-1"}');
SELECT e.kind, e.amount, e.source, e.description, e.metadata,
       e.price_rule_id = (SELECT id FROM credit_ledger.resolve_price('chat', 'openai', 'gpt-4o')) AS priced_by_the_rule,
       e.input_tokens, e.output_tokens, e.cached_tokens, e.reasoning_tokens, e.hold_id
FROM credit_ledger.entries e WHERE e.account_id = 4100 AND e.event_id = 'ch-1';

-- a replay returns the original result, even after the price changed
UPDATE credit_ledger.price_rule SET input_price = 100000 WHERE description = 'gpt-4o family';
SELECT entry_id = (SELECT entry_id FROM credit_ledger.entries WHERE event_id = 'ch-1') AS same_entry,
       amount, balance, replayed
FROM credit_ledger.charge(4100, 'ch-1', 'chat', 'openai', 'gpt-4o', 1000, 500, 200, 300);
-- the next call pays the new price: 1,000 x 100,000 / 1e6 = 100 + 5 + 0.25 + 3 -> 109
SELECT credit_ledger.quote('chat', 'openai', 'gpt-4o', 1000, 500, 200, 300) AS new_price;
-- a different request under the same event_id: LD004, naming what differs
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-1', 'chat', 'openai', 'gpt-4o', 1000, 500, 200, 301)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-1', 'chat', 'openai', 'gpt-4o-mini', 1000, 500, 200, 300)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-1', NULL, 'openai', 'gpt-4o', 1000, 500, 200, 300)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-1', 'chat', 'openai', 'gpt-4o', 1000, 500, 200, 300, hold_id => 5)$$);
SELECT expect_error($$SELECT credit_ledger.deduct(4100, 11, 'ch-1')$$);

-- refusals leave no trace: no rule (LD007), not enough credit (LD001)
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-2', 'chat', 'anthropic', 'claude', 10)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-3', 'chat', 'openai', 'gpt-4o', 1000000)$$);
SELECT count(*) AS entries, (SELECT balance FROM credit_ledger.balance(4100))
FROM credit_ledger.entries WHERE account_id = 4100;
-- ... so the retry succeeds once the rule exists
INSERT INTO credit_ledger.price_rule (provider, input_price, output_price, cached_price, reasoning_price, min_charge)
VALUES ('anthropic', 3000, 15000, 300, 15000, 2);
SELECT amount, balance, replayed FROM credit_ledger.charge(4100, 'ch-2', 'chat', 'anthropic', 'claude', 10);

-- a call that prices to 0 credits is recorded: it is a call, with tokens
SELECT amount, balance, replayed FROM credit_ledger.charge(4100, 'ch-4', 'free', 'openai', 'o1', 50, 60, 70, 80);
SELECT kind, amount, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
       bucket_ids, bucket_amounts
FROM credit_ledger.entries WHERE account_id = 4100 AND event_id = 'ch-4';
-- a charge is a charge like any deduct: refundable
SELECT amount, balance FROM credit_ledger.refund(4100, 'ch-r1', 'ch-1');
SELECT expect_error($$SELECT credit_ledger.refund(4100, 'ch-r2', 'ch-4')$$);

-- arguments and account state
SELECT expect_error($$SELECT credit_ledger.charge(4199, 'ch-5', 'chat', 'openai', 'gpt-4o', 1)$$);
SELECT expect_error($$SELECT credit_ledger.charge(NULL, 'ch-5', 'chat', 'openai', 'gpt-4o', 1)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, NULL, 'chat', 'openai', 'gpt-4o', 1)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, '', 'chat', 'openai', 'gpt-4o', 1)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-5', 'chat', 'openai', 'gpt-4o', -1)$$);
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-5', 'chat', 'openai', 'gpt-4o', 1, cached_tokens => NULL)$$);
SELECT credit_ledger.set_status(4100, 'frozen');
SELECT expect_error($$SELECT credit_ledger.charge(4100, 'ch-5', 'chat', 'openai', 'gpt-4o', 1)$$);
SELECT credit_ledger.set_status(4100, 'active');
-- the credit limit applies to charges as to deducts
SELECT credit_ledger.set_credit_limit(4100, 200);
SELECT amount, balance, available FROM credit_ledger.charge(4100, 'ch-6', 'chat', 'openai', 'gpt-4o', 2000);

SELECT * FROM credit_ledger.verify(4100);

-- A streamed call: reserve an estimate, then charge the priced usage
-- through the hold (gpt-4o family now costs 0.1 credit per input token).
SELECT balance FROM credit_ledger.grant_credits(4150, 100, 'chh-g1');
SELECT hold_id AS h1 FROM credit_ledger.reserve(4150, 50, 'chh-r1', '1 hour') \gset
-- 300 input tokens: 30 credits, less than held; the rest is released
SELECT hold_id = :h1 AS the_hold, amount, balance, reserved, available, replayed
FROM credit_ledger.charge(4150, 'chh-1', 'chat', 'openai', 'gpt-4o', 300, hold_id => :h1,
                          metadata => '{"stream": true}');
SELECT e.kind, e.amount, e.reserved_delta, e.hold_id = :h1 AS the_hold, e.metadata,
       e.price_rule_id = (SELECT id FROM credit_ledger.resolve_price('chat', 'openai', 'gpt-4o')) AS priced_by_the_rule,
       e.input_tokens, e.output_tokens, e.cached_tokens, e.reasoning_tokens
FROM credit_ledger.entries e WHERE e.account_id = 4150 AND e.event_id = 'chh-1';
SELECT state, settled_amount FROM credit_ledger.hold WHERE account_id = 4150 AND hold_id = :h1;
-- the same charge again: replayed; another charge of the settled hold: LD005
SELECT amount, balance, replayed FROM credit_ledger.charge(4150, 'chh-1', 'chat', 'openai', 'gpt-4o', 300, hold_id => :h1);
SELECT expect_error(format($$SELECT credit_ledger.charge(4150, 'chh-2', 'chat', 'openai', 'gpt-4o', 400, hold_id => %s)$$, :h1)) ~ '^LD005 hold not pending \| Hold \d+ of account 4150 is confirmed for 30 credits\.$' AS ld005;
SELECT expect_error($$SELECT credit_ledger.charge(4150, 'chh-3', 'chat', 'openai', 'gpt-4o', 1, hold_id => 999999)$$) ~ '^LD006 ' AS ld006;
-- more than held: the excess is drawn like a deduct (200 tokens = 20 > 10 held)
SELECT hold_id AS h2 FROM credit_ledger.reserve(4150, 10, 'chh-r2', '1 hour') \gset
SELECT amount, balance, reserved FROM credit_ledger.charge(4150, 'chh-4', 'chat', 'openai', 'gpt-4o', 200, hold_id => :h2);
SELECT state, settled_amount FROM credit_ledger.hold WHERE account_id = 4150 AND hold_id = :h2;
-- a call that prices to 0 confirms its hold for 0: all it held comes back
SELECT hold_id AS h3 FROM credit_ledger.reserve(4150, 5, 'chh-r3', '1 hour') \gset
SELECT amount, balance, reserved FROM credit_ledger.charge(4150, 'chh-5', 'free', 'openai', 'o1', 10, 10, hold_id => :h3);
SELECT state, settled_amount FROM credit_ledger.hold WHERE account_id = 4150 AND hold_id = :h3;
-- a frozen account still settles what it held (the hold was made while active)
SELECT hold_id AS h4 FROM credit_ledger.reserve(4150, 8, 'chh-r4', '1 hour') \gset
SELECT credit_ledger.set_status(4150, 'frozen');
SELECT amount, balance, reserved FROM credit_ledger.charge(4150, 'chh-6', 'chat', 'openai', 'gpt-4o', 70, hold_id => :h4);
SELECT credit_ledger.set_status(4150, 'active');
-- charges through holds are consumption, and refundable
SELECT credits, calls, input_tokens, output_tokens FROM credit_ledger.consumption(4150);
SELECT amount, balance FROM credit_ledger.refund(4150, 'chh-rf1', 'chh-1', 10);
SELECT * FROM credit_ledger.verify(4150);
DELETE FROM credit_ledger.price_rule;
