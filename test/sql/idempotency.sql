-- Idempotency: (account_id, event_id) names one request. Repeating it
-- returns the original result with replayed = true and no new effect; a
-- different request under the same key is LD004 naming what differs.

SELECT entry_id AS first_grant FROM credit_ledger.grant_credits(600, 100, 'id-g') \gset
SELECT entry_id = :first_grant AS same_entry, amount, balance, replayed
FROM credit_ledger.grant_credits(600, 100, 'id-g');
SELECT entry_id AS first_deduct FROM credit_ledger.deduct(600, 10, 'id-d') \gset
-- later activity does not change what a replay answers
SELECT (credit_ledger.deduct(600, 5, 'id-d2')).balance;
SELECT entry_id = :first_deduct AS same_entry, amount, balance, available, replayed
FROM credit_ledger.deduct(600, 10, 'id-d');
SELECT amount, balance, replayed FROM credit_ledger.refund(600, 'id-r', 'id-d', 3);
SELECT amount, balance, replayed FROM credit_ledger.refund(600, 'id-r', 'id-d', 3);
SELECT amount, balance, replayed FROM credit_ledger.adjust(600, -1, 'id-a', 'fix');
SELECT amount, balance, replayed FROM credit_ledger.adjust(600, -1, 'id-a', 'fix');
SELECT count(*) AS entries FROM credit_ledger.entries WHERE account_id = 600;
SELECT balance, total_granted, total_consumed, total_refunded FROM credit_ledger.balance(600);

-- annotations are not part of the request: a retry may regenerate them
SELECT replayed FROM credit_ledger.deduct(600, 10, 'id-d', 'usage', 'another description', '{"retry": 2}');
-- and the same instant is the same request in any TimeZone
SELECT (credit_ledger.grant_credits(600, 5, 'id-exp', 'gift', '2100-01-01 00:00:00+00')).replayed;
SET TimeZone = 'Asia/Tokyo';
SELECT (credit_ledger.grant_credits(600, 5, 'id-exp', 'gift', '2100-01-01 09:00:00+09')).replayed;
RESET TimeZone;

-- a different request: LD004, the DETAIL says what differs, nothing changes
SELECT expect_error($$SELECT credit_ledger.deduct(600, 11, 'id-d')$$);
SELECT expect_error($$SELECT credit_ledger.deduct(600, 10, 'id-d', 'image')$$);
SELECT expect_error($$SELECT credit_ledger.grant_credits(600, 10, 'id-d')$$);
SELECT expect_error($$SELECT credit_ledger.refund(600, 'id-r', 'id-d')$$);
SELECT expect_error($$SELECT credit_ledger.grant_credits(600, 5, 'id-exp', 'gift', '2100-01-02 00:00:00+00')$$);
SELECT count(*) AS entries FROM credit_ledger.entries WHERE account_id = 600;

-- keys are per account
SELECT (credit_ledger.grant_credits(601, 7, 'id-g')).replayed;

-- event_id: required, non-empty, at most 255 bytes (bytes, not characters)
SELECT expect_error($$SELECT credit_ledger.deduct(600, 1, NULL)$$);
SELECT expect_error($$SELECT credit_ledger.deduct(600, 1, '')$$);
SELECT (credit_ledger.deduct(600, 1, repeat('k', 255))).replayed;
SELECT expect_error($$SELECT credit_ledger.deduct(600, 1, repeat('k', 256))$$);
SELECT expect_error($$SELECT credit_ledger.deduct(600, 1, repeat('é', 128))$$);
SELECT (credit_ledger.deduct(600, 1, 'ключ-🔑-' || repeat('é', 10))).replayed;
-- a value with a line break is compared and reported whole
SELECT (credit_ledger.deduct(600, 1, 'id-nl', E'usage\nline two')).replayed;
SELECT (credit_ledger.deduct(600, 1, 'id-nl', E'usage\nline two')).replayed;
SELECT expect_error($$SELECT credit_ledger.deduct(600, 1, 'id-nl', 'usage')$$);

SELECT * FROM credit_ledger.verify() WHERE account_id IN (600, 601);
