-- credit_ledger_router.sql: the router of a sharded credit_ledger (README,
-- "Scaling out"). Apply with psql to a router database that has
-- CREATE EXTENSION plproxy, after the operator has described the shards as
-- the PL/Proxy cluster credit_ledger:
--
--   CREATE SERVER credit_ledger FOREIGN DATA WRAPPER plproxy
--       OPTIONS (connection_lifetime '1800',
--                p0 'dbname=app host=shard0 port=5432',
--                p1 'dbname=app host=shard1 port=5432', ...);   -- a power of two
--   CREATE USER MAPPING FOR PUBLIC SERVER credit_ledger OPTIONS (user 'app');
--
-- and the config database (where the rule and product tables are edited) as
-- the one-partition cluster credit_ledger_config, for import_prices:
--
--   CREATE SERVER credit_ledger_config FOREIGN DATA WRAPPER plproxy
--       OPTIONS (p0 'dbname=config host=config.internal port=5432');
--   CREATE USER MAPPING FOR PUBLIC SERVER credit_ledger_config OPTIONS (user 'ledger_operator');
--
-- Every shard is an ordinary server with the extension and its worker. This
-- script creates schema credit_ledger with the public functions of the
-- extension (1.0 and 1.1), same names, argument lists, defaults and result
-- types, and nothing else but the result types and a few helpers named _*:
--
-- - a call that names an account runs on the shard hashint8(account_id)
--   picks (PL/Proxy masks the hash with shard count - 1);
-- - pay_order, cancel_order and refund_order name an order, not an account: they run on
--   every shard, the shard that has the order answers and the others return
--   no row (an order no shard has is asked of shard 0 for its LD011);
-- - quote, resolve_price and products() read reference data, the same on
--   every shard (logical replication): they run on any one shard;
--   import_prices writes it, on the config database;
-- - the readings and housekeeping run on all shards and are merged: verify,
--   sweep (summed), worker_status (a row per shard), the views as functions
--   (accounts(), entries(), pending_holds(), expiring_grants(), events(),
--   orders(), allowances()), and poll_events / ack_events with a cursor per shard (event_seq
--   is renumbered as shard_seq * shard count + shard, see _event_seq);
-- - transfer between accounts of one shard is that shard's transfer; between
--   two shards it is a saga of idempotent steps (_transfer_finish), finished
--   after a crash by a retry or by resume_transfers() (which sweep() runs).
--
-- - the batches (deduct_many, charge_many) span accounts: the router splits
--   one per shard, runs each shard's part there as one batch (its items in
--   their order), and numbers the rows back to the caller's items (see
--   "Batches" below: each shard commits its part on its own).
--
-- Errors raised on a shard reach the caller with their SQLSTATE, message and
-- DETAIL (PL/Proxy re-raises them); test/scale.sh checks it.

CREATE SCHEMA credit_ledger;
REVOKE ALL ON SCHEMA credit_ledger FROM PUBLIC;

---------------------------------------------------------------------------
-- Result types: the shards' composite types and view rows, column for column
---------------------------------------------------------------------------

CREATE TYPE credit_ledger.op_result AS (
    entry_id bigint, hold_id bigint, account_id bigint, amount bigint,
    balance bigint, reserved bigint, available bigint, replayed boolean);

CREATE TYPE credit_ledger.batch_result AS (
    item integer, sqlstate text, message text,
    entry_id bigint, hold_id bigint, account_id bigint, amount bigint,
    balance bigint, reserved bigint, available bigint, replayed boolean);

CREATE TYPE credit_ledger.account_balance AS (
    account_id bigint, balance bigint, reserved bigint, available bigint,
    credit_limit bigint, status text, total_granted bigint, total_consumed bigint,
    total_expired bigint, total_refunded bigint, next_expiry_at timestamptz,
    next_expiry_amount bigint);

CREATE TYPE credit_ledger.accounts AS (
    account_id bigint, balance bigint, reserved bigint, available bigint,
    credit_limit bigint, status text, total_granted bigint, total_consumed bigint,
    total_expired bigint, total_refunded bigint, next_expiry_at timestamptz,
    next_expiry_amount bigint, metadata jsonb, created_at timestamptz,
    status_reason text, status_changed_at timestamptz);

CREATE TYPE credit_ledger.entries AS (
    entry_id bigint, account_id bigint, kind text, amount bigint, reserved_delta bigint,
    balance_after bigint, reserved_after bigint, event_id text, hold_id bigint,
    source text, description text, metadata jsonb, price_rule_id bigint,
    input_tokens bigint, output_tokens bigint, cached_tokens bigint,
    reasoning_tokens bigint, bucket_ids bigint[], bucket_amounts bigint[],
    ref_entry_id bigint, created_at timestamptz, subject text, cache_write_tokens bigint);

