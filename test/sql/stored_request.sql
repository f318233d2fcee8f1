-- A stored request fingerprint that credit_ledger did not write (an entry
-- inserted or restored by hand): without its final line break, with a line
-- that has no '=', empty. A call with the same event_id is a different
-- request (LD004) whose DETAIL names what it can; the server never crashes.
SELECT credit_ledger.open_account(7950);
INSERT INTO credit_ledger.entry (account_id, kind, amount, reserved_delta, balance_after,
                                 reserved_after, event_id, request, created_at)
VALUES (7950, 'deduct', 0, 0, 0, 0, 'no-final-break', E'operation=deduct\namount=5', now()),
       (7950, 'deduct', 0, 0, 0, 0, 'same-lines', E'operation=deduct\namount=5\nsource=usage', now()),
       (7950, 'deduct', 0, 0, 0, 0, 'no-equals', E'operation=deduct\ngarbage', now()),
       (7950, 'deduct', 0, 0, 0, 0, 'empty', '', now()),
       (7950, 'deduct', 0, 0, 0, 0, 'other-operation', 'operation=grant_credits', now());
SELECT expect_error($$SELECT credit_ledger.deduct(7950, 5, 'no-final-break')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7950, 5, 'same-lines')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7950, 5, 'no-equals')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7950, 5, 'empty')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7950, 5, 'other-operation')$$);
-- the server is still up, and nothing was charged
SELECT balance, reserved FROM credit_ledger.account WHERE account_id = 7950;
