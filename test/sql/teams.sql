-- Teams (DESIGN 15): subjects on money-out calls and entries, spend limits
-- per UTC day, week or month for a subject or the whole account (pending
-- holds count, LD009 past one, nothing changes), limits(), limit.reached
-- once per period, and the dashboards consumption(..., subject) and
-- consumption_by_subject. Accounts 8501-8599.
\set VERBOSITY terse

-- the UTC calendar, at its boundaries: the last microsecond counts in its
-- period, the next one starts the next; the session's TimeZone changes nothing
SET TimeZone = 'America/New_York';
SELECT p, at, s.starts_at AT TIME ZONE 'UTC' AS starts_utc, s.resets_at AT TIME ZONE 'UTC' AS resets_utc
FROM (VALUES ('day', timestamptz '2026-03-31 23:59:59.999999+00'),
             ('day', timestamptz '2026-04-01 00:00:00+00'),
             ('day', timestamptz '2026-03-08 06:30:00+00'),
             ('week', timestamptz '2026-03-01 23:59:59.999+00'),
             ('week', timestamptz '2026-03-02 00:00:00+00'),
             ('week', timestamptz '2025-12-31 12:00:00+00'),
             ('month', timestamptz '2028-02-29 23:59:59.999+00'),
             ('month', timestamptz '2028-03-01 00:00:00+00'),
             ('month', timestamptz '2026-12-31 23:59:59.999+00')) AS v(p, at)
CROSS JOIN LATERAL credit_ledger.spend_period(p, at) s
ORDER BY p, at;
RESET TimeZone;
SELECT expect_error($$SELECT credit_ledger.spend_period('year', now())$$);

-- a team wallet: limits per member and for the whole account
SELECT balance FROM credit_ledger.grant_credits(8501, 10000, 'tm-g1');
SELECT credit_ledger.set_spend_limit(8501, 'day', 100, 'alice');
SELECT credit_ledger.set_spend_limit(8501, 'day', 150, 'bob');
SELECT credit_ledger.set_spend_limit(8501, 'month', 5000, 'key-ci');
SELECT credit_ledger.set_spend_limit(8501, 'week', 220);
SELECT subject, period, max_credits, used, held, remaining,
       resets_at = (SELECT resets_at FROM credit_ledger.spend_period(period, statement_timestamp())) AS resets_at_period_end
FROM credit_ledger.limits(8501);

-- alice spends up to her cap: 100 is allowed, one more credit is LD009
SELECT amount, available FROM credit_ledger.deduct(8501, 60, 'tm-a1', subject => 'alice');
SELECT amount, available FROM credit_ledger.deduct(8501, 40, 'tm-a2', subject => 'alice');
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.deduct(8501, 1, 'tm-a3', subject => 'alice')$$);
\set VERBOSITY terse
-- nothing changed: no entry, no counter, the event_id is free for a retry
SELECT count(*) AS entries_of_refused FROM credit_ledger.entry WHERE account_id = 8501 AND event_id = 'tm-a3';
SELECT subject, period, used, remaining FROM credit_ledger.limits(8501) WHERE subject = 'alice';
-- a replay of an allowed call is not a new spend
SELECT amount, replayed FROM credit_ledger.deduct(8501, 40, 'tm-a2', subject => 'alice');
-- the same event_id with another subject is another request
SELECT expect_error($$SELECT * FROM credit_ledger.deduct(8501, 40, 'tm-a2', subject => 'bob')$$);
-- a call without a subject only counts on the whole account's limit
SELECT amount FROM credit_ledger.deduct(8501, 10, 'tm-n1');
-- bob: his own cap allows 150 but the account's week cap (220) has 110 left
\set VERBOSITY default
SELECT expect_error($$SELECT * FROM credit_ledger.deduct(8501, 120, 'tm-b1', subject => 'bob')$$);
\set VERBOSITY terse
SELECT amount FROM credit_ledger.deduct(8501, 110, 'tm-b1', subject => 'bob');
SELECT subject, period, max_credits, used, held, remaining FROM credit_ledger.limits(8501);

