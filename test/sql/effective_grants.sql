-- grant_credits(..., effective_at) (DESIGN 16): credits that start later
-- are in no answer before effective_at and in every answer from then on,
-- before anything writes them; the account's next call or the sweep
-- writes their arrival, once. The grant's own entry records 0 credits
-- (balance unchanged); the arrival is a grant entry of its own whose
-- ref_entry_id is that one. Accounts 16100-16199; time passes by travel()
-- (allowances.sql), never by sleeping.
\set VERBOSITY terse

-- later: not spendable, not in balance, expiring_grants or next_expiry
SELECT amount, balance, available, replayed FROM credit_ledger.grant_credits(16100, 100, 'eg-1', 'gift',
    expires_at => now() + interval '2 hours', effective_at => now() + interval '1 hour');
SELECT balance, available, total_granted, next_expiry_at, next_expiry_amount FROM credit_ledger.balance(16100);
SELECT count(*) AS listed FROM credit_ledger.expiring_grants WHERE account_id = 16100;
SELECT expect_error($$SELECT credit_ledger.deduct(16100, 1, 'eg-d0')$$);
SELECT kind, amount, balance_after, bucket_ids FROM credit_ledger.entries
WHERE account_id = 16100 ORDER BY entry_id;
SELECT granted, remaining, live, pending, effective_at > now() AS later FROM credit_ledger.bucket
WHERE account_id = 16100;
SELECT next_expiry_at <= now() + interval '1 hour' AS wakes_at_effective_at
FROM credit_ledger.account WHERE account_id = 16100;
-- the same call replays; another effective_at is another request
SELECT amount, balance, replayed FROM credit_ledger.grant_credits(16100, 100, 'eg-1', 'gift',
    expires_at => (SELECT expires_at FROM credit_ledger.bucket WHERE account_id = 16100),
    effective_at => (SELECT effective_at FROM credit_ledger.bucket WHERE account_id = 16100));
SELECT regexp_replace(expect_error($$SELECT credit_ledger.grant_credits(16100, 100, 'eg-1', 'gift',
    expires_at => (SELECT expires_at FROM credit_ledger.bucket WHERE account_id = 16100),
    effective_at => now() + interval '90 minutes')$$), '\d{4}-\d\d-\d\d[ T][0-9:.+-]+', '<t>', 'g');

-- effective_at comes: every read counts the credits before anything is written
SELECT travel(16100, interval '61 minutes');
SELECT balance, available, total_granted, next_expiry_amount FROM credit_ledger.balance(16100);
SELECT bucket_id IS NOT NULL AS its_bucket, source, remaining FROM credit_ledger.expiring_grants
WHERE account_id = 16100;
BEGIN READ ONLY;
SELECT balance, available FROM credit_ledger.accounts WHERE account_id = 16100;
COMMIT;
SELECT count(*) AS entries_still FROM credit_ledger.entry WHERE account_id = 16100;
-- the next call writes the arrival, then spends from it
SELECT amount, balance, available FROM credit_ledger.deduct(16100, 30, 'eg-d1');
SELECT kind, amount, balance_after, event_id, description,
       ref_entry_id = (SELECT min(entry_id) FROM credit_ledger.entry WHERE account_id = 16100) AS refers_to_the_grant
FROM credit_ledger.entries WHERE account_id = 16100 ORDER BY entry_id;
SELECT granted, remaining, live, pending FROM credit_ledger.bucket WHERE account_id = 16100;
SELECT * FROM credit_ledger.verify(16100);

-- effective and expired before anything wrote it: arrives and lapses
SELECT amount FROM credit_ledger.grant_credits(16101, 40, 'eg-2',
    expires_at => now() + interval '2 hours', effective_at => now() + interval '1 hour');
SELECT travel(16101, interval '3 hours');
SELECT balance, total_granted, total_expired FROM credit_ledger.balance(16101);
SELECT grants_expired >= 1 AS lapsed FROM credit_ledger.sweep();
SELECT balance, total_granted, total_expired FROM credit_ledger.balance(16101);
SELECT kind, amount, balance_after FROM credit_ledger.entries WHERE account_id = 16101 ORDER BY entry_id;
SELECT * FROM credit_ledger.verify(16101);

-- debt first: 30 in debt, 50 arrive, the bucket holds 20
SELECT credit_ledger.open_account(16102, credit_limit => 100);
SELECT balance FROM credit_ledger.deduct(16102, 30, 'eg-debt');
SELECT amount, balance FROM credit_ledger.grant_credits(16102, 50, 'eg-3', effective_at => now() + interval '1 hour');
SELECT travel(16102, interval '1 hour 1 minute');
SELECT balance, available FROM credit_ledger.balance(16102);
SELECT balance FROM credit_ledger.grant_credits(16102, 1, 'eg-4');
SELECT debt, (SELECT sum(remaining) FROM credit_ledger.bucket WHERE account_id = 16102) AS in_buckets
FROM credit_ledger.account WHERE account_id = 16102;
SELECT * FROM credit_ledger.verify(16102);

-- void before it starts: a void of 0 credits, and the credits never arrive
SELECT amount FROM credit_ledger.grant_credits(16103, 70, 'eg-5', effective_at => now() + interval '1 hour');
SELECT amount, balance FROM credit_ledger.void_grant(16103,
    (SELECT bucket_id FROM credit_ledger.bucket WHERE account_id = 16103), 'eg-v1', 'plan cancelled');
SELECT travel(16103, interval '2 hours');
SELECT balance, total_granted FROM credit_ledger.balance(16103);
SELECT count(*) AS arrivals FROM credit_ledger.arrivals WHERE account_id = 16103;
SELECT kind, amount FROM credit_ledger.entries WHERE account_id = 16103 ORDER BY entry_id;
SELECT pending, remaining FROM credit_ledger.bucket WHERE account_id = 16103;
SELECT * FROM credit_ledger.verify(16103);

-- extend before it starts: the credits arrive with the later expiry
SELECT amount FROM credit_ledger.grant_credits(16104, 25, 'eg-6',
    expires_at => now() + interval '2 hours', effective_at => now() + interval '1 hour');
SELECT amount FROM credit_ledger.extend_grant(16104,
    (SELECT bucket_id FROM credit_ledger.bucket WHERE account_id = 16104), now() + interval '1 day', 'eg-x1');
SELECT travel(16104, interval '3 hours');
SELECT balance FROM credit_ledger.balance(16104);
SELECT balance FROM credit_ledger.deduct(16104, 5, 'eg-d2');
SELECT * FROM credit_ledger.verify(16104);

-- effective_at now or past: spendable at once, one entry
SELECT amount, balance FROM credit_ledger.grant_credits(16105, 10, 'eg-7', effective_at => now() - interval '1 day');
SELECT count(*) AS entries, bool_and(NOT pending) AS none_pending FROM credit_ledger.entry
    JOIN credit_ledger.bucket USING (account_id) WHERE account_id = 16105;

-- refusals, nothing changes
\set VERBOSITY default
SELECT expect_error($$SELECT credit_ledger.grant_credits(16106, 10, 'eg-8', effective_at => 'infinity')$$);
SELECT regexp_replace(expect_error($$SELECT credit_ledger.grant_credits(16106, 10, 'eg-8',
    expires_at => '2031-01-01', effective_at => '2031-01-02')$$), '\d{4}-\d\d-\d\d [0-9:+-]+', '<t>', 'g');
\set VERBOSITY terse
SELECT count(*) AS no_account FROM credit_ledger.account WHERE account_id = 16106;
