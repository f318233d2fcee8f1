-- Bad input: every public function called with what it must refuse (NULLs,
-- zero, negatives, bigint extremes, sums past bigint, empty/oversized/odd
-- unicode event ids, unknown accounts, wrong states, reused keys). One row
-- of bad_call per call, with the SQLSTATE DESIGN.md documents for it (22003
-- for a sum past bigint); then the ledger must be exactly as before (every
-- table, compared whole). Each call's 'bad-x' becomes a key of its own, so
-- that a call wrongly accepted cannot hide the ones after it.
\set VERBOSITY terse

-- fixtures: 7001 active with 70 credits, 7002 frozen, 7003 closed, 7004 in
-- debt through its credit limit, 7005 near the top of bigint
SELECT (credit_ledger.grant_credits(7001, 100, 'bad-g1')).balance;
SELECT (credit_ledger.deduct(7001, 30, 'bad-d1')).balance;
SELECT (credit_ledger.grant_credits(7002, 10, 'bad-g1')).balance;
SELECT credit_ledger.set_status(7002, 'frozen');
SELECT (credit_ledger.grant_credits(7003, 10, 'bad-g1')).balance;
SELECT (credit_ledger.deduct(7003, 5, 'bad-d1')).balance;
SELECT credit_ledger.set_status(7003, 'closed');
SELECT credit_ledger.open_account(7004, 50);
SELECT (credit_ledger.deduct(7004, 20, 'bad-d1')).balance;
SELECT (credit_ledger.grant_credits(7005, 9223372036854775000, 'bad-g1')).balance;
-- holds on 7001: pending (h1), confirmed (h2), cancelled (h3), expired but
-- not yet swept (h4); 7002 (now frozen) has a pending one too
SELECT (credit_ledger.reserve(7001, 10, 'bad-h1', '1 hour')).reserved;
SELECT (credit_ledger.reserve(7001, 5, 'bad-h2', '1 hour')).reserved;
SELECT (credit_ledger.confirm(7001, hold_id)).reserved FROM credit_ledger.hold
WHERE account_id = 7001 AND event_id = 'bad-h2';
SELECT (credit_ledger.reserve(7001, 5, 'bad-h3', '1 hour')).reserved;
SELECT (credit_ledger.cancel(7001, hold_id)).reserved FROM credit_ledger.hold
WHERE account_id = 7001 AND event_id = 'bad-h3';
SELECT (credit_ledger.reserve(7001, 5, 'bad-h4', '1 ms')).reserved;
SELECT pg_sleep(0.01);
SELECT credit_ledger.set_status(7002, 'active');
SELECT (credit_ledger.reserve(7002, 5, 'bad-h1', '1 hour')).reserved;
SELECT credit_ledger.set_status(7002, 'frozen');
-- a price and a reward for the pricing calls
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price,
                                      cached_price, reasoning_price)
VALUES ('bad', 'prov', 'model-a', 1000, 2000, 100, 2000);
INSERT INTO credit_ledger.reward_rule (source, amount, daily_cap) VALUES ('bad_bonus', 10, 1);
-- 7007: a hold drawn on credit, then credits that expire in an hour
SELECT credit_ledger.open_account(7007, 200);
SELECT (credit_ledger.reserve(7007, 150, 'bad-h1', '2 hours')).available;
SELECT (credit_ledger.grant_credits(7007, 100, 'bad-g1', 'gift', now() + interval '1 hour')).available;
SELECT account_id, event_id, state FROM credit_ledger.hold
WHERE account_id IN (7001, 7002) ORDER BY account_id, event_id;

-- every table of the extension, whole, as one fingerprint
CREATE FUNCTION ledger_fingerprint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t regclass;
    rows text;
    result text := '';
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c
             WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind = 'r'
             ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT string_agg(x::text, ''|'' ORDER BY x::text) FROM %s x', t) INTO rows;
        result := result || t::text || ':' || coalesce(md5(rows), 'empty') || ' ';
    END LOOP;
    RETURN result;
END
$$;

