-- Holds for agent sessions (1.1): captures, confirm and cancel after
-- captures, extend_hold, on_expiry, the hold limit, pinned prices and
-- leases; every transition and refusal, and verify() after each step.
-- Accounts 14000-14099.
\set VERBOSITY terse

-- a figure of the account in every answer at once: balance(), the
-- accounts view, pending_holds and consumption must agree
CREATE FUNCTION agent_figures(account bigint,
    OUT balance bigint, OUT reserved bigint, OUT available bigint, OUT consumed bigint,
    OUT view_agrees boolean, OUT pending bigint, OUT pending_amount bigint,
    OUT credits bigint, OUT calls bigint, OUT consistent boolean)
LANGUAGE sql AS $$
    SELECT b.balance, b.reserved, b.available, b.total_consumed,
           (a.balance, a.reserved, a.available, a.total_consumed)
               IS NOT DISTINCT FROM (b.balance, b.reserved, b.available, b.total_consumed),
           (SELECT count(*) FROM credit_ledger.pending_holds p WHERE p.account_id = account),
           (SELECT coalesce(sum(p.amount), 0) FROM credit_ledger.pending_holds p WHERE p.account_id = account),
           c.credits, c.calls,
           NOT EXISTS (SELECT FROM credit_ledger.verify(account))
    FROM credit_ledger.balance(account) b, credit_ledger.accounts a, credit_ledger.consumption(account) c
    WHERE a.account_id = account
$$;

---------------------------------------------------------------------------
-- captures: an agent turn reserves 2000 and captures three tool calls
---------------------------------------------------------------------------
SELECT (credit_ledger.grant_credits(14000, 5000, 'a-g1')).balance;
SELECT hold_id AS h1 FROM credit_ledger.reserve(14000, 2000, 'a-r1', '1 hour') \gset
SELECT amount, balance, reserved, available, replayed
FROM credit_ledger.capture(14000, :h1, 300, 'a-c1');
SELECT amount, balance, reserved, available, replayed
FROM credit_ledger.capture(14000, :h1, 450, 'a-c2', metadata => '{"tool": "search"}');
-- a retried capture replays; another request under its key is LD004
SELECT amount, balance, reserved, available, replayed
FROM credit_ledger.capture(14000, :h1, 300, 'a-c1');
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, 301, %L)', :h1, 'a-c1'));
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, 300, %L, true)', :h1, 'a-c1'));
SELECT state, amount, captured FROM credit_ledger.hold WHERE account_id = 14000 AND hold_id = :h1;
SELECT amount, captured, on_expiry, lease FROM credit_ledger.pending_holds WHERE hold_id = :h1;
SELECT * FROM agent_figures(14000);
SELECT amount, balance, reserved, available
FROM credit_ledger.capture(14000, :h1, 250, 'a-c3');
-- the final capture: the rest (1000) comes back
SELECT amount, balance, reserved, available
FROM credit_ledger.capture(14000, :h1, 200, 'a-c4', final => true);
SELECT state, settled_amount, captured FROM credit_ledger.hold WHERE hold_id = :h1;
-- a capture is refunded by its own event_id, at most what it took
SELECT amount, balance FROM credit_ledger.refund(14000, 'a-f1', 'a-c2', 50);
SELECT expect_error('SELECT credit_ledger.refund(14000, ''a-f2'', ''a-c2'', 401)');
SELECT kind, amount, reserved_delta, balance_after, reserved_after, metadata
FROM credit_ledger.entries WHERE account_id = 14000 ORDER BY entry_id;
SELECT * FROM agent_figures(14000);
-- a settled hold takes no more captures, confirms or cancels (LD005)
\set VERBOSITY default
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.capture(14000, %s, 10, %L)', :h1, 'a-c5')), 'Hold \d+', 'Hold N');
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(14000, %s)', :h1)), 'Hold \d+', 'Hold N');
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(14000, %s, 200)', :h1)), 'Hold \d+', 'Hold N');
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.cancel(14000, %s)', :h1)), 'Hold \d+', 'Hold N');
\set VERBOSITY terse
-- the final capture replays too
SELECT amount, replayed FROM credit_ledger.capture(14000, :h1, 200, 'a-c4', final => true);

