-- The shop: products validated by a trigger, orders with a snapshot of
-- their product, paid once by the payment webhook (retries replay, every
-- mismatch is LD011 with a DETAIL), cancelled, and expired when unpaid:
-- exactly in every answer, written by the sweep.
INSERT INTO credit_ledger.product (sku, name, credits, price_minor, original_price_minor,
                                   currency, badge, sort_order, grant_expires_after)
VALUES ('shop-100', '100 credits', 100, 999, 1299, 'USD', 'best value', 2, '30 days'),
       ('shop-10', '10 credits', 10, 199, NULL, 'USD', NULL, 1, NULL),
       ('shop-old', 'old pack', 5, 99, NULL, 'USD', NULL, 3, NULL);
UPDATE credit_ledger.product SET status = 'retired' WHERE sku = 'shop-old';
-- what a shop page reads: products for sale, in sort_order
SELECT sku, name, credits, price_minor, original_price_minor, currency, badge
FROM credit_ledger.products WHERE sku LIKE 'shop-%';

-- the trigger refuses what no shop should sell
SELECT expect_error($$INSERT INTO credit_ledger.product (sku, name, credits, price_minor, currency) VALUES ('shop-x', 'x', 0, 1, 'USD')$$);
SELECT expect_error($$INSERT INTO credit_ledger.product (sku, name, credits, price_minor, currency) VALUES ('shop-x', 'x', 1, -1, 'USD')$$);
SELECT expect_error($$INSERT INTO credit_ledger.product (sku, name, credits, price_minor, currency) VALUES ('shop-x', 'x', 1, 1, 'dollars')$$);
SELECT expect_error($$INSERT INTO credit_ledger.product (sku, name, credits, price_minor, currency, status) VALUES ('shop-x', 'x', 1, 1, 'USD', 'sale')$$);
SELECT expect_error($$UPDATE credit_ledger.product SET original_price_minor = -5 WHERE sku = 'shop-10'$$);
SELECT expect_error($$UPDATE credit_ledger.product SET grant_expires_after = '-1 day' WHERE sku = 'shop-10'$$);

-- an order keeps its product as it was: a later price change does not touch it
SELECT order_no, account_id, status, sku, product_name, quantity, credits, amount_minor, currency,
       expires_at - created_at AS ttl
FROM credit_ledger.create_order(7961, 'shop-100', 2, 'shop-o1');
UPDATE credit_ledger.product SET price_minor = 1099 WHERE sku = 'shop-100';
SELECT status, amount_minor, replayed_same FROM credit_ledger.create_order(7961, 'shop-100', 2, 'shop-o1'),
    LATERAL (SELECT true AS replayed_same) r;
SELECT expect_error($$SELECT credit_ledger.create_order(7961, 'shop-100', 3, 'shop-o1')$$);
SELECT expect_error($$SELECT credit_ledger.create_order(7961, 'shop-old', 1, 'shop-o9')$$);
SELECT expect_error($$SELECT credit_ledger.create_order(7961, 'shop-none', 1, 'shop-o9')$$);
SELECT expect_error($$SELECT credit_ledger.create_order(7961, 'shop-10', 0, 'shop-o9')$$);
SELECT expect_error($$SELECT credit_ledger.create_order(7961, 'shop-10', 1, '')$$);
SELECT expect_error($$SELECT credit_ledger.create_order(NULL, 'shop-10', 1, 'shop-o9')$$);
SELECT count(*) AS refused_orders_written FROM credit_ledger.credit_order WHERE order_no = 'shop-o9';

-- the webhook: wrong payments are refused and change nothing
SELECT expect_error($$SELECT credit_ledger.pay_order('shop-o1', 'pay-1', 999, 'USD')$$);
SELECT expect_error($$SELECT credit_ledger.pay_order('shop-o1', 'pay-1', 1998, 'EUR')$$);
SELECT expect_error($$SELECT credit_ledger.pay_order('shop-none', 'pay-1', 1998, 'USD')$$);
SELECT expect_error($$SELECT credit_ledger.pay_order('shop-o1', '', 1998, 'USD')$$);
SELECT count(*) AS accounts FROM credit_ledger.account WHERE account_id = 7961;
-- paid: the credits, once, with the product's expiry; retried three times, one grant
SELECT order_no, status, payment_ref, paid_minor, grant_entry_id IS NOT NULL AS granted
FROM credit_ledger.pay_order('shop-o1', 'pay-1', 1998, 'USD');
SELECT status FROM credit_ledger.pay_order('shop-o1', 'pay-1', 1998, 'USD');
SELECT status FROM credit_ledger.pay_order('shop-o1', 'pay-1', 1998, 'USD');
SELECT status FROM credit_ledger.pay_order('shop-o1', 'pay-1', 1998, 'USD');
SELECT kind, amount, event_id, source FROM credit_ledger.entry WHERE account_id = 7961 ORDER BY entry_id;
SELECT source, remaining, (expires_at AT TIME ZONE 'UTC') - (created_at AT TIME ZONE 'UTC') AS lasts
FROM credit_ledger.bucket WHERE account_id = 7961;
SELECT balance FROM credit_ledger.balance(7961);
-- another payment for a paid order, and a cancel of it
SELECT expect_error($$SELECT credit_ledger.pay_order('shop-o1', 'pay-2', 1998, 'USD')$$);
SELECT expect_error($$SELECT credit_ledger.cancel_order('shop-o1')$$);
SELECT kind, payload - 'entry_id' - 'account_id' AS figures FROM credit_ledger.events
WHERE account_id = 7961 AND kind = 'order.paid';

-- cancelled: stays so, cannot be paid
SELECT status FROM credit_ledger.create_order(7961, 'shop-10', 1, 'shop-o2');
SELECT status, closed_at IS NOT NULL AS closed FROM credit_ledger.cancel_order('shop-o2');
SELECT status FROM credit_ledger.cancel_order('shop-o2');
SELECT expect_error($$SELECT credit_ledger.pay_order('shop-o2', 'pay-3', 199, 'USD')$$);

-- unpaid past credit_ledger.order_ttl: expired in every answer, then written by the sweep
SET credit_ledger.order_ttl = '1s';
SELECT status FROM credit_ledger.create_order(7961, 'shop-10', 1, 'shop-o3');
RESET credit_ledger.order_ttl;
SELECT pg_sleep(1.1);
SELECT status FROM credit_ledger.orders WHERE order_no = 'shop-o3';
SELECT status FROM credit_ledger.credit_order WHERE order_no = 'shop-o3';
-- (the DETAIL names the instant: masked here)
SELECT regexp_replace(expect_error($$SELECT credit_ledger.pay_order('shop-o3', 'pay-4', 199, 'USD')$$),
                      '\(at .*\)', '(at ...)');
SELECT regexp_replace(expect_error($$SELECT credit_ledger.cancel_order('shop-o3')$$), '\(at .*\)', '(at ...)');
SELECT * FROM credit_ledger.sweep();
SELECT status, closed_at = expires_at AS closed_at_expiry FROM credit_ledger.credit_order WHERE order_no = 'shop-o3';
SELECT expect_error($$SET credit_ledger.order_ttl = '0'$$);
SELECT order_no, status FROM credit_ledger.orders WHERE order_no LIKE 'shop-%' ORDER BY order_no;
SELECT * FROM credit_ledger.verify(7961);