CREATE TABLE bad_call (n serial, call text, expected text);
INSERT INTO bad_call (call, expected) VALUES
-- grant_credits
    ($$grant_credits(NULL, 1, 'bad-x')$$, '22004'),
    ($$grant_credits(7001, NULL, 'bad-x')$$, '22004'),
    ($$grant_credits(7001, 0, 'bad-x')$$, '22023'),
    ($$grant_credits(7001, -1, 'bad-x')$$, '22023'),
    ($$grant_credits(7001, -9223372036854775808, 'bad-x')$$, '22023'),
    ($$grant_credits(7005, 1000, 'bad-x')$$, '22003'),
    ($$grant_credits(7001, 9223372036854775807, 'bad-x')$$, '22003'),
    ($$grant_credits(7001, 1, NULL)$$, '22004'),
    ($$grant_credits(7001, 1, '')$$, '22023'),
    ($$grant_credits(7001, 1, repeat('x', 256))$$, '22023'),
    ($$grant_credits(7001, 1, repeat('é', 128))$$, '22023'),
    ($$grant_credits(7001, 1, repeat('€', 86))$$, '22023'),
    ($$grant_credits(7001, 1, repeat('😀', 64))$$, '22023'),
    ($$grant_credits(7001, 1, 'bad-x', NULL)$$, '22004'),
    ($$grant_credits(7001, 1, 'bad-x', '')$$, '22023'),
    ($$grant_credits(7001, 1, 'bad-x', 'gift', now() - interval '1 hour')$$, '22023'),
    ($$grant_credits(7001, 1, 'bad-x', 'gift', '-infinity')$$, '22023'),
    ($$grant_credits(7001, 1, 'bad-x', 'gift', 'infinity')$$, '22023'),
    ($$grant_credits(7001, 1, 'bad-x', 'gift', NULL, NULL)$$, '22004'),
    ($$grant_credits(7003, 1, 'bad-x')$$, 'LD003'),
    ($$grant_credits(7001, 2, 'bad-g1')$$, 'LD004'),
    ($$grant_credits(7001, 30, 'bad-d1')$$, 'LD004'),
-- deduct
    ($$deduct(NULL, 1, 'bad-x')$$, '22004'),
    ($$deduct(7001, NULL, 'bad-x')$$, '22004'),
    ($$deduct(7001, 0, 'bad-x')$$, '22023'),
    ($$deduct(7001, -5, 'bad-x')$$, '22023'),
    ($$deduct(7001, -9223372036854775808, 'bad-x')$$, '22023'),
    ($$deduct(7001, 9223372036854775807, 'bad-x')$$, 'LD001'),
    ($$deduct(7004, 9223372036854775807, 'bad-x')$$, 'LD001'),
    ($$deduct(7001, 71, 'bad-x')$$, 'LD001'),
    ($$deduct(7004, 31, 'bad-x')$$, 'LD001'),
    ($$deduct(7001, 1, NULL)$$, '22004'),
    ($$deduct(7001, 1, '')$$, '22023'),
    ($$deduct(7001, 1, repeat('x', 256))$$, '22023'),
    ($$deduct(7001, 1, 'bad-x', NULL)$$, '22004'),
    ($$deduct(7001, 1, 'bad-x', '')$$, '22023'),
    ($$deduct(7999, 1, 'bad-x')$$, 'LD002'),
    ($$deduct(-9223372036854775808, 1, 'bad-x')$$, 'LD002'),
    ($$deduct(7002, 1, 'bad-x')$$, 'LD003'),
    ($$deduct(7003, 1, 'bad-x')$$, 'LD003'),
    ($$deduct(7001, 1, 'bad-g1')$$, 'LD004'),
    ($$deduct(7001, 31, 'bad-d1')$$, 'LD004'),
