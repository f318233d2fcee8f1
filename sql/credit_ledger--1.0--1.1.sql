\echo Use "ALTER EXTENSION credit_ledger UPDATE TO '1.1'" to load this file. \quit

-- credit_ledger 1.0 -> 1.1. A fresh CREATE EXTENSION runs the frozen 1.0
-- script and then this one, so this file is both the upgrade and the second
-- half of every install; test/upgrade.sh proves the two paths give the same
-- catalog.
--
-- Rules for this file (README, "Releasing"):
-- - never DROP a function a role may have been granted: CREATE OR REPLACE
--   keeps its privileges when the argument list is unchanged. A function that
--   gains arguments gets a new signature: read the old one's
--   pg_proc.proacl, create the new one, GRANT it what the old had, then
--   drop the old. A GRANT run by an extension script is recorded in
--   pg_init_privs as if the extension made it (pg_dump would then leave it
--   out): set the new function's pg_init_privs row back to what a fresh
--   install records. test/upgrade.sh compares proacl and pg_init_privs of
--   an updated database with a fresh one and fails if either differs;
-- - every new function starts with no privilege for PUBLIC, and every new
--   table or sequence holding user data is registered with
--   pg_extension_config_dump;
-- - COMMENT ON everything a user sees.

---------------------------------------------------------------------------
-- NULL arguments of the reading functions are 22004, like everywhere else
---------------------------------------------------------------------------

-- 1.0 was STRICT: balance(NULL) returned a row of NULLs.
CREATE OR REPLACE FUNCTION credit_ledger.balance(account_id bigint)
    RETURNS credit_ledger.account_balance
    LANGUAGE plpgsql STABLE CALLED ON NULL INPUT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result credit_ledger.account_balance;
BEGIN
    IF balance.account_id IS NULL THEN
        RAISE EXCEPTION 'account_id must not be null'
            USING ERRCODE = '22004',
                  DETAIL = 'credit_ledger.balance() was called with account_id NULL.';
    END IF;
    SELECT a.account_id, a.balance, a.reserved, a.available, a.credit_limit, a.status,
           a.total_granted, a.total_consumed, a.total_expired, a.total_refunded,
           a.next_expiry_at, a.next_expiry_amount
    INTO result
    FROM credit_ledger.accounts a
    WHERE a.account_id OPERATOR(pg_catalog.=) balance.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account not found'
            USING ERRCODE = 'LD002',
                  DETAIL = pg_catalog.format('Account %s does not exist.', balance.account_id);
    END IF;
    RETURN result;
END
$$;

-- 1.0 returned every row for max_rows NULL, and none for account_id NULL.
CREATE OR REPLACE FUNCTION credit_ledger.history(account_id bigint, max_rows integer DEFAULT 50,
                                                 before_entry_id bigint DEFAULT NULL)
    RETURNS SETOF credit_ledger.entries
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF history.account_id IS NULL OR history.max_rows IS NULL THEN
        RAISE EXCEPTION '% must not be null',
                        CASE WHEN history.account_id IS NULL THEN 'account_id' ELSE 'max_rows' END
            USING ERRCODE = '22004',
                  DETAIL = pg_catalog.format('credit_ledger.history() was called with %s NULL.',
                      CASE WHEN history.account_id IS NULL THEN 'account_id' ELSE 'max_rows' END);
    END IF;
    -- an invalid argument like any other (22023), not LIMIT's own 2201W
    IF history.max_rows OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'max_rows must not be negative'
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('max_rows is %s.', history.max_rows);
    END IF;
    RETURN QUERY
    SELECT e.*
    FROM credit_ledger.entries e
    WHERE e.account_id OPERATOR(pg_catalog.=) history.account_id
      AND (history.before_entry_id IS NULL
           OR e.entry_id OPERATOR(pg_catalog.<) history.before_entry_id)
    ORDER BY e.entry_id DESC
    LIMIT history.max_rows;
END
$$;

---------------------------------------------------------------------------
-- consumption: until NULL (now the default) is the call's own instant
---------------------------------------------------------------------------

