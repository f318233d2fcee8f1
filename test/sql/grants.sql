-- Grant buckets: burn-down order, exact expiry without the worker, debt
-- repaid first, and the buckets each consumption drew from.

-- burn-down: lower priority first, then earliest expiry (none last), then oldest
SELECT (credit_ledger.grant_credits(200, 10, 'gr-paid-old', 'recharge')).balance;
SELECT (credit_ledger.grant_credits(200, 10, 'gr-paid-new', 'recharge')).balance;
SELECT (credit_ledger.grant_credits(200, 10, 'gr-gift-late', 'gift', now() + interval '2 days')).balance;
SELECT (credit_ledger.grant_credits(200, 10, 'gr-gift-soon', 'gift', now() + interval '1 day')).balance;
SELECT (credit_ledger.grant_credits(200, 10, 'gr-promo', 'promo', NULL, -1)).balance;
SELECT (credit_ledger.grant_credits(200, 10, 'gr-last', 'vip', now() + interval '1 hour', 5)).balance;

-- each deduct of 10 empties exactly one bucket: the order they empty in
CREATE TEMP TABLE burn AS
SELECT n, (credit_ledger.deduct(200, 10, 'gr-burn-' || n)).entry_id
FROM generate_series(1, 6) n;
SELECT b.n, bk.source, bk.priority, bk.expires_at IS NOT NULL AS expires,
       e.bucket_amounts
FROM burn b
JOIN credit_ledger.entries e ON e.account_id = 200 AND e.entry_id = b.entry_id
JOIN credit_ledger.bucket bk ON bk.account_id = 200 AND bk.bucket_id = e.bucket_ids[1]
ORDER BY b.n;
SELECT balance, total_granted, total_consumed FROM credit_ledger.balance(200);

-- one deduct across several buckets records every slice, in burn-down order
SELECT (credit_ledger.grant_credits(201, 5, 'gr-a', 'gift', now() + interval '1 day')).balance;
SELECT (credit_ledger.grant_credits(201, 50, 'gr-b')).balance;
SELECT amount, balance FROM credit_ledger.deduct(201, 8, 'gr-split');
SELECT e.bucket_amounts, array_agg(b.source ORDER BY o.i) AS sources
FROM credit_ledger.entries e
CROSS JOIN LATERAL unnest(e.bucket_ids) WITH ORDINALITY AS o(bucket_id, i)
JOIN credit_ledger.bucket b ON b.account_id = e.account_id AND b.bucket_id = o.bucket_id
WHERE e.account_id = 201 AND e.event_id = 'gr-split'
GROUP BY e.bucket_amounts;

-- grants are validated
-- (its DETAIL names the timestamp: compared without it)
SELECT split_part(expect_error($$SELECT credit_ledger.grant_credits(202, 10, 'gr-past', 'gift', now() - interval '1 second')$$), ' | ', 1);
SELECT expect_error($$SELECT credit_ledger.grant_credits(202, 10, 'gr-nosource', '')$$);
SELECT expect_error($$SELECT credit_ledger.grant_credits(202, 10, 'gr-nullprio', 'gift', NULL, NULL)$$);
SELECT count(*) AS accounts_opened_by_failed_grants FROM credit_ledger.account WHERE account_id = 202;

-- an expired bucket never counts, before or after any sweep
SELECT (credit_ledger.grant_credits(203, 100, 'gr-keep')).balance;
SELECT (credit_ledger.grant_credits(203, 40, 'gr-brief', 'gift', clock_timestamp() + interval '1 second')).balance;
SELECT balance, next_expiry_amount FROM credit_ledger.balance(203);
SELECT pg_sleep(1.2);
-- read: exact figure although nothing was written yet
SELECT balance, available, total_expired, next_expiry_at IS NULL AS nothing_left_to_expire
FROM credit_ledger.balance(203);
SELECT count(*) AS expire_entries_before_any_call FROM credit_ledger.entries
WHERE account_id = 203 AND kind = 'expire_grant';
-- the gift bucket would be spent first, but it expired: 101 is too much
SELECT expect_error($$SELECT credit_ledger.deduct(203, 101, 'gr-too-much')$$);
-- the next call writes the expiry, then spends only live credits
SELECT amount, balance FROM credit_ledger.deduct(203, 30, 'gr-after-expiry');
SELECT kind, amount, balance_after, bucket_amounts, ref_entry_id
FROM credit_ledger.entries WHERE account_id = 203 ORDER BY entry_id;
SELECT total_granted, total_consumed, total_expired FROM credit_ledger.balance(203);

-- debt: spending through the credit limit, then new credits repay it first
SELECT credit_ledger.open_account(204, 100);
SELECT (credit_ledger.grant_credits(204, 30, 'gr-d-grant')).balance;
SELECT balance, available FROM credit_ledger.deduct(204, 80, 'gr-d-spend');
SELECT debt FROM credit_ledger.account WHERE account_id = 204;
SELECT balance FROM credit_ledger.grant_credits(204, 20, 'gr-d-repay-part');
SELECT debt, (SELECT sum(remaining) FROM credit_ledger.bucket WHERE account_id = 204) AS bucket_credits
FROM credit_ledger.account WHERE account_id = 204;
SELECT balance FROM credit_ledger.grant_credits(204, 50, 'gr-d-repay-all', 'gift', now() + interval '1 day');
SELECT debt, (SELECT sum(remaining) FROM credit_ledger.bucket WHERE account_id = 204) AS bucket_credits
FROM credit_ledger.account WHERE account_id = 204;
-- the gift bucket holds only what was left after repaying: 20 of 50
SELECT source, granted, remaining FROM credit_ledger.bucket WHERE account_id = 204 ORDER BY bucket_id;

SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 200 AND 204;
