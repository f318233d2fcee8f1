-- Every function that writes refuses a read-only transaction with 25006,
-- as an UPDATE does (BEGIN READ ONLY, default_transaction_read_only, and a
-- hot standby, which test/t/005_standby.pl covers). Reading works there.
SELECT amount, balance FROM credit_ledger.grant_credits(7821, 100, 'ro-g1');
SELECT amount, balance FROM credit_ledger.deduct(7821, 10, 'ro-d1');
SELECT hold_id IS NOT NULL AS held FROM credit_ledger.reserve(7821, 10, 'ro-h1', '1 hour');
BEGIN READ ONLY;
SELECT expect_error($$SELECT credit_ledger.set_status(7821, 'frozen')$$);
SELECT expect_error($$SELECT credit_ledger.set_credit_limit(7821, 50)$$);
SELECT expect_error($$SELECT credit_ledger.open_account(7822)$$);
SELECT expect_error($$SELECT credit_ledger.grant_credits(7821, 5, 'ro-g2')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7821, 5, 'ro-d2')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7821, 10, 'ro-d1')$$) AS replay;
SELECT expect_error($$SELECT credit_ledger.refund(7821, 'ro-r1', 'ro-d1')$$);
SELECT expect_error($$SELECT credit_ledger.adjust(7821, 5, 'ro-a1', 'fix')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(7821, 5, 'ro-h2')$$);
SELECT expect_error(format('SELECT credit_ledger.confirm(7821, %s)', hold_id))
FROM credit_ledger.pending_holds WHERE account_id = 7821;
SELECT expect_error(format('SELECT credit_ledger.cancel(7821, %s)', hold_id))
FROM credit_ledger.pending_holds WHERE account_id = 7821;
SELECT expect_error($$SELECT credit_ledger.sweep()$$);
SELECT balance, reserved, available, status FROM credit_ledger.balance(7821);
SELECT count(*) AS entries FROM credit_ledger.history(7821);
COMMIT;

SET default_transaction_read_only = on;
SELECT expect_error($$SELECT credit_ledger.set_status(7821, 'frozen')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7821, 5, 'ro-d2')$$);
RESET default_transaction_read_only;

SELECT balance, reserved, status, credit_limit FROM credit_ledger.balance(7821);
SELECT count(*) AS entries FROM credit_ledger.entry WHERE account_id = 7821;
