-- description, reason, source and metadata stay in rows nobody deletes:
-- past credit_ledger.max_text_size (64 kB by default, superuser-set) they
-- are refused with 22023 before the account is locked, and nothing changes.
SELECT amount, balance FROM credit_ledger.grant_credits(7831, 100, 'tb-g1');
SELECT expect_error($$SELECT credit_ledger.deduct(7831, 1, 'tb-d1', description => repeat('x', 70000))$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7831, 1, 'tb-d1', metadata => jsonb_build_object('k', repeat('x', 70000)))$$);
SELECT expect_error($$SELECT credit_ledger.deduct(7831, 1, 'tb-d1', source => repeat('s', 70000))$$);
SELECT expect_error($$SELECT credit_ledger.grant_credits(7831, 1, 'tb-g2', description => repeat('x', 70000))$$);
SELECT expect_error($$SELECT credit_ledger.reserve(7831, 1, 'tb-h1', metadata => jsonb_build_object('k', repeat('x', 70000)))$$);
SELECT expect_error($$SELECT credit_ledger.adjust(7831, 1, 'tb-a1', repeat('r', 70000))$$);
SELECT expect_error($$SELECT credit_ledger.set_status(7831, 'active', repeat('r', 70000))$$);
SELECT expect_error($$SELECT credit_ledger.open_account(7832, 0, jsonb_build_object('k', repeat('x', 70000)))$$);
-- a compressible 100 MB value is refused by its size, not by what it compresses to
SELECT expect_error($$SELECT credit_ledger.deduct(7831, 1, 'tb-d1', description => repeat('x', 100000000))$$);
SELECT count(*) AS entries, max(balance_after) AS balance FROM credit_ledger.entry WHERE account_id = 7831;
-- up to the bound is fine
SELECT amount, balance FROM credit_ledger.deduct(7831, 1, 'tb-d1', description => repeat('x', 65536));
-- the bound is the superuser's: an application role cannot raise it
SET credit_ledger.max_text_size = '1MB';
SELECT amount, balance FROM credit_ledger.deduct(7831, 1, 'tb-d2', description => repeat('x', 70000));
RESET credit_ledger.max_text_size;
CREATE ROLE tb_app;
SET ROLE tb_app;
SELECT expect_error($$SET credit_ledger.max_text_size = '1MB'$$);
RESET ROLE;
DROP ROLE tb_app;