-- refund
    ($$refund(NULL, 'bad-x', 'bad-d1')$$, '22004'),
    ($$refund(7001, NULL, 'bad-d1')$$, '22004'),
    ($$refund(7001, 'bad-x', NULL)$$, '22004'),
    ($$refund(7001, '', 'bad-d1')$$, '22023'),
    ($$refund(7001, 'bad-x', '')$$, '22023'),
    ($$refund(7001, 'bad-x', repeat('x', 256))$$, '22023'),
    ($$refund(7001, 'bad-x', 'bad-d1', 0)$$, '22023'),
    ($$refund(7001, 'bad-x', 'bad-d1', -1)$$, '22023'),
    ($$refund(7001, 'bad-x', 'bad-d1', 31)$$, 'LD008'),
    ($$refund(7001, 'bad-x', 'bad-d1', 9223372036854775807)$$, 'LD008'),
    ($$refund(7001, 'bad-x', 'bad-g1')$$, 'LD008'),
    ($$refund(7001, 'bad-x', 'no-such-event')$$, 'LD008'),
    ($$refund(7002, 'bad-x', 'bad-d1')$$, 'LD008'),
    ($$refund(7999, 'bad-x', 'bad-d1')$$, 'LD002'),
    ($$refund(7003, 'bad-x', 'bad-d1')$$, 'LD003'),
    ($$refund(7001, 'bad-g1', 'bad-d1')$$, 'LD004'),
-- adjust
    ($$adjust(NULL, 1, 'bad-x', 'fix')$$, '22004'),
    ($$adjust(7001, NULL, 'bad-x', 'fix')$$, '22004'),
    ($$adjust(7001, 0, 'bad-x', 'fix')$$, '22023'),
    ($$adjust(7001, 1, NULL, 'fix')$$, '22004'),
    ($$adjust(7001, 1, '', 'fix')$$, '22023'),
    ($$adjust(7001, 1, 'bad-x', NULL)$$, '22004'),
    ($$adjust(7001, 1, 'bad-x', '')$$, '22023'),
    ($$adjust(7001, -71, 'bad-x', 'fix')$$, 'LD001'),
    ($$adjust(7001, -9223372036854775807, 'bad-x', 'fix')$$, 'LD001'),
    ($$adjust(7001, -9223372036854775808, 'bad-x', 'fix')$$, '22003'),
    ($$adjust(7005, 9223372036854775807, 'bad-x', 'fix')$$, '22003'),
    ($$adjust(7999, 1, 'bad-x', 'fix')$$, 'LD002'),
    ($$adjust(7003, 1, 'bad-x', 'fix')$$, 'LD003'),
    ($$adjust(7001, 1, 'bad-g1', 'fix')$$, 'LD004'),
-- reserve
    ($$reserve(NULL, 1, 'bad-x')$$, '22004'),
    ($$reserve(7001, NULL, 'bad-x')$$, '22004'),
    ($$reserve(7001, 1, NULL)$$, '22004'),
    ($$reserve(7001, 0, 'bad-x')$$, '22023'),
    ($$reserve(7001, -9223372036854775808, 'bad-x')$$, '22023'),
    ($$reserve(7001, 9223372036854775807, 'bad-x')$$, 'LD001'),
    ($$reserve(7001, 56, 'bad-x')$$, 'LD001'),
    ($$reserve(7001, 1, '')$$, '22023'),
    ($$reserve(7001, 1, repeat('x', 256))$$, '22023'),
    ($$reserve(7001, 1, 'bad-x', interval '0')$$, '22023'),
    ($$reserve(7001, 1, 'bad-x', interval '-1 second')$$, '22023'),
    ($$reserve(7001, 1, 'bad-x', interval '10001 years')$$, '22023'),
    ($$reserve(7001, 1, 'bad-x', interval '178000000 years')$$, '22023'),
    ($$reserve(7001, 1, 'bad-x', interval '2147483647 days')$$, '22023'),
    ($$reserve(7001, 1, 'bad-x', NULL, NULL)$$, '22004'),
    ($$reserve(7001, 1, 'bad-x', NULL, '')$$, '22023'),
    ($$reserve(7999, 1, 'bad-x')$$, 'LD002'),
    ($$reserve(7002, 1, 'bad-x')$$, 'LD003'),
    ($$reserve(7003, 1, 'bad-x')$$, 'LD003'),
    ($$reserve(7001, 1, 'bad-g1')$$, 'LD004'),
    ($$reserve(7001, 11, 'bad-h1', '1 hour')$$, 'LD004'),
