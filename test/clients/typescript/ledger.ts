// ledger.ts: a thin typed layer over credit_ledger for node-postgres. The
// database is the API: each function is one SELECT of credit_ledger.f(...),
// with its result typed and its refusals thrown as LedgerError (SQLSTATE and
// DETAIL). Everything else, use client.query directly.
//
// bigint: node-postgres returns int8 as a string by default, because a JS
// number is exact only up to 2^53 - 1. Clients made by ledgerClient() parse
// int8 as BigInt instead (per client, not pg.types' global setting), and
// every id and amount here is a bigint; BigInt parameters go to the server
// as their exact decimal text.
import pg from "pg";

/** credit_ledger.op_result. */
export interface OpResult {
  entry_id: bigint;
  hold_id: bigint | null; // NULL unless the call reserved or settled a hold
  account_id: bigint;
  amount: bigint;
  balance: bigint;
  reserved: bigint;
  available: bigint;
  replayed: boolean;
}

export interface Balance {
  balance: bigint;
  reserved: bigint;
  available: bigint;
  credit_limit: bigint;
  status: "active" | "frozen" | "closed";
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An error the ledger raised (LD001...LD011, 22023, ...), with its figures in detail. */
export class LedgerError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "LedgerError";
  }
}

export const INSUFFICIENT_CREDIT = "LD001";
export const ACCOUNT_NOT_FOUND = "LD002";
export const EVENT_ID_REUSED = "LD004";
export const ORDER_REFUSED = "LD011";
export const SERIALIZATION_FAILURE = "40001";

const INT8 = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8 && format !== "binary"
      ? (value: string) => BigInt(value)
      : pg.types.getTypeParser(oid, format as "text")) as pg.CustomTypesConfig["getTypeParser"],
};

/** A client that reads int8 as BigInt; config as pg.Client's (default: PGHOST, PGPORT, ...). */
export function ledgerClient(config: pg.ClientConfig = {}): pg.Client {
  return new pg.Client({ ...config, types });
}

type Queryable = Pick<pg.ClientBase, "query">;

/** A server error as LedgerError (anything else unchanged). */
export function asLedgerError(err: unknown): unknown {
  if (err instanceof pg.DatabaseError && err.code) {
    return new LedgerError(err.code, err.detail, err.message);
  }
  return err;
}

async function one<T extends pg.QueryResultRow>(db: Queryable, sql: string, args: unknown[]): Promise<T> {
  try {
    const { rows } = await db.query<T>(sql, args);
    return rows[0];
  } catch (err) {
    throw asLedgerError(err);
  }
}

export function grantCredits(db: Queryable, accountId: bigint, amount: bigint, eventId: string): Promise<OpResult> {
  return one(db, "SELECT * FROM credit_ledger.grant_credits($1, $2, $3)", [accountId, amount, eventId]);
}

export function deduct(
  db: Queryable,
  accountId: bigint,
  amount: bigint,
  eventId: string,
  metadata: Json = null,
): Promise<OpResult> {
  return one(db, "SELECT * FROM credit_ledger.deduct($1, $2, $3, metadata => $4::jsonb)", [
    accountId,
    amount,
    eventId,
    metadata === null ? null : JSON.stringify(metadata), // an array would otherwise become a PostgreSQL array
  ]);
}

export interface Usage {
  scene: string;
  provider: string;
  model: string;
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

/** Prices the usage and deducts it, or with holdId confirms that hold for the price. */
export function charge(db: Queryable, accountId: bigint, eventId: string, u: Usage, holdId?: bigint): Promise<OpResult> {
  return one(
    db,
    `SELECT * FROM credit_ledger.charge($1, $2, $3, $4, $5, input_tokens => $6, output_tokens => $7,
       cached_tokens => $8, reasoning_tokens => $9, hold_id => $10)`,
    [accountId, eventId, u.scene, u.provider, u.model, u.inputTokens ?? 0, u.outputTokens ?? 0,
      u.cachedTokens ?? 0, u.reasoningTokens ?? 0, holdId ?? null],
  );
}

export function reserve(db: Queryable, accountId: bigint, amount: bigint, eventId: string, ttl = "5 minutes",
  lease = false): Promise<OpResult> {
  return one(db, "SELECT * FROM credit_ledger.reserve($1, $2, $3, $4::interval, lease => $5)",
    [accountId, amount, eventId, ttl, lease]);
}

export function capture(db: Queryable, accountId: bigint, holdId: bigint, amount: bigint, eventId: string,
  final = false): Promise<OpResult> {
  return one(db, "SELECT * FROM credit_ledger.capture($1, $2, $3, $4, final => $5)",
    [accountId, holdId, amount, eventId, final]);
}

export function confirm(db: Queryable, accountId: bigint, holdId: bigint, amount: bigint | null = null): Promise<OpResult> {
  return one(db, "SELECT * FROM credit_ledger.confirm($1, $2, $3)", [accountId, holdId, amount]);
}

export function cancel(db: Queryable, accountId: bigint, holdId: bigint, reason: string | null = null): Promise<OpResult> {
  return one(db, "SELECT * FROM credit_ledger.cancel($1, $2, $3)", [accountId, holdId, reason]);
}

export function balance(db: Queryable, accountId: bigint): Promise<Balance> {
  return one(db, "SELECT * FROM credit_ledger.balance($1)", [accountId]);
}

export async function setAlert(db: Queryable, accountId: bigint, lowBalance: bigint | null): Promise<void> {
  await one(db, "SELECT credit_ledger.set_alert($1, $2)", [accountId, lowBalance]);
}

/** One row of poll_events. Payload figures are JSON numbers: exact while below 2^53. */
export interface LedgerEvent {
  event_seq: bigint;
  account_id: bigint;
  kind: string;
  payload: { [key: string]: Json };
}

export function pollEvents(db: Queryable, consumer: string, maxRows = 100): Promise<LedgerEvent[]> {
  return db
    .query<LedgerEvent>("SELECT event_seq, account_id, kind, payload FROM credit_ledger.poll_events($1, $2)", [consumer, maxRows])
    .then((r) => r.rows, (err) => Promise.reject(asLedgerError(err)));
}

export async function ackEvents(db: Queryable, consumer: string, upToSeq: bigint): Promise<void> {
  await one(db, "SELECT credit_ledger.ack_events($1, $2)", [consumer, upToSeq]);
}

/** The part of credit_ledger.credit_order the shop uses. */
export interface Order {
  order_no: string;
  account_id: bigint;
  status: "pending" | "paid" | "cancelled" | "expired" | "refunded";
  credits: bigint;
  amount_minor: bigint;
  currency: string;
  payment_ref: string | null; // NULL until paid
  grant_entry_id: bigint | null; // the grant entry of a paid order
}

const ORDER = "order_no, account_id, status, credits, amount_minor, currency, payment_ref, grant_entry_id";

/** A pending order (idempotent on orderNo; LD004 for a different order under it). */
export function createOrder(db: Queryable, accountId: bigint, sku: string, quantity: number, orderNo: string): Promise<Order> {
  return one(db, `SELECT ${ORDER} FROM credit_ledger.create_order($1, $2, $3, $4)`, [accountId, sku, quantity, orderNo]);
}

/** Grants the order's credits and marks it paid, once; the same paymentRef again returns the paid order. */
export function payOrder(db: Queryable, orderNo: string, paymentRef: string, paidMinor: bigint, currency: string): Promise<Order> {
  return one(db, `SELECT ${ORDER} FROM credit_ledger.pay_order($1, $2, $3, $4)`, [orderNo, paymentRef, paidMinor, currency]);
}
