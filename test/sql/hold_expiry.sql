-- Hold expiry without the worker: a hold past expires_at no longer counts
-- in any answer and cannot be settled; the next call on the account writes
-- its expire_hold entry. A held slice outlives its bucket's expiry until the
-- hold resolves, then the unused part lapses. Accounts 3100-3199.
\set VERBOSITY terse

-- two holds: one expires in two seconds, one lasts
SELECT (credit_ledger.grant_credits(3100, 100, 'x-g1')).balance;
SELECT amount, reserved, available FROM credit_ledger.reserve(3100, 30, 'x-r1', '2 seconds');
SELECT amount, reserved, available FROM credit_ledger.reserve(3100, 20, 'x-r2', '1 hour');
SELECT next_expiry_at <= now() + interval '3 seconds' AS next_expiry_is_the_hold
FROM credit_ledger.account WHERE account_id = 3100;
SELECT pg_sleep(2.2);

-- exact before anything is written: the expired hold is not reserved, not listed
SELECT balance, reserved, available FROM credit_ledger.balance(3100);
SELECT event_id FROM credit_ledger.pending_holds WHERE account_id = 3100 ORDER BY hold_id;
SELECT state FROM credit_ledger.hold WHERE account_id = 3100 ORDER BY hold_id;

-- it can no longer be confirmed or cancelled, whether or not it was written
\set VERBOSITY default
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(3100, %s)', hold_id)), 'Hold \d+', 'Hold N')
FROM credit_ledger.hold WHERE account_id = 3100 AND event_id = 'x-r1';
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.cancel(3100, %s)', hold_id)), 'Hold \d+', 'Hold N')
FROM credit_ledger.hold WHERE account_id = 3100 AND event_id = 'x-r1';
\set VERBOSITY terse

-- the next call writes the expiry first
SELECT balance, reserved, available FROM credit_ledger.grant_credits(3100, 1, 'x-g2');
SELECT kind, amount, reserved_delta, balance_after, reserved_after, bucket_amounts
FROM credit_ledger.entries WHERE account_id = 3100 ORDER BY entry_id;
SELECT state, settled_amount, result_entry_id = (SELECT entry_id FROM credit_ledger.entry
    WHERE account_id = 3100 AND kind = 'expire_hold') AS result_is_expiry
FROM credit_ledger.hold WHERE account_id = 3100 ORDER BY hold_id;
-- a retried reserve with the same key still answers with the (expired) hold
SELECT amount, replayed FROM credit_ledger.reserve(3100, 30, 'x-r1', '2 seconds');
SELECT next_expiry_at > now() + interval '50 minutes' AS next_expiry_is_the_lasting_hold
FROM credit_ledger.account WHERE account_id = 3100;
SELECT * FROM credit_ledger.verify(3100);

-- a held slice outlives its bucket: the gift expires while a hold holds part of it
SELECT (credit_ledger.grant_credits(3101, 50, 'x-g3', 'gift', now() + interval '2 seconds')).balance;
SELECT (credit_ledger.grant_credits(3101, 100, 'x-g4')).balance;
SELECT amount, reserved, available FROM credit_ledger.reserve(3101, 40, 'x-r3', '1 hour');
SELECT source, remaining, expires_at < now() + interval '1 minute' AS soon
FROM credit_ledger.expiring_grants WHERE account_id = 3101 ORDER BY bucket_id;
-- the next hold takes the gift's last 10 and 10 paid credits
SELECT amount, reserved, available FROM credit_ledger.reserve(3101, 20, 'x-r4', '1 hour');
SELECT event_id, slice_amounts FROM credit_ledger.hold WHERE account_id = 3101 ORDER BY hold_id;
SELECT pg_sleep(2.2);
-- the gift has expired, but its 50 held credits stay in the balance
SELECT balance, reserved, available, total_expired FROM credit_ledger.balance(3101);
SELECT count(*) AS expiring FROM credit_ledger.expiring_grants WHERE account_id = 3101;
-- confirm 25 of the first hold: 25 consumed from the gift slice, 15 unused lapse
SELECT amount, balance, reserved, available
FROM credit_ledger.confirm(3101, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 3101 AND event_id = 'x-r3'), 25);
-- cancel the second: its 10 gift credits lapse, its 10 paid credits return
SELECT amount, balance, reserved, available
FROM credit_ledger.cancel(3101, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 3101 AND event_id = 'x-r4'));
SELECT e.kind, e.amount, e.reserved_delta, e.balance_after, e.bucket_amounts, r.kind AS caused_by
FROM credit_ledger.entries e LEFT JOIN credit_ledger.entry r
  ON r.account_id = e.account_id AND r.entry_id = e.ref_entry_id
WHERE e.account_id = 3101 ORDER BY e.entry_id;
SELECT balance, reserved, available, total_expired, total_consumed FROM credit_ledger.balance(3101);
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 3101 ORDER BY bucket_id;
SELECT * FROM credit_ledger.verify(3101);
