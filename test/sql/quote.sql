-- quote: tokens x price per million over the four kinds plus request_price,
-- exact, rounded up once to whole credits, at least min_charge; past bigint
-- is an error, never a wrap.

INSERT INTO credit_ledger.price_rule (scene, input_price, output_price, cached_price, reasoning_price)
VALUES ('unit', 1, 2, 0.5, 3),             -- credits per million tokens
       ('fine', 0.000001, 0, 0, 0),
       ('llm', 2.5, 10, 1.25, 10);
INSERT INTO credit_ledger.price_rule (scene, input_price, output_price, cached_price, reasoning_price,
                                      request_price, min_charge)
VALUES ('per call', 1, 0, 0, 0, 0.4, 0),
       ('minimum', 1, 0, 0, 0, 0, 5),
       ('flat', 0, 0, 0, 0, 3, 0);

-- rounding up, once
SELECT credit_ledger.quote('unit', NULL, NULL) AS nothing,
       credit_ledger.quote('unit', NULL, NULL, 1) AS one_millionth,
       credit_ledger.quote('unit', NULL, NULL, 1000000) AS exactly_one,
       credit_ledger.quote('unit', NULL, NULL, 1000001) AS just_over_one,
       credit_ledger.quote('unit', NULL, NULL, 999999) AS just_under_one;
-- half a credit of input and half of output make one credit, not two
SELECT credit_ledger.quote('unit', NULL, NULL, 500000, 250000) AS two_halves,
       credit_ledger.quote('unit', NULL, NULL, 0, 0, 1000000) AS cached_half,
       credit_ledger.quote('unit', NULL, NULL, 0, 0, 0, 1000000) AS reasoning_three,
       credit_ledger.quote('unit', NULL, NULL, 0, 0, 2000000, 1) AS cached_one_and_a_bit;
-- the smallest price: a millionth of a credit per million tokens
SELECT credit_ledger.quote('fine', NULL, NULL, 1) AS one_token,
       credit_ledger.quote('fine', NULL, NULL, 1000000000000) AS one_credit,
       credit_ledger.quote('fine', NULL, NULL, 1000000000001) AS just_over;
-- an LLM call: 12,000 input x 2.5 + 800 output x 10 + 4,000 cached x 1.25
-- + 1,500 reasoning x 10 = 30,000 + 8,000 + 5,000 + 15,000 = 58,000 per
-- million = 0.058 credits, rounded up to 1
SELECT credit_ledger.quote('llm', NULL, NULL, 12000, 800, 4000, 1500) AS llm_call,
       credit_ledger.quote('llm', NULL, NULL, 1200000, 80000, 400000, 150000) AS hundred_calls;

-- request_price is added before rounding
SELECT credit_ledger.quote('per call', NULL, NULL) AS call_alone,
       credit_ledger.quote('per call', NULL, NULL, 600000) AS exactly_one,
       credit_ledger.quote('per call', NULL, NULL, 600001) AS just_over,
       credit_ledger.quote('flat', NULL, NULL, 123456789) AS flat;

-- min_charge: a floor, applied after rounding
SELECT credit_ledger.quote('minimum', NULL, NULL) AS nothing,
       credit_ledger.quote('minimum', NULL, NULL, 4000001) AS five_after_rounding,
       credit_ledger.quote('minimum', NULL, NULL, 5000001) AS six;

-- arguments
SELECT expect_error($$SELECT credit_ledger.quote('unit', NULL, NULL, -1)$$);
SELECT expect_error($$SELECT credit_ledger.quote('unit', NULL, NULL, 0, 0, 0, -5)$$);
SELECT expect_error($$SELECT credit_ledger.quote('unit', NULL, NULL, NULL)$$);
SELECT expect_error($$SELECT credit_ledger.quote('unit', NULL, NULL, 0, NULL)$$);
SELECT expect_error($$SELECT credit_ledger.quote('nowhere', 'openai', 'gpt-4o', 1)$$);

-- big numbers: exact up to the last credit a bigint holds, an error past it
INSERT INTO credit_ledger.price_rule (scene, input_price, output_price, cached_price, reasoning_price,
                                      request_price, min_charge)
VALUES ('token', 1000000, 1000000, 1000000, 1000000, 0, 0),   -- a credit per token
       ('huge', 1e30, 0, 0, 0, 0, 0),
       ('huge call', 0, 0, 0, 0, 9223372036854775807, 0),
       ('past', 0, 0, 0, 0, 9223372036854775807.000001, 0),
       ('huge minimum', 0, 0, 0, 0, 0, 9223372036854775807);
SELECT credit_ledger.quote('token', NULL, NULL, 9223372036854775807) AS max_tokens,
       credit_ledger.quote('token', NULL, NULL, 4611686018427387903, 4611686018427387904) AS max_in_two,
       credit_ledger.quote('huge call', NULL, NULL) AS max_per_call,
       credit_ledger.quote('huge minimum', NULL, NULL) AS max_minimum,
       credit_ledger.quote('huge', NULL, NULL, 0) AS huge_price_no_tokens;
SELECT expect_error($$SELECT credit_ledger.quote('token', NULL, NULL, 9223372036854775807, 1)$$);
SELECT expect_error($$SELECT credit_ledger.quote('token', NULL, NULL, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807)$$);
SELECT expect_error($$SELECT credit_ledger.quote('huge', NULL, NULL, 1)$$);
SELECT expect_error($$SELECT credit_ledger.quote('huge', NULL, NULL, 9223372036854775807)$$);
SELECT expect_error($$SELECT credit_ledger.quote('past', NULL, NULL)$$);

DELETE FROM credit_ledger.price_rule;
