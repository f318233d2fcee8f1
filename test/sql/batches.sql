-- Batches (1.1): deduct_many and charge_many run each item as the single
-- call, in account_id order, one commit for all. A refused item reports its
-- SQLSTATE and changes nothing; the others apply; a batch sent again
-- answers every applied item replayed.
\set VERBOSITY terse
SELECT amount FROM credit_ledger.grant_credits(8801, 100, 'bt-g1');
SELECT amount FROM credit_ledger.grant_credits(8802, 50, 'bt-g2');
SELECT amount FROM credit_ledger.grant_credits(8803, 50, 'bt-g3');
SELECT credit_ledger.set_status(8803, 'frozen');
SELECT amount FROM credit_ledger.deduct(8802, 5, 'bt-used');
CREATE TEMP TABLE before_batch AS
SELECT account_id, balance, total_consumed FROM credit_ledger.accounts WHERE account_id IN (8801, 8802, 8803);

-- mixed: applied, LD001, LD002, LD003, LD004, 22023, 22004, and an
-- event_id twice in one batch (the second is its replay)
CREATE TEMP TABLE first_run AS
SELECT * FROM credit_ledger.deduct_many(
    ARRAY[8802, 8801, 8801, 8899, 8803, 8802, 8801, 8801, 8802, 8801]::bigint[],
    ARRAY[10, 30, 500, 1, 1, 6, 0, 1, 10, 20]::bigint[],
    ARRAY['bt-a', 'bt-b', 'bt-c', 'bt-d', 'bt-e', 'bt-used', 'bt-f', NULL, 'bt-a', 'bt-g']);
SELECT item, sqlstate, message, account_id, amount, balance, reserved, available, replayed
FROM first_run ORDER BY item;
-- applied in account_id order, items of one account in their order
SELECT array_agg(item ORDER BY entry_id) AS applied_order
FROM first_run WHERE sqlstate = '00000' AND NOT replayed;
-- the refused items changed nothing: only the applied ones moved money
SELECT a.account_id, b.balance - a.balance AS consumed_now,
       (SELECT coalesce(sum(r.amount), 0) FROM first_run r
        WHERE r.account_id = a.account_id AND r.sqlstate = '00000' AND NOT r.replayed) AS applied
FROM credit_ledger.accounts a JOIN before_batch b USING (account_id) ORDER BY 1;
SELECT count(*) AS entries_of_refused_items FROM credit_ledger.entry
WHERE event_id IN ('bt-c', 'bt-d', 'bt-e', 'bt-f');
-- the same batch again: every applied item replayed with its first answer,
-- the refused ones refused again, no new entry
SELECT count(*) AS entries_before FROM credit_ledger.entry WHERE account_id IN (8801, 8802, 8803) \gset
CREATE TEMP TABLE second_run AS
SELECT * FROM credit_ledger.deduct_many(
    ARRAY[8802, 8801, 8801, 8899, 8803, 8802, 8801, 8801, 8802, 8801]::bigint[],
    ARRAY[10, 30, 500, 1, 1, 6, 0, 1, 10, 20]::bigint[],
    ARRAY['bt-a', 'bt-b', 'bt-c', 'bt-d', 'bt-e', 'bt-used', 'bt-f', NULL, 'bt-a', 'bt-g']);
SELECT s.item, s.sqlstate, s.replayed,
       (s.entry_id, s.balance, s.available) IS NOT DISTINCT FROM (f.entry_id, f.balance, f.available) AS same_answer
FROM second_run s JOIN first_run f USING (item) ORDER BY item;
SELECT count(*) - :entries_before AS new_entries FROM credit_ledger.entry WHERE account_id IN (8801, 8802, 8803);

-- burn-down as deduct does it: the gift that expires first goes first
SELECT amount FROM credit_ledger.grant_credits(8804, 100, 'bt-paid');
SELECT amount FROM credit_ledger.grant_credits(8804, 10, 'bt-gift', 'gift', now() + interval '30 days', -1);
SELECT item, sqlstate, amount, balance FROM credit_ledger.deduct_many(ARRAY[8804, 8804]::bigint[],
    ARRAY[6, 6]::bigint[], ARRAY['bt-h1', 'bt-h2']) ORDER BY item;
SELECT source, remaining FROM credit_ledger.bucket WHERE account_id = 8804 ORDER BY bucket_id;

