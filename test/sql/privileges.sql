-- Privileges: nothing is granted to PUBLIC. An application role with the
-- grants the README documents calls the money functions and reads the views,
-- and cannot write any table; an operator role adds corrections and status;
-- a role with nothing gets 42501 everywhere. Every table, view, sequence
-- and function of the schema is taken from the catalog, so objects added
-- later are covered without listing them here.
\set VERBOSITY terse

-- the README's "Roles" section, as run here
CREATE ROLE regress_ledger_app NOLOGIN;
GRANT USAGE ON SCHEMA credit_ledger TO regress_ledger_app;
GRANT EXECUTE ON FUNCTION
    credit_ledger.grant_credits(bigint, bigint, text, text, timestamptz, integer, text, jsonb, timestamptz),
    credit_ledger.deduct(bigint, bigint, text, text, text, jsonb, text),
    credit_ledger.refund(bigint, text, text, bigint, text),
    credit_ledger.reserve(bigint, bigint, text, interval, text, text, jsonb, text, text, boolean),
    credit_ledger.confirm(bigint, bigint, bigint, jsonb, text),
    credit_ledger.cancel(bigint, bigint, text),
    credit_ledger.charge(bigint, text, text, text, text, bigint, bigint, bigint, bigint, bigint, jsonb, text, bigint, text),
    credit_ledger.quote(text, text, text, bigint, bigint, bigint, bigint, bigint, text),
    credit_ledger.resolve_price(text, text, text, timestamptz),
    credit_ledger.reward(bigint, text, text, jsonb),
    credit_ledger.balance(bigint),
    credit_ledger.history(bigint, integer, bigint),
    credit_ledger.consumption(bigint, timestamptz, timestamptz, text)
    TO regress_ledger_app;
GRANT SELECT ON credit_ledger.accounts, credit_ledger.entries, credit_ledger.pending_holds,
    credit_ledger.expiring_grants TO regress_ledger_app;
-- 1.1: events and alerts
GRANT EXECUTE ON FUNCTION
    credit_ledger.set_alert(bigint, bigint),
    credit_ledger.poll_events(text, integer),
    credit_ledger.ack_events(text, bigint)
TO regress_ledger_app;
GRANT SELECT ON credit_ledger.events TO regress_ledger_app;
-- 1.1: the shop (the payment webhook runs as the application)
GRANT EXECUTE ON FUNCTION
    credit_ledger.create_order(bigint, text, integer, text),
    credit_ledger.pay_order(text, text, bigint, text),
    credit_ledger.cancel_order(text),
    credit_ledger.refund_order(text, text)
TO regress_ledger_app;
GRANT SELECT ON credit_ledger.products, credit_ledger.orders TO regress_ledger_app;
-- 1.1: agent sessions
GRANT EXECUTE ON FUNCTION
    credit_ledger.capture(bigint, bigint, bigint, text, boolean, text, jsonb),
    credit_ledger.extend_hold(bigint, bigint, interval, text)
TO regress_ledger_app;
-- 1.1: charging a provider's usage object as it came back
GRANT EXECUTE ON FUNCTION
    credit_ledger.charge_usage(bigint, text, text, text, text, jsonb, bigint, text, text, jsonb)
