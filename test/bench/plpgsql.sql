-- Baseline (c): a straightforward PL/pgSQL implementation of credit_ledger's
-- contract, as a careful team would write it without the extension: lock
-- the account row, answer a repeated event_id from the ledger (LD004 when
-- the request differs), lapse due buckets, check the credit limit, burn
-- down buckets in order, write a full entry with the slices drawn, store
-- the account's figures.
CREATE SCHEMA bench_plpgsql;

CREATE TABLE bench_plpgsql.account (
    account_id      bigint PRIMARY KEY,
    status          text NOT NULL DEFAULT 'active',
    credit_limit    bigint NOT NULL DEFAULT 0,
    balance         bigint NOT NULL DEFAULT 0,
    reserved        bigint NOT NULL DEFAULT 0,
    debt            bigint NOT NULL DEFAULT 0,
    total_consumed  bigint NOT NULL DEFAULT 0,
    total_expired   bigint NOT NULL DEFAULT 0,
    next_expiry_at  timestamptz,
    CHECK (balance - reserved >= -credit_limit)
);

CREATE TABLE bench_plpgsql.bucket (
    account_id  bigint NOT NULL,
    bucket_id   bigserial,
    source      text NOT NULL,
    remaining   bigint NOT NULL CHECK (remaining >= 0),
    priority    integer NOT NULL DEFAULT 0,
    expires_at  timestamptz,
    PRIMARY KEY (account_id, bucket_id)
);
CREATE INDEX ON bench_plpgsql.bucket (account_id, priority, expires_at, bucket_id)
    WHERE remaining > 0;

CREATE TABLE bench_plpgsql.entry (
    account_id      bigint NOT NULL,
    entry_id        bigserial,
    kind            text NOT NULL,
    amount          bigint NOT NULL,
    balance_after   bigint NOT NULL,
    reserved_after  bigint NOT NULL,
    event_id        text,
    hold_id         bigint,
    source          text,
    bucket_ids      bigint[],
    bucket_amounts  bigint[],
    price_rule_id   bigint,
    input_tokens    bigint,
    output_tokens   bigint,
    request         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, entry_id),
    UNIQUE (account_id, event_id)
);

CREATE TYPE bench_plpgsql.op_result AS (
    entry_id bigint, hold_id bigint, account_id bigint, amount bigint,
    balance bigint, reserved bigint, available bigint, replayed boolean);

-- The start of money out: the account locked, the event looked up (replay
-- is set when the same request used it before, and nothing else is done),
-- due buckets lapsed, the credit limit checked, and amount drawn from the
-- buckets (slices in ids/amounts, the part they could not cover in
-- uncovered).
CREATE FUNCTION bench_plpgsql.begin_op(p_account_id bigint, p_amount bigint, p_event_id text,
                                       p_request text,
                                       OUT acct bench_plpgsql.account,
                                       OUT replay bench_plpgsql.op_result,
                                       OUT ids bigint[], OUT amounts bigint[],
                                       OUT uncovered bigint)