-- a capture that uses up what the hold holds ends it; past it, the excess
-- comes from available
SELECT hold_id AS h2 FROM credit_ledger.reserve(14000, 100, 'a-r2') \gset
SELECT amount, reserved, available FROM credit_ledger.capture(14000, :h2, 60, 'a-c6');
SELECT amount, balance, reserved, available FROM credit_ledger.capture(14000, :h2, 40, 'a-c7');
SELECT state, settled_amount FROM credit_ledger.hold WHERE hold_id = :h2;
SELECT hold_id AS h3 FROM credit_ledger.reserve(14000, 100, 'a-r3') \gset
SELECT amount, balance, reserved, available FROM credit_ledger.capture(14000, :h3, 130, 'a-c8');
SELECT state, settled_amount FROM credit_ledger.hold WHERE hold_id = :h3;
SELECT * FROM agent_figures(14000);

-- past the credit limit: LD001 naming the figures, and nothing changed
SELECT (credit_ledger.grant_credits(14001, 100, 'b-g1')).balance;
SELECT hold_id AS h4 FROM credit_ledger.reserve(14001, 50, 'b-r1') \gset
SELECT amount, reserved, available FROM credit_ledger.capture(14001, :h4, 20, 'b-c1');
\set VERBOSITY default
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.capture(14001, %s, 131, %L)', :h4, 'b-c2')), 'hold \d+', 'hold N');
\set VERBOSITY terse
SELECT state, captured FROM credit_ledger.hold WHERE hold_id = :h4;
SELECT count(*) AS entries FROM credit_ledger.entry WHERE account_id = 14001;
-- the refused key is free: the same capture within available succeeds
SELECT amount, balance, reserved, available FROM credit_ledger.capture(14001, :h4, 80, 'b-c2');
SELECT * FROM agent_figures(14001);

-- refusals: arguments (22004, 22023), unknown hold (LD006) or account (LD002)
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, 0, %L)', :h1, 'a-x'));
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, -5, %L)', :h1, 'a-x'));
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, NULL, %L)', :h1, 'a-x'));
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, 5, NULL)', :h1));
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, 5, %L)', :h1, ''));
SELECT expect_error(format('SELECT credit_ledger.capture(14000, %s, 5, %L, NULL)', :h1, 'a-x'));
SELECT expect_error('SELECT credit_ledger.capture(NULL, 1, 5, ''a-x'')');
SELECT expect_error('SELECT credit_ledger.capture(14000, NULL, 5, ''a-x'')');
SELECT expect_error('SELECT credit_ledger.capture(14000, -1, 5, ''a-x'')');
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.capture(14001, %s, 5, %L)', :h1, 'a-x')), 'hold \d+', 'hold N');
SELECT expect_error('SELECT credit_ledger.capture(14099, 1, 5, ''a-x'')');
SELECT count(*) AS no_entry_for_refused_keys FROM credit_ledger.entry WHERE event_id = 'a-x';