TO regress_ledger_app;
-- 1.1: teams (the application sets its members' caps and moves credits between wallets)
GRANT EXECUTE ON FUNCTION
    credit_ledger.set_spend_limit(bigint, text, bigint, text),
    credit_ledger.limits(bigint),
    credit_ledger.consumption_by_subject(bigint, timestamptz, timestamptz),
    credit_ledger.transfer(bigint, bigint, bigint, text, text, jsonb)
TO regress_ledger_app;
-- 1.1: batches
GRANT EXECUTE ON FUNCTION
    credit_ledger.deduct_many(bigint[], bigint[], text[], text, text[]),
    credit_ledger.charge_many(bigint[], text[], text, text, text[], bigint[], bigint[], bigint[], bigint[], bigint[], text[])
TO regress_ledger_app;
-- 1.1: allowances (a membership plan's monthly gift, set by the application)
GRANT EXECUTE ON FUNCTION
    credit_ledger.set_allowance(bigint, text, bigint, text, bigint, text, integer, timestamptz, timestamptz),
    credit_ledger.end_allowance(bigint, text)
TO regress_ledger_app;
GRANT SELECT ON credit_ledger.allowances TO regress_ledger_app;

CREATE ROLE regress_ledger_operator NOLOGIN;
GRANT regress_ledger_app TO regress_ledger_operator;
GRANT EXECUTE ON FUNCTION
    credit_ledger.adjust(bigint, bigint, text, text),
    credit_ledger.open_account(bigint, bigint, jsonb),
    credit_ledger.set_status(bigint, text, text),
    credit_ledger.set_credit_limit(bigint, bigint),
    credit_ledger.verify(bigint),
    credit_ledger.sweep(integer),
    credit_ledger.worker_status()
    TO regress_ledger_operator;
-- rules are edited, never deleted: entries keep the id of the rule that
-- priced them (retire a rule with active = false or valid_until)
GRANT SELECT, INSERT, UPDATE ON credit_ledger.price_rule, credit_ledger.reward_rule
    TO regress_ledger_operator;
GRANT USAGE ON SEQUENCE credit_ledger.price_rule_id_seq TO regress_ledger_operator;
-- 1.1: operators keep the shop's products, and void or extend grants
GRANT SELECT, INSERT, UPDATE ON credit_ledger.product TO regress_ledger_operator;
GRANT EXECUTE ON FUNCTION
    credit_ledger.void_grant(bigint, bigint, text, text),
    credit_ledger.extend_grant(bigint, bigint, timestamptz, text)
TO regress_ledger_operator;
GRANT EXECUTE ON FUNCTION credit_ledger.set_hold_limit(bigint, integer) TO regress_ledger_operator;
GRANT USAGE ON SEQUENCE credit_ledger.product_product_id_seq TO regress_ledger_operator;
-- 1.1: loading a price catalog writes price rules, as an operator does
GRANT EXECUTE ON FUNCTION
    credit_ledger.import_prices(jsonb, numeric, text, numeric, timestamptz)
TO regress_ledger_operator;

-- 1.1: the role a PL/Proxy router's user mapping names on every shard: what
-- the router's callers may do, plus the steps of a transfer between shards
CREATE ROLE regress_ledger_router NOLOGIN;
GRANT regress_ledger_operator TO regress_ledger_router;
GRANT EXECUTE ON FUNCTION
    credit_ledger.transfer_hold(bigint, bigint, bigint, text, text, jsonb),
    credit_ledger.transfer_receive(bigint, bigint, text, bigint, bigint[], text[], integer[], timestamptz[], text, jsonb),
    credit_ledger.transfer_settle(bigint, text, bigint),
    credit_ledger.transfer_undo(bigint, text, text, text, text),
    credit_ledger.transfers_in_flight(interval, integer)
TO regress_ledger_router;

CREATE ROLE regress_ledger_nobody NOLOGIN;

-- a price and a reward for the application's charge and reward
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price,
                                      cached_price, reasoning_price)
VALUES ('priv', 'prov', 'model', 1000, 2000, 100, 2000);
INSERT INTO credit_ledger.reward_rule (source, amount) VALUES ('priv_bonus', 7);

-- every statement a role could try on the schema's relations
CREATE FUNCTION ledger_relation_statements()
RETURNS TABLE (relation text, kind "char", statement text) LANGUAGE sql AS $$
    SELECT c.relname, c.relkind, s.statement
    FROM pg_class c
    CROSS JOIN LATERAL (SELECT a.attname FROM pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attnum = 1) col
    CROSS JOIN LATERAL (VALUES
        (format('SELECT * FROM %s LIMIT 0', c.oid::regclass)),
        (format('INSERT INTO %s DEFAULT VALUES', c.oid::regclass)),
        (format('UPDATE %s SET %I = %I', c.oid::regclass, col.attname, col.attname)),
        (format('DELETE FROM %s', c.oid::regclass)),
        (format('TRUNCATE %s', c.oid::regclass))) s(statement)
    WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind IN ('r', 'v')
    UNION ALL
    SELECT c.relname, c.relkind, format('SELECT nextval(%L)', c.oid::regclass)
    FROM pg_class c
    WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind = 'S'
$$;

-- every function of the schema, called with NULL for each argument
CREATE FUNCTION ledger_function_calls()
RETURNS TABLE (function text, statement text) LANGUAGE sql AS $$
    SELECT p.oid::regprocedure::text,
           format('SELECT %s(%s)', p.oid::regproc,
                  (SELECT coalesce(string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY i), '')
                   FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i)))
    FROM pg_proc p
    WHERE p.pronamespace = 'credit_ledger'::regnamespace
