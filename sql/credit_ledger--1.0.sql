\echo Use "CREATE EXTENSION credit_ledger" to load this file. \quit

-- credit_ledger 1.0: the whole schema. Money only moves through the C
-- functions below; the tables are the extension's own and nobody else's.

---------------------------------------------------------------------------
-- Tables
---------------------------------------------------------------------------

-- One row per wallet. balance/reserved/totals are maintained by the money
-- functions under this row's lock and recomputed by verify().
CREATE TABLE credit_ledger.account (
    account_id      bigint PRIMARY KEY,
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'frozen', 'closed')),
    credit_limit    bigint NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    balance         bigint NOT NULL DEFAULT 0,
    reserved        bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    debt            bigint NOT NULL DEFAULT 0 CHECK (debt >= 0),
    total_granted   bigint NOT NULL DEFAULT 0,
    total_consumed  bigint NOT NULL DEFAULT 0,
    total_expired   bigint NOT NULL DEFAULT 0,
    total_refunded  bigint NOT NULL DEFAULT 0,
    next_expiry_at  timestamptz,
    metadata        jsonb,
    status_reason   text,
    status_changed_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- the overspend guarantee, enforced by the database itself as well
    CONSTRAINT account_within_credit_limit
        CHECK (balance OPERATOR(pg_catalog.-) reserved
               OPERATOR(pg_catalog.>=) OPERATOR(pg_catalog.-) credit_limit)
) WITH (fillfactor = 80);

COMMENT ON TABLE credit_ledger.account IS
    'credit_ledger: one row per account (wallet); written only by the credit_ledger functions';
COMMENT ON COLUMN credit_ledger.account.account_id IS 'the application''s id for the account, usually its user id';
COMMENT ON COLUMN credit_ledger.account.status IS 'active, frozen (no money out) or closed (nothing moves)';
COMMENT ON COLUMN credit_ledger.account.credit_limit IS 'how far available may go below zero (0 = plain prepaid wallet)';
COMMENT ON COLUMN credit_ledger.account.balance IS 'credits posted: live bucket credits plus held slices, minus debt (expiries not yet applied may be pending; read credit_ledger.accounts for the exact figure)';
COMMENT ON COLUMN credit_ledger.account.reserved IS 'credits held by pending holds';
COMMENT ON COLUMN credit_ledger.account.debt IS 'credits spent beyond the buckets through the credit limit; new credits repay it first';
COMMENT ON COLUMN credit_ledger.account.total_granted IS 'all credits that entered through grants, rewards and positive adjustments';
COMMENT ON COLUMN credit_ledger.account.total_consumed IS 'all credits consumed by deducts, confirms, charges and negative adjustments';
COMMENT ON COLUMN credit_ledger.account.total_expired IS 'all credits that lapsed when their bucket expired';
COMMENT ON COLUMN credit_ledger.account.total_refunded IS 'all credits returned by refunds';
COMMENT ON COLUMN credit_ledger.account.next_expiry_at IS 'never later than the earliest pending expiry of a bucket or hold: the functions expire what is due when this time has passed';
COMMENT ON COLUMN credit_ledger.account.metadata IS 'free-form application data given to open_account';
COMMENT ON COLUMN credit_ledger.account.created_at IS 'when the account was opened';
COMMENT ON COLUMN credit_ledger.account.status_reason IS 'the reason given to the last set_status';
COMMENT ON COLUMN credit_ledger.account.status_changed_at IS 'when set_status last ran (NULL: never)';

-- A bucket of credits: every credit that enters an account lives in one.
CREATE TABLE credit_ledger.bucket (
    account_id  bigint NOT NULL,
    bucket_id   bigserial,
    source      text NOT NULL,
    granted     bigint NOT NULL CHECK (granted > 0),
    remaining   bigint NOT NULL CHECK (remaining >= 0),
    -- remaining > 0, kept apart so that changing remaining stays a HOT update
    live        boolean NOT NULL,
    priority    integer NOT NULL,
    expires_at  timestamptz,
    entry_id    bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, bucket_id),
    CONSTRAINT bucket_live_means_remaining
        CHECK (live OPERATOR(pg_catalog.=) (remaining OPERATOR(pg_catalog.>) 0))
) WITH (fillfactor = 80);

-- burn-down order: lower priority, earliest expiry (none last), oldest
CREATE INDEX bucket_burn_down ON credit_ledger.bucket
    (account_id, priority, expires_at, bucket_id) WHERE live;
CREATE INDEX bucket_expiry ON credit_ledger.bucket (expires_at)
    WHERE live AND expires_at IS NOT NULL;

COMMENT ON TABLE credit_ledger.bucket IS
    'credit_ledger: grant buckets; money out consumes them in burn-down order (priority, expires_at, age)';
COMMENT ON COLUMN credit_ledger.bucket.source IS 'where the credits came from: recharge, reward, gift, adjust, refund...';
COMMENT ON COLUMN credit_ledger.bucket.granted IS 'credits the bucket was created with';
COMMENT ON COLUMN credit_ledger.bucket.remaining IS 'credits still free to spend (held slices are not counted here)';
COMMENT ON COLUMN credit_ledger.bucket.live IS 'remaining > 0; drives the burn-down index';
COMMENT ON COLUMN credit_ledger.bucket.priority IS 'lower is spent first';
COMMENT ON COLUMN credit_ledger.bucket.expires_at IS 'when the unspent credits lapse (NULL = never)';
COMMENT ON COLUMN credit_ledger.bucket.entry_id IS 'the ledger entry that created the bucket';
COMMENT ON COLUMN credit_ledger.bucket.account_id IS 'the account the credits belong to';
COMMENT ON COLUMN credit_ledger.bucket.bucket_id IS 'bucket id, named in the slices of entries and holds';
COMMENT ON COLUMN credit_ledger.bucket.created_at IS 'when the credits entered the account (burn-down spends older buckets first among equals)';

-- A reservation against an account, settled once by confirm or cancel, or
-- expired. The slices say which buckets the held credits were drawn from.
CREATE TABLE credit_ledger.hold (
    account_id        bigint NOT NULL,
    hold_id           bigserial,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'confirmed', 'cancelled', 'expired')),
    amount            bigint NOT NULL CHECK (amount > 0),
    slice_bucket_ids  bigint[] NOT NULL,
    slice_amounts     bigint[] NOT NULL,
    event_id          text NOT NULL,
    source            text NOT NULL,
    description       text,
    metadata          jsonb,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    settled_amount    bigint,
    resolved_at       timestamptz,
    result_entry_id   bigint,
    PRIMARY KEY (account_id, hold_id)
);

