-- Accounts: open_account, set_status, set_credit_limit and balance().

SELECT credit_ledger.open_account(100);
SELECT credit_ledger.open_account(100, 500);          -- idempotent: limit unchanged
SELECT account_id, balance, reserved, available, credit_limit, status,
       total_granted, total_consumed, total_expired, total_refunded,
       next_expiry_at, next_expiry_amount
FROM credit_ledger.balance(100);
SELECT credit_ledger.open_account(101, 50, '{"plan": "pro"}');
SELECT credit_limit, metadata FROM credit_ledger.accounts WHERE account_id = 101;

-- unknown account
SELECT expect_error($$SELECT credit_ledger.balance(999)$$);
SELECT expect_error($$SELECT credit_ledger.set_status(999, 'frozen')$$);
SELECT expect_error($$SELECT credit_ledger.set_credit_limit(999, 10)$$);

-- status: frozen takes money in, gives none out
SELECT (credit_ledger.grant_credits(100, 40, 'acc-g1')).balance;
SELECT credit_ledger.set_status(100, 'frozen', 'chargeback review');
SELECT status FROM credit_ledger.balance(100);
SELECT status, status_reason, status_changed_at IS NOT NULL AS changed FROM credit_ledger.accounts WHERE account_id = 100;
SELECT expect_error($$SELECT credit_ledger.deduct(100, 1, 'acc-d1')$$);
SELECT (credit_ledger.grant_credits(100, 10, 'acc-g2')).balance;
SELECT credit_ledger.set_status(100, 'closed');
SELECT expect_error($$SELECT credit_ledger.grant_credits(100, 10, 'acc-g3')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(100, 1, 'acc-d2')$$);
SELECT credit_ledger.set_status(100, 'active');
SELECT (credit_ledger.deduct(100, 1, 'acc-d3')).balance;
SELECT expect_error($$SELECT credit_ledger.set_status(100, 'asleep')$$);
SELECT expect_error($$SELECT credit_ledger.set_status(100, NULL)$$);

-- credit limit: spend below zero up to the limit, never past it
SELECT credit_ledger.set_credit_limit(100, 20);
SELECT balance, available FROM credit_ledger.deduct(100, 59, 'acc-d4');
SELECT expect_error($$SELECT credit_ledger.deduct(100, 11, 'acc-d5')$$);
SELECT balance, available FROM credit_ledger.deduct(100, 10, 'acc-d6');
-- lowering the limit below what the account already uses is refused
SELECT expect_error($$SELECT credit_ledger.set_credit_limit(100, 0)$$);
SELECT expect_error($$SELECT credit_ledger.set_credit_limit(100, -1)$$);
SELECT credit_limit, available FROM credit_ledger.balance(100);
SELECT * FROM credit_ledger.verify(100);
