-- deduct: consumes in burn-down order, refuses what would overspend and
-- leaves nothing behind when it does.

SELECT (credit_ledger.grant_credits(300, 100, 'dd-g')).balance;
SELECT entry_id IS NOT NULL AS has_entry, hold_id, account_id, amount, balance, reserved, available, replayed
FROM credit_ledger.deduct(300, 40, 'dd-1', 'usage', 'gpt call', '{"request": "r1"}');
SELECT kind, amount, reserved_delta, balance_after, reserved_after, event_id, source,
       description, metadata
FROM credit_ledger.entries WHERE account_id = 300 AND event_id = 'dd-1';

-- exactly the available credits can be spent; one more cannot
SELECT balance FROM credit_ledger.deduct(300, 60, 'dd-all');
SELECT expect_error($$SELECT credit_ledger.deduct(300, 1, 'dd-one-more')$$);

-- a refused deduct leaves no trace: no entry, no key, same figures
SELECT count(*) AS entries FROM credit_ledger.entries WHERE account_id = 300;
SELECT balance, total_consumed FROM credit_ledger.balance(300);
-- and the same event_id succeeds after a top-up
SELECT (credit_ledger.grant_credits(300, 5, 'dd-topup')).balance;
SELECT amount, balance, replayed FROM credit_ledger.deduct(300, 1, 'dd-one-more');

-- money out of an unknown account
SELECT expect_error($$SELECT credit_ledger.deduct(399, 1, 'dd-x')$$);
SELECT count(*) AS accounts FROM credit_ledger.account WHERE account_id = 399;

-- arguments
SELECT expect_error($$SELECT credit_ledger.deduct(300, 0, 'dd-zero')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(300, -5, 'dd-neg')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(300, NULL, 'dd-null')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(NULL, 1, 'dd-null-acct')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(300, 1, 'dd-src', NULL)$$);
SELECT expect_error($$SELECT credit_ledger.deduct(300, 9223372036854775807, 'dd-huge')$$);

SELECT * FROM credit_ledger.verify(300);
