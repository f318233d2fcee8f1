-- refund: back into the buckets the charge drew from, newest-spent first,
-- never more than the charge took.

SELECT (credit_ledger.grant_credits(400, 30, 'rf-gift', 'gift', now() + interval '1 day')).balance;
SELECT (credit_ledger.grant_credits(400, 100, 'rf-paid')).balance;
SELECT amount, balance FROM credit_ledger.deduct(400, 50, 'rf-charge');   -- 30 gift + 20 paid
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 400 ORDER BY bucket_id;

-- a partial refund returns the paid credits first (they were spent last)
SELECT amount, balance, replayed FROM credit_ledger.refund(400, 'rf-1', 'rf-charge', 25);
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 400 ORDER BY bucket_id;
SELECT kind, amount, bucket_amounts, ref_entry_id = (SELECT entry_id FROM credit_ledger.entries
       WHERE account_id = 400 AND event_id = 'rf-charge') AS refs_the_charge
FROM credit_ledger.entries WHERE account_id = 400 AND event_id = 'rf-1';

-- bounded by what the charge took minus earlier refunds
SELECT expect_error($$SELECT credit_ledger.refund(400, 'rf-2', 'rf-charge', 26)$$);
-- NULL amount: all that is left
SELECT amount, balance FROM credit_ledger.refund(400, 'rf-3', 'rf-charge');
SELECT expect_error($$SELECT credit_ledger.refund(400, 'rf-4', 'rf-charge')$$);
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 400 ORDER BY bucket_id;
SELECT total_consumed, total_refunded, balance FROM credit_ledger.balance(400);

-- what cannot be refunded
SELECT expect_error($$SELECT credit_ledger.refund(400, 'rf-5', 'no-such-event')$$);
SELECT expect_error($$SELECT credit_ledger.refund(400, 'rf-6', 'rf-paid')$$);
SELECT expect_error($$SELECT credit_ledger.refund(400, 'rf-7', 'rf-charge', 0)$$);
SELECT expect_error($$SELECT credit_ledger.refund(401, 'rf-8', 'rf-charge')$$);
-- an event of another account is not this account's charge
SELECT credit_ledger.open_account(401);
SELECT expect_error($$SELECT credit_ledger.refund(401, 'rf-9', 'rf-charge')$$);

-- a refund into a bucket that has expired lapses at once
SELECT (credit_ledger.grant_credits(402, 10, 'rf-brief', 'gift', clock_timestamp() + interval '1 second')).balance;
SELECT (credit_ledger.grant_credits(402, 10, 'rf-stays')).balance;
SELECT amount, balance FROM credit_ledger.deduct(402, 15, 'rf-spend');    -- 10 brief + 5 stays
SELECT pg_sleep(1.2);
SELECT amount, balance, available, replayed FROM credit_ledger.refund(402, 'rf-back', 'rf-spend');
SELECT kind, amount, balance_after, bucket_amounts,
       ref_entry_id = (SELECT entry_id FROM credit_ledger.entries
                       WHERE account_id = 402 AND event_id = 'rf-back') AS caused_by_the_refund
FROM credit_ledger.entries WHERE account_id = 402 ORDER BY entry_id;
-- its replay reports the figures the refund left, after the lapse
SELECT amount, balance, available, replayed FROM credit_ledger.refund(402, 'rf-back', 'rf-spend');
SELECT balance, total_expired, total_refunded FROM credit_ledger.balance(402);

-- credits drawn on credit: a refund repays the debt first, then opens a refund bucket
SELECT credit_ledger.open_account(403, 100);
SELECT (credit_ledger.grant_credits(403, 10, 'rf-d-g')).balance;
SELECT balance FROM credit_ledger.deduct(403, 50, 'rf-d-spend');           -- 10 bucket + 40 debt
SELECT (credit_ledger.grant_credits(403, 30, 'rf-d-repay')).balance;       -- debt 40 -> 10
SELECT balance FROM credit_ledger.refund(403, 'rf-d-back', 'rf-d-spend', 40);
SELECT debt FROM credit_ledger.account WHERE account_id = 403;
SELECT source, granted, remaining FROM credit_ledger.bucket WHERE account_id = 403 ORDER BY bucket_id;

-- money in: a frozen account takes refunds, a closed one does not
SELECT (credit_ledger.deduct(400, 5, 'rf-f')).balance;
SELECT credit_ledger.set_status(400, 'frozen');
SELECT amount FROM credit_ledger.refund(400, 'rf-f-back', 'rf-f', 2);
SELECT credit_ledger.set_status(400, 'closed');
SELECT expect_error($$SELECT credit_ledger.refund(400, 'rf-c-back', 'rf-f', 1)$$);

SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 400 AND 403;