$$;
GRANT EXECUTE ON FUNCTION ledger_relation_statements(), ledger_function_calls() TO PUBLIC;

-- nothing is granted to PUBLIC: a role with nothing is refused everything
SET ROLE regress_ledger_nobody;
SELECT count(*) > 30 AS many_statements,
       count(*) FILTER (WHERE left(expect_error(statement), 5) <> '42501') AS not_refused
FROM (SELECT statement FROM ledger_relation_statements()
      UNION ALL SELECT statement FROM ledger_function_calls()) s;
RESET ROLE;

-- the application role: the statements on relations that it may run (the
-- others are refused: 42501, or 55000/42809 for what a view cannot do) and
-- the functions it may call (the others are 42501)
SET ROLE regress_ledger_app;
SELECT statement AS allowed
FROM ledger_relation_statements()
WHERE expect_error(statement) = 'no error'
ORDER BY relation, statement;
SELECT function AS may_call
FROM ledger_function_calls()
WHERE left(expect_error(statement), 5) <> '42501'
ORDER BY function;
-- and it moves money
SELECT balance, replayed FROM credit_ledger.grant_credits(8001, 100, 'priv-g1');
SELECT balance, replayed FROM credit_ledger.deduct(8001, 30, 'priv-d1');
SELECT balance, replayed FROM credit_ledger.deduct(8001, 30, 'priv-d1');
SELECT balance FROM credit_ledger.refund(8001, 'priv-r1', 'priv-d1', 10);
SELECT reserved, available FROM credit_ledger.reserve(8001, 20, 'priv-h1');
SELECT c.balance, c.reserved
FROM credit_ledger.pending_holds p, credit_ledger.confirm(8001, p.hold_id, 15) c
WHERE p.account_id = 8001;
SELECT balance, available FROM credit_ledger.balance(8001);
SELECT amount FROM credit_ledger.charge(8001, 'priv-c1', 'priv', 'prov', 'model', 1000, 500);
SELECT quote FROM credit_ledger.quote('priv', 'prov', 'model', 1000, 500) AS quote;
SELECT amount FROM credit_ledger.charge_usage(8001, 'priv-u1', 'priv', 'prov', 'model',
                                              '{"prompt_tokens": 1000, "completion_tokens": 500}');
