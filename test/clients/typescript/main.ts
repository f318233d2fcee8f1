// npm start: top up account 42, answer one chat request, show the balance.
import { connect, saveAnswer } from "./app.js";
import { grantCredits, INSUFFICIENT_CREDIT, LedgerError } from "./ledger.js";

const client = await connect();
try {
  await grantCredits(client, 42n, 1000n, "demo-payment-1");
  const res = await saveAnswer(client, 42n, "demo-request-1", "hi", "hello", 1000, 500);
  console.log(`charged ${res.amount} credits (replayed: ${res.replayed}), available ${res.available}`);
} catch (err) {
  if (!(err instanceof LedgerError && err.code === INSUFFICIENT_CREDIT)) throw err;
  console.log(`out of credits: ${err.detail}`);
} finally {
  await client.end();
}