---------------------------------------------------------------------------
-- confirm and cancel after captures keep their 1.0 meaning
---------------------------------------------------------------------------
-- confirm with no amount is a final capture of what is left
SELECT (credit_ledger.grant_credits(14002, 1000, 'c-g1')).balance;
SELECT hold_id AS h5 FROM credit_ledger.reserve(14002, 500, 'c-r1') \gset
SELECT amount FROM credit_ledger.capture(14002, :h5, 100, 'c-c1');
SELECT amount, balance, reserved, available, replayed FROM credit_ledger.confirm(14002, :h5);
SELECT amount, replayed FROM credit_ledger.confirm(14002, :h5);
SELECT amount, replayed FROM credit_ledger.confirm(14002, :h5, 400);
SELECT state, settled_amount, captured FROM credit_ledger.hold WHERE hold_id = :h5;
-- confirm with an amount: a final capture of that amount
SELECT hold_id AS h6 FROM credit_ledger.reserve(14002, 300, 'c-r2') \gset
SELECT amount FROM credit_ledger.capture(14002, :h6, 100, 'c-c2');
SELECT amount, balance, reserved, available FROM credit_ledger.confirm(14002, :h6, 50);
SELECT state, settled_amount FROM credit_ledger.hold WHERE hold_id = :h6;
SELECT amount, replayed FROM credit_ledger.confirm(14002, :h6, 50);
-- cancel gives back what is left; the captures stay charged
SELECT hold_id AS h7 FROM credit_ledger.reserve(14002, 200, 'c-r3') \gset
SELECT amount FROM credit_ledger.capture(14002, :h7, 80, 'c-c3');
SELECT amount, balance, reserved, available FROM credit_ledger.cancel(14002, :h7, 'agent stopped');
SELECT amount, replayed FROM credit_ledger.cancel(14002, :h7);
SELECT state, settled_amount FROM credit_ledger.hold WHERE hold_id = :h7;
\set VERBOSITY default
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.capture(14002, %s, 10, %L)', :h7, 'c-c4')), 'Hold \d+', 'Hold N');
\set VERBOSITY terse
SELECT * FROM agent_figures(14002);
-- a frozen account still captures up to what a hold holds, not past it;
-- a closed one captures nothing
SELECT hold_id AS h8 FROM credit_ledger.reserve(14002, 100, 'c-r4') \gset
SELECT credit_ledger.set_status(14002, 'frozen');
SELECT amount FROM credit_ledger.capture(14002, :h8, 60, 'c-c5');
SELECT expect_error(format('SELECT credit_ledger.capture(14002, %s, 41, %L)', :h8, 'c-c6'));
SELECT credit_ledger.set_status(14002, 'closed');
SELECT expect_error(format('SELECT credit_ledger.capture(14002, %s, 10, %L)', :h8, 'c-c6'));
SELECT credit_ledger.set_status(14002, 'active');
SELECT amount FROM credit_ledger.capture(14002, :h8, 40, 'c-c6');
SELECT state, settled_amount FROM credit_ledger.hold WHERE hold_id = :h8;

---------------------------------------------------------------------------
-- a capture takes held slices in order, and they survive their bucket's expiry
---------------------------------------------------------------------------
SELECT (credit_ledger.grant_credits(14003, 100, 'd-g1', 'gift', now() + interval '2 seconds')).balance;
SELECT (credit_ledger.grant_credits(14003, 100, 'd-g2')).balance;
SELECT hold_id AS h9 FROM credit_ledger.reserve(14003, 150, 'd-r1', '1 hour') \gset
SELECT slice_amounts FROM credit_ledger.hold WHERE hold_id = :h9;
SELECT amount FROM credit_ledger.capture(14003, :h9, 30, 'd-c1');
SELECT slice_amounts, captured FROM credit_ledger.hold WHERE hold_id = :h9;
SELECT pg_sleep(2.2);
-- the gift bucket expired: its held 70 is still held, and a capture takes it
SELECT balance, reserved, available FROM credit_ledger.balance(14003);
SELECT amount, balance, reserved, available FROM credit_ledger.capture(14003, :h9, 90, 'd-c2');
SELECT kind, amount, reserved_delta, bucket_amounts FROM credit_ledger.entries
WHERE account_id = 14003 ORDER BY entry_id;
-- the final capture gives back 29, which lands in the live bucket
SELECT amount, balance, reserved, available FROM credit_ledger.capture(14003, :h9, 1, 'd-c3', true);
SELECT * FROM agent_figures(14003);

