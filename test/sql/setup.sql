-- Shared by the regression tests (they run in order in one database):
-- expect_error() runs a statement and shows the error it raised as
-- "SQLSTATE message | DETAIL", or "no error" (an instant that ends the
-- DETAIL shown as <instant>). Its subtransaction rolls the
-- statement back either way, as the failed call itself would be.
CREATE FUNCTION expect_error(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
    -- the instant a DETAIL ends with (LD007's) varies from run to run
    RETURN state || ' ' || message || COALESCE(' | ' || NULLIF(regexp_replace(detail,
        ' at [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+[+-][0-9]{2}\.$', ' at <instant>.'), ''), '');
END
$$;
SELECT expect_error('SELECT 1');
SELECT expect_error('SELECT 1/0');
