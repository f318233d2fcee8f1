-- The ledger: append-only, paged history, and verify() that catches any
-- stored figure that disagrees with the entries.

SELECT (credit_ledger.grant_credits(700, 50, 'lg-g')).balance;
SELECT (credit_ledger.deduct(700, n, 'lg-d' || n)).balance FROM generate_series(1, 5) n;

-- entries cannot be changed, not even by a superuser
SELECT expect_error($$UPDATE credit_ledger.entry SET amount = 0 WHERE account_id = 700$$);
SELECT expect_error($$DELETE FROM credit_ledger.entry WHERE account_id = 700$$);
SELECT expect_error($$TRUNCATE credit_ledger.entry$$);

-- history: newest first, paged by entry_id
SELECT kind, amount, balance_after, event_id FROM credit_ledger.history(700, 3);
SELECT min(entry_id) AS oldest_shown FROM credit_ledger.history(700, 3) \gset
SELECT kind, amount, balance_after, event_id FROM credit_ledger.history(700, 3, :oldest_shown);
SELECT count(*) FROM credit_ledger.history(700);
SELECT count(*) FROM credit_ledger.history(799);

-- every entry carries the figures after it, chained
SELECT bool_and(balance_after = prev + amount) AS chained
FROM (SELECT amount, balance_after,
             coalesce(lag(balance_after) OVER (ORDER BY entry_id), 0) AS prev
      FROM credit_ledger.entries WHERE account_id = 700) c;

-- the accounts view has one row per account, with balance()'s figures
SELECT a.balance = b.balance AND a.available = b.available AND a.total_consumed = b.total_consumed
       AS view_matches_balance
FROM credit_ledger.accounts a, credit_ledger.balance(700) b WHERE a.account_id = 700;

-- verify() catches a stored figure that no longer matches the entries
SELECT count(*) AS problems FROM credit_ledger.verify(700);
UPDATE credit_ledger.account SET balance = balance + 1, total_granted = total_granted + 1
WHERE account_id = 700;
SELECT check_name, expected, actual FROM credit_ledger.verify(700) ORDER BY check_name;
UPDATE credit_ledger.account SET balance = balance - 1, total_granted = total_granted - 1
WHERE account_id = 700;
UPDATE credit_ledger.bucket SET remaining = remaining + 3 WHERE account_id = 700;
SELECT check_name, expected, actual FROM credit_ledger.verify(700) ORDER BY check_name;
UPDATE credit_ledger.bucket SET remaining = remaining - 3 WHERE account_id = 700;
SELECT count(*) AS problems FROM credit_ledger.verify(700);