---------------------------------------------------------------------------
-- extend_hold
---------------------------------------------------------------------------
SELECT (credit_ledger.grant_credits(14004, 1000, 'e-g1')).balance;
SELECT hold_id AS h10 FROM credit_ledger.reserve(14004, 100, 'e-r1', '10 minutes') \gset
SELECT amount, balance, reserved, replayed FROM credit_ledger.extend_hold(14004, :h10, '2 hours', 'e-x1');
SELECT expires_at > now() + interval '119 minutes' AS two_hours FROM credit_ledger.hold WHERE hold_id = :h10;
-- never shorter than it was: a shorter ttl keeps the later expiry
SELECT replayed FROM credit_ledger.extend_hold(14004, :h10, '1 minute', 'e-x2');
SELECT expires_at > now() + interval '119 minutes' AS still_two_hours FROM credit_ledger.hold WHERE hold_id = :h10;
SELECT replayed FROM credit_ledger.extend_hold(14004, :h10, '2 hours', 'e-x1');
SELECT expect_error(format('SELECT credit_ledger.extend_hold(14004, %s, %L, %L)', :h10, '3 hours', 'e-x1'));
SELECT kind, amount, reserved_delta FROM credit_ledger.entries WHERE account_id = 14004 ORDER BY entry_id;
SELECT expect_error(format('SELECT credit_ledger.extend_hold(14004, %s, NULL, %L)', :h10, 'e-x3'));
SELECT expect_error(format('SELECT credit_ledger.extend_hold(14004, %s, %L, %L)', :h10, '-1 minute', 'e-x3'));
SELECT expect_error(format('SELECT credit_ledger.extend_hold(14004, %s, %L, NULL)', :h10, '1 minute'));
SELECT expect_error('SELECT credit_ledger.extend_hold(14004, -1, ''1 minute'', ''e-x3'')');
-- an expired hold cannot be extended, written or not
SELECT hold_id AS h11 FROM credit_ledger.reserve(14004, 100, 'e-r2', '1 second') \gset
SELECT pg_sleep(1.2);
\set VERBOSITY default
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.extend_hold(14004, %s, %L, %L)', :h11, '1 hour', 'e-x4')), 'Hold \d+', 'Hold N');
\set VERBOSITY terse
SELECT * FROM agent_figures(14004);

---------------------------------------------------------------------------
-- on_expiry => 'capture': an agent that died is billed what its hold holds
---------------------------------------------------------------------------
SELECT expect_error('SELECT credit_ledger.reserve(14005, 10, ''f-x'', on_expiry => ''keep'')');
SELECT expect_error('SELECT credit_ledger.reserve(14005, 10, ''f-x'', on_expiry => NULL)');
SELECT expect_error('SELECT credit_ledger.reserve(14005, 10, ''f-x'', lease => NULL)');
SELECT (credit_ledger.grant_credits(14005, 1000, 'f-g1')).balance;
SELECT (credit_ledger.grant_credits(14005, 100, 'f-g2', 'gift', now() + interval '2 seconds', -1)).balance;
-- held from the gift bucket (which will have expired), partly captured
SELECT hold_id AS h12 FROM credit_ledger.reserve(14005, 400, 'f-r1', '2 seconds', on_expiry => 'capture') \gset
SELECT amount FROM credit_ledger.capture(14005, :h12, 50, 'f-c1');
-- and one that releases, for comparison
SELECT hold_id AS h13 FROM credit_ledger.reserve(14005, 200, 'f-r2', '2 seconds') \gset
SELECT on_expiry FROM credit_ledger.pending_holds WHERE account_id = 14005 ORDER BY hold_id;
-- the same key with another policy is another request
SELECT expect_error('SELECT credit_ledger.reserve(14005, 400, ''f-r1'', ''2 seconds'')');
SELECT * FROM agent_figures(14005);
SELECT pg_sleep(2.2);
-- past expiry, before anything is written: the capture hold is charged its
-- 350 in every answer (its 50 from the lapsed gift too), the other gives its 200 back
SELECT state FROM credit_ledger.hold WHERE account_id = 14005 ORDER BY hold_id;
SELECT * FROM agent_figures(14005);
SELECT balance, reserved, available, total_consumed, total_expired FROM credit_ledger.accounts WHERE account_id = 14005;
-- the sweep writes it: the same figures
SELECT holds_expired >= 2 AS swept FROM credit_ledger.sweep();
SELECT * FROM agent_figures(14005);
SELECT balance, reserved, available, total_consumed, total_expired FROM credit_ledger.accounts WHERE account_id = 14005;
-- the expiry entry says which: a capture (charged) or expire_hold (released)
SELECT kind, amount, reserved_delta, description, bucket_amounts FROM credit_ledger.entries
WHERE account_id = 14005 AND kind IN ('capture', 'expire_hold') ORDER BY entry_id;
SELECT state, settled_amount, captured FROM credit_ledger.hold WHERE account_id = 14005 ORDER BY hold_id;
SELECT kind, payload->>'amount' AS amount FROM credit_ledger.events
WHERE account_id = 14005 AND kind = 'hold.expired' ORDER BY event_seq;
SELECT amount, replayed FROM credit_ledger.reserve(14005, 400, 'f-r1', '2 seconds', on_expiry => 'capture');

