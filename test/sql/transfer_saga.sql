-- The steps of a transfer between two servers (DESIGN 21), as the router
-- runs them, here on one server: transfer_hold on the sender, transfer_receive
-- on the receiver, transfer_settle (or transfer_undo) on the sender. Each is
-- idempotent on (from_account, event_id); refusals change nothing; a
-- receiver's refusal is recorded once and undoes the saga; the hold is no
-- one else's to settle and never expires by itself; verify() is empty at
-- every step. Accounts 8701-8799.
\set VERBOSITY terse

SELECT balance FROM credit_ledger.grant_credits(8701, 1000, 'ts-paid', 'recharge');
SELECT balance FROM credit_ledger.grant_credits(8701, 300, 'ts-gift', 'gift',
    date_trunc('second', statement_timestamp()) + interval '10 days', priority => -1);
SELECT credit_ledger.open_account(8702);

-- step 1: the credits the sender holds, held; the parts say what they were
SELECT state, entry_id IS NOT NULL AS reserve_entry, hold_id IS NOT NULL AS held, out_entry_id,
       in_entry_id, balance, available, part_amounts, part_sources, part_priorities,
       part_expires_at[1] = (SELECT expires_at FROM credit_ledger.bucket
                             WHERE account_id = 8701 AND source = 'gift') AS gift_expiry,
       part_expires_at[2] IS NULL AS paid_never_expires, error_sqlstate, replayed
FROM credit_ledger.transfer_hold(8701, 8702, 500, 'ts-1', 'to the other shard');
SELECT hold_id AS ts1_hold FROM credit_ledger.transfer_leg WHERE event_id = 'ts-1' \gset
SELECT balance, reserved, available FROM credit_ledger.balance(8701);
SELECT amount, expires_at, event_id FROM credit_ledger.pending_holds WHERE account_id = 8701;
SELECT from_account, event_id, side, to_account, amount, state, description
FROM credit_ledger.transfer_leg WHERE from_account BETWEEN 8701 AND 8799 ORDER BY side;
-- the same step again: the saga as it stands, nothing new
SELECT state, hold_id = :ts1_hold AS same_hold, balance, available, part_amounts, replayed
FROM credit_ledger.transfer_hold(8701, 8702, 500, 'ts-1', 'to the other shard');
SELECT count(*) AS holds FROM credit_ledger.hold WHERE account_id = 8701;
-- the key for another request
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8701, 8702, 501, 'ts-1')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8701, 8703, 500, 'ts-1')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.deduct(8701, 500, 'ts-1')$$);
-- the hold is the saga's: no capture, confirm, cancel, extension or charge
SELECT regexp_replace(expect_error(format('SELECT * FROM credit_ledger.cancel(8701, %s)', :ts1_hold)), 'Hold [0-9]+', 'Hold <id>');
SELECT regexp_replace(expect_error(format('SELECT * FROM credit_ledger.confirm(8701, %s)', :ts1_hold)), 'Hold [0-9]+', 'Hold <id>');
SELECT regexp_replace(expect_error(format($$SELECT * FROM credit_ledger.capture(8701, %s, 10, 'ts-cap')$$, :ts1_hold)), 'Hold [0-9]+', 'Hold <id>');
SELECT regexp_replace(expect_error(format($$SELECT * FROM credit_ledger.extend_hold(8701, %s, '1 hour', 'ts-ext')$$, :ts1_hold)), 'Hold [0-9]+', 'Hold <id>');
\set VERBOSITY terse
-- and it never expires by itself
SELECT holds_expired FROM credit_ledger.sweep();
SELECT state FROM credit_ledger.hold WHERE hold_id = :ts1_hold;
SELECT from_account, event_id, to_account, amount FROM credit_ledger.transfers_in_flight();
SELECT count(*) AS not_yet FROM credit_ledger.transfers_in_flight(interval '1 hour');
SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 8701 AND 8799;

-- step 2: the parts enter the receiver with their source, expiry and priority
SELECT state, entry_id = in_entry_id AS its_entry, hold_id, balance, available, replayed
FROM credit_ledger.transfer_receive(8702, 8701, 'ts-1', 500, '{300,200}', '{gift,recharge}', '{-1,0}',
    ARRAY[(SELECT expires_at FROM credit_ledger.bucket WHERE account_id = 8701 AND source = 'gift'), NULL],
    'to the other shard');
SELECT in_entry_id AS ts1_in FROM credit_ledger.transfer_leg WHERE event_id = 'ts-1' AND side = 'in' \gset
SELECT b.source, b.granted, b.priority,
       b.expires_at = (SELECT expires_at FROM credit_ledger.bucket WHERE account_id = 8701 AND source = 'gift') AS same_expiry
