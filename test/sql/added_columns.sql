-- Operators may add columns to the ledger's tables (an audit note, a
-- tenant id) and drop them again: the functions find their own columns by
-- name, rows they insert get the added columns' defaults, and a column the
-- ledger relies on that changed type is refused with 55000, not misread.
SELECT amount, balance FROM credit_ledger.grant_credits(7811, 100, 'cols-g1');
ALTER TABLE credit_ledger.entry ADD COLUMN note text DEFAULT 'from a default';
ALTER TABLE credit_ledger.entry ADD COLUMN tenant int;
ALTER TABLE credit_ledger.account ADD COLUMN region text DEFAULT 'eu';
ALTER TABLE credit_ledger.bucket ADD COLUMN batch int;
SELECT amount, balance FROM credit_ledger.deduct(7811, 10, 'cols-d1');
SELECT amount, balance FROM credit_ledger.grant_credits(7811, 5, 'cols-g2');
SELECT amount FROM credit_ledger.reserve(7811, 5, 'cols-h1', '1 hour');
SELECT event_id, note, tenant FROM credit_ledger.entry WHERE account_id = 7811 ORDER BY entry_id;
SELECT region FROM credit_ledger.account WHERE account_id = 7811;

-- dropped again, in another order than added
ALTER TABLE credit_ledger.entry DROP COLUMN note;
ALTER TABLE credit_ledger.account DROP COLUMN region;
SELECT amount, balance FROM credit_ledger.deduct(7811, 10, 'cols-d2');
ALTER TABLE credit_ledger.entry DROP COLUMN tenant;
ALTER TABLE credit_ledger.bucket DROP COLUMN batch;
SELECT amount, balance FROM credit_ledger.deduct(7811, 10, 'cols-d3');
SELECT amount, balance, replayed FROM credit_ledger.deduct(7811, 10, 'cols-d1');

-- a column of the ledger's with another type is refused, and works again once restored
ALTER TABLE credit_ledger.entry ALTER COLUMN request TYPE varchar(500);
SELECT expect_error($$SELECT credit_ledger.deduct(7811, 1, 'cols-d4')$$);
ALTER TABLE credit_ledger.entry ALTER COLUMN request TYPE text;
SELECT amount, balance FROM credit_ledger.deduct(7811, 1, 'cols-d4');
SELECT * FROM credit_ledger.verify(7811);
