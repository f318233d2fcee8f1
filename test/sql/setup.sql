-- Shared by the regression tests (they run in order in one database):
-- expect_error() runs a statement and shows the error it raised as
-- "SQLSTATE message | DETAIL", or "no error". Its subtransaction rolls the
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
    RETURN state || ' ' || message || COALESCE(' | ' || NULLIF(detail, ''), '');
END
$$;
SELECT expect_error('SELECT 1');
SELECT expect_error('SELECT 1/0');
