-- Baseline (c), agent sessions: the PL/pgSQL implementation's capture,
-- loaded when the build has credit_ledger.capture. The hold keeps what its
-- captures took and the slices it still holds; a capture consumes the held
-- slices in order, and a final one (or one that uses the hold up) gives the
-- rest back to their buckets. Idempotent by event_id, as every call.
ALTER TABLE bench_plpgsql.hold ADD COLUMN captured bigint NOT NULL DEFAULT 0;

CREATE FUNCTION bench_plpgsql.capture(p_account_id bigint, p_hold_id bigint, p_amount bigint,
                                      p_event_id text, p_final boolean DEFAULT false)
RETURNS bench_plpgsql.op_result LANGUAGE plpgsql AS $$
DECLARE
    acct bench_plpgsql.account;
    h bench_plpgsql.hold;
    prior record;
    request text := format('capture hold=%s amount=%s final=%s', p_hold_id, p_amount, p_final);
    held bigint;
    remaining bigint := p_amount;
    part bigint;
    ids bigint[] := '{}';
    amounts bigint[] := '{}';
    kept_ids bigint[] := '{}';
    kept_amounts bigint[] := '{}';
    ends boolean;
    new_entry bigint;
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 THEN
        RAISE EXCEPTION 'amount must be positive' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO acct FROM bench_plpgsql.account WHERE account_id = p_account_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account not found' USING ERRCODE = 'LD002';
    END IF;
    SELECT e.entry_id, e.amount, e.balance_after, e.reserved_after, e.request INTO prior
    FROM bench_plpgsql.entry e WHERE e.account_id = p_account_id AND e.event_id = p_event_id;
    IF FOUND THEN
        IF prior.request IS DISTINCT FROM request THEN
            RAISE EXCEPTION 'event_id already used for a different request' USING ERRCODE = 'LD004';
        END IF;
        RETURN (prior.entry_id, p_hold_id, p_account_id, -prior.amount, prior.balance_after,
                prior.reserved_after, prior.balance_after - prior.reserved_after, true);
    END IF;
    SELECT * INTO h FROM bench_plpgsql.hold WHERE account_id = p_account_id AND hold_id = p_hold_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hold not found' USING ERRCODE = 'LD006';
    END IF;
    IF h.state <> 'pending' OR h.expires_at <= now() THEN
        RAISE EXCEPTION 'hold not pending' USING ERRCODE = 'LD005';
    END IF;
    held := h.amount - h.captured;
    IF p_amount > held THEN
        RAISE EXCEPTION 'capture above the held amount is not part of this baseline';
    END IF;
    ends := p_final OR p_amount = held;

    FOR i IN 1 .. coalesce(array_length(h.bucket_ids, 1), 0) LOOP
        part := least(remaining, h.bucket_amounts[i]);
        IF part > 0 THEN
            ids := ids || h.bucket_ids[i];
            amounts := amounts || part;
        END IF;
        IF h.bucket_amounts[i] > part THEN
            kept_ids := kept_ids || h.bucket_ids[i];
            kept_amounts := kept_amounts || (h.bucket_amounts[i] - part);
        END IF;
        remaining := remaining - part;
    END LOOP;
    acct.balance := acct.balance - p_amount;
    acct.reserved := acct.reserved - CASE WHEN ends THEN held ELSE p_amount END;
    acct.total_consumed := acct.total_consumed + p_amount;
    IF ends THEN
        FOR i IN 1 .. coalesce(array_length(kept_ids, 1), 0) LOOP
            UPDATE bench_plpgsql.bucket SET remaining = bucket.remaining + kept_amounts[i]
            WHERE account_id = p_account_id AND bucket_id = kept_ids[i];
        END LOOP;
        UPDATE bench_plpgsql.hold
        SET state = 'confirmed', captured = h.captured + p_amount,
            settled_amount = h.captured + p_amount
        WHERE account_id = p_account_id AND hold_id = p_hold_id;
    ELSE
        UPDATE bench_plpgsql.hold
        SET captured = h.captured + p_amount, bucket_ids = kept_ids, bucket_amounts = kept_amounts
        WHERE account_id = p_account_id AND hold_id = p_hold_id;
    END IF;
    INSERT INTO bench_plpgsql.entry (account_id, kind, amount, balance_after, reserved_after,
                                     event_id, hold_id, bucket_ids, bucket_amounts, request)
    VALUES (p_account_id, 'capture', -p_amount, acct.balance, acct.reserved, p_event_id,
            p_hold_id, ids, amounts, request)
    RETURNING entry_id INTO new_entry;
    RETURN bench_plpgsql.finish_op(acct, new_entry, p_hold_id, p_amount);
END
$$;
