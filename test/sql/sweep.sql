-- sweep(): writes due expiries of holds and grant buckets, a batch of
-- accounts at a time, through the same code as the calls. Accounts 3300-3399.
\set VERBOSITY terse

-- nothing due yet
SELECT * FROM credit_ledger.sweep();

SELECT (credit_ledger.grant_credits(3300, 40, 'sw-g1', 'gift', now() + interval '1 second')).balance;
SELECT (credit_ledger.grant_credits(3300, 100, 'sw-g2')).balance;
SELECT (credit_ledger.reserve(3300, 50, 'sw-r1', '1 second')).reserved;
SELECT (credit_ledger.grant_credits(3301, 100, 'sw-g3')).balance;
SELECT (credit_ledger.reserve(3301, 10, 'sw-r2', '1 second')).reserved;
SELECT (credit_ledger.reserve(3301, 20, 'sw-r3', '1 second')).reserved;
SELECT (credit_ledger.grant_credits(3302, 100, 'sw-g4')).balance;
SELECT (credit_ledger.reserve(3302, 10, 'sw-r4', '1 hour')).reserved;
SELECT pg_sleep(1.2);

-- one account per batch: the lowest account_id first
SELECT * FROM credit_ledger.sweep(1);
SELECT kind, amount, reserved_delta, balance_after, reserved_after, bucket_amounts
FROM credit_ledger.entries WHERE account_id = 3300 ORDER BY entry_id;
SELECT state, count(*) FROM credit_ledger.hold WHERE account_id BETWEEN 3300 AND 3302
GROUP BY state ORDER BY state;
-- the rest
SELECT * FROM credit_ledger.sweep();
SELECT account_id, state, count(*) FROM credit_ledger.hold WHERE account_id BETWEEN 3300 AND 3302
GROUP BY account_id, state ORDER BY account_id, state;
-- done: nothing left, and the swept accounts' next expiry moved on
SELECT * FROM credit_ledger.sweep();
SELECT account_id, next_expiry_at IS NULL AS no_next_expiry, balance, reserved
FROM credit_ledger.account WHERE account_id BETWEEN 3300 AND 3302 ORDER BY account_id;

SELECT expect_error($$SELECT credit_ledger.sweep(0)$$);
SELECT expect_error($$SELECT credit_ledger.sweep(NULL)$$);
SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 3300 AND 3399;
