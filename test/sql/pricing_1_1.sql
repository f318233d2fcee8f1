-- Pricing 1.1 (DESIGN 18): the fifth token kind (cache writes), NULL prices
-- that bill at input or output price, long-context tiers, service tiers,
-- markup, provider usage objects (charge_usage) and the LiteLLM catalog
-- import. Every rule here names scene 'p11' (or is imported under models no
-- other test prices), so the other tests' rules never price these calls.
\set VERBOSITY terse
SELECT balance FROM credit_ledger.grant_credits(1701, 1000000, 'p11-g1');

-- credits per million tokens at 1,000 credits per USD: Claude Sonnet 4 is
-- $3 input, $15 output, $0.30 cache reads, $3.75 cache writes (5 minutes);
-- above 200k input tokens $6, $22.50, $0.60 and $7.50
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, cached_price,
                                      reasoning_price, cache_write_price, min_input_tokens, description)
VALUES ('p11', 'anthropic', 'claude-sonnet-4', 3000, 15000, 300, NULL, 3750, 0, 'sonnet'),
       ('p11', 'anthropic', 'claude-sonnet-4', 6000, 22500, 600, NULL, 7500, 200001, 'sonnet long context');

-- the fifth kind: each kind at its own price, one token million at a time
SELECT k.kind, credit_ledger.quote('p11', 'anthropic', 'claude-sonnet-4',
           input_tokens => k.i, output_tokens => k.o, cached_tokens => k.c,
           reasoning_tokens => k.r, cache_write_tokens => k.w) AS credits
FROM (VALUES ('input', 1000000, 0, 0, 0, 0), ('output', 0, 1000000, 0, 0, 0),
             ('cached', 0, 0, 1000000, 0, 0), ('reasoning (NULL: output price)', 0, 0, 0, 1000000, 0),
             ('cache write', 0, 0, 0, 0, 1000000)) k(kind, i, o, c, r, w)
ORDER BY k.kind;

-- NULL prices: cached and cache writes bill at input_price, reasoning at
-- output_price; input_price and output_price stay required
INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, description)
VALUES ('p11', 'two-prices', 1000, 4000, 'only input and output');
SELECT credit_ledger.quote('p11', NULL, 'two-prices', 0, 0, 1000000) AS cached_at_input,
       credit_ledger.quote('p11', NULL, 'two-prices', 0, 0, 0, 1000000) AS reasoning_at_output,
       credit_ledger.quote('p11', NULL, 'two-prices', cache_write_tokens => 1000000) AS cache_write_at_input;
SELECT split_part(expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, output_price) VALUES ('p11', 'x', 1)$$), ' | ', 1);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, cache_write_price) VALUES ('p11', 'x', 1, 1, -1)$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, cache_write_price) VALUES ('p11', 'x', 1, 1, 0.0000001)$$);
SELECT expect_error($$SELECT credit_ledger.quote('p11', NULL, 'two-prices', cache_write_tokens => -1)$$);
SELECT expect_error($$SELECT credit_ledger.quote('p11', NULL, 'two-prices', cache_write_tokens => NULL)$$);

-- A Claude call with cache reads and writes: 21 input, 188,086 written to
-- the cache, 393 output: 21 x 3,000 + 188,086 x 3,750 + 393 x 15,000 =
-- 711,280,500 per million = 711.2805, rounded up once: 712
SELECT amount, replayed
FROM credit_ledger.charge(1701, 'p11-c1', 'p11', 'anthropic', 'claude-sonnet-4', 21, 393,
                          cache_write_tokens => 188086);
-- the next call reads that cache: 21 x 3,000 + 188,086 x 300 + 393 x 15,000 -> 62.3838 -> 63
SELECT amount FROM credit_ledger.charge(1701, 'p11-c2', 'p11', 'anthropic', 'claude-sonnet-4', 21, 393, 188086);
SELECT event_id, kind, amount, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
       cache_write_tokens, description