CREATE TYPE credit_ledger.transfer_result AS (
    out_entry_id bigint, in_entry_id bigint, from_balance bigint, from_available bigint,
    to_balance bigint, to_available bigint, replayed boolean);

CREATE TYPE credit_ledger.pending_holds AS (
    hold_id bigint, account_id bigint, amount bigint, created_at timestamptz,
    expires_at timestamptz, event_id text, captured bigint, on_expiry text, lease boolean);

CREATE TYPE credit_ledger.expiring_grants AS (
    account_id bigint, bucket_id bigint, source text, remaining bigint,
    expires_at timestamptz);

CREATE TYPE credit_ledger.events AS (
    event_seq bigint, account_id bigint, kind text, entry_id bigint, payload jsonb,
    created_at timestamptz);

CREATE TYPE credit_ledger.price_rule AS (
    id bigint, scene text, provider text, model text, input_price numeric,
    output_price numeric, cached_price numeric, reasoning_price numeric,
    request_price numeric, min_charge bigint, priority integer,
    valid_from timestamptz, valid_until timestamptz, active boolean, description text,
    cache_write_price numeric, min_input_tokens bigint, service_tier text, markup_percent numeric);

CREATE TYPE credit_ledger.products AS (
    product_id bigint, sku text, name text, description text, credits bigint,
    price_minor bigint, original_price_minor bigint, currency text, badge text,
    sort_order integer);

CREATE TYPE credit_ledger.credit_order AS (
    order_no text, account_id bigint, status text, product_id bigint, sku text,
    product_name text, quantity integer, credits bigint, amount_minor bigint,
    currency text, grant_source text, grant_expires_after interval,
    grant_priority integer, created_at timestamptz, expires_at timestamptz,
    paid_at timestamptz, payment_ref text, paid_minor bigint, grant_entry_id bigint,
    closed_at timestamptz, refund_event_id text);

CREATE TYPE credit_ledger.allowances AS (
    account_id bigint, name text, amount bigint, period text, rollover_max bigint,
    source text, priority integer, starts_at timestamptz, ends_at timestamptz,
    next_issue_at timestamptz, created_at timestamptz);

CREATE TYPE credit_ledger.orders AS (
    order_no text, account_id bigint, status text, sku text, product_name text,
    quantity integer, credits bigint, amount_minor bigint, currency text,
    created_at timestamptz, expires_at timestamptz, paid_at timestamptz,
    payment_ref text, paid_minor bigint, grant_entry_id bigint, closed_at timestamptz);

---------------------------------------------------------------------------
-- Calls that name an account: the shard of hashint8(account_id)
---------------------------------------------------------------------------

-- hashint8(account_id); NULL (PL/Proxy refuses a NULL hash with XX000) goes
-- to shard 0, which refuses the call with the extension's own 22004.
CREATE FUNCTION credit_ledger._hash(account_id bigint)
    RETURNS integer LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(hashint8(account_id), 0) $$;

