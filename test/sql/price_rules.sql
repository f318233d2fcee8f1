-- Price rules: the trigger's validation, and resolve_price's order
-- (specificity, then priority, latest valid_from, highest id) and windows.

-- rule(...) inserts a rule named by its description; prices are irrelevant here
CREATE FUNCTION rule(name text, scene text, provider text, model text,
                     priority int DEFAULT 0, valid_from timestamptz DEFAULT '2000-01-01',
                     valid_until timestamptz DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO credit_ledger.price_rule (description, scene, provider, model, priority,
        valid_from, valid_until, input_price, output_price, cached_price, reasoning_price)
    VALUES (name, scene, provider, model, priority, valid_from, valid_until, 1, 1, 1, 1)
$$;
CREATE FUNCTION winner(scene text, provider text, model text,
                       at timestamptz DEFAULT now()) RETURNS text
LANGUAGE sql AS $$
    SELECT description FROM credit_ledger.resolve_price(scene, provider, model, at)
$$;

-- no rule at all
SELECT expect_error($$SELECT credit_ledger.resolve_price('chat', NULL, 'gpt-4o')$$);

-- the model ladder: exact > longer prefix > shorter prefix > any
SELECT rule('any model', NULL, NULL, NULL);
SELECT rule('g*', NULL, NULL, 'g*');
SELECT rule('gpt-4*', NULL, NULL, 'gpt-4*');
SELECT rule('gpt-4o-mini*', NULL, NULL, 'gpt-4o-mini*');
SELECT rule('gpt-4o-mini', NULL, NULL, 'gpt-4o-mini');
SELECT winner('chat', 'openai', 'gpt-4o-mini') AS exact,
       winner('chat', 'openai', 'gpt-4o-mini-2024') AS longest_prefix,
       winner('chat', 'openai', 'gpt-4o') AS shorter_prefix,
       winner('chat', 'openai', 'gemini') AS shortest_prefix,
       winner('chat', 'openai', 'claude') AS any_model,
       winner('chat', 'openai', NULL) AS no_model,
       winner('chat', 'openai', 'GPT-4o') AS case_matters;
-- the ladder again as each winner is switched off
UPDATE credit_ledger.price_rule SET active = false WHERE description = 'gpt-4o-mini';
SELECT winner('chat', 'openai', 'gpt-4o-mini');
UPDATE credit_ledger.price_rule SET active = false WHERE description = 'gpt-4o-mini*';
SELECT winner('chat', 'openai', 'gpt-4o-mini');
UPDATE credit_ledger.price_rule SET active = false WHERE description = 'gpt-4*';
SELECT winner('chat', 'openai', 'gpt-4o-mini');
UPDATE credit_ledger.price_rule SET active = false WHERE description = 'g*';
SELECT winner('chat', 'openai', 'gpt-4o-mini');
UPDATE credit_ledger.price_rule SET active = false WHERE description = 'any model';
SELECT expect_error($$SELECT credit_ledger.resolve_price('chat', 'openai', 'gpt-4o-mini')$$);
DELETE FROM credit_ledger.price_rule;

-- scene and provider: both named > scene only > provider only > neither
SELECT rule('neither', NULL, NULL, 'm');
SELECT rule('provider', NULL, 'openai', 'm');
SELECT rule('scene', 'chat', NULL, 'm');
SELECT rule('both', 'chat', 'openai', 'm');
SELECT winner('chat', 'openai', 'm') AS chat_openai,
       winner('chat', 'azure', 'm') AS chat_azure,
       winner('image', 'openai', 'm') AS image_openai,
       winner('image', 'azure', 'm') AS image_azure,
       winner(NULL, NULL, 'm') AS no_scene_no_provider;
-- the model ranks first: an exact model beats a named scene and provider
SELECT rule('both, any model', 'chat', 'openai', NULL);
SELECT rule('exact model only', NULL, NULL, 'm2');
SELECT winner('chat', 'openai', 'm2'), winner('chat', 'openai', 'other');
DELETE FROM credit_ledger.price_rule;

-- ties between equally specific rules: higher priority, then latest
-- valid_from, then highest id
SELECT rule('old, priority 0', NULL, NULL, 'm', 0, '2001-01-01');
SELECT rule('new, priority 0', NULL, NULL, 'm', 0, '2002-01-01');
SELECT winner(NULL, NULL, 'm');
SELECT rule('old, priority 5', NULL, NULL, 'm', 5, '2001-01-01');
SELECT winner(NULL, NULL, 'm');
SELECT rule('old, priority 5, higher id', NULL, NULL, 'm', 5, '2001-01-01');
SELECT winner(NULL, NULL, 'm');
-- priority never beats specificity
SELECT rule('prefix, priority 100', NULL, NULL, 'm*', 100);
SELECT winner(NULL, NULL, 'm'), winner(NULL, NULL, 'm-large');
DELETE FROM credit_ledger.price_rule;

-- validity windows: valid_from <= at < valid_until
SELECT rule('january', NULL, NULL, 'm', 0, '2030-01-01 00:00+00', '2030-02-01 00:00+00');
SELECT rule('open-ended', NULL, NULL, 'm', 0, '2030-03-01 00:00+00');
SELECT expect_error($$SELECT credit_ledger.resolve_price(NULL, NULL, 'm', '2029-12-31 23:59:59.999999+00')$$);
SELECT winner(NULL, NULL, 'm', '2030-01-01 00:00+00') AS first_instant,
       winner(NULL, NULL, 'm', '2030-01-31 23:59:59.999999+00') AS last_instant;
SELECT expect_error($$SELECT credit_ledger.resolve_price(NULL, NULL, 'm', '2030-02-01 00:00+00')$$);
SELECT winner(NULL, NULL, 'm', '2030-03-01 00:00+00') AS from_march,
       winner(NULL, NULL, 'm', 'infinity') AS forever;
-- a newer rule takes over from its valid_from on; the older one still prices earlier calls
SELECT rule('from january 15', NULL, NULL, 'm', 0, '2030-01-15 00:00+00');
SELECT winner(NULL, NULL, 'm', '2030-01-14 00:00+00'), winner(NULL, NULL, 'm', '2030-01-16 00:00+00');
-- a rule valid from now on is not yet valid for a call an hour ago
SELECT rule('now on', NULL, NULL, 'n', 0, now());
SELECT winner(NULL, NULL, 'n');
SELECT expect_error($$SELECT credit_ledger.resolve_price(NULL, NULL, 'n', now() - interval '1 hour')$$);
SELECT expect_error($$SELECT credit_ledger.resolve_price(NULL, NULL, 'n', NULL)$$);
DELETE FROM credit_ledger.price_rule;

-- resolve_price returns the whole row
SELECT rule('whole row', 'chat', 'openai', 'gpt-4o');
SELECT scene, provider, model, input_price, output_price, cached_price, reasoning_price,
       request_price, min_charge, priority, valid_until, active, description
FROM credit_ledger.resolve_price('chat', 'openai', 'gpt-4o');
DELETE FROM credit_ledger.price_rule;

-- invalid rows are refused with 22023 and a DETAIL naming the column
CREATE FUNCTION bad_rule(assignments text) RETURNS text LANGUAGE sql AS $$
    SELECT expect_error(format(
        'INSERT INTO credit_ledger.price_rule (model, input_price, output_price, cached_price,'
        ' reasoning_price, valid_from) SELECT * FROM (SELECT %s) r',
        assignments))
$$;
SELECT bad_rule($$'m', -1, 1, 1, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'m', 1, -0.000001, 1, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'m', 1, 1, 1.0000001, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'m', 1, 1, 1, 'NaN'::numeric, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'m', 'Infinity'::numeric, 1, 1, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'', 1, 1, 1, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'*', 1, 1, 1, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'gpt*4', 1, 1, 1, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'gpt**', 1, 1, 1, 1, '2030-01-01'::timestamptz$$);
SELECT bad_rule($$'m', NULL::numeric, 1, 1, 1, '2030-01-01'::timestamptz$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (scene, input_price, output_price, cached_price, reasoning_price) VALUES ('', 1, 1, 1, 1)$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (provider, input_price, output_price, cached_price, reasoning_price) VALUES ('', 1, 1, 1, 1)$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (request_price, input_price, output_price, cached_price, reasoning_price) VALUES (-5, 1, 1, 1, 1)$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (min_charge, input_price, output_price, cached_price, reasoning_price) VALUES (-1, 1, 1, 1, 1)$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (valid_from, valid_until, input_price, output_price, cached_price, reasoning_price) VALUES ('2030-01-01 00:00+00', '2030-01-01 00:00+00', 1, 1, 1, 1)$$);
SELECT expect_error($$INSERT INTO credit_ledger.price_rule (valid_from, valid_until, input_price, output_price, cached_price, reasoning_price) VALUES ('2030-01-02 00:00+00', '2030-01-01 00:00+00', 1, 1, 1, 1)$$);
-- the edges that are valid: six decimals, trailing zeros, zero prices
SELECT bad_rule($$'m', 0.000001, 1.5000000, 0, 0, '2030-01-01'::timestamptz$$);
-- an UPDATE is checked as well
SELECT expect_error($$UPDATE credit_ledger.price_rule SET model = 'x*y'$$);
SELECT expect_error($$UPDATE credit_ledger.price_rule SET valid_until = valid_from$$);
SELECT model, input_price, output_price FROM credit_ledger.price_rule ORDER BY id;
DELETE FROM credit_ledger.price_rule;

-- reward rules
SELECT expect_error($$INSERT INTO credit_ledger.reward_rule (source, amount) VALUES ('', 10)$$);
SELECT expect_error($$INSERT INTO credit_ledger.reward_rule (source, amount) VALUES ('signup', 0)$$);
SELECT expect_error($$INSERT INTO credit_ledger.reward_rule (source, amount) VALUES ('signup', -10)$$);
SELECT expect_error($$INSERT INTO credit_ledger.reward_rule (source, amount, expires_after) VALUES ('signup', 10, '0')$$);
SELECT expect_error($$INSERT INTO credit_ledger.reward_rule (source, amount, expires_after) VALUES ('signup', 10, '-1 day')$$);
SELECT expect_error($$INSERT INTO credit_ledger.reward_rule (source, amount, daily_cap) VALUES ('signup', 10, 0)$$);
SELECT expect_error($$INSERT INTO credit_ledger.reward_rule (source, amount, expires_after, daily_cap) VALUES ('signup', 10, '1 microsecond', 1)$$);
SELECT expect_error($$UPDATE credit_ledger.reward_rule SET daily_cap = -1$$);
DELETE FROM credit_ledger.reward_rule;

DROP FUNCTION rule, winner, bad_rule;
