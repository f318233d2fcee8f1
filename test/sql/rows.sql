-- The money functions write account, bucket and entry rows without SQL
-- statements (src/row.c), with what they need compiled once per backend.
-- Whatever an INSERT or UPDATE would honour they must honour too, also
-- when the tables change under a backend that has compiled them already.
\set VERBOSITY terse
CREATE EXTENSION amcheck;

SELECT amount, balance FROM credit_ledger.grant_credits(7701, 1000, 'rows-g1', 'gift', now() + interval '1 day');
SELECT amount, balance FROM credit_ledger.deduct(7701, 10, 'rows-d1');

-- A CHECK added now applies to the next call of this backend, and goes
-- away with the constraint.
ALTER TABLE credit_ledger.entry ADD CONSTRAINT rows_small_amounts
    CHECK (amount > -100 OR kind <> 'deduct') NOT VALID;
SELECT split_part(expect_error($$SELECT credit_ledger.deduct(7701, 500, 'rows-d2')$$), ' | ', 1);
SELECT balance FROM credit_ledger.balance(7701);
ALTER TABLE credit_ledger.entry DROP CONSTRAINT rows_small_amounts;
SELECT amount, balance FROM credit_ledger.deduct(7701, 500, 'rows-d2');

-- An index added now gets an entry for every row written after it, as do
-- the partial ones (amcheck looks every heap row up in each index).
CREATE INDEX rows_entry_source ON credit_ledger.entry (source, account_id);
CREATE INDEX rows_bucket_small ON credit_ledger.bucket (account_id) WHERE remaining < 600;
SELECT amount, balance FROM credit_ledger.deduct(7701, 5, 'rows-d3', 'rows-source');
SELECT amount FROM credit_ledger.reserve(7701, 20, 'rows-h1', '1 hour');
SELECT amount FROM credit_ledger.refund(7701, 'rows-r1', 'rows-d3');
SELECT i.indexrelid::regclass AS index,
       bt_index_check(i.indexrelid, heapallindexed => true) IS NOT NULL AS checked
FROM pg_index i
WHERE i.indrelid IN ('credit_ledger.account'::regclass, 'credit_ledger.bucket'::regclass,
                     'credit_ledger.entry'::regclass)
ORDER BY i.indexrelid::regclass::text;
SET enable_seqscan = off;
SELECT count(*) AS found_by_new_index FROM credit_ledger.entry
WHERE source = 'rows-source' AND account_id = 7701;
RESET enable_seqscan;
DROP INDEX credit_ledger.rows_entry_source, credit_ledger.rows_bucket_small;

-- Row triggers an operator adds fire for these writes, before and after
-- (with the functions' search_path: name your tables with their schema).
CREATE TABLE rows_audit (kind text, amount bigint, balance_after bigint);
CREATE FUNCTION rows_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.rows_audit VALUES (NEW.kind, NEW.amount, NEW.balance_after);
    RETURN NEW;
END
$$;
CREATE TRIGGER rows_audit AFTER INSERT ON credit_ledger.entry
    FOR EACH ROW EXECUTE FUNCTION rows_audit();
CREATE FUNCTION rows_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'account % is under audit', NEW.account_id;
END
$$;
SELECT amount, balance FROM credit_ledger.deduct(7701, 7, 'rows-d4');
SELECT * FROM rows_audit;
CREATE TRIGGER rows_refuse BEFORE UPDATE ON credit_ledger.account
    FOR EACH ROW EXECUTE FUNCTION rows_refuse();
SELECT expect_error($$SELECT credit_ledger.deduct(7701, 7, 'rows-d5')$$);
SELECT count(*) AS entries_of_refused_call FROM credit_ledger.entry WHERE event_id = 'rows-d5';
DROP TRIGGER rows_refuse ON credit_ledger.account;
-- A BEFORE UPDATE trigger sees rows this transaction wrote: a new account
-- and its bucket, updated again by the next call.
CREATE FUNCTION rows_pass() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER rows_pass BEFORE UPDATE ON credit_ledger.account
    FOR EACH ROW EXECUTE FUNCTION rows_pass();
CREATE TRIGGER rows_pass BEFORE UPDATE ON credit_ledger.bucket
    FOR EACH ROW EXECUTE FUNCTION rows_pass();
BEGIN;
SELECT amount, balance FROM credit_ledger.grant_credits(7702, 100, 'rows-g2');
SELECT amount, balance FROM credit_ledger.deduct(7702, 10, 'rows-d8');
COMMIT;
DROP TRIGGER rows_pass ON credit_ledger.account;
DROP TRIGGER rows_pass ON credit_ledger.bucket;
DROP FUNCTION rows_pass();
DROP TRIGGER rows_audit ON credit_ledger.entry;
DROP FUNCTION rows_audit(), rows_refuse();
DROP TABLE rows_audit;

-- Two calls for one account in one statement: the second sees the first.
SELECT d.amount, d.balance
FROM (VALUES (1, 'rows-d6'), (2, 'rows-d7'), (3, 'rows-d6')) v(n, ev),
     LATERAL credit_ledger.deduct(7701, 3, v.ev) d
ORDER BY v.n;

SELECT * FROM credit_ledger.verify(7701);
DROP EXTENSION amcheck;