-- pending holds count: a hold takes the limit's room at reserve, a confirm
-- for less gives the rest back, a cancel all of it
SELECT balance FROM credit_ledger.grant_credits(8502, 1000, 'tm-g2');
SELECT credit_ledger.set_spend_limit(8502, 'day', 100, 'agent-1');
SELECT amount FROM credit_ledger.reserve(8502, 80, 'tm-h1', '1 hour', subject => 'agent-1');
SELECT subject, used, held, remaining FROM credit_ledger.limits(8502);
SELECT expect_error($$SELECT * FROM credit_ledger.reserve(8502, 30, 'tm-h2', '1 hour', subject => 'agent-1')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.deduct(8502, 21, 'tm-d2', subject => 'agent-1')$$);
SELECT amount FROM credit_ledger.confirm(8502, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-h1'), 50);
SELECT subject, used, held, remaining FROM credit_ledger.limits(8502);
-- the confirm's entry carries the hold's subject
SELECT kind, amount, subject FROM credit_ledger.entries WHERE account_id = 8502 AND kind IN ('reserve', 'confirm') ORDER BY entry_id;
SELECT amount FROM credit_ledger.reserve(8502, 50, 'tm-h3', '1 hour', subject => 'agent-1');
SELECT amount FROM credit_ledger.cancel(8502, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-h3'));
SELECT subject, used, held, remaining FROM credit_ledger.limits(8502);
-- a confirm for more than held: only the excess is new room, checked
SELECT amount FROM credit_ledger.reserve(8502, 20, 'tm-h4', '1 hour', subject => 'agent-1');
SELECT expect_error($$SELECT * FROM credit_ledger.confirm(8502, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-h4'), 51)$$);
SELECT amount FROM credit_ledger.confirm(8502, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-h4'), 50);
SELECT subject, used, held, remaining FROM credit_ledger.limits(8502);
-- a hold that expires gives its room back (exact before anything writes it)
SELECT credit_ledger.set_spend_limit(8502, 'day', 200, 'agent-2');
SELECT amount FROM credit_ledger.reserve(8502, 70, 'tm-h5', '100 milliseconds', subject => 'agent-2');
SELECT pg_sleep(0.2);
SELECT subject, used, held FROM credit_ledger.limits(8502) WHERE subject = 'agent-2';
SELECT count(*) AS stored_held_before_expiry FROM credit_ledger.spend_limit WHERE account_id = 8502 AND subject = 'agent-2' AND held = 70;
SELECT amount FROM credit_ledger.deduct(8502, 200, 'tm-d5', subject => 'agent-2');
SELECT subject, used, held, remaining FROM credit_ledger.limits(8502) WHERE subject = 'agent-2';

-- a confirm may name another subject: the hold's subject gets its room
-- back, the confirm's is charged (and checked) for all of it
SELECT credit_ledger.set_spend_limit(8502, 'day', 30, 'agent-3');
SELECT amount FROM credit_ledger.reserve(8502, 10, 'tm-h6', '1 hour');
SELECT expect_error($$SELECT * FROM credit_ledger.confirm(8502, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-h6'), 31, subject => 'agent-3')$$);
SELECT amount FROM credit_ledger.confirm(8502, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-h6'), 25, subject => 'agent-3');
SELECT subject, used, held, remaining FROM credit_ledger.limits(8502) WHERE subject = 'agent-3';

-- charge takes a subject too, with or without a hold
INSERT INTO credit_ledger.price_rule (scene, provider, model, input_price, output_price, cached_price, reasoning_price)
VALUES ('teams', 'acme', 'tm-model', 1000000, 2000000, 0, 0);
SELECT credit_ledger.set_spend_limit(8502, 'day', 5, 'agent-4');
SELECT amount FROM credit_ledger.charge(8502, 'tm-c1', 'teams', 'acme', 'tm-model', 1, 2, subject => 'agent-4');
SELECT expect_error($$SELECT * FROM credit_ledger.charge(8502, 'tm-c2', 'teams', 'acme', 'tm-model', 1, 0, subject => 'agent-4')$$);
SELECT kind, amount, subject, input_tokens FROM credit_ledger.entries WHERE account_id = 8502 AND event_id = 'tm-c1';

-- a counter of an older period starts afresh: put the stored period back
-- one day, as if the last call had been yesterday
SELECT balance FROM credit_ledger.grant_credits(8503, 1000, 'tm-g3');
SELECT credit_ledger.set_spend_limit(8503, 'day', 100, 'carol');
SELECT amount FROM credit_ledger.deduct(8503, 90, 'tm-y1', subject => 'carol');
UPDATE credit_ledger.spend_limit SET period_start = period_start - interval '1 day' WHERE account_id = 8503;
SELECT subject, used, remaining FROM credit_ledger.limits(8503);
SELECT amount FROM credit_ledger.deduct(8503, 90, 'tm-y2', subject => 'carol');
SELECT subject, used, remaining FROM credit_ledger.limits(8503);
SELECT count(*) AS counter_in_todays_period FROM credit_ledger.spend_limit l,
       credit_ledger.spend_period('day', statement_timestamp()) s
WHERE l.account_id = 8503 AND l.period_start = s.starts_at AND l.used = 90;
-- (the entries say both calls were today: set the limit again, counted afresh)
SELECT credit_ledger.set_spend_limit(8503, 'day', NULL, 'carol');
SELECT credit_ledger.set_spend_limit(8503, 'day', 200, 'carol');
SELECT subject, used, remaining FROM credit_ledger.limits(8503);

-- limit.reached: once per period, by the call that leaves nothing remaining
SELECT balance FROM credit_ledger.grant_credits(8504, 1000, 'tm-g4');
SELECT credit_ledger.set_spend_limit(8504, 'day', 50, 'dave');
SELECT credit_ledger.set_spend_limit(8504, 'month', 60);
SELECT amount FROM credit_ledger.deduct(8504, 30, 'tm-e1', subject => 'dave');
SELECT amount FROM credit_ledger.deduct(8504, 20, 'tm-e2', subject => 'dave');
SELECT amount FROM credit_ledger.reserve(8504, 10, 'tm-e3', '1 hour');
SELECT amount FROM credit_ledger.cancel(8504, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-e3'));
SELECT amount FROM credit_ledger.deduct(8504, 10, 'tm-e4');
SELECT e.kind, x.event_id AS entry_event, e.payload - 'account_id' - 'kind' - 'entry_id' - 'balance' - 'available_after' AS figures
FROM credit_ledger.events e JOIN credit_ledger.entry x ON x.account_id = e.account_id AND x.entry_id = e.entry_id
WHERE e.account_id = 8504 AND e.kind = 'limit.reached' ORDER BY e.event_seq;

-- changing and removing limits; bad arguments
SELECT credit_ledger.set_spend_limit(8504, 'day', 80, 'dave');
SELECT subject, period, max_credits, used, remaining FROM credit_ledger.limits(8504);
SELECT credit_ledger.set_spend_limit(8504, 'day', NULL, 'dave');
SELECT credit_ledger.set_spend_limit(8504, 'month', NULL);
SELECT count(*) AS limits_left, (SELECT spend_limits FROM credit_ledger.account WHERE account_id = 8504) AS spend_limits
FROM credit_ledger.limits(8504);
SELECT amount FROM credit_ledger.deduct(8504, 500, 'tm-e5', subject => 'dave');
\set VERBOSITY default
SELECT expect_error($$SELECT credit_ledger.set_spend_limit(8599, 'day', 10)$$);
SELECT expect_error($$SELECT credit_ledger.set_spend_limit(8504, 'hour', 10)$$);
SELECT expect_error($$SELECT credit_ledger.set_spend_limit(8504, 'day', -1)$$);
SELECT expect_error($$SELECT credit_ledger.set_spend_limit(8504, NULL, 10)$$);
SELECT expect_error($$SELECT credit_ledger.set_spend_limit(8504, 'day', 10, '')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.deduct(8504, 1, 'tm-e6', subject => '')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.limits(NULL)$$);
\set VERBOSITY terse
-- a limit set mid-period counts what the period consumed already, and held
SELECT credit_ledger.set_spend_limit(8502, 'day', 1000, 'agent-1');
SELECT subject, period, used, held FROM credit_ledger.limits(8502) WHERE subject = 'agent-1';
-- a hold of one limited subject confirmed for another: each gets its own count
SELECT amount FROM credit_ledger.reserve(8502, 10, 'tm-h7', '1 hour', subject => 'agent-1');
SELECT amount FROM credit_ledger.confirm(8502, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'tm-h7'), 5, subject => 'agent-3');
SELECT subject, used, held, remaining FROM credit_ledger.limits(8502) WHERE subject IN ('agent-1', 'agent-3');
-- a limit of 0 blocks the subject
SELECT credit_ledger.set_spend_limit(8504, 'day', 0, 'blocked-key');
SELECT expect_error($$SELECT * FROM credit_ledger.deduct(8504, 1, 'tm-e7', subject => 'blocked-key')$$);

-- an operator's negative adjust is a correction, not spend: no limit counts it
SELECT balance FROM credit_ledger.grant_credits(8505, 1000, 'tm-g5');
SELECT credit_ledger.set_spend_limit(8505, 'day', 10);
SELECT amount FROM credit_ledger.adjust(8505, -50, 'tm-adj', 'correction');
SELECT subject, used, remaining FROM credit_ledger.limits(8505);
SELECT count(*) AS inconsistencies FROM credit_ledger.verify(8505);

-- the dashboards: per subject, and one subject
SELECT * FROM credit_ledger.consumption_by_subject(8502);
SELECT * FROM credit_ledger.consumption(8502, subject => 'agent-1');
SELECT subject, credits, calls FROM credit_ledger.consumption_by_subject(8501, since => now() - interval '24 hours');
SELECT credits, calls FROM credit_ledger.consumption(8501, subject => 'nobody');
SELECT count(*) AS rows FROM credit_ledger.consumption_by_subject(8598);
-- history and the entries view show the subject
SELECT kind, amount, subject FROM credit_ledger.history(8501, 3);

-- the counters match the entries and holds
SELECT * FROM credit_ledger.verify() WHERE account_id BETWEEN 8501 AND 8599;
-- and verify() sees a counter that drifts
UPDATE credit_ledger.spend_limit SET used = used + 1 WHERE account_id = 8501 AND subject = 'alice';
UPDATE credit_ledger.spend_limit SET held = held + 2 WHERE account_id = 8502 AND subject = 'agent-1';
SELECT account_id, check_name, expected, actual FROM credit_ledger.verify() WHERE account_id BETWEEN 8501 AND 8599;
UPDATE credit_ledger.spend_limit SET used = used - 1 WHERE account_id = 8501 AND subject = 'alice';
UPDATE credit_ledger.spend_limit SET held = held - 2 WHERE account_id = 8502 AND subject = 'agent-1';
SELECT count(*) AS inconsistencies FROM credit_ledger.verify() WHERE account_id BETWEEN 8501 AND 8599;

-- captures and usage objects count like every money-out call: a capture
-- without a subject spends as its hold's subject, one past what the hold
-- holds raises the used figure past the hold, and charge_usage is refused
-- at the limit like charge
SELECT balance FROM credit_ledger.grant_credits(8510, 1000, 'tm-g10');
SELECT credit_ledger.set_spend_limit(8510, 'day', 500, 'agent');
SELECT hold_id AS tm_hold FROM credit_ledger.reserve(8510, 400, 'tm-r10', subject => 'agent') \gset
SELECT amount FROM credit_ledger.capture(8510, :tm_hold, 100, 'tm-c10');
SELECT subject, used, held, remaining FROM credit_ledger.limits(8510);
SELECT amount FROM credit_ledger.capture(8510, :tm_hold, 350, 'tm-c11', final => true);
SELECT subject, used, held, remaining FROM credit_ledger.limits(8510);
SELECT kind, amount, subject FROM credit_ledger.history(8510, 3);
INSERT INTO credit_ledger.price_rule (scene, model, input_price, output_price)
VALUES ('tm', 'tm-model', 1000000, 1000000);
SELECT expect_error($$SELECT * FROM credit_ledger.charge_usage(8510, 'tm-u1', 'tm', NULL, 'tm-model',
    '{"prompt_tokens": 60, "completion_tokens": 0}', subject => 'agent')$$);
SELECT amount, balance FROM credit_ledger.charge_usage(8510, 'tm-u2', 'tm', NULL, 'tm-model',
    '{"prompt_tokens": 40, "completion_tokens": 0}', subject => 'agent');
SELECT subject, credits, calls FROM credit_ledger.consumption_by_subject(8510);
SELECT count(*) AS inconsistencies FROM credit_ledger.verify(8510);

-- a limit set while a hold that captures on expiry is past it, its capture
-- not yet written, counts that hold once: when the capture is written
SELECT balance FROM credit_ledger.grant_credits(8511, 1000, 'tm-g11');
SELECT hold_id AS tm_due FROM credit_ledger.reserve(8511, 70, 'tm-r11', on_expiry => 'capture') \gset
UPDATE credit_ledger.hold SET expires_at = statement_timestamp() - interval '1 second'
WHERE account_id = 8511 AND hold_id = :tm_due;
UPDATE credit_ledger.account SET next_expiry_at = statement_timestamp() - interval '1 second'
WHERE account_id = 8511;
SELECT credits FROM credit_ledger.consumption(8511);
SELECT credit_ledger.set_spend_limit(8511, 'day', 500);
SELECT count(*) AS inconsistencies FROM credit_ledger.verify(8511);
SELECT amount FROM credit_ledger.deduct(8511, 1, 'tm-d11');
SELECT subject, used, held, remaining FROM credit_ledger.limits(8511);
SELECT credits FROM credit_ledger.consumption(8511);
SELECT count(*) AS inconsistencies FROM credit_ledger.verify(8511);
