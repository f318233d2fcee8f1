-- Release 1.1: NULL arguments of the reading functions are 22004 with a
-- DETAIL (1.0: balance(NULL) gave a row of NULLs, history(.., NULL) every
-- row); every 22004 and every empty-text 22023 names the function and the
-- argument in its DETAIL; consumption()'s until NULL (the default) is the
-- call's own instant, so a transaction sees its own deducts.
SELECT amount AS granted FROM credit_ledger.grant_credits(4700, 100, 'rn-1');
SELECT expect_error('SELECT credit_ledger.balance(NULL)');
SELECT expect_error('SELECT * FROM credit_ledger.history(NULL)');
SELECT expect_error('SELECT * FROM credit_ledger.history(4700, NULL)');
SELECT count(*) AS history_before_null_is_all FROM credit_ledger.history(4700, 10, NULL);
SELECT expect_error('SELECT * FROM credit_ledger.consumption(NULL)');
SELECT expect_error($$SELECT credit_ledger.deduct(NULL, 1, 'rn-x')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(4700, 1, '')$$);
SELECT expect_error($$SELECT credit_ledger.grant_credits(4700, 1, 'rn-x', '')$$);
SELECT expect_error($$SELECT credit_ledger.reserve(4700, NULL, 'rn-x')$$);

-- consumption inside a transaction sees the transaction's own deducts
BEGIN;
SELECT amount FROM credit_ledger.deduct(4700, 30, 'rn-chat-1');
SELECT credits, calls FROM credit_ledger.consumption(4700) AS own_deduct_counted;
SELECT total_consumed FROM credit_ledger.balance(4700);
SELECT credits, calls FROM credit_ledger.consumption(4700, until => NULL) AS null_until_is_now;
-- an explicit until is exclusive, as before
SELECT credits, calls FROM credit_ledger.consumption(4700, until => now()) AS before_the_transaction;
COMMIT;

-- a confirm past the credit limit names what the caller asked for
SELECT hold_id AS rn_hold FROM credit_ledger.reserve(4700, 50, 'rn-hold') \gset
SELECT regexp_replace(expect_error(format('SELECT credit_ledger.confirm(4700, %s, 5000)', :rn_hold)),
    'hold [0-9]+ holds', 'hold <id> holds') AS expect_error;
SELECT state FROM credit_ledger.hold WHERE account_id = 4700 AND hold_id = :rn_hold;

-- LD007 names the instant the rules were matched at in its DETAIL
DO $$
DECLARE
    detail text;
BEGIN
    PERFORM credit_ledger.resolve_price('rn-scene', 'rn-provider', 'rn-model', '2030-01-01 00:00+00');
EXCEPTION WHEN SQLSTATE 'LD007' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'LD007 | %', detail;
END
$$;