-- the call's own arguments: refused as a whole, nothing applied
SELECT expect_error($$SELECT * FROM credit_ledger.deduct_many(ARRAY[8801, 8802]::bigint[], ARRAY[1]::bigint[], ARRAY['bt-x1', 'bt-x2'])$$);
SELECT expect_error($$SELECT * FROM credit_ledger.deduct_many(ARRAY[8801]::bigint[], ARRAY[1]::bigint[], ARRAY['bt-x1'], subjects => ARRAY['a', 'b'])$$);
SELECT expect_error($$SELECT * FROM credit_ledger.deduct_many(NULL, ARRAY[1]::bigint[], ARRAY['bt-x1'])$$);
SELECT expect_error($$SELECT * FROM credit_ledger.deduct_many(ARRAY[8801]::bigint[], ARRAY[1]::bigint[], ARRAY['bt-x1'], NULL)$$);
SELECT expect_error($$SELECT * FROM credit_ledger.deduct_many(ARRAY[[8801, 8802]]::bigint[], ARRAY[[1, 1]]::bigint[], ARRAY[['bt-x1', 'bt-x2']])$$);
SET credit_ledger.max_batch = 2;
SELECT expect_error($$SELECT * FROM credit_ledger.deduct_many(ARRAY[8801, 8801, 8801]::bigint[], ARRAY[1, 1, 1]::bigint[], ARRAY['bt-x1', 'bt-x2', 'bt-x3'])$$);
SELECT count(*) AS two_items_pass FROM credit_ledger.deduct_many(ARRAY[8801, 8801]::bigint[], ARRAY[1, 1]::bigint[], ARRAY['bt-y1', 'bt-y2']);
RESET credit_ledger.max_batch;
SELECT count(*) AS empty_batch FROM credit_ledger.deduct_many('{}', '{}', '{}');
SELECT count(*) AS entries_of_refused_calls FROM credit_ledger.entry WHERE event_id LIKE 'bt-x%';
-- an error that is not an item's refusal ends the whole call
BEGIN READ ONLY;
SELECT expect_error($$SELECT * FROM credit_ledger.deduct_many(ARRAY[8801]::bigint[], ARRAY[1]::bigint[], ARRAY['bt-ro'])$$);
ROLLBACK;

-- charge_many: priced as charge prices, token arrays not given count 0
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, cached_price, reasoning_price, description)
VALUES ('batch', 'bt', 'bt-model', 1000000, 2000000, 500000, 2000000, 'batch test rule');
CREATE TEMP TABLE charged AS
SELECT * FROM credit_ledger.charge_many(ARRAY[8802, 8801, 8801, 8802]::bigint[],
    ARRAY['bt-c1', 'bt-c2', 'bt-c3', 'bt-c4'], 'batch', 'bt',
    ARRAY['bt-model', 'bt-model', 'no-such-model', 'bt-model'],
    ARRAY[3, 2, 1, 1]::bigint[], ARRAY[1, 1, 1, -1]::bigint[], cached_tokens => ARRAY[4, 0, 0, 0]::bigint[]);
SELECT item, sqlstate, split_part(message, ' (', 1) AS message, account_id, amount, replayed FROM charged ORDER BY item;
SELECT e.account_id, e.event_id, e.amount, e.input_tokens, e.output_tokens, e.cached_tokens, e.reasoning_tokens,
       r.description AS rule
FROM credit_ledger.entry e JOIN credit_ledger.price_rule r ON r.id = e.price_rule_id
WHERE e.event_id LIKE 'bt-c_' ORDER BY e.event_id;
SELECT item, sqlstate, replayed FROM credit_ledger.charge_many(ARRAY[8802, 8801]::bigint[],
    ARRAY['bt-c1', 'bt-c2'], 'batch', 'bt', ARRAY['bt-model', 'bt-model'],
    ARRAY[3, 2]::bigint[], ARRAY[1, 1]::bigint[], ARRAY[4, 0]::bigint[]) ORDER BY item;
-- the same event_id with other tokens is LD004, as charge says
SELECT item, sqlstate, message FROM credit_ledger.charge_many(ARRAY[8801]::bigint[], ARRAY['bt-c2'], 'batch', 'bt',
    ARRAY['bt-model'], ARRAY[9]::bigint[], ARRAY[1]::bigint[]);
SELECT expect_error($$SELECT * FROM credit_ledger.charge_many(ARRAY[8801]::bigint[], ARRAY['bt-c9'], 'batch', 'bt', ARRAY['bt-model'], ARRAY[1, 2]::bigint[], ARRAY[1]::bigint[])$$);

SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 8801 AND 8804;

-- items carry their subject (spend limits count it, entries record it) and
-- their cache writes, as the single calls do
SELECT amount FROM credit_ledger.grant_credits(8805, 1000, 'bt-g5');
SELECT credit_ledger.set_spend_limit(8805, 'day', 50, 'key-1');
SELECT item, sqlstate, split_part(message, ' (', 1) AS message, amount
FROM credit_ledger.deduct_many(ARRAY[8805, 8805, 8805]::bigint[], ARRAY[30, 30, 30]::bigint[],
    ARRAY['bt-s1', 'bt-s2', 'bt-s3'], subjects => ARRAY['key-1', 'key-1', NULL]) ORDER BY item;
SELECT item, sqlstate, amount
FROM credit_ledger.charge_many(ARRAY[8805]::bigint[], ARRAY['bt-s4'], 'batch', 'bt', ARRAY['bt-model'],
    ARRAY[0]::bigint[], ARRAY[0]::bigint[], cache_write_tokens => ARRAY[10]::bigint[],
    subjects => ARRAY['key-1']);
SELECT event_id, amount, subject, cache_write_tokens FROM credit_ledger.entry
WHERE account_id = 8805 AND event_id LIKE 'bt-s_' ORDER BY event_id;
SELECT subject, used, remaining FROM credit_ledger.limits(8805);
SELECT count(*) AS inconsistencies FROM credit_ledger.verify(8805);