FROM credit_ledger.entries WHERE account_id = 1701 AND event_id LIKE 'p11-c%' ORDER BY entry_id;
-- history and the dashboard show the fifth kind
SELECT event_id, cache_write_tokens FROM credit_ledger.history(1701, 2) ORDER BY entry_id;
SELECT credits, calls, input_tokens, output_tokens, cached_tokens, cache_write_tokens
FROM credit_ledger.consumption(1701);
-- the cache writes are part of the request: a replay must repeat them
SELECT replayed FROM credit_ledger.charge(1701, 'p11-c1', 'p11', 'anthropic', 'claude-sonnet-4', 21, 393,
                                          cache_write_tokens => 188086);
SELECT expect_error($$SELECT credit_ledger.charge(1701, 'p11-c1', 'p11', 'anthropic', 'claude-sonnet-4', 21, 393)$$);
SELECT expect_error($$SELECT credit_ledger.charge(1701, 'p11-c2', 'p11', 'anthropic', 'claude-sonnet-4', 21, 393, 188086, cache_write_tokens => 1)$$);

-- A charge written by 1.0 (its fingerprint has no cache-write or service
-- tier line) replays when the same call comes again after the update
INSERT INTO credit_ledger.entry (account_id, kind, amount, reserved_delta, balance_after, reserved_after,
                                 event_id, request, created_at)
VALUES (1701, 'deduct', 0, 0, 0, 0, 'p11-from-1.0',
        E'operation=charge\nscene=p11\nprovider=anthropic\nmodel=claude-sonnet-4\ninput_tokens=10\noutput_tokens=5\ncached_tokens=0\nreasoning_tokens=0\nhold_id=null\n',
        now());
SELECT replayed FROM credit_ledger.charge(1701, 'p11-from-1.0', 'p11', 'anthropic', 'claude-sonnet-4', 10, 5);
SELECT expect_error($$SELECT credit_ledger.charge(1701, 'p11-from-1.0', 'p11', 'anthropic', 'claude-sonnet-4', 10, 5, service_tier => 'batch')$$);

-- Long-context tiers at the threshold's edge: the input side is input +
-- cached + cache-write tokens; output never counts
SELECT t.label, credit_ledger.quote('p11', 'anthropic', 'claude-sonnet-4', t.i, t.o, t.c, 0, t.w) AS credits,
       c.amount AS charged
FROM (VALUES ('200,000 input', 200000, 0, 0, 0), ('200,001 input', 200001, 0, 0, 0),
             ('100,000 + 50,000 cached + 50,001 written', 100000, 0, 50000, 50001),
             ('200,000 input + 100,000 output', 200000, 100000, 0, 0)) t(label, i, o, c, w),
     LATERAL credit_ledger.charge(1701, 'p11-tier-' || t.label, 'p11', 'anthropic', 'claude-sonnet-4',
                                  t.i, t.o, t.c, cache_write_tokens => t.w) c
ORDER BY t.label;
SELECT e.event_id, p.description AS rule
FROM credit_ledger.entries e JOIN credit_ledger.price_rule p ON p.id = e.price_rule_id
WHERE e.account_id = 1701 AND e.event_id LIKE 'p11-tier-%' ORDER BY e.event_id;
-- resolve_price shows the base tier
SELECT description FROM credit_ledger.resolve_price('p11', 'anthropic', 'claude-sonnet-4');
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, min_input_tokens) VALUES ('p11', 'x', 1, 1, -1)$$);

-- Service tiers: a rule for the batch tier prices batch calls only; a rule
-- without one prices every tier
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, service_tier, description)
VALUES ('p11', 'openai', 'gpt-4o', 2500, 10000, NULL, 'gpt-4o'),
       ('p11', 'openai', 'gpt-4o', 1250, 5000, 'batch', 'gpt-4o batch');
SELECT t.tier, credit_ledger.quote('p11', 'openai', 'gpt-4o', 1000000, 100000, service_tier => t.tier) AS credits,
       c.amount AS charged
