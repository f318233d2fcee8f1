-- An account with thousands of small rewards is normal: a deduct that
-- drains them walks the burn-down index once (it used to start a new index
-- scan per bucket and pass every drained one again: quadratic while the
-- account is locked). Counted, not timed: the index's scans and the index
-- entries they read.
SELECT count(*) AS granted FROM generate_series(1, 2000) i,
    LATERAL credit_ledger.grant_credits(7841, 1, 'mb-g' || i, 'reward');
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE mb_before AS
    SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes
    WHERE schemaname = 'credit_ledger' AND indexrelname = 'bucket_burn_down';
SELECT amount, balance FROM credit_ledger.deduct(7841, 1990, 'mb-d1');
SELECT pg_stat_force_next_flush();
-- a new transaction reads the stats again
SELECT s.idx_scan - b.idx_scan AS scans,
       s.idx_tup_read - b.idx_tup_read BETWEEN 1990 AND 2 * 2000 AS entries_read_linear
FROM pg_stat_user_indexes s, mb_before b
WHERE s.schemaname = 'credit_ledger' AND s.indexrelname = 'bucket_burn_down';
SELECT amount, balance FROM credit_ledger.deduct(7841, 10, 'mb-d2');
SELECT * FROM credit_ledger.verify(7841);