-- the sweep finds due holds by time; a call recomputing an account's next
-- expiry reads that account's pending holds
CREATE INDEX hold_pending_expiry ON credit_ledger.hold (expires_at)
    WHERE state OPERATOR(pg_catalog.=) 'pending';
CREATE INDEX hold_pending_by_account ON credit_ledger.hold (account_id, expires_at)
    WHERE state OPERATOR(pg_catalog.=) 'pending';

COMMENT ON TABLE credit_ledger.hold IS
    'credit_ledger: holds (reservations) made by reserve and settled by confirm, cancel or expiry';
COMMENT ON COLUMN credit_ledger.hold.state IS 'pending, confirmed, cancelled or expired; only pending ever changes';
COMMENT ON COLUMN credit_ledger.hold.account_id IS 'the account the credits are held on';
COMMENT ON COLUMN credit_ledger.hold.hold_id IS 'hold id, given to confirm and cancel';
COMMENT ON COLUMN credit_ledger.hold.amount IS 'credits held';
COMMENT ON COLUMN credit_ledger.hold.slice_bucket_ids IS 'buckets the held credits were drawn from, in burn-down order';
COMMENT ON COLUMN credit_ledger.hold.slice_amounts IS 'credits drawn from each bucket of slice_bucket_ids; the rest of amount is drawn on credit';
COMMENT ON COLUMN credit_ledger.hold.event_id IS 'the reserve call''s idempotency key';
COMMENT ON COLUMN credit_ledger.hold.source IS 'the source the consumption is recorded under when the hold is confirmed';
COMMENT ON COLUMN credit_ledger.hold.description IS 'free text given to reserve';
COMMENT ON COLUMN credit_ledger.hold.metadata IS 'free-form application data given to reserve';
COMMENT ON COLUMN credit_ledger.hold.created_at IS 'when the hold was reserved';
COMMENT ON COLUMN credit_ledger.hold.expires_at IS 'after this the hold is expired: it no longer counts and cannot be settled';
COMMENT ON COLUMN credit_ledger.hold.settled_amount IS 'credits consumed by confirm';
COMMENT ON COLUMN credit_ledger.hold.resolved_at IS 'when the hold left pending';
COMMENT ON COLUMN credit_ledger.hold.result_entry_id IS 'the confirm, cancel or expire_hold entry that settled the hold';

-- The ledger: one row per change of an account, append-only.
CREATE TABLE credit_ledger.entry (
    account_id        bigint NOT NULL,
    entry_id          bigserial,
    -- one of the kinds below. A regular expression rather than IN (...):
    -- every INSERT re-reads its CHECK expressions, and an array of ten
    -- strings costs a third of a deduct's INSERT to re-read; the pattern
    -- (compiled once per backend) does the same check for a fraction.
    kind              text NOT NULL CONSTRAINT entry_kind_check CHECK (kind OPERATOR(pg_catalog.~)
                      '^(grant|deduct|reserve|confirm|cancel|expire_hold|expire_grant|refund|adjust|reward)$'),
    amount            bigint NOT NULL,
    reserved_delta    bigint NOT NULL,
    balance_after     bigint NOT NULL,
    reserved_after    bigint NOT NULL,
    event_id          text,
    hold_id           bigint,
    source            text,
    description       text,
    metadata          jsonb,
    price_rule_id     bigint,
    input_tokens      bigint,
    output_tokens     bigint,
    cached_tokens     bigint,
    reasoning_tokens  bigint,
    bucket_ids        bigint[],
    bucket_amounts    bigint[],
    ref_entry_id      bigint,
    request           text,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (account_id, entry_id)
);

CREATE UNIQUE INDEX entry_event ON credit_ledger.entry (account_id, event_id)
    WHERE event_id IS NOT NULL;
-- consumption(): an index-only scan of one account's time range (the ledger
-- is append-only, so its pages soon become all-visible)
CREATE INDEX entry_consumption ON credit_ledger.entry (account_id, created_at)
    INCLUDE (amount, input_tokens, output_tokens, cached_tokens, reasoning_tokens)
    WHERE kind IN ('deduct', 'confirm');
CREATE INDEX entry_ref ON credit_ledger.entry (account_id, ref_entry_id)
    WHERE ref_entry_id IS NOT NULL;

COMMENT ON TABLE credit_ledger.entry IS
    'credit_ledger: the append-only ledger, one row per change of an account (read it through credit_ledger.entries)';
COMMENT ON COLUMN credit_ledger.entry.kind IS 'grant, deduct, reserve, confirm, cancel, expire_hold, expire_grant, refund, adjust or reward';
COMMENT ON COLUMN credit_ledger.entry.account_id IS 'the account the entry changed';
COMMENT ON COLUMN credit_ledger.entry.entry_id IS 'entry id, increasing in the order the entries were written';
COMMENT ON COLUMN credit_ledger.entry.amount IS 'signed change of the account''s balance';
COMMENT ON COLUMN credit_ledger.entry.reserved_delta IS 'signed change of the account''s reserved credits';
COMMENT ON COLUMN credit_ledger.entry.balance_after IS 'the account''s balance right after this entry';
COMMENT ON COLUMN credit_ledger.entry.reserved_after IS 'the account''s reserved credits right after this entry';
COMMENT ON COLUMN credit_ledger.entry.event_id IS 'the caller''s idempotency key (unique per account); NULL for entries the ledger wrote itself';
COMMENT ON COLUMN credit_ledger.entry.hold_id IS 'the hold this entry reserved, settled or expired';
COMMENT ON COLUMN credit_ledger.entry.price_rule_id IS 'the price rule a charge was priced with';
COMMENT ON COLUMN credit_ledger.entry.source IS 'grants and rewards: the bucket''s source; consumption: what it was for (usage for charges)';
COMMENT ON COLUMN credit_ledger.entry.description IS 'free text given by the caller; charges: the scene, provider and model';
COMMENT ON COLUMN credit_ledger.entry.metadata IS 'free-form application data given by the caller';
COMMENT ON COLUMN credit_ledger.entry.input_tokens IS 'priced charges: input tokens billed';
COMMENT ON COLUMN credit_ledger.entry.output_tokens IS 'priced charges: output tokens billed';
COMMENT ON COLUMN credit_ledger.entry.cached_tokens IS 'priced charges: cached input tokens billed';
COMMENT ON COLUMN credit_ledger.entry.reasoning_tokens IS 'priced charges: reasoning tokens billed';
COMMENT ON COLUMN credit_ledger.entry.created_at IS 'the instant of the call that wrote the entry (its statement''s start)';
COMMENT ON COLUMN credit_ledger.entry.bucket_ids IS 'buckets this entry drew from or credited, in order';
COMMENT ON COLUMN credit_ledger.entry.bucket_amounts IS 'credits drawn from or credited to each bucket of bucket_ids; a consumption beyond them was drawn on credit';
COMMENT ON COLUMN credit_ledger.entry.ref_entry_id IS 'for a refund: the charge it refunds; for an expire_grant written by a call: that call''s entry';
COMMENT ON COLUMN credit_ledger.entry.request IS 'the arguments of the call that wrote the entry, compared when its event_id is used again';

