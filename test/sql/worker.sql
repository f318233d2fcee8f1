-- The background worker end to end: the regress instance runs with
-- credit_ledger.sweeper_enabled = off, so the worker waits without a
-- database connection. Turned on, it connects and expires a one-second hold
-- by itself; turned off again, it leaves the database. Account 3500.
\set VERBOSITY terse

-- disabled: running, visible, not connected to any database
SELECT pid IS NOT NULL AS running, database, last_error FROM credit_ledger.worker_status();
SELECT backend_type, datname FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper';

SELECT (credit_ledger.grant_credits(3500, 100, 'wk-g1')).balance;
SELECT (credit_ledger.reserve(3500, 30, 'wk-r1', '1 second')).reserved;

ALTER SYSTEM SET credit_ledger.sweeper_enabled = on;
SELECT pg_reload_conf();

-- bounded poll (60 s): nothing but the worker touches account 3500 meanwhile
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM credit_ledger.hold
                          WHERE account_id = 3500 AND state = 'expired');
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;

SELECT state FROM credit_ledger.hold WHERE account_id = 3500;
SELECT kind, amount, reserved_delta, reserved_after
FROM credit_ledger.entries WHERE account_id = 3500 ORDER BY entry_id;
SELECT database, holds_expired >= 1 AS counted,
       last_sweep_at > now() - interval '1 minute' AS swept_lately, last_error
FROM credit_ledger.worker_status();
SELECT backend_type, datname FROM pg_stat_activity WHERE backend_type = 'credit_ledger sweeper';
SELECT * FROM credit_ledger.verify(3500);

-- off again: the worker leaves the database (bounded poll, 60 s)
ALTER SYSTEM RESET credit_ledger.sweeper_enabled;
SELECT pg_reload_conf();
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity
                              WHERE backend_type = 'credit_ledger sweeper'
                                AND datname IS NOT NULL);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT count(*) AS connected_workers FROM pg_stat_activity
WHERE backend_type = 'credit_ledger sweeper' AND datname IS NOT NULL;