FROM credit_ledger.bucket b WHERE b.account_id = 8702 ORDER BY b.priority, b.bucket_id;
-- again: the same entry, nothing new
SELECT state, in_entry_id = :ts1_in AS same_entry, balance, replayed
FROM credit_ledger.transfer_receive(8702, 8701, 'ts-1', 500, '{300,200}', '{gift,recharge}', '{-1,0}',
    '{NULL,NULL}');
SELECT count(*) AS transfer_in_entries FROM credit_ledger.entry WHERE account_id = 8702 AND kind = 'transfer_in';
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_receive(8702, 8701, 'ts-1', 400, '{400}', '{x}', '{0}', '{NULL}')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_receive(8702, 8701, 'ts-9', 400, '{300}', '{x}', '{0}', '{NULL}')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_receive(8702, 8701, 'ts-9', 400, '{400,1}', '{x}', '{0}', '{NULL}')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_receive(8702, 8701, 'ts-9', 400, '{400}', NULL, '{0}', '{NULL}')$$);
\set VERBOSITY terse
-- between steps 2 and 3 each side is consistent on its own
SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 8701 AND 8799;

-- step 3: the hold becomes the transfer_out entry
SELECT state, out_entry_id = entry_id AS its_entry, in_entry_id = :ts1_in AS names_in, balance, available, replayed
FROM credit_ledger.transfer_settle(8701, 'ts-1', :ts1_in);
SELECT state, balance, available, replayed FROM credit_ledger.transfer_settle(8701, 'ts-1', :ts1_in);
\set VERBOSITY default
SELECT regexp_replace(expect_error($$SELECT * FROM credit_ledger.transfer_settle(8701, 'ts-1', 1)$$), 'entry [0-9]+', 'entry <id>');
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_undo(8701, 'ts-1', 'LD002', 'account not found', NULL)$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_settle(8701, 'ts-none', 1)$$);
\set VERBOSITY terse
SELECT kind, amount, reserved_delta, balance_after, reserved_after, event_id, description,
       ref_entry_id = :ts1_in AS names_in
FROM credit_ledger.entries WHERE account_id = 8701 AND hold_id = :ts1_hold ORDER BY entry_id;
SELECT state, settled_amount FROM credit_ledger.hold WHERE hold_id = :ts1_hold;
-- step 1 again after the end: settled, with the entries of both sides
SELECT state, out_entry_id IS NOT NULL AS out, in_entry_id = :ts1_in AS names_in, replayed
FROM credit_ledger.transfer_hold(8701, 8702, 500, 'ts-1');
-- the shard's own transfer under the saga's key, and the saga under a
-- one-server transfer's key: LD004 either way
SELECT to_balance FROM credit_ledger.transfer(8701, 8702, 5, 'ts-local');
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer(8701, 8702, 500, 'ts-1')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8701, 8702, 5, 'ts-local')$$);
\set VERBOSITY terse
-- a transfer is neither consumption nor a grant
SELECT credits, calls FROM credit_ledger.consumption(8701);
SELECT account_id, balance, reserved, total_granted, total_consumed FROM credit_ledger.accounts
WHERE account_id IN (8701, 8702) ORDER BY account_id;
SELECT count(*) AS in_flight FROM credit_ledger.transfers_in_flight();

-- refusals on the sender's side change nothing
SELECT credit_ledger.open_account(8704, 1000);
SELECT balance FROM credit_ledger.grant_credits(8704, 50, 'ts-g4');
SELECT credit_ledger.open_account(8705);
SELECT balance FROM credit_ledger.grant_credits(8705, 50, 'ts-g5');
SELECT credit_ledger.set_status(8705, 'frozen');
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8704, 8702, 51, 'ts-3')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8798, 8702, 10, 'ts-3')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8705, 8702, 10, 'ts-3')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8704, 8704, 10, 'ts-3')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8704, 8702, 0, 'ts-3')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_hold(8704, NULL, 10, 'ts-3')$$);
\set VERBOSITY terse
SELECT count(*) AS traces FROM credit_ledger.entry WHERE event_id = 'ts-3';
SELECT count(*) AS legs FROM credit_ledger.transfer_leg WHERE event_id = 'ts-3';

-- undone: the receiver does not exist; its refusal is recorded, not raised
SELECT state, balance, available FROM credit_ledger.transfer_hold(8701, 8799, 100, 'ts-2');
SELECT state, entry_id, in_entry_id, balance, error_sqlstate, error_message, error_detail, replayed
FROM credit_ledger.transfer_receive(8799, 8701, 'ts-2', 100, '{100}', '{recharge}', '{0}', '{NULL}');
-- and answered the same way after the account appears: the outcome is decided once
SELECT credit_ledger.open_account(8799);
SELECT state, error_sqlstate, replayed
FROM credit_ledger.transfer_receive(8799, 8701, 'ts-2', 100, '{100}', '{recharge}', '{0}', '{NULL}');
SELECT count(*) AS entries_8799 FROM credit_ledger.entry WHERE account_id = 8799;
SELECT state, entry_id IS NOT NULL AS cancel_entry, balance, available, error_sqlstate, error_message,
       error_detail, replayed