-- confirm and cancel (h1 pending, h2 confirmed, h3 cancelled, h4 expired)
    ($$confirm(NULL, 1)$$, '22004'),
    ($$confirm(7001, NULL)$$, '22004'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h1'), 0)$$, '22023'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h1'), -1)$$, '22023'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h1'), 9223372036854775807)$$, 'LD001'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h1'), 66)$$, 'LD001'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h2'), 4)$$, 'LD005'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h3'))$$, 'LD005'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h4'))$$, 'LD005'),
    ($$confirm(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7002 AND event_id = 'bad-h1'))$$, 'LD006'),
    ($$confirm(7001, 9223372036854775807)$$, 'LD006'),
    ($$confirm(7001, -1)$$, 'LD006'),
    ($$confirm(7999, 1)$$, 'LD002'),
    ($$confirm(7002, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7002 AND event_id = 'bad-h1'), 6)$$, 'LD003'),
    ($$cancel(NULL, 1)$$, '22004'),
    ($$cancel(7001, NULL)$$, '22004'),
    ($$cancel(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h2'))$$, 'LD005'),
    ($$cancel(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h4'))$$, 'LD005'),
    ($$cancel(7001, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7002 AND event_id = 'bad-h1'))$$, 'LD006'),
    ($$cancel(7001, -9223372036854775808)$$, 'LD006'),
    ($$cancel(7999, 1)$$, 'LD002'),
-- charge, quote, resolve_price
    ($$charge(NULL, 'bad-x', 'bad', 'prov', 'model-a', 10)$$, '22004'),
    ($$charge(7001, NULL, 'bad', 'prov', 'model-a', 10)$$, '22004'),
    ($$charge(7001, '', 'bad', 'prov', 'model-a', 10)$$, '22023'),
    ($$charge(7001, repeat('x', 256), 'bad', 'prov', 'model-a', 10)$$, '22023'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', -1)$$, '22023'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 0, -1)$$, '22023'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 0, 0, -1)$$, '22023'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 0, 0, 0, -9223372036854775808)$$, '22023'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', NULL)$$, '22004'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 9223372036854775807)$$, 'LD001'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807)$$, 'LD001'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 100000)$$, 'LD001'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'no-such-model', 10)$$, 'LD007'),
    ($$charge(7999, 'bad-x', 'bad', 'prov', 'model-a', 10)$$, 'LD002'),
    ($$charge(7002, 'bad-x', 'bad', 'prov', 'model-a', 10)$$, 'LD003'),
    ($$charge(7001, 'bad-g1', 'bad', 'prov', 'model-a', 10)$$, 'LD004'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 10, 0, 0, 0, -1)$$, 'LD006'),
    ($$charge(7001, 'bad-x', 'bad', 'prov', 'model-a', 10, 0, 0, 0, (SELECT hold_id FROM credit_ledger.hold WHERE account_id = 7001 AND event_id = 'bad-h2'))$$, 'LD005'),
    ($$quote('bad', 'prov', 'model-a', -1)$$, '22023'),
    ($$quote('bad', 'prov', 'model-a', NULL)$$, '22004'),
    ($$quote('bad', 'prov', 'no-such-model', 1)$$, 'LD007'),
    ($$quote('bad', 'prov', 'model-a', 9223372036854775807, 9223372036854775807)$$, 'none'),
    ($$resolve_price('bad', 'prov', 'no-such-model')$$, 'LD007'),
    ($$resolve_price('bad', 'prov', 'model-a', now() - interval '1 day')$$, 'LD007'),
    ($$resolve_price('bad', 'prov', 'model-a', NULL)$$, '22004'),
-- reward: a source without a rule answers NULL and changes nothing (7004:
-- on an account with a due expiry it writes that expiry, as every call does)
    ($$reward(NULL, 'bad_bonus', 'bad-x')$$, '22004'),
    ($$reward(7001, NULL, 'bad-x')$$, '22004'),
    ($$reward(7001, '', 'bad-x')$$, '22023'),
    ($$reward(7001, 'bad_bonus', NULL)$$, '22004'),
    ($$reward(7001, 'bad_bonus', repeat('x', 256))$$, '22023'),
    ($$reward(7003, 'bad_bonus', 'bad-x')$$, 'LD003'),
    ($$reward(7001, 'bad_bonus', 'bad-g1')$$, 'LD004'),
    ($$reward(7004, 'no_such_reward', 'bad-x')$$, 'none'),