FROM (VALUES ('batch'), ('priority'), (NULL)) t(tier),
     LATERAL credit_ledger.charge(1701, 'p11-service-' || coalesce(t.tier, 'none'),
                                  'p11', 'openai', 'gpt-4o', 1000000, 100000, service_tier => t.tier) c
ORDER BY t.tier NULLS LAST;
SELECT e.event_id, p.description AS rule, e.description
FROM credit_ledger.entries e JOIN credit_ledger.price_rule p ON p.id = e.price_rule_id
WHERE e.account_id = 1701 AND e.event_id LIKE 'p11-service-%' ORDER BY e.event_id;
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, service_tier) VALUES ('p11', 'x', 1, 1, '')$$);
-- a tier no rule names, where no rule prices any tier: LD007 says the tier
INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, service_tier)
VALUES ('p11', 'batch-only', 1, 1, 'batch');
SELECT expect_error($$SELECT credit_ledger.quote('p11', NULL, 'batch-only', 10, service_tier => 'flex')$$);

-- Markup: the token cost x (1 + markup / 100), plus request_price, rounded up
-- once. 1,000,001 tokens at 10 per million = 10.00001; x 1.2 = 12.000012;
-- + 0.5 per call = 12.500012 -> 13 (rounding before the markup: 11 x 1.2 + 0.5 -> 14)
INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, request_price, markup_percent)
VALUES ('p11', 'marked-up', 10, 10, 0.5, 20),
       ('p11', 'exact-markup', 1, 1, 0, 12.5),
       ('p11', 'huge-markup', 1000000, 1000000, 0, 1e30);
SELECT credit_ledger.quote('p11', NULL, 'marked-up', 1000001) AS marked_up,
       credit_ledger.quote('p11', NULL, 'exact-markup', 8000000) AS exactly_9,
       credit_ledger.quote('p11', NULL, 'exact-markup', 8000001) AS just_over_9;
-- overflow is an error, never a wrap
SELECT regexp_replace(expect_error($$SELECT credit_ledger.quote('p11', NULL, 'huge-markup', 1000)$$),
                      'price rule [0-9]+', 'price rule <id>');
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, markup_percent) VALUES ('p11', 'x', 1, 1, -1)$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, markup_percent) VALUES ('p11', 'x', 1, 1, 'NaN')$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price, markup_percent) VALUES ('p11', 'x', 1, 1, 0.0000001)$$);

-- The resolution order (README, Pricing): model, then tier, then service
-- tier, then scene and provider, then priority, valid_from and id
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, min_input_tokens,
                                      service_tier, priority, description)
VALUES ('p11', NULL, 'order-m', 1, 1, 0, NULL, 0, 'exact'),
       ('p11', NULL, 'order-*', 2, 2, 1000, NULL, 0, 'prefix, tier 1000'),
       ('p11', NULL, 'order-m', 3, 3, 1000, NULL, 0, 'exact, tier 1000'),
       ('p11', NULL, 'order-m', 4, 4, 0, 'batch', 0, 'exact, batch'),
       (NULL, NULL, 'order-m', 5, 5, 1000, 'batch', 0, 'exact, tier 1000, batch, any scene'),
       ('p11', 'prov', 'order-m', 6, 6, 0, NULL, 0, 'exact, scene and provider'),
       ('p11', NULL, 'order-m', 7, 7, 0, NULL, 5, 'exact, priority 5');
SELECT count(*) AS charged
FROM (VALUES ('order-m, 10 tokens', 'order-m', 10, NULL, NULL),
             ('order-m, 1000 tokens', 'order-m', 1000, NULL, NULL),
             ('order-x, 1000 tokens', 'order-x', 1000, NULL, NULL),
             ('order-m, batch, 10 tokens', 'order-m', 10, 'batch', NULL),
             ('order-m, batch, 1000 tokens', 'order-m', 1000, 'batch', NULL),
             ('order-m, provider prov, 10 tokens', 'order-m', 10, NULL, 'prov')) t(label, model, tokens, tier, provider),
     LATERAL credit_ledger.charge(1701, 'p11-order: ' || t.label, 'p11', t.provider, t.model, t.tokens,
                                  service_tier => t.tier) c;