SELECT left(expect_error($$SELECT credit_ledger.import_prices('{}', 1000)$$), 5) AS import_prices;
SELECT amount FROM credit_ledger.reward(8001, 'priv_bonus', 'priv-w1');
SELECT credits, calls FROM credit_ledger.consumption(8001);
SELECT kind, amount FROM credit_ledger.history(8001) ORDER BY entry_id;
SELECT count(*) FROM credit_ledger.entries WHERE account_id = 8001;
SELECT credit_ledger.set_alert(8001, 10);
SELECT count(*) > 0 AS polled FROM credit_ledger.poll_events('priv-consumer', 1000);
SELECT credit_ledger.ack_events('priv-consumer', max(event_seq))
FROM credit_ledger.poll_events('priv-consumer', 1000);
SELECT credit_ledger.set_spend_limit(8001, 'day', 1000, 'priv-member');
SELECT amount FROM credit_ledger.deduct(8001, 1, 'priv-d2', subject => 'priv-member');
SELECT subject, used FROM credit_ledger.limits(8001);
SELECT subject, credits FROM credit_ledger.consumption_by_subject(8001) WHERE subject IS NOT NULL;
SELECT to_balance FROM credit_ledger.grant_credits(8002, 1, 'priv-g2'),
     LATERAL credit_ledger.transfer(8001, 8002, 2, 'priv-t1');
SELECT left(expect_error($$SELECT credit_ledger.adjust(8001, 5, 'priv-a1', 'fix')$$), 5) AS adjust;
RESET ROLE;

-- the operator role: the application's rights, plus corrections and status
SET ROLE regress_ledger_operator;
SELECT function AS may_call
FROM ledger_function_calls()
WHERE left(expect_error(statement), 5) <> '42501'
ORDER BY function;
SELECT statement AS allowed
FROM ledger_relation_statements()
WHERE expect_error(statement) = 'no error'
ORDER BY relation, statement;
SELECT balance FROM credit_ledger.adjust(8001, 5, 'priv-a1', 'goodwill');
SELECT credit_ledger.set_status(8001, 'frozen', 'review');
SELECT credit_ledger.set_credit_limit(8001, 10);
SELECT holds_expired >= 0 AS swept FROM credit_ledger.sweep();
UPDATE credit_ledger.price_rule SET output_price = 3000 WHERE scene = 'priv';
SELECT credit_ledger.import_prices('{"priv-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}',
                                   1000, valid_from => now() + interval '1 day') AS imported;
INSERT INTO credit_ledger.reward_rule (source, amount) VALUES ('priv_other', 5);
SELECT left(expect_error($$DELETE FROM credit_ledger.reward_rule WHERE source = 'priv_other'$$), 5) AS delete_rule;
SELECT * FROM credit_ledger.verify(8001);
RESET ROLE;

-- the router's role: the operator's rights, plus the saga's steps (which
-- neither the application nor the operator may call), and it runs them
SET ROLE regress_ledger_router;
SELECT function AS may_call
FROM ledger_function_calls()
WHERE left(expect_error(statement), 5) <> '42501' AND function LIKE 'credit_ledger.transfer%'
ORDER BY function;
SELECT state FROM credit_ledger.grant_credits(8003, 10, 'priv-g3'),
     LATERAL credit_ledger.transfer_hold(8003, 8002, 4, 'priv-saga');
SELECT r.state FROM credit_ledger.transfer_hold(8003, 8002, 4, 'priv-saga') h,
     LATERAL credit_ledger.transfer_receive(8002, 8003, 'priv-saga', 4, h.part_amounts, h.part_sources,
                                            h.part_priorities, h.part_expires_at) r;
SELECT s.state, s.balance FROM credit_ledger.transfer_hold(8003, 8002, 4, 'priv-saga') h,
     LATERAL credit_ledger.transfer_receive(8002, 8003, 'priv-saga', 4, h.part_amounts, h.part_sources,
                                            h.part_priorities, h.part_expires_at) r,
     LATERAL credit_ledger.transfer_settle(8003, 'priv-saga', r.in_entry_id) s;
SELECT count(*) AS in_flight FROM credit_ledger.transfers_in_flight();
RESET ROLE;

DROP FUNCTION ledger_relation_statements(), ledger_function_calls();
DROP OWNED BY regress_ledger_app, regress_ledger_operator, regress_ledger_router, regress_ledger_nobody;
DROP ROLE regress_ledger_router, regress_ledger_operator, regress_ledger_app, regress_ledger_nobody;