LANGUAGE plpgsql AS $$
DECLARE
    prior record;
    due record;
    drawn record;
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'amount must be positive' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO acct FROM bench_plpgsql.account
    WHERE account_id = p_account_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account not found' USING ERRCODE = 'LD002';
    END IF;

    SELECT e.entry_id, e.hold_id, e.amount, e.balance_after, e.reserved_after, e.request
    INTO prior FROM bench_plpgsql.entry e
    WHERE e.account_id = p_account_id AND e.event_id = p_event_id;
    IF FOUND THEN
        IF prior.request IS DISTINCT FROM p_request THEN
            RAISE EXCEPTION 'event_id already used for a different request'
                USING ERRCODE = 'LD004',
                      DETAIL = format('was %s, now %s', prior.request, p_request);
        END IF;
        replay := (prior.entry_id, prior.hold_id, p_account_id, abs(prior.amount),
                   prior.balance_after, prior.reserved_after,
                   prior.balance_after - prior.reserved_after, true);
        RETURN;
    END IF;

    IF acct.next_expiry_at <= now() THEN
        FOR due IN
            UPDATE bench_plpgsql.bucket b SET remaining = 0
            FROM (SELECT bucket_id, remaining FROM bench_plpgsql.bucket
                  WHERE account_id = p_account_id AND remaining > 0 AND expires_at <= now()
                  ORDER BY expires_at, bucket_id) old
            WHERE b.account_id = p_account_id AND b.bucket_id = old.bucket_id
            RETURNING old.bucket_id, old.remaining
        LOOP
            acct.balance := acct.balance - due.remaining;
            acct.total_expired := acct.total_expired + due.remaining;
            INSERT INTO bench_plpgsql.entry (account_id, kind, amount, balance_after,
                                             reserved_after, bucket_ids, bucket_amounts)
            VALUES (p_account_id, 'expire_grant', -due.remaining, acct.balance,
                    acct.reserved, ARRAY[due.bucket_id], ARRAY[due.remaining]);
        END LOOP;
        SELECT min(expires_at) INTO acct.next_expiry_at FROM bench_plpgsql.bucket
        WHERE account_id = p_account_id AND remaining > 0;
    END IF;

    PERFORM bench_plpgsql.require_spendable(acct, p_amount);
    drawn := bench_plpgsql.draw(p_account_id, p_amount);
    ids := drawn.ids;
    amounts := drawn.amounts;
    uncovered := drawn.uncovered;
END
$$;

-- Takes amount from the buckets in burn-down order; returns the slices
-- and the part no bucket covered (drawn on credit).
CREATE FUNCTION bench_plpgsql.draw(p_account_id bigint, p_amount bigint,
                                   OUT ids bigint[], OUT amounts bigint[], OUT uncovered bigint)
LANGUAGE plpgsql AS $$
DECLARE
    b record;
    take bigint;
BEGIN
    ids := '{}';
    amounts := '{}';
    uncovered := p_amount;
    FOR b IN
        SELECT bucket_id, remaining FROM bench_plpgsql.bucket
        WHERE account_id = p_account_id AND remaining > 0
        ORDER BY priority, expires_at, bucket_id
    LOOP
        take := least(uncovered, b.remaining);
        UPDATE bench_plpgsql.bucket SET remaining = remaining - take
        WHERE account_id = p_account_id AND bucket_id = b.bucket_id;
        ids := ids || b.bucket_id;
        amounts := amounts || take;
        uncovered := uncovered - take;
        EXIT WHEN uncovered = 0;
    END LOOP;
END
$$;

