-- The price list of the charge scenario, the same in credit_ledger and the
-- PL/pgSQL baseline: a default, provider-wide prefixes and exact models,
-- so that resolution has to pick the most specific of several matches.
-- :schema comes from psql -v.
INSERT INTO :schema.price_rule (scene, provider, model, input_price, output_price,
                                cached_price, reasoning_price, request_price)
VALUES (NULL, NULL, NULL, 5, 15, 2.5, 15, 0),
       (NULL, 'openai', 'gpt-4o*', 2.5, 10, 1.25, 10, 0),
       (NULL, 'openai', 'gpt-4o', 2.5, 10, 1.25, 10, 0),
       ('chat', 'openai', 'gpt-4o', 2.5, 10, 1.25, 10, 1),
       (NULL, 'openai', 'gpt-4o-mini', 0.15, 0.6, 0.075, 0.6, 0),
       (NULL, 'openai', 'o1*', 15, 60, 7.5, 60, 0),
       (NULL, 'anthropic', 'claude-3-5-sonnet*', 3, 15, 0.3, 15, 0),
       (NULL, 'anthropic', 'claude-3-5-haiku*', 0.8, 4, 0.08, 4, 0),
       ('summarize', NULL, NULL, 1, 3, 0.5, 3, 0),
       (NULL, 'google', 'gemini-1.5*', 1.25, 5, 0.3125, 5, 0);