FROM credit_ledger.transfer_undo(8701, 'ts-2', 'LD002', 'account not found', 'Account 8799 does not exist.');
SELECT state, balance, available, replayed
FROM credit_ledger.transfer_undo(8701, 'ts-2', 'LD002', 'account not found', 'Account 8799 does not exist.');
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.transfer_settle(8701, 'ts-2', 1)$$);
\set VERBOSITY terse
-- a repeat of step 1 gives the refusal again, for the router to raise
SELECT state, error_sqlstate, error_message, error_detail, replayed
FROM credit_ledger.transfer_hold(8701, 8799, 100, 'ts-2');
SELECT kind, amount, reserved_delta, description FROM credit_ledger.entries
WHERE account_id = 8701 AND hold_id = (SELECT hold_id FROM credit_ledger.transfer_leg WHERE event_id = 'ts-2' AND side = 'out')
ORDER BY entry_id;
SELECT balance, reserved, available FROM credit_ledger.balance(8701);

-- a closed receiver refuses (LD003), a frozen one receives
SELECT credit_ledger.open_account(8703);
SELECT credit_ledger.set_status(8703, 'closed');
SELECT state, error_sqlstate, error_message, error_detail
FROM credit_ledger.transfer_receive(8703, 8701, 'ts-5', 10, '{10}', '{recharge}', '{0}', '{NULL}');
SELECT credit_ledger.set_status(8703, 'frozen');
SELECT state, balance
FROM credit_ledger.transfer_receive(8703, 8701, 'ts-6', 10, '{10}', '{recharge}', '{0}', '{NULL}');

-- a receiver in debt is repaid first
SELECT credit_ledger.open_account(8706, 100);
SELECT available FROM credit_ledger.deduct(8706, 40, 'ts-debt');
SELECT state, balance, available
FROM credit_ledger.transfer_receive(8706, 8701, 'ts-7', 100, '{100}', '{recharge}', '{0}', '{NULL}');
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 8706 ORDER BY bucket_id;

-- a part whose bucket expired while the saga held it (the hold kept it)
-- arrives expired and lapses at once, naming the transfer_in entry; the step
-- and its replay report the figures after the lapse
SELECT credit_ledger.open_account(8707);
SELECT state, balance, available
FROM credit_ledger.transfer_receive(8707, 8701, 'ts-10', 30, '{10,20}', '{gift,recharge}', '{-1,0}',
    ARRAY['2000-01-01 00:00+00'::timestamptz, NULL]);
SELECT state, balance, replayed
FROM credit_ledger.transfer_receive(8707, 8701, 'ts-10', 30, '{10,20}', '{gift,recharge}', '{-1,0}',
    ARRAY['2000-01-01 00:00+00'::timestamptz, NULL]);
SELECT kind, amount, ref_entry_id = (SELECT in_entry_id FROM credit_ledger.transfer_leg
                                     WHERE event_id = 'ts-10') AS names_transfer_in
FROM credit_ledger.entries WHERE account_id = 8707 ORDER BY entry_id;
SELECT balance, total_expired FROM credit_ledger.balance(8707);

-- a transfer's hold is not spend: the sender's spend limits leave it out
SELECT credit_ledger.set_spend_limit(8701, 'day', 100);
SELECT state, available FROM credit_ledger.transfer_hold(8701, 8702, 200, 'ts-8');
SELECT subject, period, used, held, remaining FROM credit_ledger.limits(8701);
-- nor is it one of the application's holds that set_hold_limit counts
SELECT credit_ledger.set_hold_limit(8701, 1);
SELECT amount FROM credit_ledger.reserve(8701, 10, 'ts-h1');
SELECT left(expect_error($$SELECT * FROM credit_ledger.reserve(8701, 10, 'ts-h2')$$), 5) AS second_hold;
SELECT amount FROM credit_ledger.cancel(8701, (SELECT hold_id FROM credit_ledger.hold
                                              WHERE account_id = 8701 AND event_id = 'ts-h1'));
SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 8701 AND 8799;

-- verify() sees a leg that does not match its side
SET session_replication_role = replica;
UPDATE credit_ledger.transfer_leg SET amount = 201 WHERE event_id = 'ts-8';
UPDATE credit_ledger.transfer_leg SET amount = 499 WHERE event_id = 'ts-1' AND side = 'in';
SELECT account_id, check_name FROM credit_ledger.verify() WHERE account_id BETWEEN 8701 AND 8799;
UPDATE credit_ledger.transfer_leg SET amount = 200 WHERE event_id = 'ts-8';
UPDATE credit_ledger.transfer_leg SET amount = 500 WHERE event_id = 'ts-1' AND side = 'in';
RESET session_replication_role;
SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 8701 AND 8799;

