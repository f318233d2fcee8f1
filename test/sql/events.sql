-- Events are written with the change they report, under its account lock
-- and in its transaction: once per crossing of a threshold, none for a
-- call that rolled back, one per hold or grant that expires. Consumers
-- poll them at least once, in an order that skips none, and acknowledge.
CREATE VIEW ev AS
    SELECT e.account_id, e.kind, x.kind AS entry_kind, x.event_id AS entry_event,
           e.payload - 'entry_id' - 'hold_id' - 'bucket_id' - 'account_id' - 'kind' AS figures,
           e.event_seq AS seq
    FROM credit_ledger.events e
    LEFT JOIN credit_ledger.entry x ON x.account_id = e.account_id AND x.entry_id = e.entry_id
    WHERE e.account_id BETWEEN 7901 AND 7909;

-- crossings of the account's own threshold, re-armed by going back above it
SELECT available FROM credit_ledger.grant_credits(7901, 100, 'ev-g1');
SELECT credit_ledger.set_alert(7901, 50);
SELECT available FROM credit_ledger.deduct(7901, 30, 'ev-d1');
SELECT available FROM credit_ledger.deduct(7901, 30, 'ev-d2');
SELECT available FROM credit_ledger.deduct(7901, 30, 'ev-d3');
SELECT available, replayed FROM credit_ledger.deduct(7901, 30, 'ev-d3');
SELECT available FROM credit_ledger.deduct(7901, 10, 'ev-d4');
BEGIN;
SELECT available FROM credit_ledger.grant_credits(7901, 100, 'ev-rolled-back');
ROLLBACK;
SELECT available FROM credit_ledger.grant_credits(7901, 100, 'ev-g2');
SELECT available FROM credit_ledger.deduct(7901, 60, 'ev-d5');
SELECT hold_id IS NOT NULL AS held, available FROM credit_ledger.reserve(7901, 40, 'ev-h1', '1 hour');
SELECT available FROM credit_ledger.cancel(7901, (SELECT hold_id FROM credit_ledger.hold WHERE event_id = 'ev-h1'));
SELECT account_id, kind, entry_kind, entry_event, figures FROM ev ORDER BY seq;

-- no threshold of its own: credit_ledger.default_low_balance (none by default)
SET credit_ledger.default_low_balance = '20';
SELECT available FROM credit_ledger.grant_credits(7902, 30, 'ev-g3');
SELECT available FROM credit_ledger.deduct(7902, 15, 'ev-d6');
-- its own threshold wins, and NULL removes it again
SELECT credit_ledger.set_alert(7902, 5);
SELECT available FROM credit_ledger.grant_credits(7902, 10, 'ev-g4');
SELECT available FROM credit_ledger.deduct(7902, 15, 'ev-d7');
SELECT credit_ledger.set_alert(7902, NULL);
SELECT available FROM credit_ledger.grant_credits(7902, 40, 'ev-g5');
SELECT available FROM credit_ledger.deduct(7902, 35, 'ev-d8');
RESET credit_ledger.default_low_balance;
SELECT account_id, kind, entry_kind, entry_event, figures FROM ev WHERE account_id = 7902 ORDER BY seq;
SELECT expect_error($$SET credit_ledger.default_low_balance = 'lots'$$);
SELECT expect_error($$SELECT credit_ledger.set_alert(7999, 10)$$);
SELECT expect_error($$SELECT credit_ledger.set_alert(NULL, 10)$$);

-- expiries: one event per hold and per bucket, also when a call (not the worker) writes them
SELECT available FROM credit_ledger.grant_credits(7903, 50, 'ev-g6', expires_at => now() + interval '1 second');
SELECT available FROM credit_ledger.grant_credits(7903, 5, 'ev-g7', expires_at => now() + interval '1 second');
SELECT hold_id IS NOT NULL AS held FROM credit_ledger.reserve(7903, 10, 'ev-h2', '1 second');
SELECT pg_sleep(1.2);
SELECT * FROM credit_ledger.sweep();
SELECT account_id, kind, entry_kind, entry_event, figures FROM ev WHERE account_id = 7903 ORDER BY seq;

-- consumers: every one sees every event; the same again until acknowledged
SELECT count(*) AS polled FROM credit_ledger.poll_events('ev-a', 100000) WHERE account_id BETWEEN 7901 AND 7909;
SELECT count(*) AS again FROM credit_ledger.poll_events('ev-a', 100000) WHERE account_id BETWEEN 7901 AND 7909;
SELECT credit_ledger.ack_events('ev-a', max(event_seq)) FROM credit_ledger.events;
SELECT count(*) AS after_ack FROM credit_ledger.poll_events('ev-a', 100000);
SELECT count(*) AS another_consumer FROM credit_ledger.poll_events('ev-b', 100000) WHERE account_id BETWEEN 7901 AND 7909;
-- max_rows: the next ones in order, then on from the acknowledged one
CREATE TEMP TABLE first_two AS SELECT event_seq FROM credit_ledger.poll_events('ev-c', 2);
SELECT count(*) AS rows, min(event_seq) = (SELECT min(event_seq) FROM credit_ledger.events) AS from_the_oldest FROM first_two;
SELECT credit_ledger.ack_events('ev-c', max(event_seq)) FROM first_two;
SELECT credit_ledger.ack_events('ev-c', min(event_seq)) FROM first_two;
SELECT min(p.event_seq) > (SELECT max(event_seq) FROM first_two) AS goes_on
FROM credit_ledger.poll_events('ev-c', 2) p;
SELECT expect_error($$SELECT credit_ledger.poll_events(NULL)$$);
SELECT expect_error($$SELECT credit_ledger.poll_events('', 10)$$);
SELECT expect_error($$SELECT credit_ledger.ack_events('ev-nobody', 1)$$);
SELECT expect_error($$SELECT credit_ledger.ack_events('ev-a', -1)$$);

-- retention: events older than credit_ledger.event_retention go once every consumer acknowledged them
-- (other tests registered consumers too: they acknowledge everything first)
CREATE FUNCTION pg_temp.ack_all(but text[]) RETURNS boolean LANGUAGE sql AS $$
    SELECT count(*) FROM credit_ledger.poll_events('ev-a', 1);  -- numbers every event so far
    SELECT count(credit_ledger.ack_events(c.consumer, (SELECT event_seq FROM credit_ledger.event
                                                       ORDER BY delivery DESC NULLS LAST LIMIT 1))) > 0
    FROM credit_ledger.event_consumer c WHERE c.consumer <> ALL (but);
$$;
UPDATE credit_ledger.event SET created_at = created_at - interval '8 days' WHERE account_id = 7901;
SELECT pg_temp.ack_all(ARRAY['ev-b', 'ev-c']) AS others_acknowledged;
SELECT * FROM credit_ledger.sweep();
SELECT count(*) AS kept_while_unacknowledged FROM ev WHERE account_id = 7901;
SELECT pg_temp.ack_all('{}') AS all_acknowledged;
SELECT * FROM credit_ledger.sweep();
SELECT count(*) AS kept_after_all_acknowledged FROM ev WHERE account_id = 7901;
SELECT count(*) AS younger_kept FROM ev WHERE account_id = 7902;
SELECT * FROM credit_ledger.verify();
DROP VIEW ev;
