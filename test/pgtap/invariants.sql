-- Invariants after a random workload on a few accounts: the stored figures
-- always agree with the entries, buckets and holds, and no account is ever
-- below its credit limit. Failed calls are rolled back and leave no trace.
BEGIN;
SELECT plan(8);

SELECT setseed(0.42);
CREATE TEMP TABLE outcome (ok boolean, sqlstate text);

-- A call's clock is its statement's start: the workload runs as several
-- statements so that short grants expire between them.
CREATE FUNCTION pg_temp.workload(first int, last int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
    n int;
    state text;
BEGIN
    FOR n IN first..last LOOP
        acct := 9001 + floor(random() * 8)::int;
        BEGIN
            CASE floor(random() * 7)::int
            WHEN 0 THEN
                PERFORM credit_ledger.grant_credits(acct, 1 + floor(random() * 40)::bigint, 'g' || n,
                    (ARRAY['recharge', 'gift', 'promo'])[1 + floor(random() * 3)::int],
                    CASE WHEN random() < 0.5 THEN statement_timestamp() + random() * interval '200 ms' END,
                    floor(random() * 3)::int);
            WHEN 1, 2 THEN
                PERFORM credit_ledger.deduct(acct, 1 + floor(random() * 30)::bigint, 'd' || n);
            WHEN 3 THEN
                PERFORM credit_ledger.refund(acct, 'r' || n, 'd' || (n - floor(random() * 50)::int),
                    CASE WHEN random() < 0.5 THEN 1 + floor(random() * 10)::bigint END);
            WHEN 4 THEN
                PERFORM credit_ledger.adjust(acct, (floor(random() * 21)::bigint - 10), 'a' || n, 'test');
            WHEN 5 THEN
                -- replays and conflicting reuse of earlier keys
                PERFORM credit_ledger.deduct(acct, 1 + floor(random() * 30)::bigint,
                    'd' || (n - floor(random() * 20)::int));
            ELSE
                PERFORM credit_ledger.set_credit_limit(acct, floor(random() * 60)::bigint);
            END CASE;
            INSERT INTO outcome VALUES (true, NULL);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
            INSERT INTO outcome VALUES (false, state);
        END;
    END LOOP;
END
$$;

SELECT credit_ledger.open_account(acct, (acct % 3) * 25) FROM generate_series(9001, 9008) acct;
SELECT pg_temp.workload(1, 1000);
SELECT pg_sleep(0.25);
SELECT pg_temp.workload(1001, 2000);
SELECT pg_sleep(0.25);
SELECT pg_temp.workload(2001, 3000);

SELECT cmp_ok((SELECT count(*) FROM outcome WHERE ok), '>', 1000::bigint,
              'the workload mostly succeeds');
SELECT is_empty($$SELECT sqlstate FROM outcome WHERE NOT ok
                  AND sqlstate NOT IN ('LD001', 'LD004', 'LD008', '22023')$$,
                'every refusal is a documented one');
SELECT cmp_ok((SELECT count(*) FROM credit_ledger.entries WHERE kind = 'expire_grant'), '>', 0::bigint,
              'some grants expired during the run');
SELECT is_empty($$SELECT * FROM credit_ledger.verify()$$,
                'verify() finds every stored figure consistent');
SELECT is_empty($$SELECT a.account_id FROM credit_ledger.account a
                  WHERE a.balance <> (SELECT coalesce(sum(e.amount), 0) FROM credit_ledger.entry e
                                      WHERE e.account_id = a.account_id)$$,
                'each balance equals the sum of its entries');
SELECT is_empty($$SELECT account_id FROM credit_ledger.accounts
                  WHERE available < -credit_limit$$,
                'no account is below its credit limit');
SELECT is_empty($$SELECT a.account_id FROM credit_ledger.account a
                  WHERE (SELECT coalesce(sum(b.remaining), 0) FROM credit_ledger.bucket b
                         WHERE b.account_id = a.account_id)
                      + (SELECT coalesce(sum(s), 0) FROM credit_ledger.hold h, unnest(h.slice_amounts) s
                         WHERE h.account_id = a.account_id AND h.state = 'pending')
                      <> a.balance + a.debt$$,
                'bucket credits plus held slices equal balance plus debt');
SELECT is_empty($$SELECT account_id FROM credit_ledger.entry
                  WHERE account_id BETWEEN 9001 AND 9008 AND balance_after - reserved_after < -59$$,
                'no entry ever went beyond the largest credit limit the workload set (59)');

SELECT * FROM finish();
ROLLBACK;