SELECT e.event_id, p.description AS rule
FROM credit_ledger.entries e JOIN credit_ledger.price_rule p ON p.id = e.price_rule_id
WHERE e.account_id = 1701 AND e.event_id LIKE 'p11-order: %' ORDER BY e.event_id;

-- charge_usage: the provider's usage object. OpenAI chat completions (the
-- prompt caching guide's example): 2,006 prompt tokens of which 1,920
-- cached, 300 completion: 86 x 2,500 + 1,920 x 1,250 + 300 x 10,000 -> 5.615 -> 6
UPDATE credit_ledger.price_rule SET cached_price = 1250 WHERE description = 'gpt-4o';
SELECT amount, replayed
FROM credit_ledger.charge_usage(1701, 'p11-u1', 'p11', 'openai', 'gpt-4o',
    '{"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
      "prompt_tokens_details": {"cached_tokens": 1920},
      "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 0,
                                    "rejected_prediction_tokens": 0}}');
-- OpenAI responses (the reasoning guide's example): 75 input, 1,186 output
-- of which 1,024 reasoning (billed at output_price: the rule has none)
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, cached_price)
VALUES ('p11', 'openai', 'o4-mini', 1100, 4400, 275);
-- 75 x 1,100 + 162 x 4,400 + 1,024 x 4,400 = 5,300,900 -> 5.3009 -> 6
SELECT amount
FROM credit_ledger.charge_usage(1701, 'p11-u2', 'p11', 'openai', 'o4-mini',
    '{"input_tokens": 75, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 1186,
      "output_tokens_details": {"reasoning_tokens": 1024}, "total_tokens": 1261}');
-- Anthropic (the prompt caching guide's first call): disjoint counts;
-- 21 x 3,000 + 188,086 x 3,750 + 393 x 15,000 -> 712, as charge gave above
SELECT amount
FROM credit_ledger.charge_usage(1701, 'p11-u3', 'p11', 'anthropic', 'claude-sonnet-4',
    '{"input_tokens": 21, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 0,
      "output_tokens": 393, "service_tier": "standard"}',
    metadata => '{"request_id": "req_1"}');
-- the same call in Anthropic's batch tier, through a hold
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, cached_price,
                                      cache_write_price, service_tier, description)
VALUES ('p11', 'anthropic', 'claude-sonnet-4', 1500, 7500, 150, 1875, 'batch', 'sonnet batch');
SELECT hold_id AS p11_hold FROM credit_ledger.reserve(1701, 1000, 'p11-h1') \gset
SELECT amount, reserved
FROM credit_ledger.charge_usage(1701, 'p11-u4', 'p11', 'anthropic', 'claude-sonnet-4',
    '{"input_tokens": 21, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 0,
      "output_tokens": 393}', hold_id => :p11_hold, service_tier => 'batch');
SELECT event_id, kind, amount, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
       cache_write_tokens, metadata
FROM credit_ledger.entries WHERE account_id = 1701 AND (event_id LIKE 'p11-u%' OR hold_id = :p11_hold)
ORDER BY entry_id;
-- charge_usage is charge with the counts read from the object: the same
-- request under either name replays; another count is LD004
SELECT replayed FROM credit_ledger.charge_usage(1701, 'p11-u1', 'p11', 'openai', 'gpt-4o',
    '{"prompt_tokens": 2006, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1920}}');
SELECT replayed FROM credit_ledger.charge(1701, 'p11-u1', 'p11', 'openai', 'gpt-4o', 86, 300, 1920);
SELECT expect_error($$SELECT credit_ledger.charge_usage(1701, 'p11-u1', 'p11', 'openai', 'gpt-4o', '{"prompt_tokens": 2006, "completion_tokens": 300}')$$);