-- a capture hold held on credit: at expiry its unbacked part comes from a
-- bucket granted since, the rest is debt
SELECT credit_ledger.open_account(14006, 100);
SELECT hold_id AS h14 FROM credit_ledger.reserve(14006, 80, 'g-r1', '1 second', on_expiry => 'capture') \gset
SELECT (credit_ledger.grant_credits(14006, 30, 'g-g1')).balance;
SELECT pg_sleep(1.2);
SELECT * FROM agent_figures(14006);
SELECT balance, reserved, available FROM credit_ledger.deduct(14006, 1, 'g-d1');
SELECT kind, amount, bucket_amounts FROM credit_ledger.entries WHERE account_id = 14006 ORDER BY entry_id;
SELECT debt FROM credit_ledger.account WHERE account_id = 14006;
SELECT * FROM agent_figures(14006);

---------------------------------------------------------------------------
-- set_hold_limit (LD010)
---------------------------------------------------------------------------
SELECT (credit_ledger.grant_credits(14007, 1000, 'h-g1')).balance;
SELECT credit_ledger.set_hold_limit(14007, 2);
SELECT max_pending_holds FROM credit_ledger.account WHERE account_id = 14007;
SELECT amount FROM credit_ledger.reserve(14007, 10, 'h-r1');
SELECT amount FROM credit_ledger.reserve(14007, 10, 'h-r2', '1 second');
\set VERBOSITY default
SELECT expect_error('SELECT credit_ledger.reserve(14007, 10, ''h-r3'')');
\set VERBOSITY terse
-- a replay of a reserve is not a new hold
SELECT replayed FROM credit_ledger.reserve(14007, 10, 'h-r1');
-- an expired hold no longer counts, written or not
SELECT pg_sleep(1.2);
SELECT amount FROM credit_ledger.reserve(14007, 10, 'h-r3');
-- a lower limit leaves pending holds alone; NULL removes it
SELECT credit_ledger.set_hold_limit(14007, 0);
SELECT count(*) AS still_pending FROM credit_ledger.pending_holds WHERE account_id = 14007;
SELECT expect_error('SELECT credit_ledger.reserve(14007, 10, ''h-r4'')');
SELECT credit_ledger.set_hold_limit(14007, NULL);
SELECT amount FROM credit_ledger.reserve(14007, 10, 'h-r4');
SELECT expect_error('SELECT credit_ledger.set_hold_limit(14007, -1)');
SELECT expect_error('SELECT credit_ledger.set_hold_limit(NULL, 1)');
SELECT expect_error('SELECT credit_ledger.set_hold_limit(14099, 1)');

---------------------------------------------------------------------------
-- pinned prices: a hold's charge is priced with the rules of its reserve
---------------------------------------------------------------------------
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price,
                                      cached_price, reasoning_price, valid_from, description)
VALUES ('agent14', 'prov', 'm', 1000000, 2000000, 0, 0, now() - interval '1 hour', 'old price');
SELECT (credit_ledger.grant_credits(14008, 10000, 'p-g1')).balance;
SELECT hold_id AS h15 FROM credit_ledger.reserve(14008, 1000, 'p-r1') \gset
-- the price changes mid-stream, without a gap
BEGIN;
UPDATE credit_ledger.price_rule SET valid_until = now() WHERE scene = 'agent14';
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price,
                                      cached_price, reasoning_price, description)
