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
