-- consumption: credits consumed (deducts, confirms, charges; refunds not
-- subtracted), the number of those calls and their tokens in [since, until).

INSERT INTO credit_ledger.price_rule (model, input_price, output_price, cached_price, reasoning_price)
VALUES ('m', 1000000, 2000000, 500000, 3000000);    -- credits per token: 1, 2, 0.5, 3
INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, cached_price, reasoning_price)
VALUES ('free', 'm', 0, 0, 0, 0);

SELECT * FROM credit_ledger.consumption(4300) AS nothing_yet;
SELECT balance FROM credit_ledger.grant_credits(4300, 1000, 'cs-g1');
SELECT amount FROM credit_ledger.charge(4300, 'cs-1', NULL, NULL, 'm', 10, 5, 4, 2);    -- 10+10+2+6 = 28
SELECT amount FROM credit_ledger.charge(4300, 'cs-2', NULL, NULL, 'm', 1, 1, 1, 1);     -- 1+2+0.5+3 -> 7
SELECT amount FROM credit_ledger.deduct(4300, 100, 'cs-3');                            -- no tokens
SELECT amount FROM credit_ledger.charge(4300, 'cs-4', 'free', NULL, 'm', 1000, 0, 0, 0); -- 0 credits, still a call
-- not consumption: refunds (not subtracted either), grants, adjustments
SELECT amount FROM credit_ledger.refund(4300, 'cs-r1', 'cs-1');
SELECT amount FROM credit_ledger.adjust(4300, -5, 'cs-a1', 'correction');
SELECT amount FROM credit_ledger.grant_credits(4300, 50, 'cs-g2');
SELECT * FROM credit_ledger.consumption(4300);
SELECT * FROM credit_ledger.consumption(4300, since => NULL, until => NULL) AS no_end;

-- [since, until): the instant of an entry is inside since and outside until
SELECT created_at AS t2 FROM credit_ledger.entries WHERE event_id = 'cs-2' \gset
SELECT credits, calls, input_tokens FROM credit_ledger.consumption(4300, since => :'t2');
SELECT credits, calls, input_tokens FROM credit_ledger.consumption(4300, until => :'t2');
SELECT credits, calls FROM credit_ledger.consumption(4300, :'t2', :'t2'::timestamptz + interval '1 microsecond');
SELECT credits, calls FROM credit_ledger.consumption(4300, :'t2', :'t2') AS empty_window;
SELECT credits, calls FROM credit_ledger.consumption(4300, now() + interval '1 hour') AS future;
-- an unknown account consumed nothing
SELECT * FROM credit_ledger.consumption(4399);

-- The 24h / 7d / 30d dashboard over older calls. The calls are placed by
-- hand (the ledger accepts INSERTs) as zero-credit charges, so that the
-- account's figures stay whole; their tokens tell the windows apart.
SELECT credit_ledger.open_account(4301);
INSERT INTO credit_ledger.entry (account_id, kind, amount, reserved_delta, balance_after,
                                 reserved_after, input_tokens, created_at)
SELECT 4301, 'deduct', 0, 0, 0, 0, t.tokens, now() - t.age
FROM (VALUES (1, interval '40 days'), (10, interval '29 days'), (100, interval '6 days'),
             (1000, interval '23 hours'), (10000, interval '1 minute')) AS t(tokens, age);
SELECT w.name, c.calls, c.input_tokens
FROM (VALUES (1, '24h', interval '24 hours'), (2, '7d', interval '7 days'),
             (3, '30d', interval '30 days')) AS w(n, name, width)
CROSS JOIN LATERAL credit_ledger.consumption(4301, since => now() - w.width) c
ORDER BY w.n;
SELECT calls, input_tokens FROM credit_ledger.consumption(4301) AS all_time;

SELECT account_id, check_name FROM credit_ledger.verify()
WHERE account_id BETWEEN 4300 AND 4399 ORDER BY 1, 2;
DELETE FROM credit_ledger.price_rule;
