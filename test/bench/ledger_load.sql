-- credit_ledger's accounts for the benchmark, opened through its own API:
-- per account a gift bucket that expires in 30 days (spent first, so every
-- call checks expiry and chooses among two live buckets) and a paid bucket
-- that never expires. :first, :last and :credits come from psql -v.
SELECT count(credit_ledger.grant_credits(a, :credits, 'gift-' || a, 'gift',
                                         now() + interval '30 days'))
     + count(credit_ledger.grant_credits(a, :credits, 'paid-' || a, 'recharge'))
       AS grants
FROM generate_series(:first, :last) a;
