-- catalog.sql: a normalized description of everything credit_ledger puts
-- in a database, one line per object, no OIDs: test/upgrade.sh diffs it
-- between a fresh install and an updated one (and a restored dump). Any
-- object the extension owns is listed through pg_depend, so what later
-- releases add is compared without changing this file. ACLs are sorted
-- text, so the order grants were made in does not count.
\pset format unaligned
\pset tuples_only on
\pset pager off
WITH members AS (
    SELECT d.classid, d.objid
    FROM pg_depend d JOIN pg_extension x ON d.refclassid = 'pg_extension'::regclass
        AND d.refobjid = x.oid AND x.extname = 'credit_ledger'
    WHERE d.deptype = 'e'
), rels AS (
    SELECT c.* FROM pg_class c WHERE c.relnamespace = 'credit_ledger'::regnamespace
)
SELECT line FROM (
    SELECT 'extension ' || x.extname || ' version ' || x.extversion || ' relocatable '
           || x.extrelocatable || ' schema ' || x.extnamespace::regnamespace::text AS line
    FROM pg_extension x WHERE x.extname = 'credit_ledger'
    UNION ALL
    SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) FROM members m
    UNION ALL
    SELECT 'config-dumped ' || cfg::regclass::text || ' where ' || coalesce(cond, '')
    FROM pg_extension x,
         LATERAL unnest(x.extconfig, coalesce(x.extcondition, array_fill(''::text, ARRAY[cardinality(x.extconfig)])))
            AS u(cfg, cond)
    WHERE x.extname = 'credit_ledger'
    UNION ALL
    SELECT 'NOT CONFIG-DUMPED ' || c.relname
    FROM rels c JOIN pg_extension x ON x.extname = 'credit_ledger'
    WHERE c.relkind IN ('r', 'S', 'p') AND NOT c.oid = ANY (coalesce(x.extconfig, '{}'))
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text
           || ' returns ' || pg_get_function_result(p.oid)
           || ' args (' || pg_get_function_arguments(p.oid) || ')'
           || ' kind ' || p.prokind::text || ' lang ' || l.lanname
           || ' volatile ' || p.provolatile::text || ' strict ' || p.proisstrict
           || ' secdef ' || p.prosecdef || ' leakproof ' || p.proleakproof
           || ' parallel ' || p.proparallel::text || ' cost ' || p.procost || ' rows ' || p.prorows
           || ' config ' || coalesce(array_to_string(p.proconfig, ','), '-')
           || ' owner ' || p.proowner::regrole::text
           || ' body ' || md5(coalesce(p.probin, '') || '|' || p.prosrc)
           || ' acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(p.proacl) a), '-')
           || ' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
    WHERE p.pronamespace = 'credit_ledger'::regnamespace
    UNION ALL
    SELECT 'relation ' || c.relname || ' kind ' || c.relkind::text
           || ' persistence ' || c.relpersistence::text
           || ' options ' || coalesce(array_to_string(c.reloptions, ','), '-')
           || ' owner ' || c.relowner::regrole::text
           || ' acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(c.relacl) a), '-')
           || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
    FROM rels c
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' #' || a.attnum
           || ' ' || format_type(a.atttypid, a.atttypmod)
           || ' notnull ' || a.attnotnull
           || ' default ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-')
           || ' acl ' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.attacl) x), '-')
           || ' comment ' || coalesce(col_description(c.oid, a.attnum), '-')
    FROM rels c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
    WHERE c.relkind IN ('r', 'v', 'm', 'c', 'p', 'f')
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN rels c ON c.oid = i.indrelid
    UNION ALL
    SELECT 'constraint ' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
           || ' deferrable ' || k.condeferrable || ' validated ' || k.convalidated
    FROM pg_constraint k JOIN rels c ON c.oid = k.conrelid
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
           || ' comment ' || coalesce(obj_description(t.oid, 'pg_trigger'), '-')
    FROM pg_trigger t JOIN rels c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'view ' || c.relname || ' ' || md5(pg_get_viewdef(c.oid)) FROM rels c WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'sequence ' || s.seqrelid::regclass::text || ' ' || format_type(s.seqtypid, NULL)
           || ' start ' || s.seqstart || ' increment ' || s.seqincrement || ' min ' || s.seqmin
           || ' max ' || s.seqmax || ' cache ' || s.seqcache || ' cycle ' || s.seqcycle
           || ' owned by ' || coalesce((SELECT pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
                                        FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                          AND d.objid = s.seqrelid AND d.deptype = 'a'), '-')
    FROM pg_sequence s JOIN rels c ON c.oid = s.seqrelid
    UNION ALL
    SELECT 'type ' || t.typname || ' ' || t.typtype::text
           || ' comment ' || coalesce(obj_description(t.oid, 'pg_type'), '-')
    FROM pg_type t WHERE t.typnamespace = 'credit_ledger'::regnamespace
    UNION ALL
    SELECT 'schema credit_ledger owner ' || n.nspowner::regrole::text
           || ' acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(n.nspacl) a), '-')
           || ' comment ' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
    FROM pg_namespace n WHERE n.nspname = 'credit_ledger'
    UNION ALL
    -- what pg_dump treats as the extension's own privileges (it dumps the rest)
    SELECT 'init-privs ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid) || ' ' || ip.privtype::text
           || ' ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(ip.initprivs) a), '-')
    FROM pg_init_privs ip JOIN members m ON m.classid = ip.classoid AND m.objid = ip.objoid
) d
ORDER BY line COLLATE "C";
