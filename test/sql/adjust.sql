-- adjust: an operator's correction of either sign.

SELECT credit_ledger.open_account(500, 10);
SELECT amount, balance, replayed FROM credit_ledger.adjust(500, 25, 'adj-1', 'goodwill after outage');
SELECT kind, amount, source, description FROM credit_ledger.entries WHERE account_id = 500 ORDER BY entry_id;
SELECT source, remaining, expires_at IS NULL AS never_expires FROM credit_ledger.bucket WHERE account_id = 500;

-- negative: obeys the credit limit like a deduct, and keeps its sign in the result
SELECT amount, balance FROM credit_ledger.adjust(500, -30, 'adj-2', 'double top-up reversed');
SELECT expect_error($$SELECT credit_ledger.adjust(500, -6, 'adj-3', 'too far')$$);
SELECT total_granted, total_consumed, balance FROM credit_ledger.balance(500);

-- an operator may correct a frozen account, not a closed one
SELECT credit_ledger.set_status(500, 'frozen');
SELECT amount, balance FROM credit_ledger.adjust(500, 5, 'adj-4', 'fix while frozen');
SELECT credit_ledger.set_status(500, 'closed');
SELECT expect_error($$SELECT credit_ledger.adjust(500, 5, 'adj-5', 'closed')$$);

-- arguments
SELECT expect_error($$SELECT credit_ledger.adjust(500, 0, 'adj-6', 'nothing')$$);
SELECT expect_error($$SELECT credit_ledger.adjust(500, 5, 'adj-7', NULL)$$);
SELECT expect_error($$SELECT credit_ledger.adjust(500, 5, 'adj-8', '')$$);
SELECT expect_error($$SELECT credit_ledger.adjust(599, 5, 'adj-9', 'unknown')$$);
SELECT expect_error($$SELECT credit_ledger.adjust(500, -9223372036854775808, 'adj-10', 'min')$$);

SELECT * FROM credit_ledger.verify(500);
