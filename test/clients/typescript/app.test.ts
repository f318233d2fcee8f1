// Tests of app.ts and ledger.ts against a real server (test/clients.sh starts
// one and sets PGHOST, PGPORT, PGUSER, PGDATABASE). Run: npm test.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import * as app from "./app.js";
import * as ledger from "./ledger.js";
import { LedgerError } from "./ledger.js";

const BIG = 9007199254740993n; // 2^53 + 1: a JS number cannot hold it

let client: pg.Client;
const others: pg.Client[] = [];
before(async () => {
  client = await app.connect();
});
after(async () => {
  await Promise.all([client, ...others].map((c) => c.end()));
});

async function another(): Promise<pg.Client> {
  const c = await app.connect();
  others.push(c);
  return c;
}

async function scalar(sql: string, args: unknown[] = []): Promise<unknown> {
  const { rows } = await client.query({ text: sql, values: args, rowMode: "array" });
  return rows[0][0];
}

function ok(r: app.Response): ledger.OpResult {
  assert.equal(r.status, 200, JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  return (r as { result: ledger.OpResult }).result;
}

test("charge commits with the insert", async () => {
  await ledger.grantCredits(client, 1001n, 1000n, "pay-1001");
  const res = await app.saveAnswer(client, 1001n, "req-1", "hi", "hello", 1000, 500);
  // 1000 input x 0.15 + 500 output x 0.6 credits per token
  assert.deepEqual([res.amount, res.balance, res.replayed], [450n, 550n, false]);
  assert.equal(await scalar("SELECT credits FROM chat_message WHERE request_id = 'req-1'"), 450n);
  const again = await app.saveAnswer(client, 1001n, "req-1", "hi", "hello", 1000, 500);
  assert.deepEqual([again.replayed, again.entry_id, again.balance], [true, res.entry_id, 550n]);
  assert.equal(await scalar("SELECT count(*) FROM chat_message WHERE account_id = 1001"), 1n);
});

test("rollback undoes charge and insert", async () => {
  await ledger.grantCredits(client, 1002n, 1000n, "pay-1002");
  await assert.rejects(app.saveAnswer(client, 1002n, "req-long", "hi", "x".repeat(1001), 1000, 500),
    (err: pg.DatabaseError) => err.code === "23514"); // the INSERT fails after the charge
  assert.equal((await ledger.balance(client, 1002n)).available, 1000n);
  assert.equal(await scalar("SELECT count(*) FROM chat_message WHERE request_id = 'req-long'"), 0n);
  assert.equal(await scalar("SELECT count(*) FROM credit_ledger.history(1002) WHERE event_id = 'req-long'"), 0n);
});

test("retry on 40001", async () => {
  await ledger.grantCredits(client, 1003n, 100n, "pay-1003");
  const holder = await another();
  const spender = await another();
  await holder.query("BEGIN");
  await ledger.deduct(holder, 1003n, 1n, "holder"); // holds the account lock
  let attempts = 0;
  const spent = app.withRetry(spender, () => {
    attempts++;
    return app.spendOnce(spender, 1003n, 5n, "rr-1"); // balance read (the snapshot), then deduct
  });
  const pid = (spender as unknown as { processID: number }).processID;
  let waited = false;
  for (let i = 0; i < 100 && !waited; i++) {
    waited = (await scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [pid])) === 1n;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(waited, "the deduct under REPEATABLE READ waits for the lock");
  await holder.query("COMMIT"); // the waiter now fails with 40001, and is retried
  const res = await spent;
  assert.equal(attempts, 2);
  assert.deepEqual([res.amount, res.balance, res.replayed], [5n, 94n, false]);
});

test("branch on SQLSTATE with DETAIL", async () => {
  await ledger.grantCredits(client, 1004n, 100n, "pay-1004");
  assert.deepEqual(await app.buy(client, 1004n, 5000n, "big"),
    { status: 402, message: "Account 1004: available 100, requested 5000, credit limit 0." });
  const first = ok(await app.buy(client, 1004n, 30n, "b1"));
  assert.deepEqual([first.amount, first.replayed], [30n, false]);
  assert.deepEqual(await app.buy(client, 1004n, 999n, "b1"),
    { status: 409, message: 'Account 1004, event_id "b1": amount was 30, now 999.' });
  const replay = ok(await app.buy(client, 1004n, 30n, "b1"));
  assert.deepEqual([replay.replayed, replay.balance], [true, 70n]);
  // not a refusal the handler knows: thrown, as a LedgerError with the SQLSTATE
  await assert.rejects(app.buy(client, 1004n, 0n, "zero"),
    (err: unknown) => err instanceof LedgerError && err.code === "22023" && err.detail !== undefined);
});

async function* tokens(n: number, fail?: Error): AsyncGenerator<string> {
  for (let i = 0; i < n; i++) yield "tok ";
  if (fail) throw fail;
}

test("streamed call through a hold", async () => {
  await ledger.grantCredits(client, 1005n, 1000n, "pay-1005");
  const { text, result } = await app.streamAnswer(client, 1005n, "s1", 300n, tokens(40), 200);
  assert.equal(text, "tok ".repeat(40));
  // 200 x 0.15 + 40 x 0.6 = 54, the other 246 of the hold came back
  assert.deepEqual([result.amount, result.balance, result.reserved, result.available], [54n, 946n, 0n, 946n]);
  assert.equal(await scalar("SELECT kind FROM credit_ledger.history(1005, 1)"), "confirm");

  const broken = new Error("client went away");
  await assert.rejects(app.streamAnswer(client, 1005n, "s2", 300n, tokens(10, broken), 200), (err) => err === broken);
  assert.equal(await scalar("SELECT balance || '/' || reserved FROM credit_ledger.balance(1005)"), "946/0");
  assert.equal(await scalar("SELECT kind FROM credit_ledger.history(1005, 1)"), "cancel");
  assert.equal(await scalar("SELECT count(*) FROM credit_ledger.pending_holds WHERE account_id = 1005"), 0n);
});

test("agent turn captured as it goes", async () => {
  await ledger.grantCredits(client, 1011n, 5000n, "pay-1011");
  const costs = [300n, 450n, 250n, 200n];
  const res = await app.agentTurn(client, 1011n, "t1", 2000n, costs);
  // 1,200 captured, the other 800 of the budget came back
  assert.deepEqual([res.amount, res.balance, res.reserved, res.available, res.replayed], [200n, 3800n, 0n, 3800n, false]);
  assert.equal(await scalar(`SELECT string_agg(kind || ' ' || amount, ', ' ORDER BY entry_id)
    FROM credit_ledger.history(1011) WHERE hold_id IS NOT NULL`),
    "reserve 0, capture -300, capture -450, capture -250, capture -200");
  const again = await app.agentTurn(client, 1011n, "t1", 2000n, costs);
  assert.deepEqual([again.replayed, again.entry_id, again.balance], [true, res.entry_id, 3800n]);
});

test("op_result by column name", async () => {
  await ledger.grantCredits(client, 1006n, 100n, "pay-1006");
  const res = await ledger.deduct(client, 1006n, 40n, "d1");
  assert.ok(res.entry_id > 0n);
  assert.deepEqual(res, { entry_id: res.entry_id, hold_id: null, account_id: 1006n, amount: 40n, balance: 60n,
    reserved: 0n, available: 60n, replayed: false });
  const hold = await ledger.reserve(client, 1006n, 10n, "h1");
  assert.equal(typeof hold.hold_id, "bigint");
  assert.deepEqual([hold.reserved, hold.available], [10n, 50n]);
});

test("bigint past 2^53", async () => {
  assert.equal((await ledger.grantCredits(client, BIG, 100n, "pay-big")).account_id, BIG);
  const res = ok(await app.buy(client, BIG, 1n, "big-1"));
  assert.deepEqual([res.account_id, res.balance], [BIG, 99n]);
  assert.equal(await scalar("SELECT account_id::text FROM credit_ledger.history($1, 1)", [BIG]), "9007199254740993");
  assert.notEqual(BigInt(Number(BIG)), BIG); // what a number would have done to it
  // 2^53, where a JS number would have rounded BIG, is another account
  await assert.rejects(ledger.balance(client, BIG - 1n), (err: unknown) => err instanceof LedgerError && err.code === "LD002");
  // a plain pg.Client (no ledgerClient types) gets the exact digits as a string
  const plain = new pg.Client();
  await plain.connect();
  try {
    const { rows } = await plain.query("SELECT account_id FROM credit_ledger.accounts WHERE account_id = $1", [BIG]);
    assert.equal(rows[0].account_id, "9007199254740993");
  } finally {
    await plain.end();
  }
});

test("jsonb metadata round trip", async () => {
  const meta = { model: "gpt-4o-mini", tokens: { in: 12, out: 34 }, tags: ["a", "b"], note: "ünïcødé ✓", trace: null, ratio: 0.5 };
  await ledger.grantCredits(client, 1008n, 100n, "pay-1008");
  ok(await app.buy(client, 1008n, 1n, "m1", meta));
  assert.deepEqual(await scalar("SELECT metadata FROM credit_ledger.history(1008, 1)"), meta);
  assert.equal(await scalar("SELECT metadata->'tokens'->>'out' FROM credit_ledger.history(1008, 1)"), "34");
});

test("LISTEN reacts to balance.low", async () => {
  await ledger.grantCredits(client, 1009n, 150n, "pay-1009");
  await ledger.setAlert(client, 1009n, 100n);
  const listenClient = await another();
  const lows: ledger.LedgerEvent[] = [];
  let listening = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const seen = app.listenLowBalance(listenClient, "mailer", (e) => {
    if (e.account_id === 1009n) lows.push(e);
  }, () => lows.length > 0, () => listening(), 20000);
  await ready;
  ok(await app.buy(client, 1009n, 60n, "low-1")); // available 150 -> 90, below 100
  const notes = await seen;
  assert.equal(lows.length, 1);
  const p = lows[0].payload;
  assert.deepEqual([p.available_before, p.available_after, p.threshold], [150, 90, 100]);
  assert.ok(notes.some((n) => /^\d+ 1009 balance\.low$/.test(n)), notes.join(","));
  // acknowledged: polled again, nothing is left for this consumer
  assert.equal(await scalar("SELECT count(*) FROM credit_ledger.poll_events('mailer')"), 0n);
  ok(await app.buy(client, 1009n, 10n, "low-2")); // still below: no second crossing
  assert.equal(await scalar("SELECT count(*) FROM credit_ledger.events WHERE account_id = 1009 AND kind = 'balance.low'"), 1n);
});

test("payment webhook retried, one grant", async () => {
  await ledger.grantCredits(client, 1010n, 100n, "pay-1010");
  const credits = (await scalar("SELECT credits FROM credit_ledger.products WHERE sku = 'pack-500'")) as bigint; // test/clients.sh's
  const order = await ledger.createOrder(client, 1010n, "pack-500", 2, "ord-1010");
  assert.deepEqual([order.status, order.credits, order.amount_minor, order.currency], ["pending", 2n * credits, 998n, "USD"]);
  // a wrong amount: refused with the DETAIL, and nothing changes
  assert.deepEqual(await app.paymentWebhook(client, "ord-1010", "pi_1010", 500n, "USD"),
    { status: 409, message: 'Order "ord-1010": paid 500, the order is 998 USD.' });
  assert.equal(await scalar("SELECT status FROM credit_ledger.orders WHERE order_no = 'ord-1010'"), "pending");
  assert.equal((await ledger.balance(client, 1010n)).available, 100n);

  // the first delivery and a retry at once, from two clients; a third holds
  // the account's lock until both are waiting, so they overlap
  const blocker = await another();
  const hooks = [await another(), await another()];
  await blocker.query("BEGIN");
  await ledger.grantCredits(blocker, 1010n, 1n, "blocker");
  const deliveries = hooks.map((c) => app.paymentWebhook(c, "ord-1010", "pi_1010", 998n, "USD"));
  const pids = hooks.map((c) => (c as unknown as { processID: number }).processID);
  let waiting = false;
  for (let i = 0; i < 100 && !waiting; i++) {
    waiting = (await scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event_type = 'Lock'", [pids])) === 2n;
    await new Promise((r) => setTimeout(r, 100));
  }
  await blocker.query("ROLLBACK");
  assert.ok(waiting, "the two deliveries both wait");
  const answers = await Promise.all(deliveries);
  // then three more, one after the other
  for (let i = 0; i < 3; i++) answers.push(await app.paymentWebhook(client, "ord-1010", "pi_1010", 998n, "USD"));
  const paid = answers.map((r) => {
    assert.equal(r.status, 200);
    const o = (r as { order: ledger.Order }).order;
    return [o.status, o.payment_ref, o.grant_entry_id];
  });
  assert.deepEqual(paid, Array(5).fill(["paid", "pi_1010", paid[0][2]]));
  assert.equal(await scalar("SELECT count(*) FROM credit_ledger.entries WHERE event_id = 'order:ord-1010'"), 1n);
  assert.equal((await ledger.balance(client, 1010n)).available, 100n + 2n * credits);
});
