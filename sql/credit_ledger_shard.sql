-- credit_ledger_shard.sql: run with psql on every shard of a sharded
-- credit_ledger (README, "Scaling out"), after CREATE EXTENSION
-- credit_ledger and before its subscription to the reference data.
--
-- The rule and product tables reach the shards by logical replication. Its
-- apply worker runs with session_replication_role = replica and fires row
-- triggers only, never statement triggers: the extension's statement
-- trigger price_rule_changed, which makes every session drop its cached
-- price rules, would not run, and sessions would go on pricing with the old
-- rules. This row trigger does the same when the apply worker writes a rule
-- (ENABLE REPLICA: it fires only then; a local edit fires the extension's
-- own trigger).
CREATE TRIGGER price_rule_changed_by_replication AFTER INSERT OR UPDATE OR DELETE
    ON credit_ledger.price_rule
    FOR EACH ROW EXECUTE FUNCTION credit_ledger.price_rules_changed();
ALTER TABLE credit_ledger.price_rule ENABLE REPLICA TRIGGER price_rule_changed_by_replication;

-- Entries record the rule that priced them, and they are on the shards, not
-- on the config database: guard their rules under replication too, so that
-- deleting or truncating such a rule on the config database stops the
-- subscription (the 23503 is in the shard's log) instead of orphaning
-- entries. Retire a rule with active = false. (The extension's own row
-- guard is not enabled for replication: it also fires for UPDATE OF id,
-- and the apply worker's updates name every column.)
CREATE TRIGGER price_rule_keep_priced_by_replication BEFORE DELETE ON credit_ledger.price_rule
    FOR EACH ROW EXECUTE FUNCTION credit_ledger.refuse_priced_rule_delete();
ALTER TABLE credit_ledger.price_rule ENABLE REPLICA TRIGGER price_rule_keep_priced_by_replication;
ALTER TABLE credit_ledger.price_rule ENABLE ALWAYS TRIGGER price_rule_keep_priced_truncate;