-- consumption: a read, NULL or zeros where there is nothing to count
    ($$consumption(NULL)$$, 'none'),
    ($$consumption(7999)$$, 'none'),
    ($$consumption(7001, now(), now() - interval '1 day')$$, 'none'),
-- housekeeping
    ($$sweep(NULL)$$, '22004'),
    ($$sweep(0)$$, '22023'),
    ($$sweep(-2147483648)$$, '22023'),
-- accounts
    ($$open_account(NULL)$$, '22004'),
    ($$open_account(7001, NULL)$$, '22004'),
    ($$open_account(7006, -1)$$, '22023'),
    ($$open_account(7006, -9223372036854775808)$$, '22023'),
    ($$set_status(NULL, 'frozen')$$, '22004'),
    ($$set_status(7001, NULL)$$, '22004'),
    ($$set_status(7001, '')$$, '22023'),
    ($$set_status(7001, 'ACTIVE')$$, '22023'),
    ($$set_status(7001, 'frozen ')$$, '22023'),
    ($$set_status(7999, 'frozen')$$, 'LD002'),
    ($$set_credit_limit(NULL, 1)$$, '22004'),
    ($$set_credit_limit(7001, NULL)$$, '22004'),
    ($$set_credit_limit(7001, -1)$$, '22023'),
    ($$set_credit_limit(7001, -9223372036854775808)$$, '22023'),
    ($$set_credit_limit(7999, 1)$$, 'LD002'),
    ($$set_credit_limit(7004, 19)$$, 'LD001'),
    ($$set_credit_limit(7007, 60)$$, 'LD001'),
    ($$set_credit_limit(7007, 149)$$, 'LD001'),
-- reading
    ($$balance(7999)$$, 'LD002'),
    ($$balance(-1)$$, 'LD002'),
    ($$history(7001, -1)$$, '22023');

SELECT ledger_fingerprint() AS before \gset
SELECT n, call, expected, got, got = expected AS as_documented, message
FROM (SELECT n, call, expected, expect_error('SELECT * FROM credit_ledger.'
                                                          || replace(call, 'bad-x', 'bad-x' || n)) AS r
      FROM bad_call) c
CROSS JOIN LATERAL (SELECT CASE WHEN r = 'no error' THEN 'none' ELSE left(r, 5) END AS got,
                           CASE WHEN r <> 'no error'
                                THEN split_part(substr(r, 7), ' | ', 1) END AS message) m
ORDER BY n;
SELECT count(*) AS calls FROM bad_call;
SELECT coalesce(string_agg(split_part(t, ':', 1), ', ' ORDER BY t), 'none') AS tables_changed
FROM (SELECT unnest(string_to_array(trim(ledger_fingerprint()), ' '))
      EXCEPT SELECT unnest(string_to_array(trim(:'before'), ' '))) d(t);

-- the same arguments with the required ones present: what the bounds allow
\set VERBOSITY default
-- 255 bytes is the limit, whatever the characters
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, repeat('x', 255));
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, repeat('€', 85));
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, repeat('é', 127) || 'x');
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, repeat('😀', 63) || 'xyz');
-- keys are compared byte for byte: composed and decomposed é are two keys,
-- as are a line break and the two characters backslash-n
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, 'caf' || U&'\00E9');
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, 'cafe' || U&'\0301');
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, 'caf' || U&'\00E9');
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, E'a\nb');
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, 'a\nb');
-- right-to-left override, zero-width joiner sequence, a lone combining mark
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, U&'\202Eevil');
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, U&'\+01F469\200D\+01F4BB');
SELECT replayed FROM credit_ledger.grant_credits(7001, 1, U&'\0301');
-- a limit that covers the hold without the credits that expire is taken
SELECT credit_ledger.set_credit_limit(7007, 150);
SELECT available, credit_limit FROM credit_ledger.balance(7007);
SELECT count(*) AS keyed_entries FROM credit_ledger.entries
WHERE account_id = 7001 AND kind = 'grant';
SELECT * FROM credit_ledger.verify();

DROP TABLE bad_call;
DROP FUNCTION ledger_fingerprint();