-- 1.0 defaulted until to now(), the transaction's start, while entries carry
-- their statement's start: a transaction did not see its own deducts. Now
-- NULL (the default) means up to and including the call's instant
-- (statement_timestamp(), the clock every call uses). The argument list is
-- unchanged, so CREATE OR REPLACE keeps every grant.
CREATE OR REPLACE FUNCTION credit_ledger.consumption(account_id bigint, since timestamptz DEFAULT NULL,
                                                     until timestamptz DEFAULT NULL,
                                                     OUT credits bigint, OUT calls bigint,
                                                     OUT input_tokens bigint, OUT output_tokens bigint,
                                                     OUT cached_tokens bigint, OUT reasoning_tokens bigint)
    RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF consumption.account_id IS NULL THEN
        RAISE EXCEPTION 'account_id must not be null'
            USING ERRCODE = '22004',
                  DETAIL = 'credit_ledger.consumption() was called with account_id NULL.';
    END IF;
    SELECT COALESCE(OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount), 0)::bigint,
           pg_catalog.count(*),
           COALESCE(pg_catalog.sum(e.input_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(e.output_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(e.cached_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(e.reasoning_tokens), 0)::bigint
    INTO credits, calls, input_tokens, output_tokens, cached_tokens, reasoning_tokens
    FROM credit_ledger.entry e
    WHERE e.account_id OPERATOR(pg_catalog.=) consumption.account_id
      AND e.kind IN ('deduct', 'confirm')
      AND e.created_at OPERATOR(pg_catalog.>=) COALESCE(consumption.since, '-infinity')
      -- plain bounds, so the consumption index bounds the scan by time; one
      -- microsecond (timestamptz's resolution) past the call's instant
      -- includes the entries stamped with it
      AND e.created_at OPERATOR(pg_catalog.<) COALESCE(consumption.until,
          pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) interval '1 microsecond');
END
$$;
COMMENT ON FUNCTION credit_ledger.consumption(bigint, timestamptz, timestamptz) IS
    'credits consumed (deducts, confirms, charges; refunds not subtracted), number of those calls and their token totals in [since, until); since NULL = all time, until NULL = up to and including this call''s instant (a transaction sees its own charges)';

---------------------------------------------------------------------------
-- Price rules that priced entries cannot be deleted
---------------------------------------------------------------------------

-- Entries keep the id of the rule that priced them; in 1.0 only missing
-- grants kept a superuser from deleting such a rule. Refusing scans the
-- ledger (no index on price_rule_id, which every charge would have to
-- maintain): deleting a rule is rare, charging is not.
CREATE FUNCTION credit_ledger.refuse_priced_rule_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    used record;
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        SELECT e.account_id, e.entry_id, e.price_rule_id AS rule_id INTO used
        FROM credit_ledger.entry e WHERE e.price_rule_id IS NOT NULL LIMIT 1;
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'DELETE'
          OR OLD.id IS DISTINCT FROM NEW.id THEN
        SELECT e.account_id, e.entry_id, e.price_rule_id AS rule_id INTO used
        FROM credit_ledger.entry e
        WHERE e.price_rule_id OPERATOR(pg_catalog.=) OLD.id LIMIT 1;
    END IF;
    IF used.entry_id IS NOT NULL THEN
        RAISE EXCEPTION 'price rule % priced ledger entries and cannot be %', used.rule_id,
                        CASE TG_OP WHEN 'UPDATE' THEN 'renumbered' WHEN 'TRUNCATE' THEN 'truncated'
                                   ELSE 'deleted' END
            USING ERRCODE = '23503',
                  DETAIL = pg_catalog.format('Entry %s of account %s records price rule %s.',
                                             used.entry_id, used.account_id, used.rule_id),
                  HINT = 'Retire the rule with active = false or valid_until instead.';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION credit_ledger.refuse_priced_rule_delete() IS
    'trigger: refuses DELETE, TRUNCATE or a changed id of a price rule that ledger entries record (SQLSTATE 23503)';
REVOKE ALL ON FUNCTION credit_ledger.refuse_priced_rule_delete() FROM PUBLIC;

CREATE TRIGGER price_rule_keep_priced BEFORE DELETE OR UPDATE OF id ON credit_ledger.price_rule
    FOR EACH ROW EXECUTE FUNCTION credit_ledger.refuse_priced_rule_delete();
CREATE TRIGGER price_rule_keep_priced_truncate BEFORE TRUNCATE ON credit_ledger.price_rule
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger.refuse_priced_rule_delete();
