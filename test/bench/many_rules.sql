-- 990 more price rules for the "1,000 rules vs 10" charge scenario, the
-- shape an imported catalog has: 900 models with a rule of their own each,
-- 90 of them with a long-context tier too. They price other models than the
-- scenario's calls, and start inactive: the scenario switches them on for
-- its 1,000-rule rounds.
INSERT INTO credit_ledger.price_rule (provider, model, input_price, output_price, min_input_tokens, active,
                                      description)
SELECT 'catalog', 'bench-model-' || m, 3, 15, tier, false, 'bench catalog'
FROM generate_series(1, 900) m
CROSS JOIN LATERAL (SELECT 0 AS tier UNION ALL SELECT 200001 WHERE m <= 90) t;