-- Usage objects it cannot read: 22023 naming the field, nothing charged
SELECT count(*) AS entries_before FROM credit_ledger.entries WHERE account_id = 1701 \gset
SELECT u.usage, expect_error(format($$SELECT credit_ledger.charge_usage(1701, 'p11-bad', 'p11', 'openai', 'gpt-4o', %L)$$, u.usage))
FROM (VALUES ('[1, 2]'), ('"usage"'), ('{}'), ('{"total_tokens": 10}'),
             ('{"prompt_tokens": 10}'), ('{"input_tokens": 10}'),
             ('{"prompt_tokens": -1, "completion_tokens": 1}'),
             ('{"prompt_tokens": 1.5, "completion_tokens": 1}'),
             ('{"prompt_tokens": "10", "completion_tokens": 1}'),
             ('{"prompt_tokens": 1e30, "completion_tokens": 1}'),
             ('{"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 11}}'),
             ('{"prompt_tokens": 10, "completion_tokens": 1, "completion_tokens_details": {"reasoning_tokens": 2}}'),
             ('{"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": [1]}'),
             ('{"prompt_tokens": 10, "completion_tokens": 1, "cache_read_input_tokens": 5}'),
             ('{"input_tokens": 10, "output_tokens": 1, "input_tokens_details": {"cached_tokens": 1}, "cache_creation_input_tokens": 5}'),
             ('{"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": true}')) u(usage)
ORDER BY u.usage;
SELECT expect_error($$SELECT credit_ledger.charge_usage(1701, 'p11-bad', 'p11', 'openai', 'gpt-4o', NULL)$$);
SELECT count(*) = :entries_before AS nothing_charged FROM credit_ledger.entries WHERE account_id = 1701;
-- JSON nulls are absent counts (OpenAI sends "prompt_tokens_details": null)
SELECT amount FROM credit_ledger.charge_usage(1701, 'p11-u5', 'p11', 'openai', 'gpt-4o',
    '{"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": null,
      "completion_tokens_details": {"reasoning_tokens": null}}');

-- import_prices: the hand-written sample of LiteLLM's catalog
-- (test/litellm_sample.json); the sample's providers name its rules here
\getenv abs_srcdir PG_ABS_SRCDIR
\set catalog_file :abs_srcdir '/litellm_sample.json'
\set catalog `cat :catalog_file`
SELECT credit_ledger.import_prices(:'catalog', 1000, valid_from => now() - interval '1 hour') AS written;
-- every per-token model, a tier rule per "_above_<N>k_tokens", a batch
-- rule for "_batches"; no sample_spec, no image model
SELECT provider, model, input_price, output_price, cached_price, reasoning_price, cache_write_price,
       min_input_tokens, service_tier, markup_percent, valid_until IS NULL AS open
FROM credit_ledger.price_rule WHERE description = 'import_prices' AND provider IN ('openai', 'anthropic', 'vertex_ai-language-models')
ORDER BY model, min_input_tokens, service_tier NULLS FIRST;
-- the same catalog again writes nothing and closes nothing
SELECT credit_ledger.import_prices(:'catalog', 1000) AS written_again;
SELECT count(*) AS imported, count(*) FILTER (WHERE valid_until IS NULL AND active) AS open
FROM credit_ledger.price_rule
WHERE description = 'import_prices' AND provider IN ('openai', 'anthropic', 'vertex_ai-language-models');
-- the imported prices charge: a long-context Claude call (250,000 input at
-- 6,000 + 1,000 output at 22,500 per million = 1,522.5 -> 1,523)
SELECT amount FROM credit_ledger.charge_usage(1701, 'p11-i1', 'imported', 'anthropic', 'claude-sonnet-4-20250514',
    '{"input_tokens": 250000, "output_tokens": 1000}');
-- and a batch call at the "_batches" prices: 100,000 x 1,250 + 20,000 x 5,000 -> 225
SELECT amount FROM credit_ledger.charge_usage(1701, 'p11-i3', 'imported', 'openai', 'gpt-4o',
    '{"prompt_tokens": 100000, "completion_tokens": 20000}', service_tier => 'batch');
