-- roles-1.0.sql: the "Roles" statements of the 1.0 README, verbatim (frozen:
-- test/upgrade.sh proves that what 1.0 users granted keeps working after
-- ALTER EXTENSION credit_ledger UPDATE).
-- the application: money functions and reads
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA credit_ledger TO app;
GRANT EXECUTE ON FUNCTION
    credit_ledger.grant_credits(bigint, bigint, text, text, timestamptz, integer, text, jsonb),
    credit_ledger.deduct(bigint, bigint, text, text, text, jsonb),
    credit_ledger.refund(bigint, text, text, bigint, text),
    credit_ledger.reserve(bigint, bigint, text, interval, text, text, jsonb),
    credit_ledger.confirm(bigint, bigint, bigint, jsonb),
    credit_ledger.cancel(bigint, bigint, text),
    credit_ledger.charge(bigint, text, text, text, text, bigint, bigint, bigint, bigint, bigint, jsonb),
    credit_ledger.quote(text, text, text, bigint, bigint, bigint, bigint),
    credit_ledger.resolve_price(text, text, text, timestamptz),
    credit_ledger.reward(bigint, text, text, jsonb),
    credit_ledger.balance(bigint),
    credit_ledger.history(bigint, integer, bigint),
    credit_ledger.consumption(bigint, timestamptz, timestamptz)
TO app;
GRANT SELECT ON credit_ledger.accounts, credit_ledger.entries,
    credit_ledger.pending_holds, credit_ledger.expiring_grants TO app;

-- operators: everything the application may do, plus corrections, account
-- administration (credit limits), checks, and editing the rule tables
CREATE ROLE ledger_operator;
GRANT app TO ledger_operator;
GRANT EXECUTE ON FUNCTION
    credit_ledger.adjust(bigint, bigint, text, text),
    credit_ledger.open_account(bigint, bigint, jsonb),
    credit_ledger.set_status(bigint, text, text),
    credit_ledger.set_credit_limit(bigint, bigint),
    credit_ledger.verify(bigint),
    credit_ledger.sweep(integer),
    credit_ledger.worker_status()
TO ledger_operator;
-- rules are edited, never deleted: entries keep the id of the rule that
-- priced them (retire a rule with active = false or valid_until)
GRANT SELECT, INSERT, UPDATE ON credit_ledger.price_rule, credit_ledger.reward_rule
    TO ledger_operator;
GRANT USAGE ON SEQUENCE credit_ledger.price_rule_id_seq TO ledger_operator;
