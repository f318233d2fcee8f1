\echo Use "ALTER EXTENSION credit_ledger UPDATE TO '1.1'" to load this file. \quit

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
    -- the writing transaction: poll_events delivers an event only once every
    -- transaction that started before it has ended, so none is skipped
    xid         xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id()
);
CREATE INDEX event_delivery ON credit_ledger.event (xid, event_seq);

COMMENT ON TABLE credit_ledger.event IS
    'credit_ledger: events (balance crossings, expiries), written with the change they report; read them with poll_events or the events view';
COMMENT ON COLUMN credit_ledger.event.event_seq IS 'increasing in the order the events were written (not always the order they committed)';
COMMENT ON COLUMN credit_ledger.event.account_id IS 'the account the event is about';
COMMENT ON COLUMN credit_ledger.event.kind IS 'balance.low, balance.depleted, balance.recovered, hold.expired or grant.expired';
COMMENT ON COLUMN credit_ledger.event.entry_id IS 'the ledger entry of the change (the call''s own entry, or the expiry''s)';
COMMENT ON COLUMN credit_ledger.event.payload IS 'the figures: available_before, available_after, balance, threshold, hold_id, bucket_id, amount (those that apply)';
COMMENT ON COLUMN credit_ledger.event.created_at IS 'the instant of the call that wrote the event';
COMMENT ON COLUMN credit_ledger.event.xid IS 'the writing transaction, for delivery in an order that never skips a late commit';

-- A consumer's cursor: everything up to (after_xid, after_seq) is acknowledged.
CREATE TABLE credit_ledger.event_consumer (
    consumer       text PRIMARY KEY CHECK (consumer OPERATOR(pg_catalog.<>) ''),
    after_xid      xid8 NOT NULL DEFAULT '0',
    after_seq      bigint NOT NULL DEFAULT 0,
    registered_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    acked_at       timestamptz
);
COMMENT ON TABLE credit_ledger.event_consumer IS
    'credit_ledger: the consumers of events, registered by their first poll_events, with what each has acknowledged';
COMMENT ON COLUMN credit_ledger.event_consumer.consumer IS 'the name the consumer polls with';
COMMENT ON COLUMN credit_ledger.event_consumer.after_xid IS 'the xid of the last event acknowledged';
COMMENT ON COLUMN credit_ledger.event_consumer.after_seq IS 'the event_seq of the last event acknowledged';
COMMENT ON COLUMN credit_ledger.event_consumer.registered_at IS 'when the consumer first polled';
COMMENT ON COLUMN credit_ledger.event_consumer.acked_at IS 'when it last acknowledged';

SELECT pg_catalog.pg_extension_config_dump('credit_ledger.event', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.event_event_seq_seq', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.event_consumer', '');

CREATE VIEW credit_ledger.events AS
    SELECT e.event_seq, e.account_id, e.kind, e.entry_id, e.payload, e.created_at
    FROM credit_ledger.event e;
COMMENT ON VIEW credit_ledger.events IS
    'credit_ledger: the events kept (see credit_ledger.event_retention), newest last by event_seq';

CREATE FUNCTION credit_ledger.set_alert(account_id bigint, low_balance bigint)
    RETURNS void
    LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_set_alert';
COMMENT ON FUNCTION credit_ledger.set_alert(bigint, bigint) IS
    'sets the account''s low-balance threshold (NULL removes it): available going from at least it to below it writes one balance.low event; LD002 for an unknown account';

-- The consumer's next events, in the order of their transactions: an event
-- is delivered once every transaction older than its own has ended, so one
-- that commits late is held back, never skipped. At least once: the same
-- events come again until ack_events moves the cursor.
CREATE FUNCTION credit_ledger.poll_events(consumer text, max_rows integer DEFAULT 100)
    RETURNS SETOF credit_ledger.events
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cursor_xid xid8;
    cursor_seq bigint;
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
    SELECT c.after_xid, c.after_seq INTO cursor_xid, cursor_seq
    FROM credit_ledger.event_consumer c WHERE c.consumer = poll_events.consumer;
    IF NOT FOUND THEN
        -- registered from the oldest event still kept
        INSERT INTO credit_ledger.event_consumer (consumer) VALUES (poll_events.consumer)
        ON CONFLICT DO NOTHING;
        cursor_xid := '0';
        cursor_seq := 0;
    END IF;
    RETURN QUERY
    SELECT e.event_seq, e.account_id, e.kind, e.entry_id, e.payload, e.created_at
    FROM credit_ledger.event e
    WHERE (e.xid, e.event_seq) > (cursor_xid, cursor_seq)
      AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY e.xid, e.event_seq
    LIMIT poll_events.max_rows;
END
$$;
COMMENT ON FUNCTION credit_ledger.poll_events(text, integer) IS
    'the consumer''s next events (registering it on first use, from the oldest kept), in an order that never skips one committed late; the same ones again until ack_events';

CREATE FUNCTION credit_ledger.ack_events(consumer text, up_to_seq bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF ack_events.consumer IS NULL OR ack_events.up_to_seq IS NULL THEN
        RAISE EXCEPTION '% must not be null',
                        CASE WHEN ack_events.consumer IS NULL THEN 'consumer' ELSE 'up_to_seq' END
            USING ERRCODE = '22004',
                  DETAIL = 'credit_ledger.ack_events() takes a consumer name and an event_seq it polled.';
    END IF;
    UPDATE credit_ledger.event_consumer c
    SET after_xid = e.xid, after_seq = e.event_seq, acked_at = now()
    FROM credit_ledger.event e
    WHERE c.consumer = ack_events.consumer AND e.event_seq = ack_events.up_to_seq
      AND (e.xid, e.event_seq) > (c.after_xid, c.after_seq);
    IF FOUND THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM credit_ledger.event_consumer c WHERE c.consumer = ack_events.consumer) THEN
        RAISE EXCEPTION 'consumer not registered'
            USING ERRCODE = '22023',
                  DETAIL = format('No consumer "%s": its first poll_events registers it.', ack_events.consumer);
    END IF;
    IF NOT EXISTS (SELECT FROM credit_ledger.event e WHERE e.event_seq = ack_events.up_to_seq) THEN
        RAISE EXCEPTION 'event not found'
            USING ERRCODE = '22023',
                  DETAIL = format('No event %s is kept; acknowledge an event_seq poll_events returned.',
                                  ack_events.up_to_seq);
    END IF;
    -- acknowledged already: nothing to move
END
$$;
COMMENT ON FUNCTION credit_ledger.ack_events(text, bigint) IS
    'acknowledges every event up to the polled event up_to_seq for the consumer; acknowledging an older one again changes nothing';

REVOKE ALL ON FUNCTION credit_ledger.set_alert(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.poll_events(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION credit_ledger.ack_events(text, bigint) FROM PUBLIC;