SELECT e.event_id, p.model, p.min_input_tokens, p.service_tier
FROM credit_ledger.entries e JOIN credit_ledger.price_rule p ON p.id = e.price_rule_id
WHERE e.account_id = 1701 AND e.event_id IN ('p11-i1', 'p11-i3') ORDER BY e.event_id;
-- a new catalog (only Anthropic's, with a markup) replaces those rules at
-- its valid_from: the old ones end then, the new ones start then
SELECT credit_ledger.import_prices(:'catalog', 1000, 'anthropic', 10) AS written_anthropic;
SELECT model, min_input_tokens, markup_percent, valid_until IS NULL AS open,
       valid_until = (SELECT max(valid_from) FROM credit_ledger.price_rule
                      WHERE description = 'import_prices' AND provider = 'anthropic') AS closed_at_new_valid_from
FROM credit_ledger.price_rule
WHERE description = 'import_prices' AND provider = 'anthropic'
ORDER BY model, min_input_tokens, valid_from;
-- a catalog whose gpt-4o has no batch prices any more: the base rule is
-- kept (same prices), the batch rule closed
SELECT credit_ledger.import_prices(jsonb_build_object('gpt-4o',
           (:'catalog'::jsonb -> 'gpt-4o') - 'input_cost_per_token_batches'::text
                                           - 'output_cost_per_token_batches'::text),
           1000, 'openai') AS written_without_batch;
SELECT service_tier, count(*) FILTER (WHERE valid_until IS NULL) AS open, count(*) AS rules
FROM credit_ledger.price_rule WHERE description = 'import_prices' AND model = 'gpt-4o'
GROUP BY service_tier ORDER BY service_tier NULLS FIRST;
-- 21 x 3,000 + 188,086 x 3,750 + 393 x 15,000 = 711.2805; x 1.1 = 782.40855 -> 783
SELECT amount FROM credit_ledger.charge_usage(1701, 'p11-i2', 'imported', 'anthropic', 'claude-sonnet-4-20250514',
    '{"input_tokens": 21, "cache_creation_input_tokens": 188086, "output_tokens": 393}');
-- USD per token x credits_per_usd, rounded up to 6 decimals: 2.5e-06 x 0.333333
-- x 1e6 = 0.8333325 -> 0.833333; 2e-08 x 0.333333 x 1e6 = 0.00666666 -> 0.006667
BEGIN;
SELECT credit_ledger.import_prices(:'catalog', 0.333333, 'openai', valid_from => now() + interval '1 day') AS written_openai;
SELECT model, service_tier, input_price, output_price, cached_price
FROM credit_ledger.price_rule WHERE description = 'import_prices' AND provider = 'openai' AND valid_from > now()
ORDER BY model, service_tier NULLS FIRST;
ROLLBACK;
-- bad catalogs change nothing
SELECT expect_error($$SELECT credit_ledger.import_prices('[]', 1000)$$);
SELECT expect_error($$SELECT credit_ledger.import_prices('{"m": 1}', 1000)$$);
SELECT expect_error($$SELECT credit_ledger.import_prices('{"m": {"input_cost_per_token": "a lot", "output_cost_per_token": 1}}', 1000)$$);
SELECT expect_error($$SELECT credit_ledger.import_prices('{"m": {"input_cost_per_token": -1e-06, "output_cost_per_token": 1}}', 1000)$$);
SELECT expect_error($$SELECT credit_ledger.import_prices('{}', 0)$$);
SELECT expect_error($$SELECT credit_ledger.import_prices('{}', NULL)$$);
SELECT expect_error($$SELECT credit_ledger.import_prices('{"m*x": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}', 1000)$$);
SELECT expect_error($$SELECT credit_ledger.import_prices('{"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}', 1000, markup_percent => -5)$$);
SELECT count(*) AS imported_still FROM credit_ledger.price_rule
WHERE description = 'import_prices' AND provider IN ('openai', 'anthropic', 'vertex_ai-language-models');

-- the rules of this test price nothing after it
UPDATE credit_ledger.price_rule SET active = false
WHERE scene = 'p11' OR description = 'import_prices' OR model LIKE 'order-%';
