-- Release 1.1: a price rule that priced ledger entries cannot be deleted,
-- truncated away or renumbered, even by a superuser (23503, DETAIL names an
-- entry that records it); a rule nothing used can be deleted; retiring a
-- used rule (active = false, valid_until) stays the way.
INSERT INTO credit_ledger.price_rule (id, scene, model, input_price, output_price, cached_price, reasoning_price)
VALUES (4800, 'keep', 'keep-model', 1000000, 1000000, 0, 0),
       (4801, 'keep', 'unused-model', 1000000, 1000000, 0, 0);
SELECT amount AS granted FROM credit_ledger.grant_credits(4800, 100, 'pk-1');
SELECT amount FROM credit_ledger.charge(4800, 'pk-charge', 'keep', NULL, 'keep-model', 3);
-- (entry ids depend on the tests before this one)
SELECT regexp_replace(expect_error('DELETE FROM credit_ledger.price_rule WHERE id = 4800'),
    'Entry [0-9]+', 'Entry <id>') AS expect_error;
SELECT regexp_replace(expect_error('UPDATE credit_ledger.price_rule SET id = 4899 WHERE id = 4800'),
    'Entry [0-9]+', 'Entry <id>') AS expect_error;
-- names whichever priced rule it finds first
SELECT split_part(expect_error('TRUNCATE credit_ledger.price_rule'), ' ', 1) AS truncate_refused;
SELECT expect_error('DELETE FROM credit_ledger.price_rule WHERE id = 4801');
SELECT expect_error('UPDATE credit_ledger.price_rule SET active = false WHERE id = 4800');
-- naming id without changing it is no renumbering (logical replication's apply does it)
SELECT expect_error('UPDATE credit_ledger.price_rule SET id = id, description = ''kept'' WHERE id = 4800');
SELECT id, active FROM credit_ledger.price_rule WHERE id IN (4800, 4801) ORDER BY id;
SELECT count(*) AS still_priced FROM credit_ledger.entries WHERE price_rule_id = 4800;
