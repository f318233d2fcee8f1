-- Holds: reserve, confirm (less, equal, more), cancel, their replays and
-- every refusal. Accounts 3000-3099.
\set VERBOSITY terse

SELECT (credit_ledger.grant_credits(3000, 100, 'h-g1')).balance;

-- reserve lowers available at once; the held credits leave the bucket
SELECT hold_id IS NOT NULL AS has_hold, amount, balance, reserved, available, replayed
FROM credit_ledger.reserve(3000, 30, 'h-r1', '1 hour');
SELECT account_id, amount, expires_at > now() + interval '59 minutes' AS expires_in_an_hour, event_id
FROM credit_ledger.pending_holds WHERE account_id = 3000 ORDER BY hold_id;
SELECT kind, amount, reserved_delta, balance_after, reserved_after, bucket_amounts, source
FROM credit_ledger.entries WHERE account_id = 3000 ORDER BY entry_id;
SELECT remaining FROM credit_ledger.bucket WHERE account_id = 3000;

-- the same reserve again is a replay: same hold, no new effect
SELECT r1.hold_id = h.hold_id AS same_hold, r1.amount, r1.reserved, r1.replayed
FROM credit_ledger.reserve(3000, 30, 'h-r1', '1 hour') r1, credit_ledger.pending_holds h
WHERE h.account_id = 3000;
-- a different request under the same key
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 31, 'h-r1', '1 hour')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 30, 'h-r1', '2 hours')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 30, 'h-r1')$$);

-- confirm for less: the rest goes back to the bucket
SELECT amount, balance, reserved, available, replayed
FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r1'),
                           20, '{"tokens": 1234}');
SELECT kind, amount, reserved_delta, balance_after, reserved_after, bucket_amounts, source, metadata
FROM credit_ledger.entries WHERE account_id = 3000 AND kind = 'confirm';
SELECT state, settled_amount, resolved_at IS NOT NULL AS resolved,
       result_entry_id = (SELECT entry_id FROM credit_ledger.entry WHERE account_id = 3000 AND kind = 'confirm') AS result_is_confirm
FROM credit_ledger.hold WHERE event_id = 'h-r1';
SELECT remaining FROM credit_ledger.bucket WHERE account_id = 3000;
SELECT count(*) AS pending FROM credit_ledger.pending_holds WHERE account_id = 3000;

-- the same confirm again replays the original result
SELECT c.entry_id = e.entry_id AS same_entry, c.amount, c.balance, c.reserved, c.replayed
FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r1'), 20) c,
     credit_ledger.entry e WHERE e.account_id = 3000 AND e.kind = 'confirm';
-- a different request on a settled hold names its state
\set VERBOSITY default
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(3000, %s, 25)', hold_id)), 'Hold \d+', 'Hold N')
FROM credit_ledger.hold WHERE event_id = 'h-r1';
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(3000, %s)', hold_id)), 'Hold \d+', 'Hold N')
FROM credit_ledger.hold WHERE event_id = 'h-r1';
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.cancel(3000, %s)', hold_id)), 'Hold \d+', 'Hold N')
FROM credit_ledger.hold WHERE event_id = 'h-r1';

-- confirm with the default amount settles the held amount; repeating it,
-- with NULL or the same figure, replays
SELECT amount, balance, reserved, available FROM credit_ledger.reserve(3000, 15, 'h-r2');
SELECT amount, balance, reserved, available, replayed
FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r2'));
SELECT amount, replayed
FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r2'));
SELECT amount, replayed
FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r2'), 15);

-- confirm for more draws the excess from available
SELECT amount, balance, reserved, available FROM credit_ledger.reserve(3000, 10, 'h-r3');
SELECT amount, balance, reserved, available
FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r3'), 25);
SELECT kind, amount, reserved_delta, bucket_amounts
FROM credit_ledger.entries WHERE account_id = 3000 AND kind = 'confirm' ORDER BY entry_id;

-- more than available allows: LD001 and the hold stays pending
SELECT amount, balance, reserved, available FROM credit_ledger.reserve(3000, 10, 'h-r4');
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(3000, %s, 41)', hold_id)), 'Hold \d+', 'Hold N')
FROM credit_ledger.hold WHERE event_id = 'h-r4';
SELECT state FROM credit_ledger.hold WHERE event_id = 'h-r4';
SELECT amount, balance, reserved, available
FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r4'), 40);

