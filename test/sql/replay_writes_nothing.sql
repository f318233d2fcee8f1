-- A replay of a committed event (1.1) answers before any lock: it takes no
-- row lock, so it gets no transaction id and writes nothing (no WAL), alone
-- or as batch items. A new event still locks and writes.
SELECT amount FROM credit_ledger.grant_credits(8901, 100, 'rw-g');
SELECT amount FROM credit_ledger.deduct(8901, 10, 'rw-d');
BEGIN;
SELECT amount, balance, replayed FROM credit_ledger.deduct(8901, 10, 'rw-d');
SELECT amount, balance, replayed FROM credit_ledger.grant_credits(8901, 100, 'rw-g');
SELECT item, sqlstate, replayed FROM credit_ledger.deduct_many(ARRAY[8901, 8901]::bigint[],
    ARRAY[10, 10]::bigint[], ARRAY['rw-d', 'rw-d']) ORDER BY item;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;
BEGIN;
SELECT amount, balance, replayed FROM credit_ledger.deduct(8901, 10, 'rw-d2');
SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS new_event_writes;
COMMIT;