SELECT pg_catalog.pg_extension_config_dump('credit_ledger.account', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.bucket', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.bucket_bucket_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.hold', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.hold_hold_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.entry', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.entry_entry_id_seq', '');

-- Entries are append-only: history is never rewritten.
CREATE FUNCTION credit_ledger.refuse_entry_change() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'credit_ledger_refuse_entry_change';
COMMENT ON FUNCTION credit_ledger.refuse_entry_change() IS
    'trigger: refuses UPDATE, DELETE and TRUNCATE on the ledger (SQLSTATE 55000)';
CREATE TRIGGER entry_append_only BEFORE UPDATE OR DELETE ON credit_ledger.entry
    FOR EACH ROW EXECUTE FUNCTION credit_ledger.refuse_entry_change();
CREATE TRIGGER entry_no_truncate BEFORE TRUNCATE ON credit_ledger.entry
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger.refuse_entry_change();

---------------------------------------------------------------------------
-- Result type
---------------------------------------------------------------------------

CREATE TYPE credit_ledger.op_result AS (
    entry_id    bigint,
    hold_id     bigint,
    account_id  bigint,
    amount      bigint,
    balance     bigint,
    reserved    bigint,
    available   bigint,
    replayed    boolean
);
COMMENT ON TYPE credit_ledger.op_result IS
    'result of every money-moving function: the entry written, the amount moved and the account''s figures after the call; replayed = true when an earlier identical call''s result is returned';
COMMENT ON COLUMN credit_ledger.op_result.entry_id IS 'the entry the call wrote (or, replayed, the one it wrote first)';
COMMENT ON COLUMN credit_ledger.op_result.hold_id IS 'the hold the call reserved or settled, else NULL';
COMMENT ON COLUMN credit_ledger.op_result.account_id IS 'the account';
COMMENT ON COLUMN credit_ledger.op_result.amount IS 'credits the call moved (adjust: with its sign)';
COMMENT ON COLUMN credit_ledger.op_result.balance IS 'the account''s balance after the call';
COMMENT ON COLUMN credit_ledger.op_result.reserved IS 'the account''s reserved credits after the call';
COMMENT ON COLUMN credit_ledger.op_result.available IS 'balance - reserved after the call';
COMMENT ON COLUMN credit_ledger.op_result.replayed IS 'true when the event_id was used before by the same request: nothing happened again';

---------------------------------------------------------------------------
-- Accounts
---------------------------------------------------------------------------

CREATE FUNCTION credit_ledger.open_account(account_id bigint, credit_limit bigint DEFAULT 0,
                                           metadata jsonb DEFAULT NULL)
    RETURNS void
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_open_account';
COMMENT ON FUNCTION credit_ledger.open_account(bigint, bigint, jsonb) IS
    'opens an account (idempotent: an existing account is left as it is)';

CREATE FUNCTION credit_ledger.set_status(account_id bigint, status text, reason text DEFAULT NULL)
    RETURNS void
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_set_status';
COMMENT ON FUNCTION credit_ledger.set_status(bigint, text, text) IS
    'sets an account active, frozen (no money out) or closed (nothing moves); the reason and the time are kept on the account';

CREATE FUNCTION credit_ledger.set_credit_limit(account_id bigint, credit_limit bigint)
    RETURNS void
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_set_credit_limit';
COMMENT ON FUNCTION credit_ledger.set_credit_limit(bigint, bigint) IS
    'sets how far available may go below zero; refused (LD001) if the account already uses more';

---------------------------------------------------------------------------
-- Money in and out
---------------------------------------------------------------------------