-- cancel releases; repeating it replays; the hold cannot be confirmed after
SELECT (credit_ledger.grant_credits(3000, 50, 'h-g2')).balance;
SELECT amount, balance, reserved, available FROM credit_ledger.reserve(3000, 20, 'h-r5');
SELECT amount, balance, reserved, available, replayed
FROM credit_ledger.cancel(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r5'), 'user stopped');
SELECT amount, balance, reserved, available, replayed
FROM credit_ledger.cancel(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r5'));
SELECT kind, amount, reserved_delta, description
FROM credit_ledger.entries WHERE account_id = 3000 AND kind = 'cancel';
SELECT state, settled_amount FROM credit_ledger.hold WHERE event_id = 'h-r5';
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(3000, %s)', hold_id)), 'Hold \d+', 'Hold N')
FROM credit_ledger.hold WHERE event_id = 'h-r5';

-- holds that do not exist, or belong to another account: LD006
SELECT credit_ledger.open_account(3001);
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(3001, %s)', hold_id)), 'hold \d+', 'hold N')
FROM credit_ledger.hold WHERE event_id = 'h-r5';
SELECT expect_error($$SELECT credit_ledger.cancel(3000, -1)$$);
SELECT expect_error($$SELECT credit_ledger.confirm(3999, 1)$$);
\set VERBOSITY terse

-- argument checks
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 0, 'h-x1')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, NULL, 'h-x1')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(NULL, 1, 'h-x1')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 1, '')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 1, 'h-x1', '0 seconds')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 1, 'h-x1', '-5 minutes')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 1, 'h-x1', source => NULL)$$);
SELECT expect_error($$SELECT credit_ledger.confirm(3000, NULL)$$);
SELECT expect_error($$SELECT credit_ledger.confirm(3000, 1, 0)$$);
SELECT expect_error($$SELECT credit_ledger.cancel(NULL, 1)$$);
SELECT expect_error($$SELECT credit_ledger.reserve(3999, 1, 'h-x1')$$);
-- more than available: LD001, and nothing is left behind
SELECT available FROM credit_ledger.balance(3000);
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 51, 'h-x2')$$);
SELECT count(*) FROM credit_ledger.hold WHERE event_id = 'h-x2';

-- ttl NULL uses credit_ledger.default_hold_ttl
SET credit_ledger.default_hold_ttl = '10min';
SELECT amount FROM credit_ledger.reserve(3000, 1, 'h-r6');
SELECT expires_at - created_at AS ttl FROM credit_ledger.hold WHERE event_id = 'h-r6';
RESET credit_ledger.default_hold_ttl;
SELECT amount FROM credit_ledger.reserve(3000, 1, 'h-r7');
SELECT expires_at - created_at AS ttl FROM credit_ledger.hold WHERE event_id = 'h-r7';
SELECT (credit_ledger.cancel(3000, hold_id)).amount FROM credit_ledger.hold
WHERE event_id IN ('h-r6', 'h-r7') ORDER BY hold_id;

-- on credit: what the buckets cannot cover is held unbacked, and confirm
-- turns the consumed part into debt
SELECT credit_ledger.open_account(3002, 50);
SELECT (credit_ledger.grant_credits(3002, 10, 'h-g3')).balance;
SELECT amount, balance, reserved, available FROM credit_ledger.reserve(3002, 40, 'h-r8');
SELECT slice_amounts FROM credit_ledger.hold WHERE event_id = 'h-r8' AND account_id = 3002;
SELECT expect_error($$SELECT credit_ledger.reserve(3002, 21, 'h-x3')$$);
SELECT amount, balance, reserved, available
FROM credit_ledger.confirm(3002, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 3002 AND event_id = 'h-r8'), 25);
SELECT debt FROM credit_ledger.account WHERE account_id = 3002;
-- a grant repays the debt first
SELECT balance, available FROM credit_ledger.grant_credits(3002, 20, 'h-g4');
SELECT debt FROM credit_ledger.account WHERE account_id = 3002;
-- an unbacked hold cancelled gives nothing back to buckets
SELECT amount, balance, reserved, available FROM credit_ledger.reserve(3002, 30, 'h-r9');
SELECT amount, balance, reserved, available
FROM credit_ledger.cancel(3002, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 3002 AND event_id = 'h-r9'));

-- frozen: no new holds, no excess; settling what was held and cancelling still work
SELECT (credit_ledger.reserve(3000, 10, 'h-r10')).amount;
SELECT (credit_ledger.reserve(3000, 10, 'h-r11')).amount;
SELECT (credit_ledger.reserve(3000, 10, 'h-r12')).amount;
SELECT credit_ledger.set_status(3000, 'frozen');
SELECT expect_error($$SELECT credit_ledger.reserve(3000, 1, 'h-x4')$$);
SELECT expect_error(format('SELECT credit_ledger.confirm(3000, %s, 11)', hold_id))
FROM credit_ledger.hold WHERE event_id = 'h-r10';
SELECT amount, replayed FROM credit_ledger.confirm(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r10'), 10);
SELECT amount, replayed FROM credit_ledger.cancel(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r11'));
-- closed: nothing moves
SELECT credit_ledger.set_status(3000, 'closed');
SELECT expect_error(format('SELECT credit_ledger.cancel(3000, %s)', hold_id))
FROM credit_ledger.hold WHERE event_id = 'h-r12';
SELECT credit_ledger.set_status(3000, 'active');
SELECT amount FROM credit_ledger.cancel(3000, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'h-r12'));

-- a reserve's event_id names its confirm for a refund
SELECT amount, balance FROM credit_ledger.refund(3000, 'h-f1', 'h-r1');

SELECT balance, reserved, available, total_consumed, total_refunded FROM credit_ledger.balance(3000);
SELECT * FROM credit_ledger.verify(3000);
SELECT * FROM credit_ledger.verify(3002);