CREATE FUNCTION bench_plpgsql.require_spendable(acct bench_plpgsql.account, p_amount bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF acct.status <> 'active' THEN
        RAISE EXCEPTION 'account not active' USING ERRCODE = 'LD003';
    END IF;
    IF acct.balance - acct.reserved - p_amount < -acct.credit_limit THEN
        RAISE EXCEPTION 'insufficient credit' USING ERRCODE = 'LD001',
            DETAIL = format('Account %s: available %s, requested %s.', acct.account_id,
                            acct.balance - acct.reserved, p_amount);
    END IF;
END
$$;

-- Stores the account's figures (still under its lock) and builds the result.
CREATE FUNCTION bench_plpgsql.finish_op(acct bench_plpgsql.account, p_entry_id bigint,
                                        p_hold_id bigint, p_amount bigint)
RETURNS bench_plpgsql.op_result LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bench_plpgsql.account
    SET balance = acct.balance, reserved = acct.reserved, debt = acct.debt,
        total_consumed = acct.total_consumed, total_expired = acct.total_expired,
        next_expiry_at = acct.next_expiry_at
    WHERE account_id = acct.account_id;
    RETURN (p_entry_id, p_hold_id, acct.account_id, p_amount, acct.balance, acct.reserved,
            acct.balance - acct.reserved, false)::bench_plpgsql.op_result;
END
$$;

CREATE FUNCTION bench_plpgsql.deduct(p_account_id bigint, p_amount bigint, p_event_id text,
                                     p_source text DEFAULT 'usage',
                                     p_price_rule_id bigint DEFAULT NULL,
                                     p_input_tokens bigint DEFAULT NULL,
                                     p_output_tokens bigint DEFAULT NULL)
RETURNS bench_plpgsql.op_result LANGUAGE plpgsql AS $$
DECLARE
    d record;
    acct bench_plpgsql.account;
    new_entry bigint;
BEGIN
    d := bench_plpgsql.begin_op(p_account_id, p_amount, p_event_id,
                                format('deduct amount=%s source=%s', p_amount, p_source));
    IF (d.replay).replayed THEN
        RETURN d.replay;
    END IF;
    acct := d.acct;
    acct.debt := acct.debt + d.uncovered;
    acct.balance := acct.balance - p_amount;
    acct.total_consumed := acct.total_consumed + p_amount;
    INSERT INTO bench_plpgsql.entry (account_id, kind, amount, balance_after, reserved_after,
                                     event_id, source, bucket_ids, bucket_amounts, price_rule_id,
                                     input_tokens, output_tokens, request)
    VALUES (p_account_id, 'deduct', -p_amount, acct.balance, acct.reserved, p_event_id,
            p_source, d.ids, d.amounts, p_price_rule_id, p_input_tokens, p_output_tokens,
            format('deduct amount=%s source=%s', p_amount, p_source))
    RETURNING entry_id INTO new_entry;
    RETURN bench_plpgsql.finish_op(acct, new_entry, NULL, p_amount);
END
$$;

CREATE TABLE bench_plpgsql.hold (
    account_id      bigint NOT NULL,
    hold_id         bigserial,
    state           text NOT NULL DEFAULT 'pending',
    amount          bigint NOT NULL,
    bucket_ids      bigint[] NOT NULL,
    bucket_amounts  bigint[] NOT NULL,
    event_id        text NOT NULL,
    expires_at      timestamptz NOT NULL,
    settled_amount  bigint,
    PRIMARY KEY (account_id, hold_id)
);
CREATE INDEX ON bench_plpgsql.hold (expires_at) WHERE state = 'pending';

-- reserve: the held credits are drawn from the buckets at once (slices
-- kept on the hold), and count as reserved until settled
CREATE FUNCTION bench_plpgsql.reserve(p_account_id bigint, p_amount bigint, p_event_id text,
                                      p_ttl interval DEFAULT interval '30 minutes')
RETURNS bench_plpgsql.op_result LANGUAGE plpgsql AS $$
DECLARE
    d record;
    acct bench_plpgsql.account;
    new_hold bigint;
    new_entry bigint;
    request text := format('reserve amount=%s ttl=%s', p_amount, p_ttl);
BEGIN
    d := bench_plpgsql.begin_op(p_account_id, p_amount, p_event_id, request);
    IF (d.replay).replayed THEN
        RETURN d.replay;
    END IF;
    acct := d.acct;
    INSERT INTO bench_plpgsql.hold (account_id, amount, bucket_ids, bucket_amounts, event_id,
                                    expires_at)
    VALUES (p_account_id, p_amount, d.ids, d.amounts, p_event_id, now() + p_ttl)
    RETURNING hold_id INTO new_hold;
    acct.reserved := acct.reserved + p_amount;
    acct.debt := acct.debt + d.uncovered;
    INSERT INTO bench_plpgsql.entry (account_id, kind, amount, balance_after, reserved_after,
                                     event_id, hold_id, bucket_ids, bucket_amounts, request)
    VALUES (p_account_id, 'reserve', 0, acct.balance, acct.reserved, p_event_id, new_hold,
            d.ids, d.amounts, request)
    RETURNING entry_id INTO new_entry;
    acct.next_expiry_at := least(acct.next_expiry_at, now() + p_ttl);
    RETURN bench_plpgsql.finish_op(acct, new_entry, new_hold, p_amount);
END
$$;

-- confirm: settles a pending hold for the final amount (up to the held
-- amount here); the unused part goes back to its buckets, last slice first
CREATE FUNCTION bench_plpgsql.confirm(p_account_id bigint, p_hold_id bigint, p_amount bigint)
RETURNS bench_plpgsql.op_result LANGUAGE plpgsql AS $$
DECLARE
    acct bench_plpgsql.account;
    h bench_plpgsql.hold;
    prior record;
    unused bigint;
    back bigint;
    i int;
    new_entry bigint;
BEGIN
    SELECT * INTO acct FROM bench_plpgsql.account WHERE account_id = p_account_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account not found' USING ERRCODE = 'LD002';
    END IF;
    SELECT * INTO h FROM bench_plpgsql.hold WHERE account_id = p_account_id AND hold_id = p_hold_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hold not found' USING ERRCODE = 'LD006';
    END IF;
    IF h.state = 'confirmed' AND h.settled_amount = p_amount THEN
        SELECT entry_id, balance_after, reserved_after INTO prior FROM bench_plpgsql.entry
        WHERE account_id = p_account_id AND hold_id = p_hold_id AND kind = 'confirm';
        RETURN (prior.entry_id, p_hold_id, p_account_id, p_amount, prior.balance_after,
                prior.reserved_after, prior.balance_after - prior.reserved_after, true);
    END IF;
    IF h.state <> 'pending' OR h.expires_at <= now() THEN
        RAISE EXCEPTION 'hold not pending' USING ERRCODE = 'LD005';
    END IF;
    IF p_amount > h.amount THEN
        RAISE EXCEPTION 'confirm above the held amount is not part of this baseline';
    END IF;

    unused := h.amount - p_amount;
    i := array_length(h.bucket_ids, 1);
    WHILE unused > 0 AND i >= 1 LOOP
        back := least(unused, h.bucket_amounts[i]);
        UPDATE bench_plpgsql.bucket SET remaining = remaining + back
        WHERE account_id = p_account_id AND bucket_id = h.bucket_ids[i];
        unused := unused - back;
        i := i - 1;
    END LOOP;
    acct.balance := acct.balance - p_amount;
    acct.reserved := acct.reserved - h.amount;
    acct.total_consumed := acct.total_consumed + p_amount;
    UPDATE bench_plpgsql.hold SET state = 'confirmed', settled_amount = p_amount
    WHERE account_id = p_account_id AND hold_id = p_hold_id;
    INSERT INTO bench_plpgsql.entry (account_id, kind, amount, balance_after, reserved_after,
                                     hold_id, request)
    VALUES (p_account_id, 'confirm', -p_amount, acct.balance, acct.reserved, p_hold_id,
            format('confirm amount=%s', p_amount))
    RETURNING entry_id INTO new_entry;
    RETURN bench_plpgsql.finish_op(acct, new_entry, p_hold_id, p_amount);
END
$$;

-- load(first, last, credits): per account a gift bucket that expires in 30
-- days (spent first) and a paid bucket that never expires, as in credit_ledger
CREATE FUNCTION bench_plpgsql.load(first bigint, last bigint, credits bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench_plpgsql.account (account_id, balance, next_expiry_at)
    SELECT g, 2 * credits, now() + interval '30 days' FROM generate_series(first, last) g;
    INSERT INTO bench_plpgsql.bucket (account_id, source, remaining, expires_at)
    SELECT g, s.source, credits, s.expires_at
    FROM generate_series(first, last) g,
         (VALUES ('gift', now() + interval '30 days'), ('recharge', NULL)) s(source, expires_at)
    ORDER BY g;
$$;