CREATE FUNCTION credit_ledger.grant_credits(account_id bigint, amount bigint, event_id text,
                                            source text DEFAULT 'recharge',
                                            expires_at timestamptz DEFAULT NULL,
                                            priority integer DEFAULT 0,
                                            description text DEFAULT NULL,
                                            metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_grant_credits';
COMMENT ON FUNCTION credit_ledger.grant_credits(bigint, bigint, text, text, timestamptz, integer, text, jsonb) IS
    'adds a bucket of credits (opening the account if needed); debt is repaid first';

CREATE FUNCTION credit_ledger.deduct(account_id bigint, amount bigint, event_id text,
                                     source text DEFAULT 'usage',
                                     description text DEFAULT NULL,
                                     metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_deduct';
COMMENT ON FUNCTION credit_ledger.deduct(bigint, bigint, text, text, text, jsonb) IS
    'consumes credits in burn-down order; LD001 if available would fall below -credit_limit';

CREATE FUNCTION credit_ledger.refund(account_id bigint, event_id text, original_event_id text,
                                     amount bigint DEFAULT NULL,
                                     description text DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_refund';
COMMENT ON FUNCTION credit_ledger.refund(bigint, text, text, bigint, text) IS
    'returns credits of an earlier charge to the buckets they came from (NULL amount = all not yet refunded)';

CREATE FUNCTION credit_ledger.adjust(account_id bigint, delta bigint, event_id text, reason text)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_adjust';
COMMENT ON FUNCTION credit_ledger.adjust(bigint, bigint, text, text) IS
    'operator correction of either sign; a negative delta obeys the credit limit';

---------------------------------------------------------------------------
-- Holds
---------------------------------------------------------------------------

CREATE FUNCTION credit_ledger.reserve(account_id bigint, amount bigint, event_id text,
                                      ttl interval DEFAULT NULL,
                                      source text DEFAULT 'usage',
                                      description text DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_reserve';
COMMENT ON FUNCTION credit_ledger.reserve(bigint, bigint, text, interval, text, text, jsonb) IS
    'holds credits for a call whose cost is known at its end (hold_id in the result); lowers available at once; LD001 past the credit limit; expires after ttl (NULL = credit_ledger.default_hold_ttl)';

CREATE FUNCTION credit_ledger.confirm(account_id bigint, hold_id bigint,
                                      amount bigint DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_confirm';
COMMENT ON FUNCTION credit_ledger.confirm(bigint, bigint, bigint, jsonb) IS
    'settles a pending hold for the final amount (NULL = the held amount): less releases the rest, more draws the excess (LD001 past the credit limit, the hold stays pending); a repeat replays, LD005 if settled otherwise';

CREATE FUNCTION credit_ledger.cancel(account_id bigint, hold_id bigint, reason text DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_cancel';
COMMENT ON FUNCTION credit_ledger.cancel(bigint, bigint, text) IS
    'releases a pending hold; a repeat replays, LD005 if it was confirmed or expired';

-- Pending holds that still count: one past its expires_at is expired even
-- before anything writes its expiry, so it is not listed.
CREATE VIEW credit_ledger.pending_holds AS
SELECT h.hold_id, h.account_id, h.amount, h.created_at, h.expires_at, h.event_id
FROM credit_ledger.hold h
WHERE h.state OPERATOR(pg_catalog.=) 'pending'
  AND h.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp();
COMMENT ON VIEW credit_ledger.pending_holds IS
    'holds that still reserve credits (pending and not yet past expires_at)';
COMMENT ON COLUMN credit_ledger.pending_holds.hold_id IS 'hold id, given to confirm and cancel';
COMMENT ON COLUMN credit_ledger.pending_holds.account_id IS 'the account the credits are held on';
COMMENT ON COLUMN credit_ledger.pending_holds.amount IS 'credits held';
COMMENT ON COLUMN credit_ledger.pending_holds.created_at IS 'when the hold was reserved';
COMMENT ON COLUMN credit_ledger.pending_holds.expires_at IS 'when the hold expires unless confirmed or cancelled before';
COMMENT ON COLUMN credit_ledger.pending_holds.event_id IS 'the reserve call''s idempotency key';

-- Grant buckets whose unspent credits will lapse, soonest first when ordered
-- by expires_at.
CREATE VIEW credit_ledger.expiring_grants AS
SELECT b.account_id, b.bucket_id, b.source, b.remaining, b.expires_at
FROM credit_ledger.bucket b
WHERE b.live AND b.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp();
COMMENT ON VIEW credit_ledger.expiring_grants IS
    'live grant buckets with an expiry still ahead: their remaining credits lapse at expires_at';
COMMENT ON COLUMN credit_ledger.expiring_grants.account_id IS 'the account the credits belong to';
COMMENT ON COLUMN credit_ledger.expiring_grants.bucket_id IS 'the bucket that expires';
COMMENT ON COLUMN credit_ledger.expiring_grants.source IS 'where the credits came from: recharge, reward, gift...';
COMMENT ON COLUMN credit_ledger.expiring_grants.remaining IS 'unspent credits that lapse at expires_at (credits held by pending holds are not counted)';
COMMENT ON COLUMN credit_ledger.expiring_grants.expires_at IS 'when the remaining credits lapse';

---------------------------------------------------------------------------
-- Housekeeping
---------------------------------------------------------------------------

CREATE FUNCTION credit_ledger.sweep(max_rows integer DEFAULT 1000,
                                    OUT holds_expired integer, OUT grants_expired integer)
    RETURNS record
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_sweep';
COMMENT ON FUNCTION credit_ledger.sweep(integer) IS
    'writes the due expiries of holds and grants on up to max_rows accounts, skipping accounts locked by callers (what the background worker runs); grants_expired counts bucket lapses';

CREATE FUNCTION credit_ledger.worker_status(OUT pid integer, OUT database text,
                                            OUT last_sweep_at timestamptz,
                                            OUT holds_expired bigint, OUT grants_expired bigint,
                                            OUT last_error text)
    RETURNS record
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_worker_status';
COMMENT ON FUNCTION credit_ledger.worker_status() IS
    'the background worker as of now: pid (NULL = not running), database (NULL while it waits, disabled or before the database exists), last sweep, holds and grant lapses it expired since the server started, its last error; 55000 without shared_preload_libraries';

---------------------------------------------------------------------------
-- Reading
---------------------------------------------------------------------------

-- Exact figures: expiries that are due but not yet written are applied on
-- the fly, so a read never counts an expired bucket or hold.
CREATE VIEW credit_ledger.accounts AS
SELECT a.account_id,
       a.balance OPERATOR(pg_catalog.-) d.lapsed AS balance,
       a.reserved OPERATOR(pg_catalog.-) d.held AS reserved,
       a.balance OPERATOR(pg_catalog.-) d.lapsed
           OPERATOR(pg_catalog.-) (a.reserved OPERATOR(pg_catalog.-) d.held) AS available,
       a.credit_limit,
       a.status,
       a.total_granted,
       a.total_consumed,
       a.total_expired OPERATOR(pg_catalog.+) d.lapsed AS total_expired,
       a.total_refunded,
       n.next_expiry_at,
       n.next_expiry_amount,
       a.metadata,
       a.created_at,
       a.status_reason,
       a.status_changed_at
FROM credit_ledger.account a
CROSS JOIN LATERAL (
    SELECT CASE WHEN a.next_expiry_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
           THEN (SELECT COALESCE(pg_catalog.sum(b.remaining), 0)::bigint
                 FROM credit_ledger.bucket b
                 WHERE b.account_id OPERATOR(pg_catalog.=) a.account_id AND b.live
                   AND b.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp())
              OPERATOR(pg_catalog.+)
                (SELECT COALESCE(pg_catalog.sum(s.amount), 0)::bigint
                 FROM credit_ledger.hold h
                 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(h.slice_bucket_ids), pg_catalog.unnest(h.slice_amounts))
                      AS s(bucket_id, amount)
                 JOIN credit_ledger.bucket b
                   ON b.account_id OPERATOR(pg_catalog.=) h.account_id
                  AND b.bucket_id OPERATOR(pg_catalog.=) s.bucket_id
                 WHERE h.account_id OPERATOR(pg_catalog.=) a.account_id
                   AND h.state OPERATOR(pg_catalog.=) 'pending'
                   AND h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
                   AND b.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp())
           ELSE 0 END AS lapsed,
           CASE WHEN a.next_expiry_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
           THEN (SELECT COALESCE(pg_catalog.sum(h.amount), 0)::bigint
                 FROM credit_ledger.hold h
                 WHERE h.account_id OPERATOR(pg_catalog.=) a.account_id
                   AND h.state OPERATOR(pg_catalog.=) 'pending'
                   AND h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp())
           ELSE 0 END AS held
) d
CROSS JOIN LATERAL (
    SELECT pg_catalog.min(b.expires_at) AS next_expiry_at,
           (pg_catalog.sum(b.remaining) FILTER (WHERE b.expires_at OPERATOR(pg_catalog.=)
               (SELECT pg_catalog.min(b2.expires_at) FROM credit_ledger.bucket b2
                WHERE b2.account_id OPERATOR(pg_catalog.=) a.account_id AND b2.live
                  AND b2.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp())))::bigint
               AS next_expiry_amount
    FROM credit_ledger.bucket b
    WHERE b.account_id OPERATOR(pg_catalog.=) a.account_id AND b.live
      AND b.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()
) n;

COMMENT ON VIEW credit_ledger.accounts IS
    'one row per account with exact figures (due expiries applied), the columns of balance()';
COMMENT ON COLUMN credit_ledger.accounts.available IS 'balance - reserved; never below -credit_limit';
COMMENT ON COLUMN credit_ledger.accounts.account_id IS 'the application''s id for the account';
COMMENT ON COLUMN credit_ledger.accounts.balance IS 'credits posted: live bucket credits plus held slices, minus debt, with due expiries applied';
COMMENT ON COLUMN credit_ledger.accounts.reserved IS 'credits held by pending holds that have not expired';
COMMENT ON COLUMN credit_ledger.accounts.credit_limit IS 'how far available may go below zero';
COMMENT ON COLUMN credit_ledger.accounts.status IS 'active, frozen (no money out) or closed (nothing moves)';
COMMENT ON COLUMN credit_ledger.accounts.total_granted IS 'all credits that entered through grants, rewards and positive adjustments';
COMMENT ON COLUMN credit_ledger.accounts.total_consumed IS 'all credits consumed by deducts, confirms, charges and negative adjustments';
COMMENT ON COLUMN credit_ledger.accounts.total_expired IS 'all credits that lapsed, due expiries included';
COMMENT ON COLUMN credit_ledger.accounts.total_refunded IS 'all credits returned by refunds';
COMMENT ON COLUMN credit_ledger.accounts.metadata IS 'free-form application data given to open_account';
COMMENT ON COLUMN credit_ledger.accounts.created_at IS 'when the account was opened';
COMMENT ON COLUMN credit_ledger.accounts.status_reason IS 'the reason given to the last set_status';
COMMENT ON COLUMN credit_ledger.accounts.status_changed_at IS 'when set_status last ran (NULL: never)';
COMMENT ON COLUMN credit_ledger.accounts.next_expiry_at IS 'when the next bucket of unspent credits expires';
COMMENT ON COLUMN credit_ledger.accounts.next_expiry_amount IS 'how many credits expire at next_expiry_at';

CREATE VIEW credit_ledger.entries AS
SELECT entry_id, account_id, kind, amount, reserved_delta, balance_after, reserved_after,
       event_id, hold_id, source, description, metadata, price_rule_id,
       input_tokens, output_tokens, cached_tokens, reasoning_tokens,
       bucket_ids, bucket_amounts, ref_entry_id, created_at
FROM credit_ledger.entry;
COMMENT ON VIEW credit_ledger.entries IS
    'the ledger: one row per change of an account, append-only';
COMMENT ON COLUMN credit_ledger.entries.amount IS 'signed change of the account''s balance';
COMMENT ON COLUMN credit_ledger.entries.entry_id IS 'entry id, increasing in the order the entries were written';
COMMENT ON COLUMN credit_ledger.entries.account_id IS 'the account the entry changed';
COMMENT ON COLUMN credit_ledger.entries.kind IS 'grant, deduct, reserve, confirm, cancel, expire_hold, expire_grant, refund, adjust or reward';
COMMENT ON COLUMN credit_ledger.entries.balance_after IS 'the account''s balance right after this entry';
COMMENT ON COLUMN credit_ledger.entries.reserved_after IS 'the account''s reserved credits right after this entry';
COMMENT ON COLUMN credit_ledger.entries.event_id IS 'the caller''s idempotency key; NULL for entries the ledger wrote itself';
COMMENT ON COLUMN credit_ledger.entries.hold_id IS 'the hold this entry reserved, settled or expired';
COMMENT ON COLUMN credit_ledger.entries.source IS 'grants and rewards: the bucket''s source; consumption: what it was for (usage for charges)';
COMMENT ON COLUMN credit_ledger.entries.description IS 'free text given by the caller; charges: the scene, provider and model';
COMMENT ON COLUMN credit_ledger.entries.metadata IS 'free-form application data given by the caller';
COMMENT ON COLUMN credit_ledger.entries.price_rule_id IS 'the price rule a charge was priced with';
COMMENT ON COLUMN credit_ledger.entries.input_tokens IS 'priced charges: input tokens billed';
COMMENT ON COLUMN credit_ledger.entries.output_tokens IS 'priced charges: output tokens billed';
COMMENT ON COLUMN credit_ledger.entries.cached_tokens IS 'priced charges: cached input tokens billed';
COMMENT ON COLUMN credit_ledger.entries.reasoning_tokens IS 'priced charges: reasoning tokens billed';
COMMENT ON COLUMN credit_ledger.entries.created_at IS 'the instant of the call that wrote the entry';
COMMENT ON COLUMN credit_ledger.entries.reserved_delta IS 'signed change of the account''s reserved credits';
COMMENT ON COLUMN credit_ledger.entries.bucket_ids IS 'buckets drawn from or credited, in order';
COMMENT ON COLUMN credit_ledger.entries.bucket_amounts IS 'credits per bucket of bucket_ids';
COMMENT ON COLUMN credit_ledger.entries.ref_entry_id IS 'refund: the charge refunded; expire_grant: the call that made the credits lapse';

CREATE TYPE credit_ledger.account_balance AS (
    account_id          bigint,
    balance             bigint,
    reserved            bigint,
    available           bigint,
    credit_limit        bigint,
    status              text,
    total_granted       bigint,
    total_consumed      bigint,
    total_expired       bigint,
    total_refunded      bigint,
    next_expiry_at      timestamptz,
    next_expiry_amount  bigint
);
COMMENT ON TYPE credit_ledger.account_balance IS 'result of credit_ledger.balance(): an account''s exact figures';
COMMENT ON COLUMN credit_ledger.account_balance.account_id IS 'the account';
COMMENT ON COLUMN credit_ledger.account_balance.balance IS 'credits posted, with due expiries applied';
COMMENT ON COLUMN credit_ledger.account_balance.reserved IS 'credits held by pending holds that have not expired';
COMMENT ON COLUMN credit_ledger.account_balance.available IS 'balance - reserved; never below -credit_limit';
COMMENT ON COLUMN credit_ledger.account_balance.credit_limit IS 'how far available may go below zero';
COMMENT ON COLUMN credit_ledger.account_balance.status IS 'active, frozen or closed';
COMMENT ON COLUMN credit_ledger.account_balance.total_granted IS 'all credits that entered through grants, rewards and positive adjustments';
COMMENT ON COLUMN credit_ledger.account_balance.total_consumed IS 'all credits consumed by deducts, confirms, charges and negative adjustments';
COMMENT ON COLUMN credit_ledger.account_balance.total_expired IS 'all credits that lapsed, due expiries included';
COMMENT ON COLUMN credit_ledger.account_balance.total_refunded IS 'all credits returned by refunds';
COMMENT ON COLUMN credit_ledger.account_balance.next_expiry_at IS 'when the next bucket of unspent credits expires';
COMMENT ON COLUMN credit_ledger.account_balance.next_expiry_amount IS 'how many credits expire at next_expiry_at';

CREATE FUNCTION credit_ledger.balance(account_id bigint)
    RETURNS credit_ledger.account_balance
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result credit_ledger.account_balance;
BEGIN
    SELECT a.account_id, a.balance, a.reserved, a.available, a.credit_limit, a.status,
           a.total_granted, a.total_consumed, a.total_expired, a.total_refunded,
           a.next_expiry_at, a.next_expiry_amount
    INTO result
    FROM credit_ledger.accounts a
    WHERE a.account_id OPERATOR(pg_catalog.=) balance.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account not found'
            USING ERRCODE = 'LD002',
                  DETAIL = pg_catalog.format('Account %s does not exist.', balance.account_id);
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION credit_ledger.balance(bigint) IS
    'an account''s exact figures: balance, reserved, available, limit, status, totals, next expiry';

CREATE FUNCTION credit_ledger.history(account_id bigint, max_rows integer DEFAULT 50,
                                      before_entry_id bigint DEFAULT NULL)
    RETURNS SETOF credit_ledger.entries
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- an invalid argument like any other (22023), not LIMIT's own 2201W
    IF history.max_rows OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'max_rows must not be negative'
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('max_rows is %s.', history.max_rows);
    END IF;
    RETURN QUERY
    SELECT e.*
    FROM credit_ledger.entries e
    WHERE e.account_id OPERATOR(pg_catalog.=) history.account_id
      AND (history.before_entry_id IS NULL
           OR e.entry_id OPERATOR(pg_catalog.<) history.before_entry_id)
    ORDER BY e.entry_id DESC
    LIMIT history.max_rows;
END
$$;
COMMENT ON FUNCTION credit_ledger.history(bigint, integer, bigint) IS
    'an account''s ledger entries, newest first; page with before_entry_id => the last entry_id seen';

-- Recomputes every stored figure from the entries, buckets and holds. Each
-- check yields a row only when the figure it recomputes differs.
CREATE FUNCTION credit_ledger.verify(account_id bigint DEFAULT NULL)
    RETURNS TABLE (account_id bigint, check_name text, expected text, actual text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH acct AS (
        SELECT a.* FROM credit_ledger.account a
        WHERE verify.account_id IS NULL OR a.account_id OPERATOR(pg_catalog.=) verify.account_id
    ), entry_sums AS (
        SELECT e.account_id,
               pg_catalog.sum(e.amount) AS balance,
               pg_catalog.sum(e.reserved_delta) AS reserved,
               pg_catalog.sum(e.amount) FILTER (WHERE e.kind IN ('grant', 'reward')
                   OR (e.kind OPERATOR(pg_catalog.=) 'adjust' AND e.amount OPERATOR(pg_catalog.>) 0)) AS granted,
               OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount) FILTER (WHERE e.kind IN ('deduct', 'confirm')
                   OR (e.kind OPERATOR(pg_catalog.=) 'adjust' AND e.amount OPERATOR(pg_catalog.<) 0)) AS consumed,
               OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount) FILTER (WHERE e.kind OPERATOR(pg_catalog.=) 'expire_grant') AS expired,
               pg_catalog.sum(e.amount) FILTER (WHERE e.kind OPERATOR(pg_catalog.=) 'refund') AS refunded
        FROM credit_ledger.entry e JOIN acct USING (account_id)
        GROUP BY e.account_id
    ), chain AS (
        SELECT c.account_id,
               pg_catalog.count(*) FILTER (WHERE c.balance_after IS DISTINCT FROM
                   COALESCE(c.prev_balance, 0) OPERATOR(pg_catalog.+) c.amount
                 OR c.reserved_after IS DISTINCT FROM
                   COALESCE(c.prev_reserved, 0) OPERATOR(pg_catalog.+) c.reserved_delta) AS broken,
               (pg_catalog.array_agg(c.balance_after ORDER BY c.entry_id DESC))[1] AS last_balance,
               (pg_catalog.array_agg(c.reserved_after ORDER BY c.entry_id DESC))[1] AS last_reserved
        FROM (SELECT e.account_id, e.entry_id, e.amount, e.reserved_delta,
                     e.balance_after, e.reserved_after,
                     pg_catalog.lag(e.balance_after) OVER w AS prev_balance,
                     pg_catalog.lag(e.reserved_after) OVER w AS prev_reserved
              FROM credit_ledger.entry e JOIN acct USING (account_id)
              WINDOW w AS (PARTITION BY e.account_id ORDER BY e.entry_id)) c
        GROUP BY c.account_id
    ), bucket_sums AS (
        SELECT b.account_id,
               pg_catalog.sum(b.remaining) AS remaining,
               pg_catalog.count(*) FILTER (WHERE b.live) AS live
        FROM credit_ledger.bucket b JOIN acct USING (account_id)
        GROUP BY b.account_id
    ), hold_sums AS (
        SELECT h.account_id,
               pg_catalog.sum(h.amount) AS held,
               pg_catalog.sum((SELECT pg_catalog.sum(s) FROM pg_catalog.unnest(h.slice_amounts) s)) AS sliced,
               pg_catalog.count(*) FILTER (WHERE (SELECT pg_catalog.sum(s) FROM pg_catalog.unnest(h.slice_amounts) s)
                   OPERATOR(pg_catalog.>) h.amount) AS oversliced
        FROM credit_ledger.hold h JOIN acct USING (account_id)
        WHERE h.state OPERATOR(pg_catalog.=) 'pending'
        GROUP BY h.account_id
    )
    SELECT a.account_id, c.check_name, c.expected, c.actual
    FROM acct a
    LEFT JOIN entry_sums es USING (account_id)
    LEFT JOIN chain ch USING (account_id)
    LEFT JOIN bucket_sums bs USING (account_id)
    LEFT JOIN hold_sums hs USING (account_id)
    CROSS JOIN LATERAL (VALUES
        ('balance is the sum of entry amounts',
         COALESCE(es.balance, 0)::text, a.balance::text),
        ('reserved is the sum of entry reserved_delta',
         COALESCE(es.reserved, 0)::text, a.reserved::text),
        ('reserved is the sum of pending holds',
         COALESCE(hs.held, 0)::text, a.reserved::text),
        ('balance is bucket credits plus held slices minus debt',
         (COALESCE(bs.remaining, 0) OPERATOR(pg_catalog.+) COALESCE(hs.sliced, 0)
            OPERATOR(pg_catalog.-) a.debt)::text, a.balance::text),
        ('last entry balance_after is the balance',
         COALESCE(ch.last_balance, 0)::text, a.balance::text),
        ('last entry reserved_after is reserved',
         COALESCE(ch.last_reserved, 0)::text, a.reserved::text),
        ('entries chain balance_after and reserved_after',
         '0', COALESCE(ch.broken, 0)::text),
        ('total_granted', COALESCE(es.granted, 0)::text, a.total_granted::text),
        ('total_consumed', COALESCE(es.consumed, 0)::text, a.total_consumed::text),
        ('total_expired', COALESCE(es.expired, 0)::text, a.total_expired::text),
        ('total_refunded', COALESCE(es.refunded, 0)::text, a.total_refunded::text),
        ('available within credit limit', 'true',
         (a.balance OPERATOR(pg_catalog.-) a.reserved OPERATOR(pg_catalog.>=)
            OPERATOR(pg_catalog.-) a.credit_limit)::text),
        ('no live bucket while in debt', '0',
         (CASE WHEN a.debt OPERATOR(pg_catalog.>) 0 THEN COALESCE(bs.live, 0) ELSE 0 END)::text),
        ('hold slices within hold amount', '0', COALESCE(hs.oversliced, 0)::text)
    ) AS c(check_name, expected, actual)
    WHERE c.expected IS DISTINCT FROM c.actual
    UNION ALL
    SELECT o.account_id, 'rows belong to an existing account', 'account', o.what
    FROM (SELECT e.account_id, 'entry' AS what FROM credit_ledger.entry e
          UNION SELECT b.account_id, 'bucket' FROM credit_ledger.bucket b
          UNION SELECT h.account_id, 'hold' FROM credit_ledger.hold h) o
    WHERE (verify.account_id IS NULL OR o.account_id OPERATOR(pg_catalog.=) verify.account_id)
      AND NOT EXISTS (SELECT 1 FROM credit_ledger.account a
                      WHERE a.account_id OPERATOR(pg_catalog.=) o.account_id)
    ORDER BY 1, 2
$$;
COMMENT ON FUNCTION credit_ledger.verify(bigint) IS
    'recomputes every stored figure of one account (or all) from entries, buckets and holds; no rows = consistent';

---------------------------------------------------------------------------
-- Prices and rewards
---------------------------------------------------------------------------

-- Operators edit the rule tables directly. A row trigger validates every
-- row; a statement trigger sends a relcache invalidation, so every backend
-- drops its cached price rules when the change commits.
CREATE TABLE credit_ledger.price_rule (
    id               bigserial PRIMARY KEY,
    scene            text,
    provider         text,
    model            text,
    input_price      numeric NOT NULL,
    output_price     numeric NOT NULL,
    cached_price     numeric NOT NULL,
    reasoning_price  numeric NOT NULL,
    request_price    numeric NOT NULL DEFAULT 0,
    min_charge       bigint NOT NULL DEFAULT 0,
    priority         integer NOT NULL DEFAULT 0,
    valid_from       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    valid_until      timestamptz,
    active           boolean NOT NULL DEFAULT true,
    description      text
);

COMMENT ON TABLE credit_ledger.price_rule IS
    'credit_ledger: what usage costs, edited by operators; the most specific active rule valid at the call''s time prices it (see resolve_price)';
COMMENT ON COLUMN credit_ledger.price_rule.id IS 'rule id, recorded in the entry of every charge it priced';
COMMENT ON COLUMN credit_ledger.price_rule.scene IS 'the application''s scene (feature) the rule prices; NULL = any scene';
COMMENT ON COLUMN credit_ledger.price_rule.provider IS 'the model provider the rule prices; NULL = any provider';
COMMENT ON COLUMN credit_ledger.price_rule.model IS 'the model name, or a prefix pattern ending in * (gpt-4o*); NULL = any model';
COMMENT ON COLUMN credit_ledger.price_rule.input_price IS 'credits per million input tokens (at most 6 decimals)';
COMMENT ON COLUMN credit_ledger.price_rule.output_price IS 'credits per million output tokens (at most 6 decimals)';
COMMENT ON COLUMN credit_ledger.price_rule.cached_price IS 'credits per million cached input tokens (at most 6 decimals)';
COMMENT ON COLUMN credit_ledger.price_rule.reasoning_price IS 'credits per million reasoning tokens (at most 6 decimals)';
COMMENT ON COLUMN credit_ledger.price_rule.request_price IS 'credits per call, added before rounding (at most 6 decimals)';
COMMENT ON COLUMN credit_ledger.price_rule.min_charge IS 'the least a call costs, in whole credits';
COMMENT ON COLUMN credit_ledger.price_rule.priority IS 'among equally specific rules, the higher priority wins';
COMMENT ON COLUMN credit_ledger.price_rule.valid_from IS 'the rule prices calls from this time on';
COMMENT ON COLUMN credit_ledger.price_rule.valid_until IS 'the rule prices calls before this time (NULL = open-ended)';
COMMENT ON COLUMN credit_ledger.price_rule.active IS 'false takes the rule out of pricing without deleting it';
COMMENT ON COLUMN credit_ledger.price_rule.description IS 'free text for operators';

-- Rewards: credits granted for an application event (sign-up, daily check-in).
CREATE TABLE credit_ledger.reward_rule (
    source         text PRIMARY KEY,
    amount         bigint NOT NULL,
    expires_after  interval,
    daily_cap      integer,
    active         boolean NOT NULL DEFAULT true,
    description    text
);

COMMENT ON TABLE credit_ledger.reward_rule IS
    'credit_ledger: rewards granted by reward(), edited by operators; one rule per source';
COMMENT ON COLUMN credit_ledger.reward_rule.source IS 'the reward''s name, also the source of the buckets it grants';
COMMENT ON COLUMN credit_ledger.reward_rule.amount IS 'credits one reward grants';
COMMENT ON COLUMN credit_ledger.reward_rule.expires_after IS 'how long rewarded credits last (NULL = they never expire)';
COMMENT ON COLUMN credit_ledger.reward_rule.daily_cap IS 'most rewards of this source per account per UTC day (NULL = no cap)';
COMMENT ON COLUMN credit_ledger.reward_rule.active IS 'false makes reward() of this source return NULL';
COMMENT ON COLUMN credit_ledger.reward_rule.description IS 'free text for operators';

-- the daily cap counts today's rewards of one source on one account
CREATE INDEX entry_reward ON credit_ledger.entry (account_id, source, created_at)
    WHERE kind OPERATOR(pg_catalog.=) 'reward';

SELECT pg_catalog.pg_extension_config_dump('credit_ledger.price_rule', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.price_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('credit_ledger.reward_rule', '');

CREATE FUNCTION credit_ledger.check_price_rule() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'credit_ledger_check_price_rule';
COMMENT ON FUNCTION credit_ledger.check_price_rule() IS
    'trigger: refuses an invalid price rule (SQLSTATE 22023, DETAIL names the column)';
CREATE TRIGGER price_rule_check BEFORE INSERT OR UPDATE ON credit_ledger.price_rule
    FOR EACH ROW EXECUTE FUNCTION credit_ledger.check_price_rule();

CREATE FUNCTION credit_ledger.price_rules_changed() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'credit_ledger_price_rules_changed';
COMMENT ON FUNCTION credit_ledger.price_rules_changed() IS
    'trigger: makes every session drop its cached price rules when the change commits';
CREATE TRIGGER price_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON credit_ledger.price_rule
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger.price_rules_changed();

CREATE FUNCTION credit_ledger.check_reward_rule() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'credit_ledger_check_reward_rule';
COMMENT ON FUNCTION credit_ledger.check_reward_rule() IS
    'trigger: refuses an invalid reward rule (SQLSTATE 22023, DETAIL names the column)';
CREATE TRIGGER reward_rule_check BEFORE INSERT OR UPDATE ON credit_ledger.reward_rule
    FOR EACH ROW EXECUTE FUNCTION credit_ledger.check_reward_rule();

CREATE FUNCTION credit_ledger.resolve_price(scene text, provider text, model text,
                                            at timestamptz DEFAULT pg_catalog.now())
    RETURNS credit_ledger.price_rule
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_resolve_price';
COMMENT ON FUNCTION credit_ledger.resolve_price(text, text, text, timestamptz) IS
    'the price rule for a call at time at: exact model > longer prefix > shorter prefix > any model, then scene and provider named > scene only > provider only > neither, then priority, latest valid_from, highest id; LD007 when none matches';

CREATE FUNCTION credit_ledger.quote(scene text, provider text, model text,
                                    input_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
                                    cached_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0)
    RETURNS bigint
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_quote';
COMMENT ON FUNCTION credit_ledger.quote(text, text, text, bigint, bigint, bigint, bigint) IS
    'credits a call costs now: tokens x price per million over the four kinds plus request_price, rounded up once, at least min_charge';

CREATE FUNCTION credit_ledger.charge(account_id bigint, event_id text,
                                     scene text, provider text, model text,
                                     input_tokens bigint DEFAULT 0, output_tokens bigint DEFAULT 0,
                                     cached_tokens bigint DEFAULT 0, reasoning_tokens bigint DEFAULT 0,
                                     hold_id bigint DEFAULT NULL, metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_charge';
COMMENT ON FUNCTION credit_ledger.charge(bigint, text, text, text, text, bigint, bigint, bigint, bigint, bigint, jsonb) IS
    'prices a call (as quote) and deducts it, or confirms hold_id with that amount, in one idempotent step; the entry records the rule and the token counts';

CREATE FUNCTION credit_ledger.reward(account_id bigint, source text, event_id text,
                                     metadata jsonb DEFAULT NULL)
    RETURNS credit_ledger.op_result
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'credit_ledger_reward';
COMMENT ON FUNCTION credit_ledger.reward(bigint, text, text, jsonb) IS
    'grants the reward rule''s amount as a bucket (opening the account if needed); NULL when the rule is missing or inactive or the account reached today''s (UTC) cap';

CREATE FUNCTION credit_ledger.consumption(account_id bigint, since timestamptz DEFAULT NULL,
                                          until timestamptz DEFAULT pg_catalog.now(),
                                          OUT credits bigint, OUT calls bigint,
                                          OUT input_tokens bigint, OUT output_tokens bigint,
                                          OUT cached_tokens bigint, OUT reasoning_tokens bigint)
    RETURNS record
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(OPERATOR(pg_catalog.-) pg_catalog.sum(e.amount), 0)::bigint,
           pg_catalog.count(*),
           COALESCE(pg_catalog.sum(e.input_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(e.output_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(e.cached_tokens), 0)::bigint,
           COALESCE(pg_catalog.sum(e.reasoning_tokens), 0)::bigint
    FROM credit_ledger.entry e
    WHERE e.account_id OPERATOR(pg_catalog.=) consumption.account_id
      AND e.kind IN ('deduct', 'confirm')
      AND e.created_at OPERATOR(pg_catalog.>=) COALESCE(consumption.since, '-infinity')
      AND e.created_at OPERATOR(pg_catalog.<) COALESCE(consumption.until, 'infinity')
$$;
COMMENT ON FUNCTION credit_ledger.consumption(bigint, timestamptz, timestamptz) IS
    'credits consumed (deducts, confirms, charges; refunds not subtracted), number of those calls and their token totals in [since, until); since NULL = all time, until NULL = no end';

---------------------------------------------------------------------------
-- Privileges
---------------------------------------------------------------------------

-- Start from nothing: money moves only through the functions, and who may
-- call which is the database owner's decision (see README, "Roles").
REVOKE ALL ON ALL TABLES IN SCHEMA credit_ledger FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA credit_ledger FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA credit_ledger FROM PUBLIC;