CREATE FUNCTION credit_ledger.open_account(account_id bigint, credit_limit bigint DEFAULT 0,
                                           metadata jsonb DEFAULT NULL)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.set_status(account_id bigint, status text, reason text DEFAULT NULL)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.set_credit_limit(account_id bigint, credit_limit bigint)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.grant_credits(account_id bigint, amount bigint, event_id text,
                                            source text DEFAULT 'recharge',
                                            expires_at timestamptz DEFAULT NULL,
                                            priority integer DEFAULT 0,
                                            description text DEFAULT NULL,
                                            metadata jsonb DEFAULT NULL,
                                            effective_at timestamptz DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.deduct(account_id bigint, amount bigint, event_id text,
                                     source text DEFAULT 'usage',
                                     description text DEFAULT NULL,
                                     metadata jsonb DEFAULT NULL,
                                     subject text DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.refund(account_id bigint, event_id text, original_event_id text,
                                     amount bigint DEFAULT NULL,
                                     description text DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.adjust(account_id bigint, delta bigint, event_id text, reason text)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.reserve(account_id bigint, amount bigint, event_id text,
                                      ttl interval DEFAULT NULL,
                                      source text DEFAULT 'usage',
                                      description text DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL,
                                      subject text DEFAULT NULL,
                                      on_expiry text DEFAULT 'release',
                                      lease boolean DEFAULT false)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.confirm(account_id bigint, hold_id bigint,
                                      amount bigint DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL,
                                      subject text DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.cancel(account_id bigint, hold_id bigint, reason text DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.balance(account_id bigint)
    RETURNS credit_ledger.account_balance LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.history(account_id bigint, max_rows integer DEFAULT 50,
                                      before_entry_id bigint DEFAULT NULL)
    RETURNS SETOF credit_ledger.entries LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.charge(account_id bigint, event_id text,
                                     scene text, provider text, model text,
                                     input_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
                                     cached_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0,
                                     hold_id bigint DEFAULT NULL, metadata jsonb DEFAULT NULL,
                                     subject text DEFAULT NULL,
                                     cache_write_tokens bigint DEFAULT 0,
                                     service_tier text DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.charge_usage(account_id bigint, event_id text,
                                           scene text, provider text, model text,
                                           usage jsonb,
                                           hold_id bigint DEFAULT NULL,
                                           subject text DEFAULT NULL,
                                           service_tier text DEFAULT NULL,
                                           metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.reward(account_id bigint, source text, event_id text,
                                     metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.consumption(account_id bigint, since timestamptz DEFAULT NULL,
                                          until timestamptz DEFAULT NULL,
                                          subject text DEFAULT NULL,
                                          OUT credits bigint, OUT calls bigint,
                                          OUT input_tokens bigint, OUT output_tokens bigint,
                                          OUT cached_tokens bigint, OUT reasoning_tokens bigint,
                                          OUT cache_write_tokens bigint)
    RETURNS record LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.set_alert(account_id bigint, low_balance bigint)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.create_order(account_id bigint, sku text, quantity integer, order_no text)
    RETURNS credit_ledger.credit_order LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.void_grant(account_id bigint, bucket_id bigint, event_id text,
                                         reason text DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.extend_grant(account_id bigint, bucket_id bigint, expires_at timestamptz,
                                           event_id text)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

-- agent sessions (1.1). A lease belongs to the router backend's connection
-- to the shard: it ends when the application's session on the router ends
-- (its backend closes its shard connections), and also when PL/Proxy
-- recycles that connection (connection_lifetime), the client alive or not
CREATE FUNCTION credit_ledger.capture(account_id bigint, hold_id bigint, amount bigint, event_id text,
                                      final boolean DEFAULT false,
                                      subject text DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.extend_hold(account_id bigint, hold_id bigint, ttl interval, event_id text)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.set_hold_limit(account_id bigint, max_pending integer)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

-- Teams (1.1). transfer is below, with the saga that moves credits between
-- accounts of two shards.
CREATE FUNCTION credit_ledger.set_spend_limit(account_id bigint, period text, max_credits bigint,
                                              subject text DEFAULT NULL)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.limits(account_id bigint)
    RETURNS TABLE (subject text, period text, max_credits bigint, used bigint, held bigint,
                   remaining bigint, resets_at timestamptz) LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.consumption_by_subject(account_id bigint, since timestamptz DEFAULT NULL,
                                                     until timestamptz DEFAULT NULL)
    RETURNS TABLE (subject text, credits bigint, calls bigint, input_tokens bigint,
                   output_tokens bigint, cached_tokens bigint, reasoning_tokens bigint,
                   cache_write_tokens bigint) LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

---------------------------------------------------------------------------
-- transfer: one shard's transfer, or a saga between two shards (DESIGN 21)
---------------------------------------------------------------------------

-- Between accounts of one shard (or with a NULL account, which the shard
-- refuses with its 22004): the shard's transfer, one transaction.
CREATE FUNCTION credit_ledger._transfer_local(from_account bigint, to_account bigint, amount bigint,
                                              event_id text, description text, metadata jsonb)
    RETURNS credit_ledger.transfer_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(from_account);
      TARGET credit_ledger.transfer; $$;

-- Between two shards, the saga's steps, each one transaction on its shard
-- (PL/Proxy commits each remote call on its own), each idempotent on
-- (from_account, event_id): the hold on the sender's shard, the grant on
-- the receiver's (which decides the outcome once: received or refused),
-- then the hold settled as the transfer_out entry, or released.
CREATE TYPE credit_ledger.transfer_step AS (
    state text, entry_id bigint, hold_id bigint, out_entry_id bigint, in_entry_id bigint,
    balance bigint, available bigint, part_amounts bigint[], part_sources text[],
    part_priorities integer[], part_expires_at timestamptz[], error_sqlstate text,
    error_message text, error_detail text, replayed boolean);

CREATE FUNCTION credit_ledger._transfer_hold(from_account bigint, to_account bigint, amount bigint,
                                             event_id text, description text, metadata jsonb)
    RETURNS credit_ledger.transfer_step LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(from_account);
      TARGET credit_ledger.transfer_hold; $$;

CREATE FUNCTION credit_ledger._transfer_receive(to_account bigint, from_account bigint, event_id text,
                                                amount bigint, part_amounts bigint[],
                                                part_sources text[], part_priorities integer[],
                                                part_expires_at timestamptz[], description text,
                                                metadata jsonb)
    RETURNS credit_ledger.transfer_step LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(to_account);
      TARGET credit_ledger.transfer_receive; $$;

CREATE FUNCTION credit_ledger._transfer_settle(from_account bigint, event_id text, in_entry_id bigint)
    RETURNS credit_ledger.transfer_step LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(from_account);
      TARGET credit_ledger.transfer_settle; $$;

CREATE FUNCTION credit_ledger._transfer_undo(from_account bigint, event_id text, error_sqlstate text,
                                             error_message text, error_detail text)
    RETURNS credit_ledger.transfer_step LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(from_account);
      TARGET credit_ledger.transfer_undo; $$;

-- Steps 2 and 3 of a saga whose hold is `held` (the answer of its
-- transfer_hold, first or repeated): a transfer_result like the one-shard
-- transfer's, replayed when an earlier call had started the saga; or the
-- receiver's refusal raised with its SQLSTATE, message and DETAIL after
-- the hold was released (and again, from the sender's leg, on a repeat).
CREATE FUNCTION credit_ledger._transfer_finish(from_account bigint, to_account bigint, amount bigint,
                                               event_id text, description text, metadata jsonb,
                                               held credit_ledger.transfer_step)
    RETURNS credit_ledger.transfer_result
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r credit_ledger.transfer_step;
    s credit_ledger.transfer_step;
BEGIN
    IF held.state = 'undone' THEN
        RAISE EXCEPTION USING ERRCODE = held.error_sqlstate, MESSAGE = held.error_message,
                              DETAIL = coalesce(held.error_detail, '');
    END IF;
    r := credit_ledger._transfer_receive(to_account, from_account, event_id, amount,
                                         held.part_amounts, held.part_sources, held.part_priorities,
                                         held.part_expires_at, description, metadata);
    IF r.state = 'refused' THEN
        PERFORM credit_ledger._transfer_undo(from_account, event_id, r.error_sqlstate,
                                             r.error_message, r.error_detail);
        RAISE EXCEPTION USING ERRCODE = r.error_sqlstate, MESSAGE = r.error_message,
                              DETAIL = coalesce(r.error_detail, '');
    END IF;
    s := credit_ledger._transfer_settle(from_account, event_id, r.in_entry_id);
    RETURN ROW(s.out_entry_id, r.in_entry_id, s.balance, s.available, r.balance, r.available,
               held.replayed)::credit_ledger.transfer_result;
END
$$;

CREATE FUNCTION credit_ledger.transfer(from_account bigint, to_account bigint, amount bigint,
                                       event_id text, description text DEFAULT NULL,
                                       metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.transfer_result
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mask constant integer := credit_ledger._shard_count() - 1;
BEGIN
    IF from_account IS NULL OR to_account IS NULL
       OR (hashint8(from_account) & mask) = (hashint8(to_account) & mask) THEN
        RETURN credit_ledger._transfer_local(from_account, to_account, amount, event_id,
                                             description, metadata);
    END IF;
    RETURN credit_ledger._transfer_finish(from_account, to_account, amount, event_id, description,
        metadata, credit_ledger._transfer_hold(from_account, to_account, amount, event_id,
                                               description, metadata));
END
$$;

-- The sagas a shard's senders still hold (a router call in flight, or one
-- that crashed between steps): on one shard, so that a shard that is down
-- does not stop the others' from being finished.
CREATE FUNCTION credit_ledger._transfers_in_flight_on(shard integer, older_than interval, max_rows integer)
    RETURNS TABLE (from_account bigint, to_account bigint, amount bigint, event_id text,
                   part_amounts bigint[], part_sources text[], part_priorities integer[],
                   part_expires_at timestamptz[], description text, metadata jsonb)
    LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON shard;
      SELECT from_account, to_account, amount, event_id, part_amounts, part_sources,
             part_priorities, part_expires_at, description, metadata
      FROM credit_ledger.transfers_in_flight($2, $3); $$;

-- Finishes the sagas started at least older_than ago that are still held
-- on some shard, up to max_rows per shard, as a retry of their transfer
-- would: settled (the receiver received), undone (the receiver refused) or
-- failed (a shard unreachable: they stay held for the next run; a WARNING
-- says why). sweep() runs it; call it by hand or from a scheduler after a
-- router crash.
CREATE FUNCTION credit_ledger.resume_transfers(older_than interval DEFAULT '5 seconds',
                                               max_rows integer DEFAULT 100,
                                               OUT settled integer, OUT undone integer,
                                               OUT failed integer)
    RETURNS record
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    settled := 0;
    undone := 0;
    failed := 0;
    FOR shard IN 0 .. credit_ledger._shard_count() - 1 LOOP
        BEGIN
            FOR t IN SELECT * FROM credit_ledger._transfers_in_flight_on(shard, older_than, max_rows) LOOP
                BEGIN
                    PERFORM credit_ledger._transfer_finish(t.from_account, t.to_account, t.amount,
                        t.event_id, t.description, t.metadata,
                        ROW('held', NULL, NULL, NULL, NULL, NULL, NULL, t.part_amounts, t.part_sources,
                            t.part_priorities, t.part_expires_at, NULL, NULL, NULL,
                            true)::credit_ledger.transfer_step);
                    settled := settled + 1;
                EXCEPTION WHEN OTHERS THEN
                    IF SQLSTATE IN ('LD002', 'LD003') THEN
                        undone := undone + 1;
                    ELSE
                        failed := failed + 1;
                        RAISE WARNING 'transfer "%" of account % not resumed: % %',
                            t.event_id, t.from_account, SQLSTATE, SQLERRM;
                    END IF;
                END;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            failed := failed + 1;
            RAISE WARNING 'shard % not read for transfers in flight: % %', shard, SQLSTATE, SQLERRM;
        END;
    END LOOP;
END
$$;

CREATE FUNCTION credit_ledger.set_allowance(account_id bigint, name text, amount bigint, period text,
                                            rollover_max bigint DEFAULT 0,
                                            source text DEFAULT 'allowance',
                                            priority integer DEFAULT -1,
                                            starts_at timestamptz DEFAULT now(),
                                            ends_at timestamptz DEFAULT NULL)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

CREATE FUNCTION credit_ledger.end_allowance(account_id bigint, name text)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._hash(account_id); $$;

---------------------------------------------------------------------------
-- Reference data (the same on every shard): any one shard
---------------------------------------------------------------------------

CREATE FUNCTION credit_ledger.resolve_price(scene text, provider text, model text,
                                            at timestamptz DEFAULT pg_catalog.now())
    RETURNS credit_ledger.price_rule LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ANY; $$;

CREATE FUNCTION credit_ledger.quote(scene text, provider text, model text,
                                    input_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
                                    cached_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0,
                                    cache_write_tokens bigint DEFAULT 0,
                                    service_tier text DEFAULT NULL)
    RETURNS bigint LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ANY; $$;

-- import_prices writes price rules: on the config database, the one place
-- they are edited, from which they replicate to every shard. The operator
-- describes it as the one-partition cluster credit_ledger_config.
CREATE FUNCTION credit_ledger.import_prices(catalog jsonb, credits_per_usd numeric,
                                            provider text DEFAULT NULL,
                                            markup_percent numeric DEFAULT 0,
                                            valid_from timestamptz DEFAULT pg_catalog.now())
    RETURNS integer LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger_config'; RUN ON ANY; $$;

CREATE FUNCTION credit_ledger.products()
    RETURNS SETOF credit_ledger.products LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ANY;
      SELECT * FROM credit_ledger.products; $$;

---------------------------------------------------------------------------
-- Orders: named by order_no, which does not say the account
---------------------------------------------------------------------------

-- On every shard: the shard that has the order runs the call, the others
-- return no row.
CREATE FUNCTION credit_ledger._pay_order_all(order_no text, payment_ref text, paid_minor bigint,
                                             currency text)
    RETURNS SETOF credit_ledger.credit_order LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL;
      SELECT p.* FROM credit_ledger.orders o,
             LATERAL credit_ledger.pay_order(o.order_no, $2, $3, $4) p
      WHERE o.order_no = $1; $$;

CREATE FUNCTION credit_ledger._cancel_order_all(order_no text)
    RETURNS SETOF credit_ledger.credit_order LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL;
      SELECT c.* FROM credit_ledger.orders o,
             LATERAL credit_ledger.cancel_order(o.order_no) c
      WHERE o.order_no = $1; $$;

CREATE FUNCTION credit_ledger._refund_order_all(order_no text, event_id text)
    RETURNS SETOF credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL;
      SELECT r.* FROM credit_ledger.orders o,
             LATERAL credit_ledger.refund_order(o.order_no, $2) r
      WHERE o.order_no = $1; $$;

-- An order no shard has (or a NULL argument): shard 0 refuses it with the
-- extension's own error.
CREATE FUNCTION credit_ledger._pay_order_refuse(order_no text, payment_ref text, paid_minor bigint,
                                                currency text)
    RETURNS credit_ledger.credit_order LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON 0; TARGET credit_ledger.pay_order; $$;

CREATE FUNCTION credit_ledger._cancel_order_refuse(order_no text)
    RETURNS credit_ledger.credit_order LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON 0; TARGET credit_ledger.cancel_order; $$;

CREATE FUNCTION credit_ledger._refund_order_refuse(order_no text, event_id text)
    RETURNS credit_ledger.op_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON 0; TARGET credit_ledger.refund_order; $$;

CREATE FUNCTION credit_ledger.pay_order(order_no text, payment_ref text, paid_minor bigint, currency text)
    RETURNS credit_ledger.credit_order
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o credit_ledger.credit_order;
BEGIN
    SELECT * INTO o FROM credit_ledger._pay_order_all(order_no, payment_ref, paid_minor, currency);
    IF NOT FOUND THEN
        o := credit_ledger._pay_order_refuse(order_no, payment_ref, paid_minor, currency);
    END IF;
    RETURN o;
END
$$;

CREATE FUNCTION credit_ledger.cancel_order(order_no text)
    RETURNS credit_ledger.credit_order
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o credit_ledger.credit_order;
BEGIN
    SELECT * INTO o FROM credit_ledger._cancel_order_all(order_no);
    IF NOT FOUND THEN
        o := credit_ledger._cancel_order_refuse(order_no);
    END IF;
    RETURN o;
END
$$;

CREATE FUNCTION credit_ledger.refund_order(order_no text, event_id text)
    RETURNS credit_ledger.op_result
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r credit_ledger.op_result;
BEGIN
    SELECT * INTO r FROM credit_ledger._refund_order_all(order_no, event_id);
    IF NOT FOUND THEN
        r := credit_ledger._refund_order_refuse(order_no, event_id);
    END IF;
    RETURN r;
END
$$;

---------------------------------------------------------------------------
-- Readings and housekeeping: every shard, merged
---------------------------------------------------------------------------

CREATE FUNCTION credit_ledger.verify(account_id bigint DEFAULT NULL)
    RETURNS TABLE (account_id bigint, check_name text, expected text, actual text)
    LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; $$;

CREATE FUNCTION credit_ledger._sweep_all(max_rows integer,
                                         OUT holds_expired integer, OUT grants_expired integer)
    RETURNS SETOF record LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; TARGET credit_ledger.sweep; $$;

-- max_rows accounts on each shard; the figures are the sums over the
-- shards. First it finishes the transfers between shards that a crash left
-- in flight (resume_transfers(), those older than 5 seconds).
CREATE FUNCTION credit_ledger.sweep(max_rows integer DEFAULT 1000,
                                    OUT holds_expired integer, OUT grants_expired integer)
    RETURNS record LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM credit_ledger.resume_transfers();
    SELECT sum(s.holds_expired)::integer, sum(s.grants_expired)::integer
    INTO holds_expired, grants_expired
    FROM credit_ledger._sweep_all(max_rows) s;
END
$$;

-- one row per shard (on one server: one row)
CREATE FUNCTION credit_ledger.worker_status(OUT pid integer, OUT database text,
                                            OUT last_sweep_at timestamptz,
                                            OUT holds_expired bigint, OUT grants_expired bigint,
                                            OUT last_error text)
    RETURNS SETOF record LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; $$;

CREATE FUNCTION credit_ledger.accounts()
    RETURNS SETOF credit_ledger.accounts LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; SELECT * FROM credit_ledger.accounts; $$;

CREATE FUNCTION credit_ledger.entries()
    RETURNS SETOF credit_ledger.entries LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; SELECT * FROM credit_ledger.entries; $$;

CREATE FUNCTION credit_ledger.pending_holds()
    RETURNS SETOF credit_ledger.pending_holds LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; SELECT * FROM credit_ledger.pending_holds; $$;

CREATE FUNCTION credit_ledger.expiring_grants()
    RETURNS SETOF credit_ledger.expiring_grants LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; SELECT * FROM credit_ledger.expiring_grants; $$;

CREATE FUNCTION credit_ledger.orders()
    RETURNS SETOF credit_ledger.orders LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; SELECT * FROM credit_ledger.orders; $$;

CREATE FUNCTION credit_ledger.allowances()
    RETURNS SETOF credit_ledger.allowances LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; SELECT * FROM credit_ledger.allowances; $$;

---------------------------------------------------------------------------
-- Events: a cursor per shard
---------------------------------------------------------------------------

-- The shard count: the p0, p1... options of the server credit_ledger.
CREATE FUNCTION credit_ledger._shard_count()
    RETURNS integer LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*)::integer
    FROM pg_foreign_server s, unnest(s.srvoptions) o
    WHERE s.srvname = 'credit_ledger' AND o ~ '^p[0-9]+='
$$;

-- The router's event_seq: the shard's event_seq * shard count + the shard
-- (the one hashint8(account_id) picks), so that it names one event of one
-- shard and ack_events knows where to go.
CREATE FUNCTION credit_ledger._event_seq(shard_seq bigint, account_id bigint, shards integer)
    RETURNS bigint LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT shard_seq * shards + (hashint8(account_id) & (shards - 1))
$$;

CREATE FUNCTION credit_ledger._events_all()
    RETURNS SETOF credit_ledger.events LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; SELECT * FROM credit_ledger.events; $$;

CREATE FUNCTION credit_ledger.events()
    RETURNS SETOF credit_ledger.events
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT credit_ledger._event_seq(e.event_seq, e.account_id, credit_ledger._shard_count()),
           e.account_id, e.kind, e.entry_id, e.payload, e.created_at
    FROM credit_ledger._events_all() e
$$;

CREATE FUNCTION credit_ledger._poll_events_all(consumer text, max_rows integer)
    RETURNS SETOF credit_ledger.events LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON ALL; TARGET credit_ledger.poll_events; $$;

-- Up to max_rows events of each shard, each shard's in its delivery order
-- (at least once, as on one server); no order across shards.
CREATE FUNCTION credit_ledger.poll_events(consumer text, max_rows integer DEFAULT 100)
    RETURNS SETOF credit_ledger.events
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT credit_ledger._event_seq(e.event_seq, e.account_id, credit_ledger._shard_count()),
           e.account_id, e.kind, e.entry_id, e.payload, e.created_at
    FROM credit_ledger._poll_events_all(consumer, max_rows) e
$$;

CREATE FUNCTION credit_ledger._seq_shard(up_to_seq bigint)
    RETURNS integer LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(up_to_seq % credit_ledger._shard_count(), 0)::integer
$$;

CREATE FUNCTION credit_ledger._ack_events_on(consumer text, up_to_seq bigint, shards integer)
    RETURNS void LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON credit_ledger._seq_shard(up_to_seq);
      SELECT credit_ledger.ack_events($1, $2 / $3); $$;

-- Acknowledges, on the shard event up_to_seq came from, every event of that
-- shard delivered up to it: acknowledge the last event of each shard.
CREATE FUNCTION credit_ledger.ack_events(consumer text, up_to_seq bigint)
    RETURNS void
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT credit_ledger._ack_events_on(consumer, up_to_seq, credit_ledger._shard_count())
$$;

---------------------------------------------------------------------------
-- Batches: split by shard, each part one batch on its shard
---------------------------------------------------------------------------

-- Each shard commits its part on its own: a shard that fails (down: XX000)
-- fails the call after other shards may have committed theirs. Every item
-- is idempotent, so the caller sends the same batch again and the committed
-- items answer replayed. A shard checks its part against its own
-- credit_ledger.max_batch. Arrays the shards would refuse as a whole (NULL
-- where required, unequal lengths, more than one dimension) are sent
-- unsplit to shard 0, which refuses them with its own SQLSTATE and DETAIL.

-- An array's length, 0 when empty, -1 with more than one dimension.
CREATE FUNCTION credit_ledger._batch_length(a anyarray)
    RETURNS integer LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN a IS NULL THEN NULL WHEN cardinality(a) = 0 THEN 0 WHEN array_ndims(a) = 1 THEN cardinality(a) ELSE -1 END $$;

-- The parts of a batch: the items (positions) of each shard, in order; one
-- part of every item, unsplit (items NULL), on shard 0 when the lengths of
-- its arrays (NULL for an optional one not given) do not split.
CREATE FUNCTION credit_ledger._batch_parts(account_ids bigint[], lengths integer[])
    RETURNS TABLE (shard integer, items integer[])
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH shape AS (
        SELECT account_ids IS NOT NULL
               AND (SELECT bool_and(l IS NULL OR l = credit_ledger._batch_length(account_ids))
                    FROM unnest(lengths) l)
               AND credit_ledger._batch_length(account_ids) >= 0 AS splits
    )
    SELECT 0, NULL::integer[] FROM shape WHERE NOT splits
    UNION ALL
    SELECT credit_ledger._hash(account_ids[i]) & (credit_ledger._shard_count() - 1),
           array_agg(i ORDER BY i)
    FROM shape, generate_subscripts(account_ids, 1) i WHERE splits
    GROUP BY 1
$$;

-- The elements of a at the positions items, in that order (items NULL: a).
CREATE FUNCTION credit_ledger._batch_pick(a anyarray, items integer[])
    RETURNS anyarray LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN a IS NULL OR items IS NULL THEN a
                ELSE ARRAY(SELECT a[i] FROM unnest(items) WITH ORDINALITY u(i, o) ORDER BY o) END
$$;

-- A shard's row for the caller: its item numbered back to the caller's
-- position (items NULL: the batch went unsplit).
CREATE FUNCTION credit_ledger._batch_renumber(r credit_ledger.batch_result, items integer[])
    RETURNS credit_ledger.batch_result LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(items[r.item], r.item), r.sqlstate, r.message, r.entry_id, r.hold_id,
           r.account_id, r.amount, r.balance, r.reserved, r.available, r.replayed
$$;

CREATE FUNCTION credit_ledger._deduct_many_on(shard integer, account_ids bigint[], amounts bigint[],
                                              event_ids text[], source text, subjects text[])
    RETURNS SETOF credit_ledger.batch_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON shard;
      SELECT * FROM credit_ledger.deduct_many($2, $3, $4, $5, $6); $$;

CREATE FUNCTION credit_ledger.deduct_many(account_ids bigint[], amounts bigint[], event_ids text[],
                                          source text DEFAULT 'usage',
                                          subjects text[] DEFAULT NULL)
    RETURNS SETOF credit_ledger.batch_result
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT n.*
    FROM credit_ledger._batch_parts(account_ids, ARRAY[
             coalesce(credit_ledger._batch_length(amounts), -1),
             coalesce(credit_ledger._batch_length(event_ids), -1),
             credit_ledger._batch_length(subjects)]) p,
         LATERAL credit_ledger._deduct_many_on(p.shard,
             credit_ledger._batch_pick(account_ids, p.items), credit_ledger._batch_pick(amounts, p.items),
             credit_ledger._batch_pick(event_ids, p.items), source,
             credit_ledger._batch_pick(subjects, p.items)) r,
         LATERAL credit_ledger._batch_renumber(r, p.items) n
    ORDER BY n.item
$$;

CREATE FUNCTION credit_ledger._charge_many_on(shard integer, account_ids bigint[], event_ids text[],
                                              scene text, provider text, models text[],
                                              input_tokens bigint[], output_tokens bigint[],
                                              cached_tokens bigint[], reasoning_tokens bigint[],
                                              cache_write_tokens bigint[], subjects text[])
    RETURNS SETOF credit_ledger.batch_result LANGUAGE plproxy
AS $$ CLUSTER 'credit_ledger'; RUN ON shard;
      SELECT * FROM credit_ledger.charge_many($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12); $$;

CREATE FUNCTION credit_ledger.charge_many(account_ids bigint[], event_ids text[],
                                          scene text, provider text, models text[],
                                          input_tokens bigint[], output_tokens bigint[],
                                          cached_tokens bigint[] DEFAULT NULL,
                                          reasoning_tokens bigint[] DEFAULT NULL,
                                          cache_write_tokens bigint[] DEFAULT NULL,
                                          subjects text[] DEFAULT NULL)
    RETURNS SETOF credit_ledger.batch_result
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT n.*
    FROM credit_ledger._batch_parts(account_ids, ARRAY[
             coalesce(credit_ledger._batch_length(event_ids), -1),
             coalesce(credit_ledger._batch_length(models), -1),
             coalesce(credit_ledger._batch_length(input_tokens), -1),
             coalesce(credit_ledger._batch_length(output_tokens), -1),
             credit_ledger._batch_length(cached_tokens), credit_ledger._batch_length(reasoning_tokens),
             credit_ledger._batch_length(cache_write_tokens), credit_ledger._batch_length(subjects)]) p,
         LATERAL credit_ledger._charge_many_on(p.shard,
             credit_ledger._batch_pick(account_ids, p.items), credit_ledger._batch_pick(event_ids, p.items),
             scene, provider, credit_ledger._batch_pick(models, p.items),
             credit_ledger._batch_pick(input_tokens, p.items), credit_ledger._batch_pick(output_tokens, p.items),
             credit_ledger._batch_pick(cached_tokens, p.items), credit_ledger._batch_pick(reasoning_tokens, p.items),
             credit_ledger._batch_pick(cache_write_tokens, p.items), credit_ledger._batch_pick(subjects, p.items)) r,
         LATERAL credit_ledger._batch_renumber(r, p.items) n
    ORDER BY n.item
$$;

-- Nothing for PUBLIC: grant the application and the operators what the
-- README's Roles section grants them on one server, here on the router
-- (the user mapping's role needs those grants on the shards).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA credit_ledger FROM PUBLIC;
