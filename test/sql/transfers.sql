-- Transfers (DESIGN 15): credits move between two accounts with their
-- source, expiry and priority; idempotent on (from_account, event_id);
-- LD001, LD002, LD003 on either side change nothing; a refund of a charge
-- paid with moved credits returns them to the receiver's buckets; verify()
-- matches both sides. Accounts 8601-8699.
\set VERBOSITY terse

-- an org wallet with a paid bucket and a gift that expires in 10 days (spent first)
SELECT balance FROM credit_ledger.grant_credits(8601, 1000, 'tf-paid', 'recharge');
SELECT balance FROM credit_ledger.grant_credits(8601, 300, 'tf-gift', 'gift',
    date_trunc('second', statement_timestamp()) + interval '10 days', priority => -1);
SELECT credit_ledger.open_account(8602);
SELECT out_entry_id < in_entry_id AS ordered, from_balance, from_available, to_balance, to_available, replayed
FROM credit_ledger.transfer(8601, 8602, 500, 'tf-1', 'fund project x');
-- the receiver's buckets: the gift's 300 keeps its expiry and priority, 200 of the paid
SELECT b.source, b.granted, b.remaining, b.priority,
       b.expires_at = (SELECT expires_at FROM credit_ledger.bucket WHERE account_id = 8601 AND source = 'gift') AS same_expiry
FROM credit_ledger.bucket b WHERE b.account_id = 8602 ORDER BY b.priority, b.bucket_id;
SELECT kind, amount, balance_after, event_id, description, bucket_amounts
FROM credit_ledger.entries WHERE account_id IN (8601, 8602) AND kind LIKE 'transfer%' ORDER BY entry_id;
SELECT from_account, to_account, amount FROM credit_ledger.transfer t WHERE from_account = 8601;
-- the same event again: the same result, nothing moves
SELECT from_balance, to_balance, replayed FROM credit_ledger.transfer(8601, 8602, 500, 'tf-1', 'fund project x');
SELECT count(*) AS transfers FROM credit_ledger.transfer WHERE from_account = 8601;
-- the same event for another transfer
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, 8602, 501, 'tf-1')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, 8603, 500, 'tf-1')$$);
\set VERBOSITY terse
-- the key is the sender's: the receiver may use the same event_id for itself
SELECT amount FROM credit_ledger.deduct(8602, 1, 'tf-1');

-- the receiver spends the gift first, and a refund returns it there
SELECT amount FROM credit_ledger.deduct(8602, 100, 'tf-spend');
SELECT b.source, b.remaining FROM credit_ledger.bucket b WHERE b.account_id = 8602 ORDER BY b.priority, b.bucket_id;
SELECT amount FROM credit_ledger.refund(8602, 'tf-refund', 'tf-spend');
SELECT b.source, b.remaining FROM credit_ledger.bucket b WHERE b.account_id = 8602 ORDER BY b.priority, b.bucket_id;

-- refusals on either side change nothing
SELECT credit_ledger.open_account(8603);
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, 8603, 801, 'tf-2')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, 8699, 10, 'tf-3')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8698, 8601, 10, 'tf-4')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, 8601, 10, 'tf-5')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, 8603, 0, 'tf-6')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, NULL, 10, 'tf-7')$$);
SELECT credit_ledger.set_status(8603, 'closed');
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8601, 8603, 10, 'tf-8')$$);
SELECT credit_ledger.set_status(8603, 'frozen');
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8603, 8601, 10, 'tf-9')$$);
\set VERBOSITY terse
SELECT count(*) AS entries_of_refusals FROM credit_ledger.entry WHERE event_id LIKE 'tf-_' AND event_id <> 'tf-1';
SELECT account_id, balance FROM credit_ledger.accounts WHERE account_id IN (8601, 8603) ORDER BY account_id;
-- a frozen account still receives
SELECT to_balance FROM credit_ledger.transfer(8601, 8603, 10, 'tf-10');

-- only credits the sender holds move: not its credit limit, not what holds hold
SELECT credit_ledger.open_account(8604, 1000);
SELECT balance FROM credit_ledger.grant_credits(8604, 50, 'tf-g4');
SELECT amount FROM credit_ledger.reserve(8604, 30, 'tf-h4', '1 hour');
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8604, 8603, 21, 'tf-11')$$);
\set VERBOSITY terse
SELECT from_available, to_balance FROM credit_ledger.transfer(8604, 8603, 20, 'tf-12');

-- a receiver in debt is repaid first, the rest lands in buckets
SELECT credit_ledger.open_account(8605, 100);
SELECT available FROM credit_ledger.deduct(8605, 40, 'tf-debt');
SELECT to_balance, to_available FROM credit_ledger.transfer(8601, 8605, 100, 'tf-13');
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 8605 ORDER BY bucket_id;
SELECT debt FROM credit_ledger.account WHERE account_id = 8605;

-- a lower account_id receiving (locks taken in account_id order either way)
SELECT from_balance, to_balance FROM credit_ledger.transfer(8605, 8601, 10, 'tf-14');
-- transfers are neither consumption nor grants
SELECT credits, calls FROM credit_ledger.consumption(8601);
SELECT total_granted, total_consumed FROM credit_ledger.accounts WHERE account_id = 8602;

SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 8601 AND 8699;
-- verify() sees a transfer whose sides do not match

UPDATE credit_ledger.transfer SET amount = amount + 1 WHERE from_account = 8601 AND to_account = 8602;
SELECT account_id, check_name, expected, actual FROM credit_ledger.verify(8602) WHERE check_name LIKE 'transfer%';
UPDATE credit_ledger.transfer SET amount = amount - 1 WHERE from_account = 8601 AND to_account = 8602;

SELECT count(*) AS inconsistencies FROM credit_ledger.verify() WHERE account_id BETWEEN 8601 AND 8699;
