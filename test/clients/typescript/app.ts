// credit_ledger from TypeScript with node-postgres: a small chat application
// (what a NestJS service's handlers would call). Connects with libpq's
// variables (PGHOST, PGPORT, PGUSER, PGDATABASE) through ledgerClient().
import pg from "pg";
import * as ledger from "./ledger.js";
import { LedgerError, OpResult } from "./ledger.js";

export async function connect(): Promise<pg.Client> {
  const client = ledger.ledgerClient();
  await client.connect();
  await client.query(`CREATE TABLE IF NOT EXISTS chat_message (
    request_id text PRIMARY KEY,
    account_id bigint NOT NULL,
    prompt text NOT NULL,
    answer text NOT NULL CHECK (length(answer) <= 1000),
    credits bigint NOT NULL)`);
  return client;
}

const CHAT = { scene: "chat", provider: "openai", model: "gpt-4o-mini" };

/** Runs fn in one transaction: COMMIT, or ROLLBACK and rethrow. */
export async function inTransaction<T>(client: pg.Client, fn: () => Promise<T>, begin = "BEGIN"): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn();
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK");
    throw err;
  }
}

/** Charges the call and stores the answer in one transaction: if either fails,
 * neither happened. requestId is the charge's event_id: a retry is charged once. */
export function saveAnswer(client: pg.Client, accountId: bigint, requestId: string, prompt: string, answer: string,
  inputTokens: number, outputTokens: number): Promise<OpResult> {
  return inTransaction(client, async () => {
    const res = await ledger.charge(client, accountId, requestId, { ...CHAT, inputTokens, outputTokens });
    await client.query(
      "INSERT INTO chat_message VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING",
      [requestId, accountId, prompt, answer, res.amount]);
    return res;
  });
}

/** Runs fn in a REPEATABLE READ transaction; a serialization failure (40001:
 * another transaction changed the account since our snapshot) runs it again. */
export async function withRetry<T>(client: pg.Client, fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(client, fn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    } catch (err) {
      if (!(err instanceof LedgerError && err.code === ledger.SERIALIZATION_FAILURE) || attempt === attempts) {
        throw err;
      }
    }
  }
}

/** Reads the balance (which takes the snapshot), then deducts. */
export async function spendOnce(client: pg.Client, accountId: bigint, credits: bigint, eventId: string): Promise<OpResult> {
  await ledger.balance(client, accountId);
  return ledger.deduct(client, accountId, credits, eventId);
}

export type Response = { status: 200; result: OpResult } | { status: 402 | 409; message: string };

/** An HTTP handler's core: branches on the SQLSTATE; the DETAIL has the figures. */
export async function buy(client: pg.Client, accountId: bigint, credits: bigint, eventId: string,
  metadata: ledger.Json = null): Promise<Response> {
  try {
    return { status: 200, result: await ledger.deduct(client, accountId, credits, eventId, metadata) };
  } catch (err) {
    if (err instanceof LedgerError && err.code === ledger.INSUFFICIENT_CREDIT) {
      return { status: 402, message: err.detail ?? err.message };
    }
    if (err instanceof LedgerError && err.code === ledger.EVENT_ID_REUSED) {
      return { status: 409, message: err.detail ?? err.message };
    }
    throw err;
  }
}

export type WebhookResponse = { status: 200; order: ledger.Order } | { status: 409; message: string };

/** The core of the payment provider's webhook route. Providers deliver again
 * until they get a 2xx, sometimes twice at once: pay_order with the same
 * paymentRef returns the paid order again (one grant in all), so a replay is a
 * 200 like the first delivery. LD011 (an amount or currency not the order's,
 * another payment for a paid order, a cancelled, expired or unknown order)
 * changes nothing: 409 with the DETAIL, for a person to look at. */
export async function paymentWebhook(client: pg.Client, orderNo: string, paymentRef: string, paidMinor: bigint,
  currency: string): Promise<WebhookResponse> {
  try {
    return { status: 200, order: await ledger.payOrder(client, orderNo, paymentRef, paidMinor, currency) };
  } catch (err) {
    if (err instanceof LedgerError && err.code === ledger.ORDER_REFUSED) {
      return { status: 409, message: err.detail ?? err.message };
    }
    throw err;
  }
}

/** A streamed LLM call: hold an estimate (committed at once, so the stream
 * holds no lock), stream, then bill the real usage against the hold (charge
 * with hold_id confirms it for the priced amount; the rest comes back). An
 * interrupted stream cancels the hold: the user pays nothing. */
export async function streamAnswer(client: pg.Client, accountId: bigint, requestId: string, estimate: bigint,
  chunks: AsyncIterable<string>, inputTokens: number): Promise<{ text: string; result: OpResult }> {
  const hold = await ledger.reserve(client, accountId, estimate, `hold-${requestId}`);
  let text = "";
  let outputTokens = 0;
  try {
    for await (const chunk of chunks) {
      text += chunk;
      outputTokens++;
    }
  } catch (err) {
    await ledger.cancel(client, accountId, hold.hold_id!, "stream interrupted");
    throw err;
  }
  const result = await ledger.charge(client, accountId, requestId, { ...CHAT, inputTokens, outputTokens }, hold.hold_id!);
  return { text, result };
}

/** An agent turn billed as it goes: a budget held for this session (a lease:
 * if the process dies, the worker gives it back within a sweep interval), each
 * tool call captured against it, the last capture final (what is left comes
 * back). Every key derives from turnId: a retried turn replays, charged once. */
export async function agentTurn(client: pg.Client, accountId: bigint, turnId: string, budget: bigint,
  toolCosts: bigint[]): Promise<OpResult> {
  const hold = await ledger.reserve(client, accountId, budget, `turn-${turnId}`, "10 minutes", true);
  let result = hold;
  for (const [i, cost] of toolCosts.entries()) {
    result = await ledger.capture(client, accountId, hold.hold_id!, cost, `turn-${turnId}-${i}`,
      i === toolCosts.length - 1);
  }
  return result;
}

/** The alert loop, on a client of its own: LISTEN credit_ledger_events; on each
 * notification, or every second, poll the consumer's events, hand each
 * balance.low to onLow, then acknowledge them. Resolves to the notification
 * payloads seen ('<event_seq> <account_id> <kind>'). */
export async function listenLowBalance(client: pg.Client, consumer: string, onLow: (e: ledger.LedgerEvent) => void,
  until: () => boolean, onListening: () => void = () => {}, timeoutMs = 10000): Promise<string[]> {
  const seen: string[] = [];
  let wake = () => {};
  const onNotification = (n: pg.Notification) => {
    seen.push(n.payload ?? "");
    wake();
  };
  client.on("notification", onNotification);
  try {
    await client.query("LISTEN credit_ledger_events");
    onListening();
    const deadline = Date.now() + timeoutMs;
    while (!until() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      const events = await ledger.pollEvents(client, consumer);
      for (const e of events) {
        if (e.kind === "balance.low") onLow(e);
      }
      if (events.length > 0) await ledger.ackEvents(client, consumer, events[events.length - 1].event_seq);
    }
  } finally {
    client.off("notification", onNotification);
    await client.query("UNLISTEN credit_ledger_events");
  }
  return seen;
}
