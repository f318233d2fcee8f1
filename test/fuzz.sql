-- fuzz.sql (psql -v seed=0.N -v calls=N): every credit_ledger function (taken from the catalog, so new
-- ones are fuzzed too) called :calls times in all, with arguments drawn at
-- random from pools of awkward values per type. Any error is fine except
-- XX000 (an internal error a caller could reach); a crash shows in the
-- server log. Then verify() must be empty: whatever was accepted went
-- through the functions.
\set ON_ERROR_STOP 1
SELECT setseed(:seed);
SET fuzz.calls = :calls;
CREATE TEMP TABLE fuzz_outcome (sqlstate text, function text, call text);

DO $$
DECLARE
    pools jsonb := jsonb_build_object(
        'bigint', jsonb_build_array('NULL', '0', '1', '-1', '7', '42', '1000',
            '9223372036854775807', '-9223372036854775808', '9223372036854775000'),
        'integer', jsonb_build_array('NULL', '0', '-1', '1', '50', '2147483647', '-2147483648'),
        'text', jsonb_build_array('NULL', '''''', '''fz-1''', '''fz-2''', '''fz-3''',
            'repeat(''y'', 256)', 'repeat(''€'', 85)', '''active''', '''frozen''', '''closed''',
            '''recharge''', '''usage''', '''*''', 'E''\\''', 'E''a\nb''', 'U&''\0301''',
            '''chat''', '''openai''', '''gpt-4o''', '''gpt*'''),
        'timestamp with time zone', jsonb_build_array('NULL', 'now()', 'now() + interval ''1 ms''',
            'now() + interval ''1 hour''', 'now() - interval ''1 hour''', '''infinity''',
            '''-infinity''', '''294276-12-31 23:59:59+00'''),
        'interval', jsonb_build_array('NULL', 'interval ''0''', 'interval ''-1 s''',
            'interval ''1 ms''', 'interval ''1 hour''', 'interval ''178000000 years'''),
        'jsonb', jsonb_build_array('NULL', '''{}''', '''[1, 2]''', '''"x"''', '''{"a": null}'''),
        'numeric', jsonb_build_array('NULL', '0', '-1', '0.000001', '1e20', '''NaN''',
            '''Infinity'''));
    fn record;
    args text;
    call text;
    t text;
    pool jsonb;
BEGIN
    FOR i IN 1 .. current_setting('fuzz.calls')::int LOOP
        SELECT p.oid::regproc AS name, p.oid::regprocedure::text AS signature,
               p.proargtypes::oid[] AS types
        INTO fn
        FROM pg_proc p
        WHERE p.pronamespace = 'credit_ledger'::regnamespace
          AND p.prorettype <> 'trigger'::regtype
        ORDER BY random() LIMIT 1;
        SELECT coalesce(string_agg(v, ', ' ORDER BY n), '') INTO args
        FROM (SELECT n, '(' || CASE WHEN pools ? format_type(a, NULL)
                        THEN (pools -> format_type(a, NULL)) ->> floor(random()
                             * jsonb_array_length(pools -> format_type(a, NULL)))::int
                        ELSE 'NULL' END || ')::' || format_type(a, NULL) AS v
              FROM unnest(fn.types) WITH ORDINALITY AS u(a, n)) s;
        call := format('SELECT * FROM %s(%s)', fn.name, args);
        BEGIN
            EXECUTE call;
            INSERT INTO fuzz_outcome VALUES ('ok', fn.signature, call);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS t = RETURNED_SQLSTATE;
            INSERT INTO fuzz_outcome VALUES (t, fn.signature, call);
        END;
    END LOOP;
END
$$;

SELECT sqlstate, count(*) AS calls FROM fuzz_outcome GROUP BY 1 ORDER BY 1;
SELECT count(DISTINCT function) AS functions_fuzzed FROM fuzz_outcome;
-- one example of each refusal
SELECT DISTINCT ON (sqlstate) sqlstate, left(call, 110) AS example
FROM fuzz_outcome WHERE sqlstate <> 'ok' ORDER BY sqlstate, length(call), call;
SELECT 'internal error: ' || call AS problem FROM fuzz_outcome WHERE sqlstate = 'XX000'
UNION ALL
SELECT 'verify: ' || v::text FROM credit_ledger.verify() v;
