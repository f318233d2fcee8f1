-- A grant's life after it is made (1.1): void_grant takes back what its
-- bucket still holds (spent credits stay spent, held slices stay held and
-- lapse when given back), extend_grant makes it last longer, refund_order
-- voids what a paid order's credits still hold. Each is an entry, and
-- idempotent by event_id.
SELECT amount, balance FROM credit_ledger.grant_credits(7971, 100, 'gl-g1', expires_at => now() + interval '1 day');
CREATE TEMP TABLE gl AS SELECT bucket_id FROM credit_ledger.bucket WHERE account_id = 7971;
SELECT hold_id IS NOT NULL AS held FROM credit_ledger.reserve(7971, 30, 'gl-h1', '1 hour');
SELECT amount, balance FROM credit_ledger.deduct(7971, 20, 'gl-d1');
-- void: the 50 left go; the 30 held stay held
SELECT v.amount, v.balance, v.reserved, v.available, v.replayed
FROM gl, credit_ledger.void_grant(7971, gl.bucket_id, 'gl-v1', 'charged back') v;
SELECT v.amount, v.balance, v.replayed FROM gl, credit_ledger.void_grant(7971, gl.bucket_id, 'gl-v1', 'again') v;
SELECT split_part(expect_error(format('SELECT credit_ledger.void_grant(7971, %s, %L)', bucket_id, 'gl-d1')), ' | ', 1) FROM gl;
-- the hold can still be confirmed from its slices...
SELECT c.amount, c.balance, c.reserved FROM credit_ledger.pending_holds p,
    credit_ledger.confirm(7971, p.hold_id, 10) c WHERE p.account_id = 7971;
-- ...and what it gives back lapses instead of coming back
SELECT kind, amount, balance_after, reserved_after, description FROM credit_ledger.entry
WHERE account_id = 7971 ORDER BY entry_id;
SELECT remaining, live FROM credit_ledger.bucket b JOIN gl USING (bucket_id);
SELECT balance, available, total_granted, total_consumed, total_expired FROM credit_ledger.balance(7971);
SELECT split_part(expect_error($$SELECT credit_ledger.void_grant(7971, 999999999, 'gl-v2')$$), ' | ', 1);
SELECT expect_error($$SELECT credit_ledger.void_grant(7972, 1, 'gl-v2')$$);
-- credits that holds on credit rest on are not voided past the credit limit (LD001)
SELECT credit_ledger.open_account(7974, 100);
SELECT amount FROM credit_ledger.grant_credits(7974, 50, 'gl-g4');
SELECT available FROM credit_ledger.reserve(7974, 150, 'gl-h2', '1 hour');
SELECT available FROM credit_ledger.grant_credits(7974, 30, 'gl-g5');
SELECT credit_ledger.set_credit_limit(7974, 70);
SELECT b.bucket_id AS b5 FROM credit_ledger.bucket b JOIN credit_ledger.entry e
    ON e.account_id = b.account_id AND e.entry_id = b.entry_id WHERE e.account_id = 7974 AND e.event_id = 'gl-g5' \gset
SELECT expect_error(format('SELECT credit_ledger.void_grant(7974, %s, %L)', :b5, 'gl-v3'));
SELECT * FROM credit_ledger.verify(7974);
SELECT expect_error($$SELECT credit_ledger.void_grant(7971, NULL, 'gl-v2')$$);

-- extend: later only, on a live bucket with an expiry (DETAILs name bucket ids: cut)
SELECT amount, balance FROM credit_ledger.grant_credits(7971, 40, 'gl-g2', expires_at => now() + interval '2 days');
SELECT amount FROM credit_ledger.grant_credits(7971, 5, 'gl-g3');
SELECT b.bucket_id AS b2 FROM credit_ledger.bucket b JOIN credit_ledger.entry e
    ON e.account_id = b.account_id AND e.entry_id = b.entry_id WHERE e.account_id = 7971 AND e.event_id = 'gl-g2' \gset
SELECT b.bucket_id AS b3 FROM credit_ledger.bucket b JOIN credit_ledger.entry e
    ON e.account_id = b.account_id AND e.entry_id = b.entry_id WHERE e.account_id = 7971 AND e.event_id = 'gl-g3' \gset
SELECT amount, balance, replayed FROM credit_ledger.extend_grant(7971, :b2, '2100-01-01 00:00+00', 'gl-x1');
SELECT amount, balance, replayed FROM credit_ledger.extend_grant(7971, :b2, '2100-01-01 00:00+00', 'gl-x1');
SELECT expires_at = '2100-01-01 00:00+00' AS extended FROM credit_ledger.bucket WHERE bucket_id = :b2;
SELECT kind, amount, request LIKE '%expires_at%' AS records_expiry FROM credit_ledger.entry WHERE account_id = 7971 AND event_id = 'gl-x1';
SELECT split_part(expect_error(format('SELECT credit_ledger.extend_grant(7971, %s, now() + interval ''1 day'', ''gl-x2'')', :b2)), ' | ', 1);
SELECT split_part(expect_error(format('SELECT credit_ledger.extend_grant(7971, %s, now() + interval ''1 day'', ''gl-x3'')', :b3)), ' | ', 1);
SELECT split_part(expect_error(format('SELECT credit_ledger.extend_grant(7971, %s, now() + interval ''1 day'', ''gl-x4'')', bucket_id)), ' | ', 1) FROM gl;
SELECT expect_error($$SELECT credit_ledger.extend_grant(7971, 1, 'infinity', 'gl-x5')$$);
SELECT count(*) AS refused_extensions FROM credit_ledger.entry WHERE account_id = 7971 AND event_id LIKE 'gl-x_' AND event_id <> 'gl-x1';

-- refund_order: what the order's credits still hold comes back out
INSERT INTO credit_ledger.product (sku, name, credits, price_minor, currency) VALUES ('gl-pack', 'pack', 100, 500, 'EUR');
SELECT status FROM credit_ledger.create_order(7973, 'gl-pack', 1, 'gl-o1');
SELECT status FROM credit_ledger.pay_order('gl-o1', 'gl-pay', 500, 'EUR');
SELECT amount FROM credit_ledger.deduct(7973, 35, 'gl-d2');
SELECT amount, balance, replayed FROM credit_ledger.refund_order('gl-o1', 'gl-r1');
SELECT amount, balance, replayed FROM credit_ledger.refund_order('gl-o1', 'gl-r1');
SELECT status FROM credit_ledger.orders WHERE order_no = 'gl-o1';
SELECT expect_error($$SELECT credit_ledger.refund_order('gl-o1', 'gl-r2')$$);
SELECT status FROM credit_ledger.create_order(7973, 'gl-pack', 1, 'gl-o2');
SELECT expect_error($$SELECT credit_ledger.refund_order('gl-o2', 'gl-r3')$$);
SELECT expect_error($$SELECT credit_ledger.refund_order('gl-none', 'gl-r3')$$);
SELECT kind, amount, event_id FROM credit_ledger.entry WHERE account_id = 7973 ORDER BY entry_id;
SELECT * FROM credit_ledger.verify(7971);
SELECT * FROM credit_ledger.verify(7973);
