-- Baseline (c), pricing: the PL/pgSQL implementation's charge, loaded when
-- the build has credit_ledger.charge. Its rule table has the columns of
-- credit_ledger.price_rule (the same rules are loaded into both).
CREATE TABLE bench_plpgsql.price_rule (LIKE credit_ledger.price_rule INCLUDING DEFAULTS);
ALTER TABLE bench_plpgsql.price_rule ADD PRIMARY KEY (id);

-- charge: the most specific active rule prices the tokens (rounded up
-- once), then the credits are deducted with the rule and tokens recorded
CREATE FUNCTION bench_plpgsql.charge(p_account_id bigint, p_event_id text, p_scene text,
                                     p_provider text, p_model text,
                                     p_input_tokens bigint, p_output_tokens bigint)
RETURNS bench_plpgsql.op_result LANGUAGE plpgsql AS $$
DECLARE
    r bench_plpgsql.price_rule;
    credits bigint;
BEGIN
    SELECT * INTO r FROM bench_plpgsql.price_rule p
    WHERE p.active AND p.valid_from <= now() AND (p.valid_until IS NULL OR p.valid_until > now())
      AND (p.scene IS NULL OR p.scene = p_scene)
      AND (p.provider IS NULL OR p.provider = p_provider)
      AND (p.model IS NULL OR p.model = p_model
           OR (p.model LIKE '%*' AND starts_with(p_model, rtrim(p.model, '*'))))
    ORDER BY p.model = p_model DESC NULLS LAST, length(p.model) DESC NULLS LAST,
             p.scene IS NOT NULL DESC, p.provider IS NOT NULL DESC,
             p.priority DESC, p.valid_from DESC, p.id DESC
    LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no price rule matches' USING ERRCODE = 'LD007';
    END IF;
    credits := greatest(ceil((p_input_tokens * r.input_price + p_output_tokens * r.output_price)
                             / 1000000 + r.request_price), r.min_charge);
    RETURN bench_plpgsql.deduct(p_account_id, credits, p_event_id, 'usage', r.id,
                                p_input_tokens, p_output_tokens);
END
$$;
