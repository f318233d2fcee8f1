-- Baseline (b): the minimal wallet a user writes by hand. One balance per
-- wallet, guarded in the UPDATE itself, and a ledger row whose unique
-- event_id stops a retry from charging twice (the retry then fails on the
-- unique index and rolls back the whole statement). No buckets, no expiry,
-- no replayed answer: what the least careful correct code costs.
CREATE SCHEMA bench_min;

CREATE TABLE bench_min.wallet (
    id       bigint PRIMARY KEY,
    balance  bigint NOT NULL CHECK (balance >= 0),
    reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);

CREATE TABLE bench_min.wallet_entry (
    id          bigserial PRIMARY KEY,
    wallet_id   bigint NOT NULL,
    amount      bigint NOT NULL,
    event_id    text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- holds, as a user adds them for streaming calls: reserve lowers what is
-- spendable, confirm turns the hold into a charge
CREATE TABLE bench_min.hold (
    id          bigserial PRIMARY KEY,
    wallet_id   bigint NOT NULL,
    amount      bigint NOT NULL,
    state       text NOT NULL DEFAULT 'pending',
    event_id    text NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL
);

-- one price per model, in credits per million tokens
CREATE TABLE bench_min.price (
    model         text PRIMARY KEY,
    input_price   numeric NOT NULL,
    output_price  numeric NOT NULL
);

-- load(first, last, credits): one wallet per id
CREATE FUNCTION bench_min.load(first bigint, last bigint, credits bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench_min.wallet (id, balance)
    SELECT g, credits FROM generate_series(first, last) g;
    INSERT INTO bench_min.price VALUES ('gpt-4o', 2.5, 10), ('gpt-4o-mini', 0.15, 0.6);
$$;
