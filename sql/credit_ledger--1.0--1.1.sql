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

-- Lock order under load: a read of the accounts or expiring_grants view
-- locks the view, then its tables. This script replaces both views (issue
-- 16's section) after it has altered those tables, so it takes the views'
-- locks first: a read holding a view while it waits for a table the script
-- altered would deadlock with it (test/upgrade.sh's load met it). RESET of
-- an option not set changes nothing and locks the view alone (LOCK TABLE
-- would lock the view's tables as well, in the order of its query).
ALTER VIEW credit_ledger.accounts RESET (security_barrier);
ALTER VIEW credit_ledger.expiring_grants RESET (security_barrier);

---------------------------------------------------------------------------
-- The 1.1 signatures: functions that gain arguments
---------------------------------------------------------------------------

-- Each function below gets its 1.1 argument list here, in one place, so that
-- the privilege carry (rules above) is written once. New arguments come
-- last with a default, so a positional 1.0 call means what it meant; the C
-- functions read an argument a 1.0 declaration lacks as NULL (api/args.c),
-- which is how the 1.1 library serves a 1.0 schema.
--
-- carry_privileges(old, new): new gets every privilege a role holds on old
-- (GRANT records the role dependencies a catalog update would not), then
-- new's pg_init_privs row is set back to what this script gave it, so
-- pg_dump keeps the users' grants and a fresh install records the same.
-- Grants another grantor made arrive as the owner's. Dropped at the end of
-- this section.
CREATE FUNCTION credit_ledger.carry_privileges(old regprocedure, new regprocedure)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    initial aclitem[];
    g record;
BEGIN
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', new);
    SELECT i.initprivs INTO initial FROM pg_catalog.pg_init_privs i
    WHERE i.objoid = new AND i.classoid = 'pg_catalog.pg_proc'::regclass AND i.objsubid = 0;
    FOR g IN
        SELECT a.grantee, a.privilege_type, a.is_grantable
        FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
        WHERE p.oid = old AND a.grantee <> p.proowner
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON FUNCTION %s TO %s%s', g.privilege_type, new,
            CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END,
            CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    UPDATE pg_catalog.pg_init_privs SET initprivs = initial
    WHERE objoid = new AND classoid = 'pg_catalog.pg_proc'::regclass AND objsubid = 0;
END
$$;

CREATE FUNCTION credit_ledger.grant_credits(account_id bigint, amount bigint, event_id text,
                                            source text DEFAULT 'recharge',
                                            expires_at timestamptz DEFAULT NULL,
                                            priority integer DEFAULT 0,
                                            description text DEFAULT NULL,
                                            metadata jsonb DEFAULT NULL,
                                            effective_at timestamptz DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_grant_credits';
SELECT credit_ledger.carry_privileges(
    'credit_ledger.grant_credits(bigint, bigint, text, text, timestamptz, integer, text, jsonb)',
    'credit_ledger.grant_credits(bigint, bigint, text, text, timestamptz, integer, text, jsonb, timestamptz)');
DROP FUNCTION credit_ledger.grant_credits(bigint, bigint, text, text, timestamptz, integer, text, jsonb);
COMMENT ON FUNCTION credit_ledger.grant_credits(bigint, bigint, text, text, timestamptz, integer, text, jsonb, timestamptz) IS
    'adds a bucket of credits (opening the account if needed); debt is repaid first; effective_at = spendable from then on';

CREATE FUNCTION credit_ledger.deduct(account_id bigint, amount bigint, event_id text,
                                     source text DEFAULT 'usage',
                                     description text DEFAULT NULL,
                                     metadata jsonb DEFAULT NULL,
                                     subject text DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_deduct';
SELECT credit_ledger.carry_privileges(
    'credit_ledger.deduct(bigint, bigint, text, text, text, jsonb)',
    'credit_ledger.deduct(bigint, bigint, text, text, text, jsonb, text)');
DROP FUNCTION credit_ledger.deduct(bigint, bigint, text, text, text, jsonb);
COMMENT ON FUNCTION credit_ledger.deduct(bigint, bigint, text, text, text, jsonb, text) IS
    'consumes credits in burn-down order; LD001 if available would fall below -credit_limit, LD009 past a spend limit of the account or the subject';

CREATE FUNCTION credit_ledger.reserve(account_id bigint, amount bigint, event_id text,
                                      ttl interval DEFAULT NULL,
                                      source text DEFAULT 'usage',
                                      description text DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL,
                                      subject text DEFAULT NULL,
                                      on_expiry text DEFAULT 'release',
                                      lease boolean DEFAULT false)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_reserve';
SELECT credit_ledger.carry_privileges(
    'credit_ledger.reserve(bigint, bigint, text, interval, text, text, jsonb)',
    'credit_ledger.reserve(bigint, bigint, text, interval, text, text, jsonb, text, text, boolean)');
DROP FUNCTION credit_ledger.reserve(bigint, bigint, text, interval, text, text, jsonb);
COMMENT ON FUNCTION credit_ledger.reserve(bigint, bigint, text, interval, text, text, jsonb, text, text, boolean) IS
    'holds credits for a call whose cost is known at its end (hold_id in the result); lowers available at once; LD001 past the credit limit; expires after ttl (NULL = credit_ledger.default_hold_ttl), then releases or, on_expiry => ''capture'', charges what it holds; lease => true releases it when the calling session ends';

CREATE FUNCTION credit_ledger.confirm(account_id bigint, hold_id bigint,
                                      amount bigint DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL,
                                      subject text DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_confirm';
SELECT credit_ledger.carry_privileges(
    'credit_ledger.confirm(bigint, bigint, bigint, jsonb)',
    'credit_ledger.confirm(bigint, bigint, bigint, jsonb, text)');
DROP FUNCTION credit_ledger.confirm(bigint, bigint, bigint, jsonb);
COMMENT ON FUNCTION credit_ledger.confirm(bigint, bigint, bigint, jsonb, text) IS
    'settles a pending hold for the final amount (NULL = the held amount): less releases the rest, more draws the excess (LD001 past the credit limit, the hold stays pending); a repeat replays, LD005 if settled otherwise';

CREATE FUNCTION credit_ledger.quote(scene text, provider text, model text,
                                    input_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
                                    cached_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0,
                                    cache_write_tokens bigint DEFAULT 0,
                                    service_tier text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_quote';
SELECT credit_ledger.carry_privileges(
    'credit_ledger.quote(text, text, text, bigint, bigint, bigint, bigint)',
    'credit_ledger.quote(text, text, text, bigint, bigint, bigint, bigint, bigint, text)');
DROP FUNCTION credit_ledger.quote(text, text, text, bigint, bigint, bigint, bigint);
COMMENT ON FUNCTION credit_ledger.quote(text, text, text, bigint, bigint, bigint, bigint, bigint, text) IS
    'credits a call costs now: tokens x price per million over the five kinds plus request_price, with the rule''s markup, rounded up once, at least min_charge';

CREATE FUNCTION credit_ledger.charge(account_id bigint, event_id text,
                                     scene text, provider text, model text,
                                     input_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
                                     cached_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0,
                                     hold_id bigint DEFAULT NULL, metadata jsonb DEFAULT NULL,
                                     subject text DEFAULT NULL,
                                     cache_write_tokens bigint DEFAULT 0,
                                     service_tier text DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_charge';
SELECT credit_ledger.carry_privileges(
    'credit_ledger.charge(bigint, text, text, text, text, bigint, bigint, bigint, bigint, bigint, jsonb)',
    'credit_ledger.charge(bigint, text, text, text, text, bigint, bigint, bigint, bigint, bigint, jsonb, text, bigint, text)');
DROP FUNCTION credit_ledger.charge(bigint, text, text, text, text, bigint, bigint, bigint, bigint, bigint, jsonb);
COMMENT ON FUNCTION credit_ledger.charge(bigint, text, text, text, text, bigint, bigint, bigint, bigint, bigint, jsonb, text, bigint, text) IS
    'prices a call (as quote) and deducts it, or captures hold_id with that amount priced at the hold''s reserve instant, in one idempotent step; the entry records the rule and the token counts';

-- consumption: 1.0 defaulted until to now(), the transaction's start, while
-- entries carry their statement's start: a transaction did not see its own
-- deducts. Now NULL (the default) means up to and including the call's
-- instant (statement_timestamp(), the clock every call uses). 1.1 adds the
-- subject filter and the cache-write tokens.
CREATE FUNCTION credit_ledger.consumption(account_id bigint, since timestamptz DEFAULT NULL,
                                          until timestamptz DEFAULT NULL,
                                          subject text DEFAULT NULL,
                                          OUT credits bigint, OUT calls bigint,
                                          OUT input_tokens bigint, OUT output_tokens bigint,
                                          OUT cached_tokens bigint, OUT reasoning_tokens bigint,
                                          OUT cache_write_tokens bigint)
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
           COALESCE(pg_catalog.sum(e.reasoning_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(e.cache_write_tokens), 0)::bigint
    INTO credits, calls, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
         cache_write_tokens
    FROM credit_ledger.entry e
    WHERE e.account_id OPERATOR(pg_catalog.=) consumption.account_id
      AND e.kind IN ('deduct', 'confirm', 'capture')
      AND (consumption.subject IS NULL OR e.subject OPERATOR(pg_catalog.=) consumption.subject)
      AND e.created_at OPERATOR(pg_catalog.>=) COALESCE(consumption.since, '-infinity')
      -- plain bounds, so the consumption index bounds the scan by time; one
      -- microsecond (timestamptz's resolution) past the call's instant
      -- includes the entries stamped with it
      AND e.created_at OPERATOR(pg_catalog.<) COALESCE(consumption.until,
          pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) interval '1 microsecond');
    -- a hold that captures on expiry is charged from its expires_at on,
    -- before the sweep writes its capture entry (DESIGN 14)
    SELECT credits OPERATOR(pg_catalog.+)
               COALESCE(pg_catalog.sum(h.amount OPERATOR(pg_catalog.-) h.captured), 0)::bigint,
           calls OPERATOR(pg_catalog.+) pg_catalog.count(*)
    INTO credits, calls
    FROM credit_ledger.hold h
    WHERE h.account_id OPERATOR(pg_catalog.=) consumption.account_id
      AND h.state OPERATOR(pg_catalog.=) 'pending'
      AND h.on_expiry OPERATOR(pg_catalog.=) 'capture'
      AND h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
      AND (consumption.subject IS NULL OR EXISTS (
          SELECT FROM credit_ledger.entry r
          WHERE r.account_id OPERATOR(pg_catalog.=) h.account_id
            AND r.event_id OPERATOR(pg_catalog.=) h.event_id
            AND r.subject OPERATOR(pg_catalog.=) consumption.subject))
      AND h.expires_at OPERATOR(pg_catalog.>=) COALESCE(consumption.since, '-infinity')
      AND h.expires_at OPERATOR(pg_catalog.<) COALESCE(consumption.until,
          pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) interval '1 microsecond');
END
$$;
SELECT credit_ledger.carry_privileges(
    'credit_ledger.consumption(bigint, timestamptz, timestamptz)',
    'credit_ledger.consumption(bigint, timestamptz, timestamptz, text)');
DROP FUNCTION credit_ledger.consumption(bigint, timestamptz, timestamptz);
COMMENT ON FUNCTION credit_ledger.consumption(bigint, timestamptz, timestamptz, text) IS
    'credits consumed (deducts, captures, confirms, charges; refunds not subtracted), number of those calls and their token totals in [since, until); since NULL = all time, until NULL = up to and including this call''s instant (a transaction sees its own charges); subject NULL = every subject';

DROP FUNCTION credit_ledger.carry_privileges(regprocedure, regprocedure);

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
    -- an UPDATE that names id without changing it (SET id = id, as logical
    -- replication's apply does) renumbers nothing
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND OLD.id IS NOT DISTINCT FROM NEW.id THEN
        RETURN NEW;
    END IF;
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

---------------------------------------------------------------------------
-- Events and low-balance alerts: the transactional outbox (DESIGN 13)
---------------------------------------------------------------------------

-- set_alert's threshold; NULL: credit_ledger.default_low_balance applies
ALTER TABLE credit_ledger.account ADD COLUMN low_balance bigint;
COMMENT ON COLUMN credit_ledger.account.low_balance IS
    'set_alert''s threshold: available going below it writes a balance.low event (NULL: credit_ledger.default_low_balance)';

-- One row per event, written in the transaction of the change it reports.
CREATE TABLE credit_ledger.event (
    event_seq   bigserial PRIMARY KEY,
    account_id  bigint NOT NULL,
    kind        text NOT NULL CONSTRAINT event_kind_check CHECK (kind OPERATOR(pg_catalog.~)
                '^(balance\.(low|depleted|recovered)|hold\.expired|grant\.expired|limit\.reached|order\.paid|allowance\.issued)$'),
    entry_id    bigint,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    -- the writing transaction, and the place poll_events gives the event
    -- once every transaction older than it has ended (NULL until then)
    xid         xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    delivery    bigint UNIQUE
);
CREATE SEQUENCE credit_ledger.event_delivery_seq OWNED BY credit_ledger.event.delivery;
CREATE INDEX event_undelivered ON credit_ledger.event (xid, event_seq) WHERE delivery IS NULL;
-- the retention sweep with no consumer registered: the oldest first
CREATE INDEX event_created ON credit_ledger.event (created_at);

COMMENT ON TABLE credit_ledger.event IS
    'credit_ledger: events (balance crossings, expiries), written with the change they report; read them with poll_events or the events view';
COMMENT ON COLUMN credit_ledger.event.event_seq IS 'increasing in the order the events were written (not always the order they committed)';
COMMENT ON COLUMN credit_ledger.event.account_id IS 'the account the event is about';
COMMENT ON COLUMN credit_ledger.event.kind IS 'balance.low, balance.depleted, balance.recovered, hold.expired or grant.expired';
COMMENT ON COLUMN credit_ledger.event.entry_id IS 'the ledger entry of the change (the call''s own entry, or the expiry''s)';
COMMENT ON COLUMN credit_ledger.event.payload IS 'the figures: available_before, available_after, balance, threshold, hold_id, bucket_id, amount (those that apply)';
COMMENT ON COLUMN credit_ledger.event.created_at IS 'the instant of the call that wrote the event';
COMMENT ON COLUMN credit_ledger.event.xid IS 'the writing transaction: the event is not delivered while a transaction as old or older runs';
COMMENT ON COLUMN credit_ledger.event.delivery IS 'the order poll_events delivers events in, given once the event can no longer be overtaken (NULL until then)';

-- A consumer's cursor: every event up to delivery after_delivery is acknowledged.
CREATE TABLE credit_ledger.event_consumer (
    consumer        text PRIMARY KEY CHECK (consumer OPERATOR(pg_catalog.<>) ''),
    after_delivery  bigint NOT NULL DEFAULT 0,
    registered_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    acked_at        timestamptz
);
COMMENT ON TABLE credit_ledger.event_consumer IS
    'credit_ledger: the consumers of events, registered by their first poll_events, with what each has acknowledged';
COMMENT ON COLUMN credit_ledger.event_consumer.consumer IS 'the name the consumer polls with';
COMMENT ON COLUMN credit_ledger.event_consumer.after_delivery IS 'the delivery number of the last event acknowledged (0: none)';
COMMENT ON COLUMN credit_ledger.event_consumer.registered_at IS 'when the consumer first polled';
COMMENT ON COLUMN credit_ledger.event_consumer.acked_at IS 'when it last acknowledged';

SELECT pg_catalog.pg_extension_config_dump('credit_ledger.event', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.event_event_seq_seq', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.event_delivery_seq', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.event_consumer', '');

CREATE VIEW credit_ledger.events AS
    SELECT e.event_seq, e.account_id, e.kind, e.entry_id, e.payload, e.created_at
    FROM credit_ledger.event e;
COMMENT ON VIEW credit_ledger.events IS
    'credit_ledger: the events kept (see credit_ledger.event_retention), newest last by event_seq';
COMMENT ON COLUMN credit_ledger.events.event_seq IS 'increasing in the order the events were written';
COMMENT ON COLUMN credit_ledger.events.account_id IS 'the account the event is about';
COMMENT ON COLUMN credit_ledger.events.kind IS 'balance.low, balance.depleted, balance.recovered, hold.expired or grant.expired';
COMMENT ON COLUMN credit_ledger.events.entry_id IS 'the ledger entry of the change';
COMMENT ON COLUMN credit_ledger.events.payload IS 'the figures: available_before, available_after, balance, threshold, hold_id, bucket_id, amount (those that apply)';
COMMENT ON COLUMN credit_ledger.events.created_at IS 'the instant of the call that wrote the event';

CREATE FUNCTION credit_ledger.set_alert(account_id bigint, low_balance bigint)
    RETURNS void
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_set_alert';
COMMENT ON FUNCTION credit_ledger.set_alert(bigint, bigint) IS
    'sets the account''s low-balance threshold (NULL removes it): available going from at least it to below it writes one balance.low event; LD002 for an unknown account';

-- Events get their delivery number once they can no longer be overtaken:
-- when every transaction as old as the one that wrote them has ended (a
-- writer still open holds back the events of younger transactions, which
-- are then numbered after its own), or when their xid is beyond this
-- cluster's (a dump restored from another server). One numbering at a time,
-- committed before the next begins, so the numbers a reader sees have no
-- gap that could fill in later.
CREATE FUNCTION credit_ledger.number_events()
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    horizon pg_snapshot := pg_current_snapshot();
    e record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('credit_ledger.number_events'));
    FOR e IN
        SELECT event_seq FROM credit_ledger.event
        WHERE delivery IS NULL
          AND (xid < pg_snapshot_xmin(horizon) OR xid >= pg_snapshot_xmax(horizon))
        ORDER BY xid, event_seq
    LOOP
        UPDATE credit_ledger.event SET delivery = nextval('credit_ledger.event_delivery_seq')
        WHERE event_seq = e.event_seq;
    END LOOP;
END
$$;
COMMENT ON FUNCTION credit_ledger.number_events() IS
    'gives delivery numbers to the events that can no longer be overtaken; poll_events calls it';

-- The consumer's next events in delivery order: none is skipped, one that
-- commits late is delivered after those numbered before it. At least once:
-- the same events come again until ack_events moves the cursor.
CREATE FUNCTION credit_ledger.poll_events(consumer text, max_rows integer DEFAULT 100)
    RETURNS SETOF credit_ledger.events
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acked bigint;
BEGIN
    IF poll_events.consumer IS NULL OR poll_events.max_rows IS NULL THEN
        RAISE EXCEPTION '% must not be null',
                        CASE WHEN poll_events.consumer IS NULL THEN 'consumer' ELSE 'max_rows' END
            USING ERRCODE = '22004',
                  DETAIL = 'credit_ledger.poll_events() takes a consumer name and a row count.';
    END IF;
    IF poll_events.consumer = '' OR poll_events.max_rows <= 0 THEN
        RAISE EXCEPTION 'invalid argument'
            USING ERRCODE = '22023',
                  DETAIL = format('consumer is "%s", max_rows %s: a name and a positive count are required.',
                                  poll_events.consumer, poll_events.max_rows);
    END IF;
    PERFORM credit_ledger.number_events();
    SELECT c.after_delivery INTO acked
    FROM credit_ledger.event_consumer c WHERE c.consumer = poll_events.consumer;
    IF NOT FOUND THEN
        -- registered from the oldest event still kept
        INSERT INTO credit_ledger.event_consumer (consumer) VALUES (poll_events.consumer)
        ON CONFLICT DO NOTHING;
        acked := 0;
    END IF;
    RETURN QUERY
    SELECT e.event_seq, e.account_id, e.kind, e.entry_id, e.payload, e.created_at
    FROM credit_ledger.event e
    WHERE e.delivery > acked
    ORDER BY e.delivery
    LIMIT poll_events.max_rows;
END
$$;
COMMENT ON FUNCTION credit_ledger.poll_events(text, integer) IS
    'the consumer''s next events (registering it on first use, from the oldest kept), in an order that never skips one committed late; the same ones again until ack_events';

CREATE FUNCTION credit_ledger.ack_events(consumer text, up_to_seq bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acked bigint;
BEGIN
    IF ack_events.consumer IS NULL OR ack_events.up_to_seq IS NULL THEN
        RAISE EXCEPTION '% must not be null',
                        CASE WHEN ack_events.consumer IS NULL THEN 'consumer' ELSE 'up_to_seq' END
            USING ERRCODE = '22004',
                  DETAIL = 'credit_ledger.ack_events() takes a consumer name and an event_seq it polled.';
    END IF;
    IF NOT EXISTS (SELECT FROM credit_ledger.event_consumer c WHERE c.consumer = ack_events.consumer) THEN
        RAISE EXCEPTION 'consumer not registered'
            USING ERRCODE = '22023',
                  DETAIL = format('No consumer "%s": its first poll_events registers it.', ack_events.consumer);
    END IF;
    SELECT e.delivery INTO acked FROM credit_ledger.event e WHERE e.event_seq = ack_events.up_to_seq;
    IF acked IS NULL THEN
        RAISE EXCEPTION 'event not delivered'
            USING ERRCODE = '22023',
                  DETAIL = format('Event %s is not one poll_events has delivered (or it is no longer kept).',
                                  ack_events.up_to_seq);
    END IF;
    -- acknowledging an older event again changes nothing
    UPDATE credit_ledger.event_consumer c SET after_delivery = acked, acked_at = now()
    WHERE c.consumer = ack_events.consumer AND c.after_delivery < acked;
END
$$;
COMMENT ON FUNCTION credit_ledger.ack_events(text, bigint) IS
    'acknowledges for the consumer every event delivered up to event up_to_seq; acknowledging an older one again changes nothing';

REVOKE ALL ON FUNCTION credit_ledger.number_events() FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.set_alert(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.poll_events(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.ack_events(text, bigint) FROM PUBLIC;

---------------------------------------------------------------------------
-- The shop: credit packs, orders and payments (DESIGN 17)
---------------------------------------------------------------------------

-- Credit packs, edited by operators (INSERT/UPDATE in psql). A trigger
-- refuses an invalid row with 22023 and a DETAIL naming the column.
CREATE TABLE credit_ledger.product (
    product_id            bigserial PRIMARY KEY,
    sku                   text NOT NULL UNIQUE,
    name                  text NOT NULL,
    description           text,
    credits               bigint NOT NULL,
    price_minor           bigint NOT NULL,
    original_price_minor  bigint,
    currency              text NOT NULL,
    badge                 text,
    status                text NOT NULL DEFAULT 'active',
    sort_order            integer NOT NULL DEFAULT 0,
    grant_source          text NOT NULL DEFAULT 'recharge',
    grant_expires_after   interval,
    grant_priority        integer NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE credit_ledger.product IS
    'credit_ledger: credit packs for sale (operator-edited); orders keep a snapshot, so later edits do not change them';
COMMENT ON COLUMN credit_ledger.product.product_id IS 'product id';
COMMENT ON COLUMN credit_ledger.product.sku IS 'the code create_order names the product by (unique)';
COMMENT ON COLUMN credit_ledger.product.name IS 'what the shop page shows';
COMMENT ON COLUMN credit_ledger.product.description IS 'free text for the shop page';
COMMENT ON COLUMN credit_ledger.product.credits IS 'credits one unit grants (> 0)';
COMMENT ON COLUMN credit_ledger.product.price_minor IS 'the price of one unit in the currency''s minor unit (cents), >= 0';
COMMENT ON COLUMN credit_ledger.product.original_price_minor IS 'the price before a discount, shown struck through (NULL: none)';
COMMENT ON COLUMN credit_ledger.product.currency IS 'ISO 4217 code, three capital letters';
COMMENT ON COLUMN credit_ledger.product.badge IS 'a label for the shop page (NULL: none), e.g. "best value"';
COMMENT ON COLUMN credit_ledger.product.status IS 'active (for sale), hidden (not listed, not for sale) or retired';
COMMENT ON COLUMN credit_ledger.product.sort_order IS 'the shop page lists products by it, lowest first';
COMMENT ON COLUMN credit_ledger.product.grant_source IS 'the source of the bucket a paid order grants';
COMMENT ON COLUMN credit_ledger.product.grant_expires_after IS 'how long the granted credits last (NULL: never expire)';
COMMENT ON COLUMN credit_ledger.product.grant_priority IS 'the granted bucket''s burn-down priority';
COMMENT ON COLUMN credit_ledger.product.created_at IS 'when the product was added';

CREATE FUNCTION credit_ledger.check_product() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    problem text;
BEGIN
    problem := CASE
        WHEN NEW.sku = '' THEN 'sku is empty'
        WHEN NEW.name = '' THEN 'name is empty'
        WHEN NEW.credits <= 0 THEN format('credits is %s; a product grants at least 1', NEW.credits)
        WHEN NEW.price_minor < 0 THEN format('price_minor is %s; prices are not negative', NEW.price_minor)
        WHEN NEW.original_price_minor < 0 THEN
            format('original_price_minor is %s; prices are not negative', NEW.original_price_minor)
        WHEN NEW.currency !~ '^[A-Z]{3}$' THEN
            format('currency is "%s"; an ISO 4217 code is three capital letters', NEW.currency)
        WHEN NEW.status NOT IN ('active', 'hidden', 'retired') THEN
            format('status is "%s", not one of active, hidden, retired', NEW.status)
        WHEN NEW.grant_source = '' THEN 'grant_source is empty'
        WHEN NEW.grant_expires_after <= interval '0' THEN
            format('grant_expires_after is %s; NULL means the credits never expire', NEW.grant_expires_after)
    END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'invalid product'
            USING ERRCODE = '22023', DETAIL = format('Product "%s": %s.', NEW.sku, problem);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION credit_ledger.check_product() IS
    'trigger: refuses an invalid product (SQLSTATE 22023, DETAIL names the column)';
CREATE TRIGGER product_check BEFORE INSERT OR UPDATE ON credit_ledger.product
    FOR EACH ROW EXECUTE FUNCTION credit_ledger.check_product();

-- An order: a snapshot of its product at create_order, paid once.
CREATE TABLE credit_ledger.credit_order (
    order_no             text PRIMARY KEY,
    account_id           bigint NOT NULL,
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'paid', 'cancelled', 'expired', 'refunded')),
    product_id           bigint NOT NULL,
    sku                  text NOT NULL,
    product_name         text NOT NULL,
    quantity             integer NOT NULL CHECK (quantity > 0),
    credits              bigint NOT NULL CHECK (credits > 0),
    amount_minor         bigint NOT NULL CHECK (amount_minor >= 0),
    currency             text NOT NULL,
    grant_source         text NOT NULL,
    grant_expires_after  interval,
    grant_priority       integer NOT NULL,
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    paid_at              timestamptz,
    payment_ref          text,
    paid_minor           bigint,
    grant_entry_id       bigint,
    closed_at            timestamptz
);
CREATE INDEX credit_order_pending ON credit_ledger.credit_order (expires_at)
    WHERE status OPERATOR(pg_catalog.=) 'pending';
CREATE INDEX credit_order_account ON credit_ledger.credit_order (account_id, created_at);
COMMENT ON TABLE credit_ledger.credit_order IS
    'credit_ledger: orders of credit packs, created by create_order, paid once by pay_order (the payment webhook)';
COMMENT ON COLUMN credit_ledger.credit_order.order_no IS 'the application''s order number: create_order''s idempotency key';
COMMENT ON COLUMN credit_ledger.credit_order.account_id IS 'the account the credits go to';
COMMENT ON COLUMN credit_ledger.credit_order.status IS 'pending, paid, cancelled, expired (unpaid past expires_at) or refunded';
COMMENT ON COLUMN credit_ledger.credit_order.product_id IS 'the product ordered';
COMMENT ON COLUMN credit_ledger.credit_order.sku IS 'its sku when ordered';
COMMENT ON COLUMN credit_ledger.credit_order.product_name IS 'its name when ordered';
COMMENT ON COLUMN credit_ledger.credit_order.quantity IS 'units ordered';
COMMENT ON COLUMN credit_ledger.credit_order.credits IS 'credits the order grants: the product''s credits times quantity';
COMMENT ON COLUMN credit_ledger.credit_order.amount_minor IS 'what the payment must be, in the currency''s minor unit: price times quantity';
COMMENT ON COLUMN credit_ledger.credit_order.currency IS 'the currency the payment must be in';
COMMENT ON COLUMN credit_ledger.credit_order.grant_source IS 'the granted bucket''s source (the product''s when ordered)';
COMMENT ON COLUMN credit_ledger.credit_order.grant_expires_after IS 'how long the granted credits last (NULL: never expire)';
COMMENT ON COLUMN credit_ledger.credit_order.grant_priority IS 'the granted bucket''s priority';
COMMENT ON COLUMN credit_ledger.credit_order.created_at IS 'when create_order ran';
COMMENT ON COLUMN credit_ledger.credit_order.expires_at IS 'an order not paid by then is expired (credit_ledger.order_ttl after created_at)';
COMMENT ON COLUMN credit_ledger.credit_order.paid_at IS 'when pay_order granted the credits';
COMMENT ON COLUMN credit_ledger.credit_order.payment_ref IS 'the payment provider''s reference: the same one again replays';
COMMENT ON COLUMN credit_ledger.credit_order.paid_minor IS 'the amount paid';
COMMENT ON COLUMN credit_ledger.credit_order.grant_entry_id IS 'the grant entry pay_order wrote (event_id order:<order_no>)';
COMMENT ON COLUMN credit_ledger.credit_order.closed_at IS 'when the order was cancelled, expired or refunded';

SELECT pg_catalog.pg_extension_config_dump('credit_ledger.product', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.product_product_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.credit_order', '');

-- What the shop page reads: products for sale, in their order.
CREATE VIEW credit_ledger.products AS
    SELECT p.product_id, p.sku, p.name, p.description, p.credits, p.price_minor,
           p.original_price_minor, p.currency, p.badge, p.sort_order
    FROM credit_ledger.product p
    WHERE p.status OPERATOR(pg_catalog.=) 'active'
    ORDER BY p.sort_order, p.product_id;
COMMENT ON VIEW credit_ledger.products IS
    'credit_ledger: the products for sale (status active), in sort_order: what a shop page lists';
COMMENT ON COLUMN credit_ledger.products.product_id IS 'product id';
COMMENT ON COLUMN credit_ledger.products.sku IS 'what create_order takes';
COMMENT ON COLUMN credit_ledger.products.name IS 'the product''s name';
COMMENT ON COLUMN credit_ledger.products.description IS 'the product''s description';
COMMENT ON COLUMN credit_ledger.products.credits IS 'credits one unit grants';
COMMENT ON COLUMN credit_ledger.products.price_minor IS 'the current price in the minor unit';
COMMENT ON COLUMN credit_ledger.products.original_price_minor IS 'the price before a discount (NULL: none)';
COMMENT ON COLUMN credit_ledger.products.currency IS 'ISO 4217 currency code';
COMMENT ON COLUMN credit_ledger.products.badge IS 'a label, e.g. "best value"';
COMMENT ON COLUMN credit_ledger.products.sort_order IS 'the listing order';

-- Orders with their exact status: a pending order past expires_at is
-- expired here before the worker writes it.
CREATE VIEW credit_ledger.orders AS
    SELECT o.order_no, o.account_id,
           CASE WHEN o.status OPERATOR(pg_catalog.=) 'pending'
                 AND o.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
                THEN 'expired' ELSE o.status END AS status,
           o.sku, o.product_name, o.quantity, o.credits, o.amount_minor, o.currency,
           o.created_at, o.expires_at, o.paid_at, o.payment_ref, o.paid_minor, o.grant_entry_id,
           o.closed_at
    FROM credit_ledger.credit_order o;
COMMENT ON VIEW credit_ledger.orders IS
    'credit_ledger: every order with its exact status (unpaid past expires_at: expired, whether or not the worker has written it)';
COMMENT ON COLUMN credit_ledger.orders.order_no IS 'the order number';
COMMENT ON COLUMN credit_ledger.orders.account_id IS 'the account the credits go to';
COMMENT ON COLUMN credit_ledger.orders.status IS 'pending, paid, cancelled, expired or refunded';
COMMENT ON COLUMN credit_ledger.orders.sku IS 'the product''s sku when ordered';
COMMENT ON COLUMN credit_ledger.orders.product_name IS 'the product''s name when ordered';
COMMENT ON COLUMN credit_ledger.orders.quantity IS 'units ordered';
COMMENT ON COLUMN credit_ledger.orders.credits IS 'credits the order grants';
COMMENT ON COLUMN credit_ledger.orders.amount_minor IS 'what the payment must be';
COMMENT ON COLUMN credit_ledger.orders.currency IS 'the payment''s currency';
COMMENT ON COLUMN credit_ledger.orders.created_at IS 'when the order was created';
COMMENT ON COLUMN credit_ledger.orders.expires_at IS 'unpaid by then, it is expired';
COMMENT ON COLUMN credit_ledger.orders.paid_at IS 'when it was paid';
COMMENT ON COLUMN credit_ledger.orders.payment_ref IS 'the payment''s reference';
COMMENT ON COLUMN credit_ledger.orders.paid_minor IS 'the amount paid';
COMMENT ON COLUMN credit_ledger.orders.grant_entry_id IS 'the grant entry of the paid order';
COMMENT ON COLUMN credit_ledger.orders.closed_at IS 'when it was cancelled, expired or refunded';

-- An event written by an SQL function, as the C functions write theirs
-- (src/events.c): the row, and NOTIFY '<event_seq> <account_id> <kind>'.
CREATE FUNCTION credit_ledger.event_emit(account_id bigint, kind text, entry_id bigint, figures jsonb)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seq bigint;
BEGIN
    INSERT INTO credit_ledger.event (account_id, kind, entry_id, payload, created_at)
    VALUES (event_emit.account_id, event_emit.kind, event_emit.entry_id,
            jsonb_strip_nulls(jsonb_build_object('account_id', event_emit.account_id,
                'kind', event_emit.kind, 'entry_id', event_emit.entry_id) || event_emit.figures),
            statement_timestamp())
    RETURNING event_seq INTO seq;
    PERFORM pg_notify('credit_ledger_events', format('%s %s %s', seq, event_emit.account_id, event_emit.kind));
    RETURN seq;
END
$$;
COMMENT ON FUNCTION credit_ledger.event_emit(bigint, text, bigint, jsonb) IS
    'writes an event and queues its NOTIFY, for the SQL functions (order.paid)';

-- LD011 for an order that cannot do what was asked; DETAIL says why.
CREATE FUNCTION credit_ledger.order_refuse(order_no text, why text)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'order refused'
        USING ERRCODE = 'LD011', DETAIL = format('Order "%s": %s.', order_refuse.order_no, order_refuse.why);
END
$$;
COMMENT ON FUNCTION credit_ledger.order_refuse(text, text) IS
    'raises LD011 for an order, with the reason in the DETAIL (used by the order functions)';

-- A required argument: 22004 when NULL, as every function of the ledger.
CREATE FUNCTION credit_ledger.require_arguments(function_name text, names text[], given boolean[])
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    FOR i IN 1 .. array_length(names, 1) LOOP
        IF NOT given[i] THEN
            RAISE EXCEPTION '% must not be null', names[i]
                USING ERRCODE = '22004',
                      DETAIL = format('credit_ledger.%s() was called with %s NULL.', function_name, names[i]);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION credit_ledger.require_arguments(text, text[], boolean[]) IS
    'raises 22004 naming the first argument given as NULL (used by the order functions)';

-- The order, locked (webhooks are retried, also at once: its row lock
-- serialises them), with its exact status: a pending order past its
-- expires_at is expired, whether or not the sweep has written it (as the
-- orders view says). LD011 when there is no such order.
CREATE FUNCTION credit_ledger.order_lock(order_no text)
    RETURNS credit_ledger.credit_order
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o credit_ledger.credit_order;
BEGIN
    SELECT * INTO o FROM credit_ledger.credit_order c WHERE c.order_no = order_lock.order_no FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM credit_ledger.order_refuse(order_lock.order_no, 'no such order');
    END IF;
    IF o.status = 'pending' AND o.expires_at <= statement_timestamp() THEN
        o.status := 'expired';
    END IF;
    RETURN o;
END
$$;
COMMENT ON FUNCTION credit_ledger.order_lock(text) IS
    'locks an order and returns it with its exact status; LD011 when there is none (used by the order functions)';

CREATE FUNCTION credit_ledger.create_order(account_id bigint, sku text, quantity integer, order_no text)
    RETURNS credit_ledger.credit_order
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p credit_ledger.product;
    o credit_ledger.credit_order;
    ttl_s bigint;
BEGIN
    PERFORM credit_ledger.require_arguments('create_order', ARRAY['account_id', 'sku', 'quantity', 'order_no'],
        ARRAY[create_order.account_id IS NOT NULL, create_order.sku IS NOT NULL,
              create_order.quantity IS NOT NULL, create_order.order_no IS NOT NULL]);
    IF create_order.quantity <= 0 THEN
        RAISE EXCEPTION 'quantity must be positive'
            USING ERRCODE = '22023', DETAIL = format('quantity is %s.', create_order.quantity);
    END IF;
    IF create_order.order_no = '' OR octet_length(create_order.order_no) > 255 THEN
        RAISE EXCEPTION 'invalid order_no'
            USING ERRCODE = '22023',
                  DETAIL = format('order_no is %s bytes; it takes 1 to 255.', octet_length(create_order.order_no));
    END IF;

    -- the same order_no again: the order it made, if the request is the same
    SELECT * INTO o FROM credit_ledger.credit_order c WHERE c.order_no = create_order.order_no;
    IF NOT FOUND THEN
        SELECT * INTO p FROM credit_ledger.product x WHERE x.sku = create_order.sku;
        IF NOT FOUND OR p.status <> 'active' THEN
            RAISE EXCEPTION 'product not for sale'
                USING ERRCODE = '22023',
                      DETAIL = CASE WHEN p.sku IS NULL THEN format('No product has sku "%s".', create_order.sku)
                                    ELSE format('Product "%s" is %s.', p.sku, p.status) END;
        END IF;
        SELECT setting::bigint INTO ttl_s FROM pg_settings WHERE name = 'credit_ledger.order_ttl';
        INSERT INTO credit_ledger.credit_order (order_no, account_id, product_id, sku, product_name,
            quantity, credits, amount_minor, currency, grant_source, grant_expires_after,
            grant_priority, created_at, expires_at)
        VALUES (create_order.order_no, create_order.account_id, p.product_id, p.sku, p.name,
            create_order.quantity, p.credits * create_order.quantity,
            p.price_minor * create_order.quantity, p.currency, p.grant_source,
            p.grant_expires_after, p.grant_priority, statement_timestamp(),
            statement_timestamp() + make_interval(secs => ttl_s))
        ON CONFLICT DO NOTHING
        RETURNING * INTO o;
        IF FOUND THEN
            RETURN o;
        END IF;
        -- a concurrent create_order of the same order_no won: compare with it
        SELECT * INTO o FROM credit_ledger.credit_order c WHERE c.order_no = create_order.order_no;
    END IF;
    IF (o.account_id, o.sku, o.quantity) IS DISTINCT FROM
       (create_order.account_id, create_order.sku, create_order.quantity) THEN
        RAISE EXCEPTION 'order_no already used for a different order'
            USING ERRCODE = 'LD004',
                  DETAIL = format('Order "%s" is account %s, %s x %s; now account %s, %s x %s.',
                                  o.order_no, o.account_id, o.quantity, o.sku,
                                  create_order.account_id, create_order.quantity, create_order.sku);
    END IF;
    RETURN o;
END
$$;
COMMENT ON FUNCTION credit_ledger.create_order(bigint, text, integer, text) IS
    'a pending order of quantity units of the product sku for the account, with a snapshot of the product; idempotent on order_no (LD004 for a different order under it); unpaid, it expires after credit_ledger.order_ttl';

-- What a payment webhook calls: grants the order's credits and marks it paid
-- in one transaction; the same payment_ref again returns the paid order.
CREATE FUNCTION credit_ledger.pay_order(order_no text, payment_ref text, paid_minor bigint, currency text)
    RETURNS credit_ledger.credit_order
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o credit_ledger.credit_order;
    g credit_ledger.op_result;
    expires timestamptz;
BEGIN
    PERFORM credit_ledger.require_arguments('pay_order', ARRAY['order_no', 'payment_ref', 'paid_minor', 'currency'],
        ARRAY[pay_order.order_no IS NOT NULL, pay_order.payment_ref IS NOT NULL,
              pay_order.paid_minor IS NOT NULL, pay_order.currency IS NOT NULL]);
    IF pay_order.payment_ref = '' THEN
        RAISE EXCEPTION 'payment_ref must not be empty'
            USING ERRCODE = '22023', DETAIL = 'credit_ledger.pay_order() needs the payment provider''s reference.';
    END IF;
    o := credit_ledger.order_lock(pay_order.order_no);
    IF o.status = 'paid' THEN
        IF o.payment_ref = pay_order.payment_ref THEN
            RETURN o;
        END IF;
        PERFORM credit_ledger.order_refuse(o.order_no,
            format('paid already, by payment "%s"; this is payment "%s"', o.payment_ref, pay_order.payment_ref));
    END IF;
    IF o.status = 'expired' THEN
        PERFORM credit_ledger.order_refuse(o.order_no, format('it expired unpaid (at %s)', o.expires_at));
    END IF;
    IF o.status <> 'pending' THEN
        PERFORM credit_ledger.order_refuse(o.order_no, format('it is %s', o.status));
    END IF;
    IF pay_order.currency <> o.currency THEN
        PERFORM credit_ledger.order_refuse(o.order_no,
            format('the payment is in %s, the order in %s', pay_order.currency, o.currency));
    END IF;
    IF pay_order.paid_minor <> o.amount_minor THEN
        PERFORM credit_ledger.order_refuse(o.order_no,
            format('paid %s, the order is %s %s', pay_order.paid_minor, o.amount_minor, o.currency));
    END IF;

    -- the grant's expiry on the UTC calendar, as every other expiry
    expires := ((statement_timestamp() AT TIME ZONE 'UTC') + o.grant_expires_after) AT TIME ZONE 'UTC';
    g := credit_ledger.grant_credits(o.account_id, o.credits, 'order:' || o.order_no, o.grant_source,
                                     expires, o.grant_priority,
                                     format('order %s: %s x %s', o.order_no, o.quantity, o.sku));
    UPDATE credit_ledger.credit_order c
    SET status = 'paid', paid_at = statement_timestamp(), payment_ref = pay_order.payment_ref,
        paid_minor = pay_order.paid_minor, grant_entry_id = g.entry_id
    WHERE c.order_no = o.order_no
    RETURNING * INTO o;
    PERFORM credit_ledger.event_emit(o.account_id, 'order.paid', g.entry_id,
        jsonb_build_object('order_no', o.order_no, 'credits', o.credits, 'paid_minor', o.paid_minor,
                           'currency', o.currency, 'payment_ref', o.payment_ref,
                           'available_after', g.available, 'balance', g.balance));
    RETURN o;
END
$$;
COMMENT ON FUNCTION credit_ledger.pay_order(text, text, bigint, text) IS
    'the payment webhook: grants the order''s credits (event_id order:<order_no>) and marks it paid, once; the same payment_ref replays; another one, a wrong amount or currency, an expired or cancelled order is LD011';

CREATE FUNCTION credit_ledger.cancel_order(order_no text)
    RETURNS credit_ledger.credit_order
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o credit_ledger.credit_order;
BEGIN
    PERFORM credit_ledger.require_arguments('cancel_order', ARRAY['order_no'],
        ARRAY[cancel_order.order_no IS NOT NULL]);
    o := credit_ledger.order_lock(cancel_order.order_no);
    IF o.status = 'cancelled' THEN
        RETURN o;
    END IF;
    IF o.status = 'expired' THEN
        PERFORM credit_ledger.order_refuse(o.order_no, format('it expired unpaid (at %s)', o.expires_at));
    END IF;
    IF o.status <> 'pending' THEN
        PERFORM credit_ledger.order_refuse(o.order_no, format('it is %s', o.status));
    END IF;
    UPDATE credit_ledger.credit_order c SET status = 'cancelled', closed_at = statement_timestamp()
    WHERE c.order_no = o.order_no
    RETURNING * INTO o;
    RETURN o;
END
$$;
COMMENT ON FUNCTION credit_ledger.cancel_order(text) IS
    'cancels a pending order (again: returns it as it is); a paid or expired order is LD011';

-- What the worker (and sweep()) runs: writes the expiry of unpaid orders
-- that every answer already reports as expired.
CREATE FUNCTION credit_ledger.expire_orders(max_rows integer)
    RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH due AS (
        SELECT order_no FROM credit_ledger.credit_order
        WHERE status = 'pending' AND expires_at <= statement_timestamp()
        ORDER BY expires_at LIMIT max_rows
        FOR UPDATE SKIP LOCKED
    ), expired AS (
        UPDATE credit_ledger.credit_order c SET status = 'expired', closed_at = c.expires_at
        FROM due WHERE c.order_no = due.order_no
        RETURNING 1
    )
    SELECT count(*)::integer FROM expired
$$;
COMMENT ON FUNCTION credit_ledger.expire_orders(integer) IS
    'marks up to max_rows unpaid orders past their expires_at expired (the sweep runs it); returns how many';

REVOKE ALL ON FUNCTION credit_ledger.check_product() FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.event_emit(bigint, text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.order_refuse(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.require_arguments(text, text[], boolean[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.create_order(bigint, text, integer, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.pay_order(text, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.cancel_order(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.expire_orders(integer) FROM PUBLIC;

---------------------------------------------------------------------------
-- Grant lifecycle: void_grant, extend_grant, and refund_order (DESIGN 16, 17)
---------------------------------------------------------------------------

-- The entry kinds of 1.1. NOT VALID: every 1.0 entry has a 1.0 kind, all of
-- them still in the list, so the ledger is not scanned under a lock to
-- prove it; new rows are checked as before.
ALTER TABLE credit_ledger.entry DROP CONSTRAINT entry_kind_check,
    ADD CONSTRAINT entry_kind_check CHECK (kind OPERATOR(pg_catalog.~)
        '^(grant|deduct|reserve|confirm|cancel|expire_hold|expire_grant|refund|adjust|reward|void_grant|extend_grant|capture|extend_hold|transfer_out|transfer_in)$')
    NOT VALID;
COMMENT ON COLUMN credit_ledger.entry.kind IS 'grant, deduct, reserve, confirm, cancel, expire_hold, expire_grant, refund, adjust, reward, void_grant, extend_grant, capture, extend_hold, transfer_out or transfer_in';

CREATE FUNCTION credit_ledger.void_grant(account_id bigint, bucket_id bigint, event_id text,
                                         reason text DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_void_grant';
COMMENT ON FUNCTION credit_ledger.void_grant(bigint, bigint, text, text) IS
    'takes back what a grant bucket still holds (entry void_grant); spent credits stay spent, held slices stay held and lapse when given back; idempotent by event_id';

CREATE FUNCTION credit_ledger.extend_grant(account_id bigint, bucket_id bigint, expires_at timestamptz,
                                           event_id text)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_extend_grant';
COMMENT ON FUNCTION credit_ledger.extend_grant(bigint, bigint, timestamptz, text) IS
    'moves a live bucket''s expiry later (entry extend_grant; never earlier: void_grant takes credits back); idempotent by event_id';

ALTER TABLE credit_ledger.credit_order ADD COLUMN refund_event_id text;
COMMENT ON COLUMN credit_ledger.credit_order.refund_event_id IS 'the event_id refund_order voided the order''s credits with';

CREATE FUNCTION credit_ledger.refund_order(order_no text, event_id text)
    RETURNS credit_ledger.op_result
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o credit_ledger.credit_order;
    bucket bigint;
    result credit_ledger.op_result;
BEGIN
    PERFORM credit_ledger.require_arguments('refund_order', ARRAY['order_no', 'event_id'],
        ARRAY[refund_order.order_no IS NOT NULL, refund_order.event_id IS NOT NULL]);
    o := credit_ledger.order_lock(refund_order.order_no);
    IF o.status = 'refunded' AND o.refund_event_id IS DISTINCT FROM refund_order.event_id THEN
        PERFORM credit_ledger.order_refuse(o.order_no,
            format('refunded already, by event_id "%s"', o.refund_event_id));
    END IF;
    IF o.status NOT IN ('paid', 'refunded') THEN
        PERFORM credit_ledger.order_refuse(o.order_no, format('it is %s, not paid', o.status));
    END IF;
    -- the bucket the order's grant made (a refund again replays its void)
    SELECT b.bucket_id INTO bucket FROM credit_ledger.bucket b
    WHERE b.account_id = o.account_id AND b.entry_id = o.grant_entry_id;
    result := credit_ledger.void_grant(o.account_id, bucket, refund_order.event_id,
                                       format('refund of order %s', o.order_no));
    UPDATE credit_ledger.credit_order c
    SET status = 'refunded', closed_at = coalesce(c.closed_at, statement_timestamp()),
        refund_event_id = refund_order.event_id
    WHERE c.order_no = o.order_no;
    RETURN result;
END
$$;
COMMENT ON FUNCTION credit_ledger.refund_order(text, text) IS
    'takes back what a paid order''s credits still hold (void_grant of its bucket) and marks it refunded; the same event_id replays; LD011 for an order not paid or refunded by another event_id';

REVOKE ALL ON FUNCTION credit_ledger.void_grant(bigint, bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.extend_grant(bigint, bigint, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.refund_order(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.order_lock(text) FROM PUBLIC;

---------------------------------------------------------------------------
-- Holds for agent sessions: capture, extend_hold, on_expiry, leases, the
-- hold limit, pinned prices (DESIGN 14)
---------------------------------------------------------------------------

-- What captures took, what an expiring hold does, and the session that
-- owns a leased hold (pid and start time, which the worker matches against
-- the live backends). Constant defaults and NOT VALID checks: adding them
-- rewrites and scans nothing (every 1.0 hold reads as 0 and 'release').
ALTER TABLE credit_ledger.hold
    ADD COLUMN captured bigint NOT NULL DEFAULT 0,
    ADD COLUMN on_expiry text NOT NULL DEFAULT 'release',
    ADD COLUMN lease_pid integer,
    ADD COLUMN lease_started_at timestamptz,
    ADD CONSTRAINT hold_captured_check
        CHECK (captured OPERATOR(pg_catalog.>=) 0) NOT VALID,
    ADD CONSTRAINT hold_on_expiry_check
        CHECK (on_expiry OPERATOR(pg_catalog.=) ANY (ARRAY['release', 'capture'])) NOT VALID,
    ADD CONSTRAINT hold_lease_owner_check
        CHECK ((lease_pid IS NULL) OPERATOR(pg_catalog.=) (lease_started_at IS NULL)) NOT VALID;
COMMENT ON COLUMN credit_ledger.hold.amount IS 'credits reserved; what a pending hold still holds is amount - captured';
COMMENT ON COLUMN credit_ledger.hold.captured IS 'credits its capture entries took (the hold holds amount - captured while pending)';
COMMENT ON COLUMN credit_ledger.hold.on_expiry IS 'what expiry does with what it still holds: release (give it back) or capture (charge it)';
COMMENT ON COLUMN credit_ledger.hold.lease_pid IS 'a leased hold: the backend pid of the session that owns it (NULL: no lease)';
COMMENT ON COLUMN credit_ledger.hold.lease_started_at IS 'a leased hold: when the owning backend started (with lease_pid, names one session)';
COMMENT ON COLUMN credit_ledger.hold.slice_bucket_ids IS 'buckets the credits it still holds were drawn from, in burn-down order';
COMMENT ON COLUMN credit_ledger.hold.slice_amounts IS 'credits still held from each bucket of slice_bucket_ids; the rest of amount - captured is drawn on credit';
COMMENT ON COLUMN credit_ledger.hold.settled_amount IS 'credits the hold consumed in all (its captures and confirm)';
COMMENT ON COLUMN credit_ledger.hold.result_entry_id IS 'the confirm, final capture, cancel, expire_hold or capture-on-expiry entry that settled the hold';

-- the worker reads the owners of pending leased holds, and nothing else
CREATE INDEX hold_pending_lease ON credit_ledger.hold (lease_pid, lease_started_at, account_id)
    WHERE state OPERATOR(pg_catalog.=) 'pending' AND lease_pid IS NOT NULL;

-- set_hold_limit's: more pending holds than this is LD010 (NULL: no limit)
ALTER TABLE credit_ledger.account ADD COLUMN max_pending_holds integer;
COMMENT ON COLUMN credit_ledger.account.max_pending_holds IS
    'set_hold_limit''s: the most pending holds the account may have; a reserve past it is LD010 (NULL: no limit)';

CREATE FUNCTION credit_ledger.capture(account_id bigint, hold_id bigint, amount bigint, event_id text,
                                      final boolean DEFAULT false,
                                      subject text DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_capture';
REVOKE ALL ON FUNCTION credit_ledger.capture(bigint, bigint, bigint, text, boolean, text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.capture(bigint, bigint, bigint, text, boolean, text, jsonb) IS
    'charges part of a pending hold (entry capture); the hold keeps the rest until a final capture (the rest comes back) or it is used up; past what it holds draws from available (LD001 past the credit limit); idempotent by event_id';

CREATE FUNCTION credit_ledger.extend_hold(account_id bigint, hold_id bigint, ttl interval, event_id text)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_extend_hold';
REVOKE ALL ON FUNCTION credit_ledger.extend_hold(bigint, bigint, interval, text) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.extend_hold(bigint, bigint, interval, text) IS
    'a pending hold expires ttl from now, never sooner than it did (entry extend_hold); LD005 once it expired; idempotent by event_id';

CREATE FUNCTION credit_ledger.set_hold_limit(account_id bigint, max_pending integer)
    RETURNS void
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_set_hold_limit';
REVOKE ALL ON FUNCTION credit_ledger.set_hold_limit(bigint, integer) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.set_hold_limit(bigint, integer) IS
    'the most pending holds the account may have (NULL removes the limit): a reserve past it is LD010; holds already pending stay';

-- Pending holds that still count, with what they still hold.
CREATE OR REPLACE VIEW credit_ledger.pending_holds AS
SELECT h.hold_id, h.account_id, h.amount OPERATOR(pg_catalog.-) h.captured AS amount,
       h.created_at, h.expires_at, h.event_id,
       h.captured, h.on_expiry, h.lease_pid IS NOT NULL AS lease
FROM credit_ledger.hold h
WHERE h.state OPERATOR(pg_catalog.=) 'pending'
  AND h.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp();
COMMENT ON COLUMN credit_ledger.pending_holds.amount IS 'credits it still holds (reserved less what captures took)';
COMMENT ON COLUMN credit_ledger.pending_holds.captured IS 'credits its captures took so far';
COMMENT ON COLUMN credit_ledger.pending_holds.on_expiry IS 'release or capture: what its expiry does with what it still holds';
COMMENT ON COLUMN credit_ledger.pending_holds.lease IS 'true: the worker ends it when the session that reserved it is gone';

-- The accounts view counts these holds (a hold past its expiry gives back
-- what it still holds, or is charged it) in its one 1.1 definition, with
-- the credits that arrive later: see "Credits that arrive later" below.
COMMENT ON COLUMN credit_ledger.accounts.balance IS 'credits posted: live bucket credits plus held slices, minus debt, with due expiries applied (a hold that captures on expiry charged)';
COMMENT ON COLUMN credit_ledger.accounts.total_consumed IS 'all credits consumed by deducts, captures, confirms, charges and negative adjustments (due captures on expiry included)';

---------------------------------------------------------------------------
-- Teams: subjects, spend limits per period, dashboards, transfers (DESIGN 15)
---------------------------------------------------------------------------

-- Who spent inside an account: a member, an API key, an agent session.
-- Written by every money-out call that names one (NULL: none named).
ALTER TABLE credit_ledger.entry ADD COLUMN subject text;
COMMENT ON COLUMN credit_ledger.entry.subject IS
    'who spent inside the account (a member, an API key, an agent session), as the money-out call named it; NULL: none named';

-- The entries view and history() gain the subject (the view's last column).
CREATE OR REPLACE VIEW credit_ledger.entries AS
SELECT entry_id, account_id, kind, amount, reserved_delta, balance_after, reserved_after,
       event_id, hold_id, source, description, metadata, price_rule_id,
       input_tokens, output_tokens, cached_tokens, reasoning_tokens,
       bucket_ids, bucket_amounts, ref_entry_id, created_at, subject
FROM credit_ledger.entry;
COMMENT ON COLUMN credit_ledger.entries.subject IS
    'who spent inside the account (member, API key, agent session); NULL: none named';

-- How many spend limits the account has: a money-out call on an account
-- with none reads no limit at all.
ALTER TABLE credit_ledger.account ADD COLUMN spend_limits bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN credit_ledger.account.spend_limits IS
    'how many spend limits (set_spend_limit) the account has; 0: money-out calls check none';

-- One spend limit, with its counters, updated under the account lock by
-- every money-out call that it applies to: used counts the consumption of
-- the period that starts at period_start, held the pending holds. So a
-- check reads this row, never the period's entries; verify() recomputes
-- both from the entries and holds.
CREATE TABLE credit_ledger.spend_limit (
    account_id    bigint NOT NULL,
    subject       text,
    period        text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    max_credits   bigint NOT NULL CHECK (max_credits >= 0),
    period_start  timestamptz NOT NULL,
    used          bigint NOT NULL CHECK (used >= 0),
    held          bigint NOT NULL CHECK (held >= 0),
    reached_in    timestamptz,
    set_at        timestamptz NOT NULL
);
-- one limit per account, subject and period; a money call finds the
-- whole account's limits ('' here: a subject is never empty) and its
-- subject's, however many other subjects have limits
CREATE UNIQUE INDEX spend_limit_key ON credit_ledger.spend_limit
    (account_id, (COALESCE(subject, '')), period);
COMMENT ON TABLE credit_ledger.spend_limit IS
    'credit_ledger: spend limits per account and subject per UTC day, week or month, with their counters (set_spend_limit; read them with limits())';
COMMENT ON COLUMN credit_ledger.spend_limit.account_id IS 'the account';
COMMENT ON COLUMN credit_ledger.spend_limit.subject IS 'the subject the limit caps; NULL: the whole account';
COMMENT ON COLUMN credit_ledger.spend_limit.period IS 'day, week (from Monday) or month, on the UTC calendar';
COMMENT ON COLUMN credit_ledger.spend_limit.max_credits IS 'most credits consumed in a period plus pending holds';
COMMENT ON COLUMN credit_ledger.spend_limit.period_start IS 'the start of the period used counts (an older one: nothing used in the current period yet)';
COMMENT ON COLUMN credit_ledger.spend_limit.used IS 'credits consumed in the period from period_start (refunds not subtracted, as in consumption())';
COMMENT ON COLUMN credit_ledger.spend_limit.held IS 'credits held by pending holds the limit applies to';
COMMENT ON COLUMN credit_ledger.spend_limit.reached_in IS 'the start of the last period in which the limit was reached (its limit.reached event)';
COMMENT ON COLUMN credit_ledger.spend_limit.set_at IS 'when set_spend_limit last set it';

-- One row per transfer: its two entries, on two accounts.
CREATE TABLE credit_ledger.transfer (
    from_account  bigint NOT NULL,
    out_entry_id  bigint NOT NULL,
    to_account    bigint NOT NULL,
    in_entry_id   bigint NOT NULL,
    amount        bigint NOT NULL CHECK (amount > 0),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (from_account, out_entry_id)
);
CREATE INDEX transfer_to ON credit_ledger.transfer (to_account, in_entry_id);
COMMENT ON TABLE credit_ledger.transfer IS
    'credit_ledger: transfers between two accounts, each the pair of its transfer_out and transfer_in entries';
COMMENT ON COLUMN credit_ledger.transfer.from_account IS 'the account the credits left';
COMMENT ON COLUMN credit_ledger.transfer.out_entry_id IS 'its transfer_out entry (carries the event_id)';
COMMENT ON COLUMN credit_ledger.transfer.to_account IS 'the account the credits entered';
COMMENT ON COLUMN credit_ledger.transfer.in_entry_id IS 'its transfer_in entry';
COMMENT ON COLUMN credit_ledger.transfer.amount IS 'credits moved';
COMMENT ON COLUMN credit_ledger.transfer.created_at IS 'the instant of the transfer';

SELECT pg_catalog.pg_extension_config_dump('credit_ledger.spend_limit', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.transfer', '');

CREATE TYPE credit_ledger.transfer_result AS (
    out_entry_id    bigint,
    in_entry_id     bigint,
    from_balance    bigint,
    from_available  bigint,
    to_balance      bigint,
    to_available    bigint,
    replayed        boolean
);
COMMENT ON TYPE credit_ledger.transfer_result IS
    'result of transfer(): its two entries and both accounts'' figures after it; replayed = true for an earlier identical transfer''s result';
COMMENT ON COLUMN credit_ledger.transfer_result.out_entry_id IS 'the transfer_out entry on the sending account';
COMMENT ON COLUMN credit_ledger.transfer_result.in_entry_id IS 'the transfer_in entry on the receiving account';
COMMENT ON COLUMN credit_ledger.transfer_result.from_balance IS 'the sender''s balance after the transfer';
COMMENT ON COLUMN credit_ledger.transfer_result.from_available IS 'the sender''s available after the transfer';
COMMENT ON COLUMN credit_ledger.transfer_result.to_balance IS 'the receiver''s balance after the transfer';
COMMENT ON COLUMN credit_ledger.transfer_result.to_available IS 'the receiver''s available after the transfer';
COMMENT ON COLUMN credit_ledger.transfer_result.replayed IS 'true when the event_id was used before by the same transfer: nothing happened again';

-- The UTC calendar period that holds an instant: the one rule the money
-- calls (in C), limits(), set_spend_limit() and verify() all use.
CREATE FUNCTION credit_ledger.spend_period(period text, at timestamptz,
                                           OUT starts_at timestamptz, OUT resets_at timestamptz)
    RETURNS record
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'credit_ledger_spend_period';
COMMENT ON FUNCTION credit_ledger.spend_period(text, timestamptz) IS
    'the UTC day, week (from Monday) or month that holds the instant at: [starts_at, resets_at); 22023 for another period';

-- What the holds that capture on expiry and are past it, their capture
-- not written yet, still hold for the subject (NULL: every subject), by
-- expires_at in [since, until): consumption() counts them from their
-- expiry on, a spend counter once the capture is written (the rule both
-- set_spend_limit and verify() need).
CREATE FUNCTION credit_ledger.due_captures(account_id bigint, subject text, since timestamptz,
                                           until timestamptz)
    RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(sum(h.amount - h.captured), 0)::bigint
    FROM credit_ledger.hold h
    JOIN credit_ledger.entry r ON r.account_id = h.account_id AND r.event_id = h.event_id
    WHERE h.account_id = due_captures.account_id AND h.state = 'pending'
      AND h.on_expiry = 'capture' AND h.expires_at <= statement_timestamp()
      AND h.expires_at >= due_captures.since AND h.expires_at < due_captures.until
      AND (due_captures.subject IS NULL OR r.subject = due_captures.subject)
$$;
REVOKE ALL ON FUNCTION credit_ledger.due_captures(bigint, text, timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.due_captures(bigint, text, timestamptz, timestamptz) IS
    'credits that holds capturing on expiry, past it and not yet written, still hold for the subject (NULL: all), by expires_at in [since, until): what consumption() counts before a spend counter does';

CREATE FUNCTION credit_ledger.set_spend_limit(account_id bigint, period text, max_credits bigint,
                                              subject text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    span record;
    now_at timestamptz := statement_timestamp();
BEGIN
    PERFORM credit_ledger.require_arguments('set_spend_limit', ARRAY['account_id', 'period'],
        ARRAY[set_spend_limit.account_id IS NOT NULL, set_spend_limit.period IS NOT NULL]);
    IF set_spend_limit.max_credits < 0 THEN
        RAISE EXCEPTION 'max_credits must not be negative'
            USING ERRCODE = '22023', DETAIL = format('max_credits is %s.', set_spend_limit.max_credits);
    END IF;
    IF set_spend_limit.subject = '' THEN
        RAISE EXCEPTION 'subject must not be empty'
            USING ERRCODE = '22023',
                  DETAIL = 'credit_ledger.set_spend_limit() was called with an empty subject; NULL limits the whole account.';
    END IF;
    span := credit_ledger.spend_period(set_spend_limit.period, now_at);
    -- the account lock every money call takes first: counters start exact
    PERFORM FROM credit_ledger.account a WHERE a.account_id = set_spend_limit.account_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account not found'
            USING ERRCODE = 'LD002', DETAIL = format('Account %s does not exist.', set_spend_limit.account_id);
    END IF;
    IF set_spend_limit.max_credits IS NULL THEN
        DELETE FROM credit_ledger.spend_limit l
        WHERE l.account_id = set_spend_limit.account_id AND l.period = set_spend_limit.period
          AND l.subject IS NOT DISTINCT FROM set_spend_limit.subject;
    ELSE
        -- a new limit counts what the period consumed so far and what is held;
        -- a due capture on expiry is counted when its capture is written
        INSERT INTO credit_ledger.spend_limit AS l (account_id, subject, period, max_credits,
                                                    period_start, used, held, set_at)
        SELECT set_spend_limit.account_id, set_spend_limit.subject, set_spend_limit.period,
               set_spend_limit.max_credits, span.starts_at,
               c.credits - credit_ledger.due_captures(set_spend_limit.account_id, set_spend_limit.subject,
                                                      span.starts_at, span.resets_at),
               credit_ledger.held_for(set_spend_limit.account_id, set_spend_limit.subject), now_at
        FROM credit_ledger.consumption(set_spend_limit.account_id, span.starts_at, span.resets_at,
                                       set_spend_limit.subject) c
        ON CONFLICT (account_id, (COALESCE(subject, '')), period)
        DO UPDATE SET max_credits = EXCLUDED.max_credits, set_at = EXCLUDED.set_at;
    END IF;
    UPDATE credit_ledger.account a
    SET spend_limits = (SELECT count(*) FROM credit_ledger.spend_limit l
                        WHERE l.account_id = set_spend_limit.account_id)
    WHERE a.account_id = set_spend_limit.account_id;
END
$$;
COMMENT ON FUNCTION credit_ledger.set_spend_limit(bigint, text, bigint, text) IS
    'caps what the account (subject NULL) or one subject may consume per UTC day, week or month, pending holds included (LD009 past it); NULL max_credits removes the limit; LD002 for an unknown account';

-- Credits held by the account's pending holds for a subject (NULL: all of
-- them): a hold's subject is its reserve entry's.
CREATE FUNCTION credit_ledger.held_for(account_id bigint, subject text)
    RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(sum(h.amount - h.captured), 0)::bigint
    FROM credit_ledger.hold h
    JOIN credit_ledger.entry r ON r.account_id = h.account_id AND r.event_id = h.event_id
    WHERE h.account_id = held_for.account_id AND h.state = 'pending'
      AND (held_for.subject IS NULL OR r.subject = held_for.subject)
$$;
COMMENT ON FUNCTION credit_ledger.held_for(bigint, text) IS
    'credits held by the account''s pending holds reserved for the subject (NULL: every hold), as a spend limit counts them';

CREATE FUNCTION credit_ledger.limits(account_id bigint)
    RETURNS TABLE (subject text, period text, max_credits bigint, used bigint, held bigint,
                   remaining bigint, resets_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM credit_ledger.require_arguments('limits', ARRAY['account_id'],
        ARRAY[limits.account_id IS NOT NULL]);
    -- exact without writing: a counter of an older period reads as 0, and a
    -- hold past its expiry no longer holds
    RETURN QUERY
    SELECT l.subject, l.period, l.max_credits, u.used, u.held,
           greatest(l.max_credits - u.used - u.held, 0), s.resets_at
    FROM credit_ledger.spend_limit l
    CROSS JOIN LATERAL credit_ledger.spend_period(l.period, statement_timestamp()) s
    CROSS JOIN LATERAL (
        SELECT CASE WHEN l.period_start = s.starts_at THEN l.used ELSE 0 END AS used,
               (SELECT COALESCE(sum(h.amount), 0)::bigint
                FROM credit_ledger.pending_holds h
                JOIN credit_ledger.entry r ON r.account_id = h.account_id AND r.event_id = h.event_id
                WHERE h.account_id = l.account_id
                  AND (l.subject IS NULL OR r.subject = l.subject)) AS held
    ) u
    WHERE l.account_id = limits.account_id
    ORDER BY l.subject NULLS FIRST, array_position(ARRAY['day', 'week', 'month'], l.period);
END
$$;
COMMENT ON FUNCTION credit_ledger.limits(bigint) IS
    'the account''s spend limits as of now: subject (NULL: the whole account), period, max_credits, used this period, held by pending holds, remaining, resets_at (the period''s end)';

-- The team dashboard: consumption() per subject, the same entries (its
-- kinds, its bounds), entries with no subject in the row whose subject is NULL.
CREATE FUNCTION credit_ledger.consumption_by_subject(account_id bigint, since timestamptz DEFAULT NULL,
                                                     until timestamptz DEFAULT NULL)
    RETURNS TABLE (subject text, credits bigint, calls bigint, input_tokens bigint,
                   output_tokens bigint, cached_tokens bigint, reasoning_tokens bigint,
                   cache_write_tokens bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM credit_ledger.require_arguments('consumption_by_subject', ARRAY['account_id'],
        ARRAY[consumption_by_subject.account_id IS NOT NULL]);
    RETURN QUERY
    SELECT x.subject,
           COALESCE(pg_catalog.sum(x.credits), 0)::bigint,
           pg_catalog.count(*),
           COALESCE(pg_catalog.sum(x.input_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(x.output_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(x.cached_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(x.reasoning_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(x.cache_write_tokens), 0)::bigint
    FROM (
        SELECT e.subject, OPERATOR(pg_catalog.-) e.amount AS credits, e.input_tokens,
               e.output_tokens, e.cached_tokens, e.reasoning_tokens, e.cache_write_tokens
        FROM credit_ledger.entry e
        WHERE e.account_id OPERATOR(pg_catalog.=) consumption_by_subject.account_id
          AND e.kind IN ('deduct', 'confirm', 'capture')
          AND e.created_at OPERATOR(pg_catalog.>=) COALESCE(consumption_by_subject.since, '-infinity')
          AND e.created_at OPERATOR(pg_catalog.<) COALESCE(consumption_by_subject.until,
              pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) interval '1 microsecond')
        UNION ALL
        -- as consumption(): a hold that captures on expiry is charged from
        -- its expires_at on, for its reserve's subject
        SELECT r.subject, h.amount OPERATOR(pg_catalog.-) h.captured, NULL, NULL, NULL, NULL, NULL
        FROM credit_ledger.hold h
        JOIN credit_ledger.entry r ON r.account_id OPERATOR(pg_catalog.=) h.account_id
                                  AND r.event_id OPERATOR(pg_catalog.=) h.event_id
        WHERE h.account_id OPERATOR(pg_catalog.=) consumption_by_subject.account_id
          AND h.state OPERATOR(pg_catalog.=) 'pending'
          AND h.on_expiry OPERATOR(pg_catalog.=) 'capture'
          AND h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
          AND h.expires_at OPERATOR(pg_catalog.>=) COALESCE(consumption_by_subject.since, '-infinity')
          AND h.expires_at OPERATOR(pg_catalog.<) COALESCE(consumption_by_subject.until,
              pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) interval '1 microsecond')
    ) x
    GROUP BY x.subject
    ORDER BY x.subject NULLS LAST;
END
$$;
COMMENT ON FUNCTION credit_ledger.consumption_by_subject(bigint, timestamptz, timestamptz) IS
    'consumption() per subject in [since, until) (the team dashboard): credits, calls and token totals; entries without a subject in the row with subject NULL';

CREATE FUNCTION credit_ledger.transfer(from_account bigint, to_account bigint, amount bigint,
                                       event_id text, description text DEFAULT NULL,
                                       metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.transfer_result
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_transfer';
COMMENT ON FUNCTION credit_ledger.transfer(bigint, bigint, bigint, text, text, jsonb) IS
    'moves credits the sender holds to another account of this server (entries transfer_out, transfer_in), keeping their source, expiry and priority; both accounts locked in account_id order; idempotent on (from_account, event_id)';

-- What verify() adds for teams: every spend limit's counters recomputed
-- from the entries and holds, and every transfer's two sides.
CREATE FUNCTION credit_ledger.verify_teams(account_id bigint)
    RETURNS TABLE (account_id bigint, check_name text, expected text, actual text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.account_id, c.check_name, c.expected, c.actual
    FROM credit_ledger.spend_limit l
    CROSS JOIN LATERAL credit_ledger.spend_period(l.period, l.period_start) s
    CROSS JOIN LATERAL (VALUES
        (format('spend limit %s %s: period_start starts a period', COALESCE(l.subject, '(account)'), l.period),
         s.starts_at::text, l.period_start::text),
        -- consumption() counts a hold that captures on expiry from its
        -- expires_at on; the counter counts it when the capture is written
        (format('spend limit %s %s: used is the period''s consumption', COALESCE(l.subject, '(account)'), l.period),
         (SELECT c.credits FROM credit_ledger.consumption(l.account_id, s.starts_at, s.resets_at, l.subject) c)::text,
         (l.used + credit_ledger.due_captures(l.account_id, l.subject, s.starts_at, s.resets_at))::text),
        (format('spend limit %s %s: held is the pending holds', COALESCE(l.subject, '(account)'), l.period),
         credit_ledger.held_for(l.account_id, l.subject)::text, l.held::text)
    ) AS c(check_name, expected, actual)
    WHERE (verify_teams.account_id IS NULL OR l.account_id = verify_teams.account_id)
      AND c.expected IS DISTINCT FROM c.actual
    UNION ALL
    SELECT a.account_id, 'spend_limits counts the account''s limits',
           (SELECT count(*) FROM credit_ledger.spend_limit l WHERE l.account_id = a.account_id)::text,
           a.spend_limits::text
    FROM credit_ledger.account a
    WHERE (verify_teams.account_id IS NULL OR a.account_id = verify_teams.account_id)
      AND a.spend_limits <> (SELECT count(*) FROM credit_ledger.spend_limit l WHERE l.account_id = a.account_id)
    UNION ALL
    -- both sides of a transfer: out on the sender, in on the receiver, the same credits
    SELECT t.from_account, 'transfer: both sides match',
           format('transfer_out -%s on %s, transfer_in %s on %s', t.amount, t.from_account, t.amount, t.to_account),
           format('%s %s on %s, %s %s on %s', o.kind, o.amount, o.account_id, i.kind, i.amount, i.account_id)
    FROM credit_ledger.transfer t
    LEFT JOIN credit_ledger.entry o ON o.account_id = t.from_account AND o.entry_id = t.out_entry_id
    LEFT JOIN credit_ledger.entry i ON i.account_id = t.to_account AND i.entry_id = t.in_entry_id
    WHERE (verify_teams.account_id IS NULL OR verify_teams.account_id IN (t.from_account, t.to_account))
      AND (o.kind IS DISTINCT FROM 'transfer_out' OR i.kind IS DISTINCT FROM 'transfer_in'
           OR o.amount IS DISTINCT FROM -t.amount OR i.amount IS DISTINCT FROM t.amount
           OR o.ref_entry_id IS DISTINCT FROM t.in_entry_id OR i.ref_entry_id IS DISTINCT FROM t.out_entry_id)
    UNION ALL
    -- and no transfer entry outside a transfer
    SELECT e.account_id, 'transfer entries belong to a transfer', 'a transfer',
           format('%s entry %s has none', e.kind, e.entry_id)
    FROM credit_ledger.entry e
    WHERE e.kind IN ('transfer_out', 'transfer_in')
      AND (verify_teams.account_id IS NULL OR e.account_id = verify_teams.account_id)
      AND NOT EXISTS (SELECT FROM credit_ledger.transfer t
                      WHERE (e.kind = 'transfer_out' AND t.from_account = e.account_id AND t.out_entry_id = e.entry_id)
                         OR (e.kind = 'transfer_in' AND t.to_account = e.account_id AND t.in_entry_id = e.entry_id))
$$;
COMMENT ON FUNCTION credit_ledger.verify_teams(bigint) IS
    'verify()''s checks of spend limits (counters recomputed from entries and holds) and transfers (both sides match); no rows = consistent';

-- verify() with the holds of 1.1 (what a hold holds is amount - captured,
-- captures are consumption, each hold is checked against its entries),
-- then the teams' checks
CREATE OR REPLACE FUNCTION credit_ledger.verify(account_id bigint DEFAULT NULL)
    RETURNS TABLE (account_id bigint, check_name text, expected text, actual text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH acct AS (
        SELECT a.* FROM credit_ledger.account a
        WHERE verify.account_id IS NULL OR a.account_id OPERATOR(pg_catalog.=) verify.account_id
    ), entry_sums AS (
        SELECT e.account_id,
               pg_catalog.sum(e.amount) AS balance,
               pg_catalog.sum(e.reserved_delta) AS reserved,
               pg_catalog.sum(e.amount) FILTER (WHERE e.kind IN ('grant', 'reward')
                   OR (e.kind OPERATOR(pg_catalog.=) 'adjust' AND e.amount OPERATOR(pg_catalog.>) 0)) AS granted,
               OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount) FILTER (WHERE e.kind IN ('deduct', 'confirm', 'capture')
                   OR (e.kind OPERATOR(pg_catalog.=) 'adjust' AND e.amount OPERATOR(pg_catalog.<) 0)) AS consumed,
               OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount) FILTER (WHERE e.kind OPERATOR(pg_catalog.=) 'expire_grant') AS expired,
               pg_catalog.sum(e.amount) FILTER (WHERE e.kind OPERATOR(pg_catalog.=) 'refund') AS refunded
        FROM credit_ledger.entry e JOIN acct USING (account_id)
        GROUP BY e.account_id
    ), chain AS (
        SELECT c.account_id,
               pg_catalog.count(*) FILTER (WHERE c.balance_after IS DISTINCT FROM
                   COALESCE(c.prev_balance, 0) OPERATOR(pg_catalog.+) c.amount
                 OR c.reserved_after IS DISTINCT FROM
                   COALESCE(c.prev_reserved, 0) OPERATOR(pg_catalog.+) c.reserved_delta) AS broken,
               (pg_catalog.array_agg(c.balance_after ORDER BY c.entry_id DESC))[1] AS last_balance,
               (pg_catalog.array_agg(c.reserved_after ORDER BY c.entry_id DESC))[1] AS last_reserved
        FROM (SELECT e.account_id, e.entry_id, e.amount, e.reserved_delta,
                     e.balance_after, e.reserved_after,
                     pg_catalog.lag(e.balance_after) OVER w AS prev_balance,
                     pg_catalog.lag(e.reserved_after) OVER w AS prev_reserved
              FROM credit_ledger.entry e JOIN acct USING (account_id)
              WINDOW w AS (PARTITION BY e.account_id ORDER BY e.entry_id)) c
        GROUP BY c.account_id
    ), bucket_sums AS (
        SELECT b.account_id,
               pg_catalog.sum(b.remaining) AS remaining,
               pg_catalog.count(*) FILTER (WHERE b.live) AS live
        FROM credit_ledger.bucket b JOIN acct USING (account_id)
        GROUP BY b.account_id
    ), hold_sums AS (
        SELECT h.account_id,
               pg_catalog.sum(h.amount OPERATOR(pg_catalog.-) h.captured) AS held,
               pg_catalog.sum((SELECT pg_catalog.sum(s) FROM pg_catalog.unnest(h.slice_amounts) s)) AS sliced,
               pg_catalog.count(*) FILTER (WHERE (SELECT pg_catalog.sum(s) FROM pg_catalog.unnest(h.slice_amounts) s)
                   OPERATOR(pg_catalog.>) (h.amount OPERATOR(pg_catalog.-) h.captured)) AS oversliced
        FROM credit_ledger.hold h JOIN acct USING (account_id)
        WHERE h.state OPERATOR(pg_catalog.=) 'pending'
        GROUP BY h.account_id
    ), hold_entries AS (
        -- each hold against its own entries: what it still holds is what
        -- they reserved and did not give back, its captured is what its
        -- capture entries took, its settled amount what it consumed
        SELECT e.account_id, e.hold_id,
               pg_catalog.sum(e.reserved_delta) AS reserved,
               COALESCE(OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount)
                   FILTER (WHERE e.kind OPERATOR(pg_catalog.=) 'capture'), 0) AS captured,
               COALESCE(OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount)
                   FILTER (WHERE e.kind IN ('capture', 'confirm')), 0) AS consumed
        FROM credit_ledger.entry e JOIN acct USING (account_id)
        WHERE e.hold_id IS NOT NULL
        GROUP BY e.account_id, e.hold_id
    ), hold_checks AS (
        SELECT h.account_id,
               pg_catalog.count(*) FILTER (WHERE COALESCE(he.reserved, 0) IS DISTINCT FROM
                   CASE WHEN h.state OPERATOR(pg_catalog.=) 'pending'
                        THEN h.amount OPERATOR(pg_catalog.-) h.captured ELSE 0 END) AS misheld,
               pg_catalog.count(*) FILTER (WHERE COALESCE(he.captured, 0) IS DISTINCT FROM h.captured)
                   AS miscaptured,
               pg_catalog.count(*) FILTER (WHERE h.state OPERATOR(pg_catalog.<>) 'pending'
                   AND COALESCE(he.consumed, 0) IS DISTINCT FROM COALESCE(h.settled_amount, 0))
                   AS missettled
        FROM credit_ledger.hold h JOIN acct USING (account_id)
        LEFT JOIN hold_entries he
          ON he.account_id OPERATOR(pg_catalog.=) h.account_id
         AND he.hold_id OPERATOR(pg_catalog.=) h.hold_id
        GROUP BY h.account_id
    )
    SELECT a.account_id, c.check_name, c.expected, c.actual
    FROM acct a
    LEFT JOIN entry_sums es USING (account_id)
    LEFT JOIN chain ch USING (account_id)
    LEFT JOIN bucket_sums bs USING (account_id)
    LEFT JOIN hold_sums hs USING (account_id)
    LEFT JOIN hold_checks hc USING (account_id)
    CROSS JOIN LATERAL (VALUES
        ('balance is the sum of entry amounts',
         COALESCE(es.balance, 0)::text, a.balance::text),
        ('reserved is the sum of entry reserved_delta',
         COALESCE(es.reserved, 0)::text, a.reserved::text),
        ('reserved is the sum of pending holds',
         COALESCE(hs.held, 0)::text, a.reserved::text),
        ('balance is bucket credits plus held slices minus debt',
         (COALESCE(bs.remaining, 0) OPERATOR(pg_catalog.+) COALESCE(hs.sliced, 0)
            OPERATOR(pg_catalog.-) a.debt)::text, a.balance::text),
        ('last entry balance_after is the balance',
         COALESCE(ch.last_balance, 0)::text, a.balance::text),
        ('last entry reserved_after is reserved',
         COALESCE(ch.last_reserved, 0)::text, a.reserved::text),
        ('entries chain balance_after and reserved_after',
         '0', COALESCE(ch.broken, 0)::text),
        ('total_granted', COALESCE(es.granted, 0)::text, a.total_granted::text),
        ('total_consumed', COALESCE(es.consumed, 0)::text, a.total_consumed::text),
        ('total_expired', COALESCE(es.expired, 0)::text, a.total_expired::text),
        ('total_refunded', COALESCE(es.refunded, 0)::text, a.total_refunded::text),
        ('available within credit limit', 'true',
         (a.balance OPERATOR(pg_catalog.-) a.reserved OPERATOR(pg_catalog.>=)
            OPERATOR(pg_catalog.-) a.credit_limit)::text),
        ('no live bucket while in debt', '0',
         (CASE WHEN a.debt OPERATOR(pg_catalog.>) 0 THEN COALESCE(bs.live, 0) ELSE 0 END)::text),
        ('hold slices within what the hold holds', '0', COALESCE(hs.oversliced, 0)::text),
        ('holds hold what their entries reserved and did not give back', '0', COALESCE(hc.misheld, 0)::text),
        ('hold captured is the sum of its capture entries', '0', COALESCE(hc.miscaptured, 0)::text),
        ('settled hold amount is what its entries consumed', '0', COALESCE(hc.missettled, 0)::text)
    ) AS c(check_name, expected, actual)
    WHERE c.expected IS DISTINCT FROM c.actual
    UNION ALL
    SELECT o.account_id, 'rows belong to an existing account', 'account', o.what
    FROM (SELECT e.account_id, 'entry' AS what FROM credit_ledger.entry e
          UNION SELECT b.account_id, 'bucket' FROM credit_ledger.bucket b
          UNION SELECT h.account_id, 'hold' FROM credit_ledger.hold h) o
    WHERE (verify.account_id IS NULL OR o.account_id OPERATOR(pg_catalog.=) verify.account_id)
      AND NOT EXISTS (SELECT 1 FROM credit_ledger.account a
                      WHERE a.account_id OPERATOR(pg_catalog.=) o.account_id)
    UNION ALL
    SELECT * FROM credit_ledger.verify_teams(verify.account_id)
    ORDER BY 1, 2
$$;
COMMENT ON FUNCTION credit_ledger.verify(bigint) IS
    'recomputes every stored figure of one account (or all) from entries, buckets, holds, spend limits and transfers, and each hold from its own entries; no rows = consistent';

REVOKE ALL ON FUNCTION credit_ledger.spend_period(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.set_spend_limit(bigint, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.held_for(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.limits(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.consumption_by_subject(bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.transfer(bigint, bigint, bigint, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.verify_teams(bigint) FROM PUBLIC;

---------------------------------------------------------------------------
-- Pricing 1.1: cache writes, NULL prices, long-context and service tiers,
-- markup, provider usage objects, catalog import (DESIGN 18)
---------------------------------------------------------------------------

-- The fifth token kind and the 1.1 rule fields. Existing rules keep every
-- price they have: their cached and reasoning prices stay set, and their
-- NULL cache_write_price bills cache writes (which 1.0 could not charge) at
-- input_price, as the providers do without a price of their own.
ALTER TABLE credit_ledger.price_rule
    ALTER COLUMN cached_price DROP NOT NULL,
    ALTER COLUMN reasoning_price DROP NOT NULL,
    ADD COLUMN cache_write_price numeric,
    ADD COLUMN min_input_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN service_tier text,
    ADD COLUMN markup_percent numeric NOT NULL DEFAULT 0;
COMMENT ON COLUMN credit_ledger.price_rule.cached_price IS 'credits per million cached input tokens (cache reads; at most 6 decimals); NULL = input_price';
COMMENT ON COLUMN credit_ledger.price_rule.reasoning_price IS 'credits per million reasoning tokens (at most 6 decimals); NULL = output_price';
COMMENT ON COLUMN credit_ledger.price_rule.cache_write_price IS 'credits per million cache-write input tokens (at most 6 decimals); NULL = input_price';
COMMENT ON COLUMN credit_ledger.price_rule.min_input_tokens IS 'long-context tier: the rule applies only when the call''s input side (input + cached + cache-write tokens) reaches this; among a model''s rules the highest tier reached wins';
COMMENT ON COLUMN credit_ledger.price_rule.service_tier IS 'the service tier the rule prices (batch, priority, flex ...); NULL = any tier';
COMMENT ON COLUMN credit_ledger.price_rule.markup_percent IS 'the token cost is multiplied by 1 + markup_percent / 100 before request_price is added and the total rounded up once (at most 6 decimals, not negative)';

ALTER TABLE credit_ledger.entry ADD COLUMN cache_write_tokens bigint;
COMMENT ON COLUMN credit_ledger.entry.cache_write_tokens IS 'priced charges: cache-write input tokens billed';

-- history() returns these rows, so it shows the column too
CREATE OR REPLACE VIEW credit_ledger.entries AS
SELECT entry_id, account_id, kind, amount, reserved_delta, balance_after, reserved_after,
       event_id, hold_id, source, description, metadata, price_rule_id,
       input_tokens, output_tokens, cached_tokens, reasoning_tokens,
       bucket_ids, bucket_amounts, ref_entry_id, created_at, subject,
       cache_write_tokens
FROM credit_ledger.entry;
COMMENT ON COLUMN credit_ledger.entries.cache_write_tokens IS 'priced charges: cache-write input tokens billed';

CREATE FUNCTION credit_ledger.charge_usage(account_id bigint, event_id text,
                                           scene text, provider text, model text,
                                           usage jsonb,
                                           hold_id bigint DEFAULT NULL,
                                           subject text DEFAULT NULL,
                                           service_tier text DEFAULT NULL,
                                           metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_charge_usage';
-- application roles are granted it by name (README, Roles)
REVOKE ALL ON FUNCTION credit_ledger.charge_usage(bigint, text, text, text, text, jsonb, bigint, text, text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.charge_usage(bigint, text, text, text, text, jsonb, bigint, text, text, jsonb) IS
    'charge with the counts read from the provider''s usage object (OpenAI chat completions or responses, Anthropic); 22023 naming the field it cannot read; the entry''s metadata is {"usage": ...} unless metadata is given';

-- A LiteLLM model_prices_and_context_window.json catalog as price rules:
-- one rule per model (scene NULL, provider its litellm_provider), one per
-- "_above_<N>k_tokens" tier (min_input_tokens N*1000 + 1: "above") and one
-- per service tier the entry prices ("_batches" -> batch, "_flex" -> flex,
-- "_priority" -> priority; at the base context tier).
-- USD per token x credits_per_usd x 1,000,000 = credits per million tokens,
-- rounded up to 6 decimals. A model's rule that says what the catalog says
-- already is kept (importing the same catalog again writes nothing);
-- otherwise the rules it replaces (the model's rules with its provider,
-- scene NULL and no service tier or one of those three) are closed at
-- valid_from, or withdrawn when they would start then. Entries without both per-token prices (images, audio
-- seconds) and LiteLLM's own documentation entry sample_spec are skipped.
-- One import at a time (the table lock); charges never wait for it, and
-- they see all of it once it commits, or none.
CREATE FUNCTION credit_ledger.import_prices(catalog jsonb, credits_per_usd numeric,
                                            provider text DEFAULT NULL,
                                            markup_percent numeric DEFAULT 0,
                                            valid_from timestamptz DEFAULT pg_catalog.now())
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the catalog's fields, in the order of the rule's price columns
    fields constant text[] := ARRAY['input_cost_per_token', 'output_cost_per_token',
        'cache_read_input_token_cost', 'output_cost_per_reasoning_token',
        'cache_creation_input_token_cost'];
    -- LiteLLM's suffixes of the service tiers' prices, and the tiers they name
    tier_suffixes constant text[] := ARRAY['_batches', '_flex', '_priority'];
    service_tiers constant text[] := ARRAY['batch', 'flex', 'priority'];
    vf constant timestamptz := import_prices.valid_from;
    model_key text;
    spec jsonb;
    rule_provider text;
    v record;
    field text;
    cost jsonb;
    prices numeric[];
    current_rule credit_ledger.price_rule;
    kept bigint[];
    new_id bigint;
    written integer := 0;
BEGIN
    PERFORM credit_ledger.require_arguments('import_prices',
        ARRAY['catalog', 'credits_per_usd', 'markup_percent', 'valid_from'],
        ARRAY[catalog IS NOT NULL, credits_per_usd IS NOT NULL,
              import_prices.markup_percent IS NOT NULL, vf IS NOT NULL]);
    IF jsonb_typeof(catalog) <> 'object' THEN
        RAISE EXCEPTION 'catalog must be a JSON object'
            USING ERRCODE = '22023',
                  DETAIL = format('catalog is a JSON %s; LiteLLM''s catalog maps each model to its prices.',
                                  jsonb_typeof(catalog));
    END IF;
    IF NOT credits_per_usd > 0 OR credits_per_usd IN ('NaN', 'Infinity') THEN
        RAISE EXCEPTION 'credits_per_usd must be positive'
            USING ERRCODE = '22023', DETAIL = format('credits_per_usd is %s.', credits_per_usd);
    END IF;
    LOCK TABLE credit_ledger.price_rule IN SHARE ROW EXCLUSIVE MODE;

    FOR model_key, spec IN SELECT c.key, c.value FROM jsonb_each(catalog) c ORDER BY c.key LOOP
        CONTINUE WHEN model_key = 'sample_spec';
        IF jsonb_typeof(spec) <> 'object' THEN
            RAISE EXCEPTION 'catalog entry "%" must be a JSON object', model_key
                USING ERRCODE = '22023',
                      DETAIL = format('catalog -> %s is a JSON %s.', model_key, jsonb_typeof(spec));
        END IF;
        rule_provider := spec ->> 'litellm_provider';
        CONTINUE WHEN import_prices.provider IS NOT NULL
                      AND rule_provider IS DISTINCT FROM import_prices.provider;
        CONTINUE WHEN NOT (spec ? 'input_cost_per_token' AND spec ? 'output_cost_per_token');
        -- the rules the entry makes: the base one, one per "_above_<N>k_tokens"
        -- tier, one per service tier it prices ("_batches", "_flex", "_priority")
        kept := '{}';
        FOR v IN
            SELECT NULL::text AS service_tier, '' AS suffix, 0::bigint AS min_tokens
            UNION
            SELECT NULL, '_above_' || m[1] || 'k_tokens', m[1]::bigint * 1000 + 1
            FROM jsonb_object_keys(spec) k,
                 LATERAL regexp_match(k, '^(?:' || array_to_string(fields, '|') || ')_above_([0-9]+)k_tokens$') m
            WHERE m IS NOT NULL
            UNION
            SELECT t.tier, t.suffix, 0
            FROM unnest(service_tiers, tier_suffixes) t(tier, suffix)
            WHERE EXISTS (SELECT 1 FROM unnest(fields) f WHERE spec ? (f || t.suffix))
            ORDER BY 1 NULLS FIRST, 3
        LOOP
            prices := '{}';
            FOREACH field IN ARRAY fields LOOP
                -- a tier's price of a kind, else the kind's base price (as LiteLLM bills)
                cost := coalesce(spec -> (field || v.suffix), spec -> field);
                IF cost IS NULL OR jsonb_typeof(cost) = 'null' THEN
                    prices := prices || NULL::numeric;
                ELSIF jsonb_typeof(cost) <> 'number' OR cost::numeric < 0 THEN
                    RAISE EXCEPTION 'catalog entry "%" has an invalid %', model_key, field || v.suffix
                        USING ERRCODE = '22023',
                              DETAIL = format('%s is %s; a cost is a number of USD per token, 0 or more.',
                                              field || v.suffix, cost);
                ELSE
                    prices := prices || trim_scale(ceil(cost::numeric * credits_per_usd * 1e12) / 1e6);
                END IF;
            END LOOP;
            SELECT r.* INTO current_rule FROM credit_ledger.price_rule r
            WHERE r.active AND r.scene IS NULL AND r.provider IS NOT DISTINCT FROM rule_provider
              AND r.model = model_key AND r.service_tier IS NOT DISTINCT FROM v.service_tier
              AND r.min_input_tokens = v.min_tokens AND r.valid_from <= vf AND (r.valid_until IS NULL OR r.valid_until > vf)
            ORDER BY r.priority DESC, r.valid_from DESC, r.id DESC LIMIT 1;
            IF FOUND
               AND ARRAY[current_rule.input_price, current_rule.output_price, current_rule.cached_price,
                         current_rule.reasoning_price, current_rule.cache_write_price]
                   IS NOT DISTINCT FROM prices
               AND current_rule.markup_percent = import_prices.markup_percent THEN
                kept := kept || current_rule.id;
                CONTINUE;
            END IF;
            INSERT INTO credit_ledger.price_rule (provider, model, input_price, output_price, cached_price,
                                                  reasoning_price, cache_write_price, min_input_tokens,
                                                  service_tier, markup_percent, valid_from, description)
            VALUES (rule_provider, model_key, prices[1], prices[2], prices[3], prices[4], prices[5],
                    v.min_tokens, v.service_tier, import_prices.markup_percent, vf, 'import_prices')
            RETURNING id INTO new_id;
            kept := kept || new_id;
            written := written + 1;
        END LOOP;
        -- every other rule of the model's imported kinds open at vf is
        -- replaced: one that started before ends at vf, one that would
        -- start at vf is withdrawn (later ones keep their turn)
        UPDATE credit_ledger.price_rule r
        SET valid_until = CASE WHEN r.valid_from < vf THEN vf ELSE r.valid_until END,
            active = r.valid_from < vf
        WHERE r.active AND r.scene IS NULL AND r.provider IS NOT DISTINCT FROM rule_provider
          AND r.model = model_key AND (r.service_tier IS NULL OR r.service_tier = ANY (service_tiers))
          AND r.valid_from <= vf AND (r.valid_until IS NULL OR r.valid_until > vf)
          AND r.id <> ALL (kept);
    END LOOP;
    RETURN written;
END
$$;
REVOKE ALL ON FUNCTION credit_ledger.import_prices(jsonb, numeric, text, numeric, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.import_prices(jsonb, numeric, text, numeric, timestamptz) IS
    'loads a LiteLLM model_prices_and_context_window.json catalog (only provider''s models, NULL = all) as price rules valid from valid_from (with its _above_<N>k_tokens tiers and _batches, _flex, _priority service tiers), closing the rules they replace then; USD per token x credits_per_usd = credits per million tokens rounded up to 6 decimals; returns how many rules it wrote (0 for a catalog loaded already)';

---------------------------------------------------------------------------
-- Batches: deduct_many and charge_many (DESIGN 19)
---------------------------------------------------------------------------

-- One row per item of a batch call: the item's SQLSTATE (00000 when it was
-- applied or replayed) and, when refused, its message; then the op_result
-- the item's single call returned (a refused item: only its account).
CREATE TYPE credit_ledger.batch_result AS (
    item integer, sqlstate text, message text,
    entry_id bigint, hold_id bigint, account_id bigint, amount bigint,
    balance bigint, reserved bigint, available bigint, replayed boolean);
COMMENT ON TYPE credit_ledger.batch_result IS
    'what deduct_many and charge_many return for each item: its outcome, then the op_result of the item''s call';
COMMENT ON COLUMN credit_ledger.batch_result.item IS 'the item''s position in the arrays, from 1';
COMMENT ON COLUMN credit_ledger.batch_result.sqlstate IS '00000 when the item was applied (or replayed), else the SQLSTATE that refused it (LD001, LD004, 22023, ...)';
COMMENT ON COLUMN credit_ledger.batch_result.message IS 'a refused item''s error message with its DETAIL in parentheses; NULL when applied';
COMMENT ON COLUMN credit_ledger.batch_result.entry_id IS 'the entry the item wrote (or, replayed, the one it wrote first); NULL when refused';
COMMENT ON COLUMN credit_ledger.batch_result.hold_id IS 'always NULL: batch items settle no hold';
COMMENT ON COLUMN credit_ledger.batch_result.account_id IS 'the item''s account';
COMMENT ON COLUMN credit_ledger.batch_result.amount IS 'credits the item consumed; NULL when refused';
COMMENT ON COLUMN credit_ledger.batch_result.balance IS 'the account''s balance right after the item; NULL when refused';
COMMENT ON COLUMN credit_ledger.batch_result.reserved IS 'the account''s reserved credits right after the item; NULL when refused';
COMMENT ON COLUMN credit_ledger.batch_result.available IS 'balance - reserved right after the item; NULL when refused';
COMMENT ON COLUMN credit_ledger.batch_result.replayed IS 'true when the item''s event_id was used before by the same request; NULL when refused';

-- Each item runs as the single call it stands for, in account_id order, in
-- a subtransaction of its own (api/batch.c): a refused item changes
-- nothing and the others apply; one commit for the whole batch.
CREATE FUNCTION credit_ledger.deduct_many(account_ids bigint[], amounts bigint[], event_ids text[],
                                          source text DEFAULT 'usage',
                                          subjects text[] DEFAULT NULL)
    RETURNS SETOF credit_ledger.batch_result
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    ROWS 100
    AS 'MODULE_PATHNAME', 'credit_ledger_deduct_many';
REVOKE ALL ON FUNCTION credit_ledger.deduct_many(bigint[], bigint[], text[], text, text[]) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.deduct_many(bigint[], bigint[], text[], text, text[]) IS
    'many deducts in one call and one commit: item i is deduct(account_ids[i], amounts[i], event_ids[i], source, subject => subjects[i]), applied in account_id order; a refused item reports its SQLSTATE and changes nothing, the others apply; arrays of unequal length are 22023, at most credit_ledger.max_batch items';

CREATE FUNCTION credit_ledger.charge_many(account_ids bigint[], event_ids text[],
                                          scene text, provider text, models text[],
                                          input_tokens bigint[], output_tokens bigint[],
                                          cached_tokens bigint[] DEFAULT NULL,
                                          reasoning_tokens bigint[] DEFAULT NULL,
                                          cache_write_tokens bigint[] DEFAULT NULL,
                                          subjects text[] DEFAULT NULL)
    RETURNS SETOF credit_ledger.batch_result
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    ROWS 100
    AS 'MODULE_PATHNAME', 'credit_ledger_charge_many';
REVOKE ALL ON FUNCTION credit_ledger.charge_many(bigint[], text[], text, text, text[], bigint[], bigint[], bigint[], bigint[], bigint[], text[]) FROM PUBLIC;
COMMENT ON FUNCTION credit_ledger.charge_many(bigint[], text[], text, text, text[], bigint[], bigint[], bigint[], bigint[], bigint[], text[]) IS
    'many charges in one call and one commit: item i is charge(account_ids[i], event_ids[i], scene, provider, models[i], the item''s five token counts (a token array NULL = 0), subject => subjects[i]), applied in account_id order; a refused item reports its SQLSTATE and changes nothing, the others apply; arrays of unequal length are 22023, at most credit_ledger.max_batch items';

---------------------------------------------------------------------------
-- Credits that arrive later: grant_credits(..., effective_at) and
-- recurring allowances (DESIGN 16)
---------------------------------------------------------------------------

-- A grant effective later is a bucket that holds nothing yet: pending, with
-- its credits in granted. At effective_at the credits arrive (debt first,
-- like any new credits), in a grant entry that the account's next call or
-- the sweep writes; every read counts them from that instant on (the
-- arrivals view). The account's next_expiry_at stays at or before
-- effective_at, so the calls' usual "is anything due" check covers it.
ALTER TABLE credit_ledger.bucket ADD COLUMN effective_at timestamptz,
    ADD COLUMN pending boolean NOT NULL DEFAULT false;
-- NOT VALID: every 1.0 bucket has pending false, so none is checked
ALTER TABLE credit_ledger.bucket ADD CONSTRAINT bucket_pending_holds_nothing
    CHECK (NOT pending OR (remaining OPERATOR(pg_catalog.=) 0 AND effective_at IS NOT NULL)) NOT VALID;
CREATE INDEX bucket_pending ON credit_ledger.bucket (account_id, effective_at) WHERE pending;
COMMENT ON COLUMN credit_ledger.bucket.effective_at IS 'when the credits became or become spendable (NULL: when granted)';
COMMENT ON COLUMN credit_ledger.bucket.pending IS 'effective_at is still to be written: the credits (granted) are not in remaining yet';

-- One row per allowance of an account: a bucket every UTC calendar period.
CREATE TABLE credit_ledger.allowance (
    account_id      bigint NOT NULL,
    name            text NOT NULL CHECK (name OPERATOR(pg_catalog.<>) ''),
    amount          bigint NOT NULL CHECK (amount OPERATOR(pg_catalog.>) 0),
    period          text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    rollover_max    bigint NOT NULL CHECK (rollover_max OPERATOR(pg_catalog.>=) 0),
    source          text NOT NULL,
    priority        integer NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz,
    next_issue_at   timestamptz,
    last_bucket_id  bigint,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (account_id, name)
);
-- the sweep finds the allowances due by time
CREATE INDEX allowance_due ON credit_ledger.allowance (next_issue_at) WHERE next_issue_at IS NOT NULL;
COMMENT ON TABLE credit_ledger.allowance IS
    'credit_ledger: recurring allowances (set_allowance): a bucket of amount plus a capped rollover every UTC day, week or month';
COMMENT ON COLUMN credit_ledger.allowance.account_id IS 'the account that receives the allowance';
COMMENT ON COLUMN credit_ledger.allowance.name IS 'the allowance''s name, unique per account (e.g. the plan)';
COMMENT ON COLUMN credit_ledger.allowance.amount IS 'new credits each period';
COMMENT ON COLUMN credit_ledger.allowance.period IS 'day, week (from Monday) or month, on the UTC calendar';
COMMENT ON COLUMN credit_ledger.allowance.rollover_max IS 'at most this much of what the previous period''s bucket left is added to the next one';
COMMENT ON COLUMN credit_ledger.allowance.source IS 'the source of its buckets';
COMMENT ON COLUMN credit_ledger.allowance.priority IS 'the burn-down priority of its buckets (-1: spent before paid credits)';
COMMENT ON COLUMN credit_ledger.allowance.starts_at IS 'the first period''s bucket arrives then (an instant in the past issues the periods since then)';
COMMENT ON COLUMN credit_ledger.allowance.ends_at IS 'no period starts at or after it (NULL: open); end_allowance sets it';
COMMENT ON COLUMN credit_ledger.allowance.next_issue_at IS 'the first instant of the next period not yet written (NULL: no more)';
COMMENT ON COLUMN credit_ledger.allowance.last_bucket_id IS 'the bucket of the last period written: the next one''s rollover comes from it';
COMMENT ON COLUMN credit_ledger.allowance.created_at IS 'when the allowance was first set';
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.allowance', '');

-- The credits due to arrive on an account and not yet written, as of the
-- statement's instant: grants whose effective_at has come, and the periods
-- of allowances that have begun, in the order the writer (ledger/arrivals.c)
-- writes them (seq). One rule for the writer and for every read.
--   repaid: new credits that repay debt (debt is repaid in arrival order);
--   carry:  credits rolled over from the allowance's previous period, at
--           most rollover_max of what it left: t = carry_0 + the credits
--           the earlier periods brought, carry = least(t, rollover_max)
--           (one closed form for any number of periods, since a period
--           that nobody wrote has had nothing spent from it);
--   carry_bucket_id: the written bucket the carry comes from (the first
--           period's; later periods' come from the period before);
--   live:   what the bucket holds now; lapsed: what lapsed at its expiry
--           before now (less what rolled into the next period).
CREATE VIEW credit_ledger.arrivals AS
WITH periods AS (
    SELECT al.account_id, al.name, al.amount, al.rollover_max, al.source, al.priority,
           al.last_bucket_id, al.next_issue_at AS first_start, p.start, p.k,
           pg_catalog.timezone('UTC', pg_catalog.date_trunc(al.period, pg_catalog.timezone('UTC', p.start))
               OPERATOR(pg_catalog.+) sp.span) AS period_end
    FROM credit_ledger.allowance al
    CROSS JOIN LATERAL (SELECT CASE al.period WHEN 'day' THEN interval '1 day'
                                              WHEN 'week' THEN interval '1 week'
                                              ELSE interval '1 month' END AS span) sp
    -- "due" is asked of each allowance here, not as a condition on the
    -- allowance rows: one account's rows are then found by the primary
    -- key, never by walking every allowance due (allowance_due, the sweep's)
    CROSS JOIN LATERAL (
        SELECT al.next_issue_at AS start, 1::bigint AS k
        WHERE al.next_issue_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
        UNION ALL
        -- the later periods begun; through an array, which the planner
        -- guesses short (a set-returning function in a lateral it guesses
        -- at 1,000 rows, and a plan that costly is JIT-compiled: a second
        -- per read of the accounts view)
        SELECT pg_catalog.timezone('UTC', s.t), s.n OPERATOR(pg_catalog.+) 1
        FROM pg_catalog.unnest(ARRAY(SELECT pg_catalog.generate_series(
                 pg_catalog.date_trunc(al.period, pg_catalog.timezone('UTC', al.next_issue_at))
                     OPERATOR(pg_catalog.+) sp.span,
                 pg_catalog.timezone('UTC', pg_catalog.statement_timestamp()), sp.span)))
             WITH ORDINALITY AS s(t, n)
    ) p
    WHERE al.ends_at IS NULL OR p.start OPERATOR(pg_catalog.<) al.ends_at
), due AS (
    SELECT b.account_id, b.effective_at AS arrives_at, 0 AS ord, b.bucket_id, b.entry_id AS scheduled_by,
           NULL::text AS allowance, 1::bigint AS k, b.granted AS amount, 0::bigint AS carry_0,
           NULL::bigint AS carry_from, 0::bigint AS rollover_max, b.expires_at, b.source, b.priority
    FROM credit_ledger.bucket b
    WHERE b.pending AND b.effective_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
    UNION ALL
    SELECT p.account_id, p.start, 1, NULL, NULL, p.name, p.k, p.amount,
           LEAST(COALESCE(lb.remaining, 0), p.rollover_max), lb.bucket_id,
           p.rollover_max, p.period_end, p.source, p.priority
    FROM periods p
    LEFT JOIN credit_ledger.bucket lb
      ON lb.account_id OPERATOR(pg_catalog.=) p.account_id
     AND lb.bucket_id OPERATOR(pg_catalog.=) p.last_bucket_id
     AND lb.live AND lb.expires_at OPERATOR(pg_catalog.=) p.first_start
), repaid AS (
    SELECT d.*,
           pg_catalog.row_number() OVER w AS seq,
           GREATEST(0, LEAST(d.amount, a.debt OPERATOR(pg_catalog.-)
               COALESCE(pg_catalog.sum(d.amount) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)))::bigint
               AS repaid
    FROM due d
    JOIN credit_ledger.account a ON a.account_id OPERATOR(pg_catalog.=) d.account_id
    WINDOW w AS (PARTITION BY d.account_id ORDER BY d.arrives_at, d.ord, d.bucket_id, d.allowance, d.k)
), carried AS (
    SELECT r.*,
           CASE WHEN r.allowance IS NULL THEN 0
                ELSE LEAST(r.rollover_max, r.carry_0 OPERATOR(pg_catalog.+)
                     COALESCE(pg_catalog.sum(r.amount OPERATOR(pg_catalog.-) r.repaid) OVER c, 0))
           END::bigint AS carry
    FROM repaid r
    WINDOW c AS (PARTITION BY r.account_id, r.allowance ORDER BY r.k
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT c.account_id, c.seq, c.arrives_at, c.bucket_id, c.scheduled_by, c.allowance, c.amount, c.repaid,
       c.carry,
       CASE WHEN c.k OPERATOR(pg_catalog.=) 1 AND c.carry OPERATOR(pg_catalog.>) 0 THEN c.carry_from END
           AS carry_bucket_id,
       c.expires_at, c.source, c.priority,
       CASE WHEN c.expires_at IS NULL OR c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()
            THEN c.amount OPERATOR(pg_catalog.-) c.repaid OPERATOR(pg_catalog.+) c.carry ELSE 0 END AS live,
       CASE WHEN c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
            THEN c.amount OPERATOR(pg_catalog.-) c.repaid OPERATOR(pg_catalog.+) c.carry
                 OPERATOR(pg_catalog.-) COALESCE(pg_catalog.lead(c.carry) OVER (PARTITION BY c.account_id, c.allowance ORDER BY c.k), 0)
            ELSE 0 END AS lapsed
FROM carried c;
COMMENT ON VIEW credit_ledger.arrivals IS
    'credit_ledger: credits due and not yet written (grants past effective_at, allowance periods begun): what the next call or the sweep writes, and what every read adds';
COMMENT ON COLUMN credit_ledger.arrivals.account_id IS 'the account';
COMMENT ON COLUMN credit_ledger.arrivals.seq IS 'the order they are written in';
COMMENT ON COLUMN credit_ledger.arrivals.arrives_at IS 'the instant the credits arrive (effective_at, or the period''s first instant)';
COMMENT ON COLUMN credit_ledger.arrivals.bucket_id IS 'a grant effective later: its bucket (NULL for an allowance period)';
COMMENT ON COLUMN credit_ledger.arrivals.scheduled_by IS 'a grant effective later: the grant entry that scheduled it';
COMMENT ON COLUMN credit_ledger.arrivals.allowance IS 'an allowance period: the allowance''s name';
COMMENT ON COLUMN credit_ledger.arrivals.amount IS 'new credits';
COMMENT ON COLUMN credit_ledger.arrivals.repaid IS 'the part of amount that repays debt';
COMMENT ON COLUMN credit_ledger.arrivals.carry IS 'credits rolled over from the previous period''s bucket';
COMMENT ON COLUMN credit_ledger.arrivals.carry_bucket_id IS 'the written bucket the carry comes from (NULL: from the previous period here, or none)';
COMMENT ON COLUMN credit_ledger.arrivals.expires_at IS 'when the bucket expires (an allowance''s: the period''s end)';
COMMENT ON COLUMN credit_ledger.arrivals.source IS 'the bucket''s source';
COMMENT ON COLUMN credit_ledger.arrivals.priority IS 'the bucket''s priority';
COMMENT ON COLUMN credit_ledger.arrivals.live IS 'what the bucket holds now';
COMMENT ON COLUMN credit_ledger.arrivals.lapsed IS 'what lapsed at its expiry, before now';

-- Listed once they are spendable: a grant effective later is not (its
-- bucket holds nothing yet); arrivals not yet written are, with the
-- bucket_id NULL for an allowance period whose bucket is still to write.
CREATE OR REPLACE VIEW credit_ledger.expiring_grants AS
SELECT b.account_id, b.bucket_id, b.source, b.remaining, b.expires_at
FROM credit_ledger.bucket b
WHERE b.live AND b.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()
UNION ALL
SELECT r.account_id, r.bucket_id, r.source, r.live, r.expires_at
FROM credit_ledger.arrivals r
WHERE r.live OPERATOR(pg_catalog.>) 0 AND r.expires_at IS NOT NULL;

-- The exact figures of 1.1: 1.0's view with the holds of 1.1 (a hold past
-- its expiry gives back what it still holds, its slices from expired
-- buckets lapsing, or is charged it: balance and total_consumed, written
-- or not), plus what the arrivals bring (g.granted), less what of them lapsed already, less the
-- rolled-over part of an expired allowance bucket that 1.0's d.lapsed
-- counts (g.moved: it went on into the next period's bucket); the next
-- expiry among the live buckets and the arrivals. An account with nothing
-- due has no arrivals (its next_expiry_at is at or before the next one).
CREATE OR REPLACE VIEW credit_ledger.accounts AS
SELECT a.account_id,
       a.balance OPERATOR(pg_catalog.-) d.lapsed OPERATOR(pg_catalog.-) dh.charged
           OPERATOR(pg_catalog.+) COALESCE(g.net, 0) AS balance,
       a.reserved OPERATOR(pg_catalog.-) dh.held AS reserved,
       a.balance OPERATOR(pg_catalog.-) d.lapsed OPERATOR(pg_catalog.-) dh.charged
           OPERATOR(pg_catalog.+) COALESCE(g.net, 0)
           OPERATOR(pg_catalog.-) (a.reserved OPERATOR(pg_catalog.-) dh.held) AS available,
       a.credit_limit,
       a.status,
       a.total_granted OPERATOR(pg_catalog.+) COALESCE(g.granted, 0) AS total_granted,
       a.total_consumed OPERATOR(pg_catalog.+) dh.charged AS total_consumed,
       a.total_expired OPERATOR(pg_catalog.+) d.lapsed
           OPERATOR(pg_catalog.+) COALESCE(g.lapsed OPERATOR(pg_catalog.-) g.moved, 0) AS total_expired,
       a.total_refunded,
       LEAST(n.next_expiry_at, g.next_expiry_at) AS next_expiry_at,
       CASE WHEN g.next_expiry_at IS NULL OR n.next_expiry_at OPERATOR(pg_catalog.<) g.next_expiry_at
            THEN n.next_expiry_amount
            WHEN n.next_expiry_at IS NULL OR g.next_expiry_at OPERATOR(pg_catalog.<) n.next_expiry_at
            THEN g.next_expiry_amount
            ELSE n.next_expiry_amount OPERATOR(pg_catalog.+) g.next_expiry_amount END AS next_expiry_amount,
       a.metadata,
       a.created_at,
       a.status_reason,
       a.status_changed_at
FROM credit_ledger.account a
CROSS JOIN LATERAL (
    SELECT CASE WHEN a.next_expiry_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
           THEN (SELECT COALESCE(pg_catalog.sum(b.remaining), 0)::bigint
                 FROM credit_ledger.bucket b
                 WHERE b.account_id OPERATOR(pg_catalog.=) a.account_id AND b.live
                   AND b.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp())
              OPERATOR(pg_catalog.+)
                (SELECT COALESCE(pg_catalog.sum(s.amount), 0)::bigint
                 FROM credit_ledger.hold h
                 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(h.slice_bucket_ids), pg_catalog.unnest(h.slice_amounts))
                      AS s(bucket_id, amount)
                 JOIN credit_ledger.bucket b
                   ON b.account_id OPERATOR(pg_catalog.=) h.account_id
                  AND b.bucket_id OPERATOR(pg_catalog.=) s.bucket_id
                 WHERE h.account_id OPERATOR(pg_catalog.=) a.account_id
                   AND h.state OPERATOR(pg_catalog.=) 'pending'
                   AND h.on_expiry OPERATOR(pg_catalog.=) 'release'
                   AND h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
                   AND b.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp())
           ELSE 0 END AS lapsed
) d
-- the holds past their expiry: what they still hold is no longer reserved,
-- and charged where they capture on expiry
CROSS JOIN LATERAL (
    SELECT COALESCE(pg_catalog.sum(h.amount OPERATOR(pg_catalog.-) h.captured), 0)::bigint AS held,
           COALESCE(pg_catalog.sum(h.amount OPERATOR(pg_catalog.-) h.captured)
               FILTER (WHERE h.on_expiry OPERATOR(pg_catalog.=) 'capture'), 0)::bigint AS charged
    FROM credit_ledger.hold h
    WHERE a.next_expiry_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
      AND h.account_id OPERATOR(pg_catalog.=) a.account_id
      AND h.state OPERATOR(pg_catalog.=) 'pending'
      AND h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
) dh
CROSS JOIN LATERAL (
    SELECT pg_catalog.min(b.expires_at) AS next_expiry_at,
           (pg_catalog.sum(b.remaining) FILTER (WHERE b.expires_at OPERATOR(pg_catalog.=)
               (SELECT pg_catalog.min(b2.expires_at) FROM credit_ledger.bucket b2
                WHERE b2.account_id OPERATOR(pg_catalog.=) a.account_id AND b2.live
                  AND b2.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp())))::bigint
               AS next_expiry_amount
    FROM credit_ledger.bucket b
    WHERE b.account_id OPERATOR(pg_catalog.=) a.account_id AND b.live
      AND b.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()
) n
-- not a lateral: one pass over what is due (nothing while the sweep keeps
-- up), hashed against the accounts, or for one account the arrivals view
-- is asked for that account only
LEFT JOIN (
    SELECT r.account_id,
           pg_catalog.sum(r.amount)::bigint AS granted,
           COALESCE(pg_catalog.sum(r.carry) FILTER (WHERE r.carry_bucket_id IS NOT NULL), 0)::bigint AS moved,
           pg_catalog.sum(r.lapsed)::bigint AS lapsed,
           pg_catalog.sum(r.amount OPERATOR(pg_catalog.-) r.lapsed)::bigint
               OPERATOR(pg_catalog.+)
           COALESCE(pg_catalog.sum(r.carry) FILTER (WHERE r.carry_bucket_id IS NOT NULL), 0)::bigint AS net,
           pg_catalog.min(r.expires_at) FILTER (WHERE r.live OPERATOR(pg_catalog.>) 0) AS next_expiry_at,
           pg_catalog.sum(r.live) FILTER (WHERE r.live OPERATOR(pg_catalog.>) 0
               AND r.expires_at OPERATOR(pg_catalog.=) r.first_expiry)::bigint AS next_expiry_amount
    FROM (SELECT x.*, pg_catalog.min(x.expires_at) FILTER (WHERE x.live OPERATOR(pg_catalog.>) 0)
                          OVER (PARTITION BY x.account_id) AS first_expiry
          FROM credit_ledger.arrivals x) r
    GROUP BY r.account_id
) g ON g.account_id OPERATOR(pg_catalog.=) a.account_id;

-- An account's allowances with the exact next period: one whose start has
-- come is counted already, whether or not it was written (the next starts
-- where the last period the arrivals view counts ends).
CREATE VIEW credit_ledger.allowances AS
SELECT al.account_id, al.name, al.amount, al.period, al.rollover_max, al.source, al.priority,
       al.starts_at, al.ends_at,
       CASE WHEN al.next_issue_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()
                 OR al.next_issue_at IS NULL THEN al.next_issue_at
            WHEN al.ends_at IS NULL OR cur.period_end OPERATOR(pg_catalog.<) al.ends_at THEN cur.period_end
       END AS next_issue_at,
       al.created_at
FROM credit_ledger.allowance al
LEFT JOIN LATERAL (
    SELECT r.expires_at AS period_end
    FROM credit_ledger.arrivals r
    WHERE al.next_issue_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
      AND r.account_id OPERATOR(pg_catalog.=) al.account_id
      AND r.allowance OPERATOR(pg_catalog.=) al.name
    ORDER BY r.seq DESC
    LIMIT 1
) cur ON true;
COMMENT ON VIEW credit_ledger.allowances IS
    'credit_ledger: every allowance (set_allowance), with its next period''s first instant (NULL once ended)';
COMMENT ON COLUMN credit_ledger.allowances.account_id IS 'the account that receives it';
COMMENT ON COLUMN credit_ledger.allowances.name IS 'its name';
COMMENT ON COLUMN credit_ledger.allowances.amount IS 'new credits each period';
COMMENT ON COLUMN credit_ledger.allowances.period IS 'day, week (from Monday) or month, on the UTC calendar';
COMMENT ON COLUMN credit_ledger.allowances.rollover_max IS 'most credits the previous period''s bucket passes on';
COMMENT ON COLUMN credit_ledger.allowances.source IS 'the source of its buckets';
COMMENT ON COLUMN credit_ledger.allowances.priority IS 'the priority of its buckets';
COMMENT ON COLUMN credit_ledger.allowances.starts_at IS 'when its first bucket arrived or arrives';
COMMENT ON COLUMN credit_ledger.allowances.ends_at IS 'no period starts at or after it (NULL: open)';
COMMENT ON COLUMN credit_ledger.allowances.next_issue_at IS 'when the next period''s bucket arrives (NULL: no more)';
COMMENT ON COLUMN credit_ledger.allowances.created_at IS 'when it was first set';

CREATE FUNCTION credit_ledger.set_allowance(account_id bigint, name text, amount bigint, period text,
                                            rollover_max bigint DEFAULT 0,
                                            source text DEFAULT 'allowance',
                                            priority integer DEFAULT -1,
                                            starts_at timestamptz DEFAULT now(),
                                            ends_at timestamptz DEFAULT NULL)
    RETURNS void
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_set_allowance';
COMMENT ON FUNCTION credit_ledger.set_allowance(bigint, text, bigint, text, bigint, text, integer, timestamptz, timestamptz) IS
    'gives the account a bucket of amount credits every UTC day, week or month from starts_at (until ends_at), plus at most rollover_max of what the previous period''s bucket left, expiring at the period''s end; setting an existing name changes it from its next period on; opens the account if missing';

CREATE FUNCTION credit_ledger.end_allowance(account_id bigint, name text)
    RETURNS void
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_end_allowance';
COMMENT ON FUNCTION credit_ledger.end_allowance(bigint, text) IS
    'ends an allowance now: no further period starts (the current period''s bucket keeps its credits until its end); 22023 for an unknown name';

REVOKE ALL ON FUNCTION credit_ledger.set_allowance(bigint, text, bigint, text, bigint, text, integer, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.end_allowance(bigint, text) FROM PUBLIC;

---------------------------------------------------------------------------
-- The consumption index, built once for every 1.1 section above
---------------------------------------------------------------------------

-- consumption() and the spend counters read it as an index-only scan: it
-- covers the 1.1 consumption kind (capture) and columns (cache writes, the
-- subject a team dashboard filters on).
-- Rebuilding it is the one step of the update that reads the whole ledger
-- (README, "Upgrading": writes to entry wait while it runs), so every 1.1
-- change to it is made here, in one build.
DROP INDEX credit_ledger.entry_consumption;
CREATE INDEX entry_consumption ON credit_ledger.entry (account_id, created_at)
    INCLUDE (amount, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cache_write_tokens,
             subject)
    WHERE kind IN ('deduct', 'confirm', 'capture');

---------------------------------------------------------------------------
-- Transfers between two servers: the steps of the saga (DESIGN 21). A
-- router (sql/credit_ledger_router.sql) moves credits between accounts of
-- two shards as a hold on the sender's shard (transfer_hold), the grant on
-- the receiver's (transfer_receive) and the settling of the hold as the
-- transfer_out entry (transfer_settle), or its release when the receiver
-- refused (transfer_undo). Each step is idempotent on (from_account,
-- event_id); the saga's state is the sender's transfer_leg row, so that a
-- retry or the router's resume_transfers() finishes what a crash left.
---------------------------------------------------------------------------

-- A transfer's hold: it never expires by itself (expires_at infinity), and
-- capture, confirm, cancel, extend_hold and a charge refuse it (LD005); only
-- its saga settles it. It is not spend: spend limits do not count it.
ALTER TABLE credit_ledger.hold ADD COLUMN transfer_to bigint;
COMMENT ON COLUMN credit_ledger.hold.transfer_to IS
    'a transfer''s hold (transfer_hold): the account on another server the held credits go to; NULL for every other hold';

-- One row per side of a transfer between two servers, on that side's server.
CREATE TABLE credit_ledger.transfer_leg (
    from_account     bigint NOT NULL,
    event_id         text NOT NULL,
    side             text NOT NULL CHECK (side IN ('out', 'in')),
    to_account       bigint NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    state            text NOT NULL
                     CHECK (state IN ('held', 'settled', 'undone', 'received', 'refused')),
    hold_id          bigint,
    out_entry_id     bigint,
    in_entry_id      bigint,
    part_amounts     bigint[] NOT NULL,
    part_sources     text[] NOT NULL,
    part_priorities  integer[] NOT NULL,
    part_expires_at  timestamptz[] NOT NULL,
    description      text,
    metadata         jsonb,
    error_sqlstate   text,
    error_message    text,
    error_detail     text,
    created_at       timestamptz NOT NULL,
    resolved_at      timestamptz,
    PRIMARY KEY (from_account, event_id, side),
    CHECK ((side = 'out') = (state IN ('held', 'settled', 'undone')))
);
-- resume_transfers() finds the sagas a crash left, oldest first
CREATE INDEX transfer_leg_held ON credit_ledger.transfer_leg (created_at)
    WHERE state OPERATOR(pg_catalog.=) 'held';
COMMENT ON TABLE credit_ledger.transfer_leg IS
    'credit_ledger: the side on this server of a transfer between two servers (a saga run by the router): out = the sender''s (its state is the saga''s), in = the receiver''s';
COMMENT ON COLUMN credit_ledger.transfer_leg.from_account IS 'the sending account';
COMMENT ON COLUMN credit_ledger.transfer_leg.event_id IS 'the sender''s event_id: with from_account, the key of the transfer on both servers';
COMMENT ON COLUMN credit_ledger.transfer_leg.side IS 'out: the sender''s side (its hold, then its transfer_out entry); in: the receiver''s (its transfer_in entry)';
COMMENT ON COLUMN credit_ledger.transfer_leg.to_account IS 'the receiving account';
COMMENT ON COLUMN credit_ledger.transfer_leg.amount IS 'credits moved';
COMMENT ON COLUMN credit_ledger.transfer_leg.state IS 'out: held (in flight), settled (moved) or undone (the receiver refused; the hold released); in: received or refused';
COMMENT ON COLUMN credit_ledger.transfer_leg.hold_id IS 'out: the hold on from_account that keeps the credits while the saga runs';
COMMENT ON COLUMN credit_ledger.transfer_leg.out_entry_id IS 'out: the transfer_out entry (once settled)';
COMMENT ON COLUMN credit_ledger.transfer_leg.in_entry_id IS 'the transfer_in entry: in, this server''s; out, the receiver''s server''s (once settled)';
COMMENT ON COLUMN credit_ledger.transfer_leg.part_amounts IS 'the credits per bucket they left, in burn-down order';
COMMENT ON COLUMN credit_ledger.transfer_leg.part_sources IS 'each part''s source, kept by the receiver''s bucket';
COMMENT ON COLUMN credit_ledger.transfer_leg.part_priorities IS 'each part''s priority, kept by the receiver''s bucket';
COMMENT ON COLUMN credit_ledger.transfer_leg.part_expires_at IS 'each part''s expiry (NULL: never), kept by the receiver''s bucket';
COMMENT ON COLUMN credit_ledger.transfer_leg.description IS 'the transfer''s description, on both entries';
COMMENT ON COLUMN credit_ledger.transfer_leg.metadata IS 'the transfer''s metadata, on both entries';
COMMENT ON COLUMN credit_ledger.transfer_leg.error_sqlstate IS 'refused, undone: the receiver''s refusal (LD002, LD003)';
COMMENT ON COLUMN credit_ledger.transfer_leg.error_message IS 'refused, undone: the refusal''s message';
COMMENT ON COLUMN credit_ledger.transfer_leg.error_detail IS 'refused, undone: the refusal''s DETAIL';
COMMENT ON COLUMN credit_ledger.transfer_leg.created_at IS 'the instant of the step that wrote it (transfer_hold, transfer_receive)';
COMMENT ON COLUMN credit_ledger.transfer_leg.resolved_at IS 'out: when it was settled or undone';
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.transfer_leg', '');

CREATE TYPE credit_ledger.transfer_step AS (
    state            text,
    entry_id         bigint,
    hold_id          bigint,
    out_entry_id     bigint,
    in_entry_id      bigint,
    balance          bigint,
    available        bigint,
    part_amounts     bigint[],
    part_sources     text[],
    part_priorities  integer[],
    part_expires_at  timestamptz[],
    error_sqlstate   text,
    error_message    text,
    error_detail     text,
    replayed         boolean
);
COMMENT ON TYPE credit_ledger.transfer_step IS
    'result of a step of a transfer between two servers: the leg''s state after it, the entry the step wrote, this side''s account figures, the parts, the receiver''s refusal; replayed = true when the step had run before';
COMMENT ON COLUMN credit_ledger.transfer_step.state IS 'the leg''s state after the step (held, settled, undone, received, refused)';
COMMENT ON COLUMN credit_ledger.transfer_step.entry_id IS 'the entry the step wrote (reserve, transfer_in, transfer_out, cancel); NULL for a refusal';
COMMENT ON COLUMN credit_ledger.transfer_step.hold_id IS 'the sender''s hold';
COMMENT ON COLUMN credit_ledger.transfer_step.out_entry_id IS 'the transfer_out entry, once settled';
COMMENT ON COLUMN credit_ledger.transfer_step.in_entry_id IS 'the transfer_in entry, once received';
COMMENT ON COLUMN credit_ledger.transfer_step.balance IS 'this side''s balance after the step (as its entry left it); NULL for a refusal';
COMMENT ON COLUMN credit_ledger.transfer_step.available IS 'this side''s available after the step (as its entry left it); NULL for a refusal';
COMMENT ON COLUMN credit_ledger.transfer_step.part_amounts IS 'the credits per bucket they left, what transfer_receive gives the receiver';
COMMENT ON COLUMN credit_ledger.transfer_step.part_sources IS 'each part''s source';
COMMENT ON COLUMN credit_ledger.transfer_step.part_priorities IS 'each part''s priority';
COMMENT ON COLUMN credit_ledger.transfer_step.part_expires_at IS 'each part''s expiry (NULL: never)';
COMMENT ON COLUMN credit_ledger.transfer_step.error_sqlstate IS 'refused, undone: the receiver''s SQLSTATE';
COMMENT ON COLUMN credit_ledger.transfer_step.error_message IS 'refused, undone: its message';
COMMENT ON COLUMN credit_ledger.transfer_step.error_detail IS 'refused, undone: its DETAIL';
COMMENT ON COLUMN credit_ledger.transfer_step.replayed IS 'true when the step had run before with this key: nothing happened again';

CREATE FUNCTION credit_ledger.transfer_hold(from_account bigint, to_account bigint, amount bigint,
                                            event_id text, description text DEFAULT NULL,
                                            metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.transfer_step
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_transfer_hold';
COMMENT ON FUNCTION credit_ledger.transfer_hold(bigint, bigint, bigint, text, text, jsonb) IS
    'step 1 of a transfer to an account of another server (the router runs it): holds credits the sender holds (never its credit limit) in a hold that never expires by itself, returns the parts (source, expiry, priority per bucket) for transfer_receive; idempotent on (from_account, event_id), a repeat returns the saga''s state; LD001, LD002, LD003 change nothing';

CREATE FUNCTION credit_ledger.transfer_receive(to_account bigint, from_account bigint, event_id text,
                                               amount bigint, part_amounts bigint[],
                                               part_sources text[], part_priorities integer[],
                                               part_expires_at timestamptz[],
                                               description text DEFAULT NULL,
                                               metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.transfer_step
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_transfer_receive';
COMMENT ON FUNCTION credit_ledger.transfer_receive(bigint, bigint, text, bigint, bigint[], text[], integer[], timestamptz[], text, jsonb) IS
    'step 2 of a transfer between two servers, on the receiver''s: the parts enter to_account (entry transfer_in, debt repaid first, each part a bucket with its source, expiry and priority), state received; a receiver missing (LD002) or closed (LD003) is state refused with the error in the result, once and for good; idempotent on (from_account, event_id)';

CREATE FUNCTION credit_ledger.transfer_settle(from_account bigint, event_id text, in_entry_id bigint)
    RETURNS credit_ledger.transfer_step
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_transfer_settle';
COMMENT ON FUNCTION credit_ledger.transfer_settle(bigint, text, bigint) IS
    'step 3 of a transfer between two servers, on the sender''s, once transfer_receive received: the hold becomes the transfer_out entry (not consumption), naming the receiver''s entry in_entry_id; state settled; idempotent; LD005 for a saga undone';

CREATE FUNCTION credit_ledger.transfer_undo(from_account bigint, event_id text, error_sqlstate text,
                                            error_message text, error_detail text)
    RETURNS credit_ledger.transfer_step
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_transfer_undo';
COMMENT ON FUNCTION credit_ledger.transfer_undo(bigint, text, text, text, text) IS
    'step 3 of a transfer between two servers when transfer_receive refused: releases the hold (entry cancel) and keeps the receiver''s error, which a repeat of the transfer gets again; state undone; idempotent; LD005 for a saga settled';

CREATE FUNCTION credit_ledger.transfers_in_flight(older_than interval DEFAULT '0 seconds',
                                                  max_rows integer DEFAULT 100)
    RETURNS SETOF credit_ledger.transfer_leg
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.* FROM credit_ledger.transfer_leg l
    WHERE l.state OPERATOR(pg_catalog.=) 'held'
      AND l.created_at OPERATOR(pg_catalog.<=) (pg_catalog.statement_timestamp() OPERATOR(pg_catalog.-) older_than)
    ORDER BY l.created_at, l.from_account, l.event_id
    LIMIT max_rows
$$;
COMMENT ON FUNCTION credit_ledger.transfers_in_flight(interval, integer) IS
    'the sender''s legs of transfers between two servers still held (a router call in flight, or one a crash left), started at least older_than ago, oldest first: what the router''s resume_transfers() finishes';

-- A transfer's hold is not spend: the spend limits' held counters and
-- limits() leave it out.
CREATE OR REPLACE FUNCTION credit_ledger.held_for(account_id bigint, subject text)
    RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(sum(h.amount - h.captured), 0)::bigint
    FROM credit_ledger.hold h
    JOIN credit_ledger.entry r ON r.account_id = h.account_id AND r.event_id = h.event_id
    WHERE h.account_id = held_for.account_id AND h.state = 'pending' AND h.transfer_to IS NULL
      AND (held_for.subject IS NULL OR r.subject = held_for.subject)
$$;

CREATE OR REPLACE FUNCTION credit_ledger.limits(account_id bigint)
    RETURNS TABLE (subject text, period text, max_credits bigint, used bigint, held bigint,
                   remaining bigint, resets_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM credit_ledger.require_arguments('limits', ARRAY['account_id'],
        ARRAY[limits.account_id IS NOT NULL]);
    -- exact without writing: a counter of an older period reads as 0, and a
    -- hold past its expiry no longer holds; a transfer's hold is not spend
    RETURN QUERY
    SELECT l.subject, l.period, l.max_credits, u.used, u.held,
           greatest(l.max_credits - u.used - u.held, 0), s.resets_at
    FROM credit_ledger.spend_limit l
    CROSS JOIN LATERAL credit_ledger.spend_period(l.period, statement_timestamp()) s
    CROSS JOIN LATERAL (
        SELECT CASE WHEN l.period_start = s.starts_at THEN l.used ELSE 0 END AS used,
               (SELECT COALESCE(sum(h.amount), 0)::bigint
                FROM credit_ledger.pending_holds h
                JOIN credit_ledger.entry r ON r.account_id = h.account_id AND r.event_id = h.event_id
                JOIN credit_ledger.hold th ON th.account_id = h.account_id AND th.hold_id = h.hold_id
                WHERE h.account_id = l.account_id AND th.transfer_to IS NULL
                  AND (l.subject IS NULL OR r.subject = l.subject)) AS held
    ) u
    WHERE l.account_id = limits.account_id
    ORDER BY l.subject NULLS FIRST, array_position(ARRAY['day', 'week', 'month'], l.period);
END
$$;

-- verify()'s transfer checks with the sides of transfers between two
-- servers: each leg against this server's entry and hold (the other side
-- is on the other server, where its own leg is checked).
CREATE OR REPLACE FUNCTION credit_ledger.verify_teams(account_id bigint)
    RETURNS TABLE (account_id bigint, check_name text, expected text, actual text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.account_id, c.check_name, c.expected, c.actual
    FROM credit_ledger.spend_limit l
    CROSS JOIN LATERAL credit_ledger.spend_period(l.period, l.period_start) s
    CROSS JOIN LATERAL (VALUES
        (format('spend limit %s %s: period_start starts a period', COALESCE(l.subject, '(account)'), l.period),
         s.starts_at::text, l.period_start::text),
        -- consumption() counts a hold that captures on expiry from its
        -- expires_at on; the counter counts it when the capture is written
        (format('spend limit %s %s: used is the period''s consumption', COALESCE(l.subject, '(account)'), l.period),
         (SELECT c.credits FROM credit_ledger.consumption(l.account_id, s.starts_at, s.resets_at, l.subject) c)::text,
         (l.used + credit_ledger.due_captures(l.account_id, l.subject, s.starts_at, s.resets_at))::text),
        (format('spend limit %s %s: held is the pending holds', COALESCE(l.subject, '(account)'), l.period),
         credit_ledger.held_for(l.account_id, l.subject)::text, l.held::text)
    ) AS c(check_name, expected, actual)
    WHERE (verify_teams.account_id IS NULL OR l.account_id = verify_teams.account_id)
      AND c.expected IS DISTINCT FROM c.actual
    UNION ALL
    SELECT a.account_id, 'spend_limits counts the account''s limits',
           (SELECT count(*) FROM credit_ledger.spend_limit l WHERE l.account_id = a.account_id)::text,
           a.spend_limits::text
    FROM credit_ledger.account a
    WHERE (verify_teams.account_id IS NULL OR a.account_id = verify_teams.account_id)
      AND a.spend_limits <> (SELECT count(*) FROM credit_ledger.spend_limit l WHERE l.account_id = a.account_id)
    UNION ALL
    -- both sides of a transfer: out on the sender, in on the receiver, the same credits
    SELECT t.from_account, 'transfer: both sides match',
           format('transfer_out -%s on %s, transfer_in %s on %s', t.amount, t.from_account, t.amount, t.to_account),
           format('%s %s on %s, %s %s on %s', o.kind, o.amount, o.account_id, i.kind, i.amount, i.account_id)
    FROM credit_ledger.transfer t
    LEFT JOIN credit_ledger.entry o ON o.account_id = t.from_account AND o.entry_id = t.out_entry_id
    LEFT JOIN credit_ledger.entry i ON i.account_id = t.to_account AND i.entry_id = t.in_entry_id
    WHERE (verify_teams.account_id IS NULL OR verify_teams.account_id IN (t.from_account, t.to_account))
      AND (o.kind IS DISTINCT FROM 'transfer_out' OR i.kind IS DISTINCT FROM 'transfer_in'
           OR o.amount IS DISTINCT FROM -t.amount OR i.amount IS DISTINCT FROM t.amount
           OR o.ref_entry_id IS DISTINCT FROM t.in_entry_id OR i.ref_entry_id IS DISTINCT FROM t.out_entry_id)
    UNION ALL
    -- the sender's leg of a transfer between servers: held by its pending
    -- hold of the amount, settled as its transfer_out entry (naming the
    -- receiver's entry) with the hold ended, undone with the hold cancelled
    SELECT g.from_account, 'transfer between servers: the sender''s side',
           format('%s: %s', g.state, CASE g.state
               WHEN 'held' THEN format('hold %s pending for %s to %s', g.hold_id, g.amount, g.to_account)
               WHEN 'settled' THEN format('hold %s confirmed, transfer_out -%s naming %s', g.hold_id, g.amount, g.in_entry_id)
               ELSE format('hold %s cancelled', g.hold_id) END),
           format('%s: hold %s %s for %s to %s, %s %s naming %s', g.state, h.hold_id, h.state,
                  h.amount, h.transfer_to, o.kind, o.amount, o.ref_entry_id)
    FROM credit_ledger.transfer_leg g
    LEFT JOIN credit_ledger.hold h ON h.account_id = g.from_account AND h.hold_id = g.hold_id
    LEFT JOIN credit_ledger.entry o ON o.account_id = g.from_account AND o.entry_id = g.out_entry_id
    WHERE g.side = 'out'
      AND (verify_teams.account_id IS NULL OR g.from_account = verify_teams.account_id)
      AND (h.amount IS DISTINCT FROM g.amount OR h.transfer_to IS DISTINCT FROM g.to_account
           OR h.state IS DISTINCT FROM CASE g.state WHEN 'held' THEN 'pending'
                                                    WHEN 'settled' THEN 'confirmed' ELSE 'cancelled' END
           OR (g.state = 'settled' AND (o.kind IS DISTINCT FROM 'transfer_out'
               OR o.amount IS DISTINCT FROM -g.amount OR o.ref_entry_id IS DISTINCT FROM g.in_entry_id
               OR o.hold_id IS DISTINCT FROM g.hold_id))
           OR (g.state <> 'settled' AND g.out_entry_id IS NOT NULL))
    UNION ALL
    -- the receiver's leg: received as its transfer_in entry of the amount
    SELECT g.to_account, 'transfer between servers: the receiver''s side',
           format('transfer_in %s', g.amount), format('%s %s', i.kind, i.amount)
    FROM credit_ledger.transfer_leg g
    LEFT JOIN credit_ledger.entry i ON i.account_id = g.to_account AND i.entry_id = g.in_entry_id
    WHERE g.side = 'in' AND g.state = 'received'
      AND (verify_teams.account_id IS NULL OR g.to_account = verify_teams.account_id)
      AND (i.kind IS DISTINCT FROM 'transfer_in' OR i.amount IS DISTINCT FROM g.amount)
    UNION ALL
    -- every transfer hold has its leg
    SELECT h.account_id, 'transfer holds belong to a transfer', 'a transfer leg',
           format('hold %s has none', h.hold_id)
    FROM credit_ledger.hold h
    WHERE h.transfer_to IS NOT NULL
      AND (verify_teams.account_id IS NULL OR h.account_id = verify_teams.account_id)
      AND NOT EXISTS (SELECT FROM credit_ledger.transfer_leg g
                      WHERE g.side = 'out' AND g.from_account = h.account_id AND g.hold_id = h.hold_id)
    UNION ALL
    -- and no transfer entry outside a transfer (of this server or between two)
    SELECT e.account_id, 'transfer entries belong to a transfer', 'a transfer',
           format('%s entry %s has none', e.kind, e.entry_id)
    FROM credit_ledger.entry e
    WHERE e.kind IN ('transfer_out', 'transfer_in')
      AND (verify_teams.account_id IS NULL OR e.account_id = verify_teams.account_id)
      AND NOT EXISTS (SELECT FROM credit_ledger.transfer t
                      WHERE (e.kind = 'transfer_out' AND t.from_account = e.account_id AND t.out_entry_id = e.entry_id)
                         OR (e.kind = 'transfer_in' AND t.to_account = e.account_id AND t.in_entry_id = e.entry_id))
      AND NOT EXISTS (SELECT FROM credit_ledger.transfer_leg g
                      WHERE (e.kind = 'transfer_out' AND g.side = 'out' AND g.from_account = e.account_id
                             AND g.out_entry_id = e.entry_id)
                         OR (e.kind = 'transfer_in' AND g.side = 'in' AND g.to_account = e.account_id
                             AND g.in_entry_id = e.entry_id))
$$;

-- the router's mapped user is granted the steps by name (README, Roles)
REVOKE ALL ON FUNCTION credit_ledger.transfer_hold(bigint, bigint, bigint, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.transfer_receive(bigint, bigint, text, bigint, bigint[], text[], integer[], timestamptz[], text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.transfer_settle(bigint, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.transfer_undo(bigint, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.transfers_in_flight(interval, integer) FROM PUBLIC;
