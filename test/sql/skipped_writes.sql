-- A BEFORE trigger that returns NULL makes PostgreSQL skip a row without a
-- word. The ledger refuses the call instead (09000): money never moves
-- without its row, nothing changes, and a retry with the same event_id
-- charges exactly once after the trigger is gone.
SELECT amount, balance FROM credit_ledger.grant_credits(7801, 100, 'skip-g1');
SELECT hold_id IS NOT NULL AS held FROM credit_ledger.reserve(7801, 10, 'skip-h1', '1 hour');
CREATE FUNCTION skip_row() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;

-- the entry of a deduct (the direct row path)
CREATE TRIGGER skip_row BEFORE INSERT ON credit_ledger.entry
    FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT expect_error($$SELECT credit_ledger.deduct(7801, 20, 'skip-d1')$$);
DROP TRIGGER skip_row ON credit_ledger.entry;
SELECT balance, available FROM credit_ledger.balance(7801);
SELECT amount, balance, replayed FROM credit_ledger.deduct(7801, 20, 'skip-d1');
SELECT amount, balance, replayed FROM credit_ledger.deduct(7801, 20, 'skip-d1');

-- the bucket of a grant (an SPI insert), on an account old and new
CREATE TRIGGER skip_row BEFORE INSERT ON credit_ledger.bucket
    FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT expect_error($$SELECT credit_ledger.grant_credits(7801, 50, 'skip-g2')$$);
SELECT expect_error($$SELECT credit_ledger.grant_credits(7802, 50, 'skip-g3')$$);
DROP TRIGGER skip_row ON credit_ledger.bucket;

-- a bucket drawn from
CREATE TRIGGER skip_row BEFORE UPDATE ON credit_ledger.bucket
    FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT expect_error($$SELECT credit_ledger.deduct(7801, 5, 'skip-d2')$$);
DROP TRIGGER skip_row ON credit_ledger.bucket;

-- the account: its update, and opening one
CREATE TRIGGER skip_row BEFORE UPDATE ON credit_ledger.account
    FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT expect_error($$SELECT credit_ledger.deduct(7801, 5, 'skip-d3')$$);
SELECT expect_error($$SELECT credit_ledger.set_status(7801, 'frozen')$$);
DROP TRIGGER skip_row ON credit_ledger.account;
CREATE TRIGGER skip_row BEFORE INSERT ON credit_ledger.account
    FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT expect_error($$SELECT credit_ledger.grant_credits(7803, 50, 'skip-g4')$$);
SELECT expect_error($$SELECT credit_ledger.open_account(7803)$$);
SELECT credit_ledger.open_account(7801) AS existing_account_opens_again;
DROP TRIGGER skip_row ON credit_ledger.account;

-- a hold: created, and settled
CREATE TRIGGER skip_row BEFORE INSERT ON credit_ledger.hold
    FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT expect_error($$SELECT credit_ledger.reserve(7801, 5, 'skip-h2')$$);
DROP TRIGGER skip_row ON credit_ledger.hold;
CREATE TRIGGER skip_row BEFORE UPDATE ON credit_ledger.hold
    FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT expect_error(format('SELECT credit_ledger.confirm(7801, %s, 5)', hold_id))
FROM credit_ledger.pending_holds WHERE account_id = 7801;
SELECT expect_error(format('SELECT credit_ledger.cancel(7801, %s)', hold_id))
FROM credit_ledger.pending_holds WHERE account_id = 7801;
DROP TRIGGER skip_row ON credit_ledger.hold;

-- nothing of the refused calls is left
SELECT count(*) AS accounts_opened FROM credit_ledger.account WHERE account_id IN (7802, 7803);
SELECT kind, amount, event_id FROM credit_ledger.entry WHERE account_id = 7801 ORDER BY entry_id;
SELECT balance, reserved, available, status FROM credit_ledger.balance(7801);
SELECT count(*) AS pending FROM credit_ledger.pending_holds WHERE account_id = 7801;
SELECT * FROM credit_ledger.verify(7801);
DROP FUNCTION skip_row();
