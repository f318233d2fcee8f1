-- Documentation: every table, view, type, column and function of the
-- extension has a COMMENT, so that \d+ and \df+ explain it. Lists what lacks one.

SELECT CASE c.relkind WHEN 'r' THEN 'table' ELSE 'view' END AS kind, c.relname::text AS object
FROM pg_class c
WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind IN ('r', 'v')
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'column', c.relname || '.' || a.attname
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind IN ('r', 'v', 'c')
  AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
-- composite, enum and domain types (not the row types of tables and views)
SELECT 'type', t.typname::text
FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE t.typnamespace = 'credit_ledger'::regnamespace AND t.typtype IN ('c', 'e', 'd')
  AND (c.relkind IS NULL OR c.relkind = 'c')
  AND obj_description(t.oid, 'pg_type') IS NULL
UNION ALL
SELECT 'function', p.oid::regprocedure::text
FROM pg_proc p
WHERE p.pronamespace = 'credit_ledger'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1, 2;
-- and the check has something to check
SELECT count(*) > 50 AS columns_checked
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'credit_ledger'::regnamespace AND c.relkind IN ('r', 'v', 'c') AND a.attnum > 0;