VALUES ('agent14', 'prov', 'm', 3000000, 6000000, 0, 0, 'new price');
COMMIT;
SELECT credit_ledger.quote('agent14', 'prov', 'm', 100, 10) AS quote_now;
SELECT amount, balance, reserved FROM credit_ledger.charge(14008, 'p-c1', 'agent14', 'prov', 'm', 100, 10,
                                                         hold_id => :h15);
SELECT amount FROM credit_ledger.charge(14008, 'p-c2', 'agent14', 'prov', 'm', 100, 10);
SELECT e.kind, e.amount, r.description AS priced_by FROM credit_ledger.entries e
JOIN credit_ledger.price_rule r ON r.id = e.price_rule_id
WHERE e.account_id = 14008 ORDER BY e.entry_id;
-- a settled hold has nothing to price: LD005, not LD007
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.charge(14008, %L, %L, %L, %L, 1, hold_id => %s)',
                           'p-c3', 'agent14', 'prov', 'm', :h15)), 'Hold \d+', 'Hold N');
SELECT * FROM agent_figures(14008);

---------------------------------------------------------------------------
-- leases: the session that reserves owns the hold
---------------------------------------------------------------------------
SELECT count(*) >= 0 AS earlier_expiries_written FROM credit_ledger.sweep();
SELECT (credit_ledger.grant_credits(14009, 1000, 'l-g1')).balance;
SELECT hold_id AS h16 FROM credit_ledger.reserve(14009, 100, 'l-r1', lease => true) \gset
SELECT hold_id AS h17 FROM credit_ledger.reserve(14009, 200, 'l-r2', lease => true, on_expiry => 'capture') \gset
SELECT hold_id AS h18 FROM credit_ledger.reserve(14009, 50, 'l-r3') \gset
SELECT lease_pid = pg_backend_pid() AS mine,
       lease_started_at = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS my_start
FROM credit_ledger.hold WHERE account_id = 14009 ORDER BY hold_id;
SELECT lease FROM credit_ledger.pending_holds WHERE account_id = 14009 ORDER BY hold_id;
-- its owner is alive (this session): sweeps leave it
SELECT * FROM credit_ledger.sweep();
SELECT * FROM credit_ledger.sweep();
SELECT count(*) AS pending FROM credit_ledger.pending_holds WHERE account_id = 14009;
-- a session that is gone (this pid, another start: the pid reused) loses
-- them at the next sweep: released, or captured on expiry
UPDATE credit_ledger.hold SET lease_started_at = lease_started_at - interval '1 day'
WHERE account_id = 14009 AND lease_pid IS NOT NULL;
SELECT * FROM credit_ledger.sweep();
SELECT state, settled_amount FROM credit_ledger.hold WHERE account_id = 14009 ORDER BY hold_id;
SELECT kind, amount, reserved_delta, description FROM credit_ledger.entries
WHERE account_id = 14009 AND kind IN ('capture', 'expire_hold') ORDER BY entry_id;
SELECT * FROM credit_ledger.sweep();
SELECT * FROM agent_figures(14009);

---------------------------------------------------------------------------
-- verify() checks each hold against its entries
---------------------------------------------------------------------------
SELECT hold_id AS h19 FROM credit_ledger.reserve(14000, 100, 'v-r1') \gset
SELECT amount FROM credit_ledger.capture(14000, :h19, 40, 'v-c1');
SELECT count(*) AS consistent FROM credit_ledger.verify(14000);
BEGIN;
UPDATE credit_ledger.hold SET captured = 30 WHERE hold_id = :h19;
SELECT check_name, expected, actual FROM credit_ledger.verify(14000) ORDER BY check_name;
ROLLBACK;
BEGIN;
UPDATE credit_ledger.hold SET settled_amount = 99 WHERE hold_id = :h1;
SELECT check_name, expected, actual FROM credit_ledger.verify(14000) ORDER BY check_name;
ROLLBACK;
SELECT * FROM credit_ledger.verify();

DROP FUNCTION agent_figures(bigint);
