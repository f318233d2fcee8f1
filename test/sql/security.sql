-- Security: nothing for PUBLIC, every SECURITY DEFINER function pins its
-- search_path, and a role with no grants can do nothing.

SELECT count(*) AS public_table_grants
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.relnamespace = 'credit_ledger'::regnamespace AND a.grantee = 0;
SELECT count(*) AS functions_open_to_public
FROM pg_proc p
WHERE p.pronamespace = 'credit_ledger'::regnamespace
  AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0));
SELECT count(*) AS definer_functions_without_pinned_search_path
FROM pg_proc p
WHERE p.pronamespace = 'credit_ledger'::regnamespace AND p.prosecdef
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);
SELECT count(*) > 0 AS has_definer_functions
FROM pg_proc WHERE pronamespace = 'credit_ledger'::regnamespace AND prosecdef;

CREATE ROLE cl_nobody;
SET ROLE cl_nobody;
SELECT expect_error($$SELECT credit_ledger.grant_credits(800, 10, 'sec-g')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.accounts$$);
SELECT expect_error($$INSERT INTO credit_ledger.account (account_id) VALUES (800)$$);
RESET ROLE;
-- the schema alone opens nothing: functions and tables are not PUBLIC's
GRANT USAGE ON SCHEMA credit_ledger TO cl_nobody;
SET ROLE cl_nobody;
SELECT expect_error($$SELECT credit_ledger.grant_credits(800, 10, 'sec-g')$$);
SELECT expect_error($$SELECT * FROM credit_ledger.accounts$$);
SELECT expect_error($$SELECT * FROM credit_ledger.verify()$$);
SELECT expect_error($$INSERT INTO credit_ledger.account (account_id) VALUES (800)$$);
RESET ROLE;
REVOKE USAGE ON SCHEMA credit_ledger FROM cl_nobody;
DROP ROLE cl_nobody;
SELECT count(*) AS accounts FROM credit_ledger.account WHERE account_id = 800;
