"""credit_ledger from Python with psycopg 3: a small chat application.

The database is the API: every function below is one or two SQL calls of
credit_ledger, in the application's own transactions. Connect with libpq's
variables (PGHOST, PGPORT, PGUSER, PGDATABASE) or a conninfo string.
"""
import select
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass
class OpResult:
    """credit_ledger.op_result, read by column name (class_row)."""
    entry_id: int
    hold_id: Optional[int]
    account_id: int
    amount: int
    balance: int
    reserved: int
    available: int
    replayed: bool


def connect(conninfo: str = "") -> psycopg.Connection:
    # autocommit: each ledger call is its own transaction unless the caller
    # opens one with conn.transaction()
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute("""CREATE TABLE IF NOT EXISTS chat_message (
        request_id text PRIMARY KEY,
        account_id bigint NOT NULL,
        prompt text NOT NULL,
        answer text NOT NULL CHECK (length(answer) <= 1000),
        credits bigint NOT NULL)""")
    return conn


def call(conn: psycopg.Connection, sql: str, params=()) -> OpResult:
    """One money call written as SELECT * FROM credit_ledger.f(...)."""
    with conn.cursor(row_factory=class_row(OpResult)) as cur:
        return cur.execute(sql, params).fetchone()


def top_up(conn, account_id: int, credits: int, payment_id: str) -> OpResult:
    return call(conn, "SELECT * FROM credit_ledger.grant_credits(%s, %s, %s)",
                (account_id, credits, payment_id))


def save_answer(conn, account_id: int, request_id: str, prompt: str, answer: str,
                input_tokens: int, output_tokens: int) -> OpResult:
    """Charge the call and store the answer in one transaction: if either
    fails, neither happened. request_id is the charge's event_id, so a retried
    request is charged once."""
    with conn.transaction():
        res = call(conn, """SELECT * FROM credit_ledger.charge(%s, %s, 'chat', 'openai',
                       'gpt-4o-mini', input_tokens => %s, output_tokens => %s)""",
                   (account_id, request_id, input_tokens, output_tokens))
        conn.execute("""INSERT INTO chat_message VALUES (%s, %s, %s, %s, %s)
                     ON CONFLICT (request_id) DO NOTHING""",
                     (request_id, account_id, prompt, answer, res.amount))
        return res


def with_retry(conn, fn: Callable[[psycopg.Connection], object], attempts: int = 5):
    """Run fn in a REPEATABLE READ transaction; a serialization failure
    (40001: another transaction changed the account since our snapshot)
    rolls back and runs fn again on a new snapshot."""
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return fn(conn)
        except psycopg.errors.SerializationFailure:
            if attempt == attempts:
                raise


def spend_once(conn, account_id: int, credits: int, event_id: str) -> OpResult:
    """Read the balance, then deduct: the read takes the snapshot."""
    conn.execute("SELECT available FROM credit_ledger.balance(%s)", (account_id,))
    return call(conn, "SELECT * FROM credit_ledger.deduct(%s, %s, %s)",
                (account_id, credits, event_id))


def spend(conn, account_id: int, credits: int, event_id: str) -> OpResult:
    """spend_once on one REPEATABLE READ snapshot, retried on 40001."""
    return with_retry(conn, lambda c: spend_once(c, account_id, credits, event_id))


def buy(conn, account_id: int, credits: int, event_id: str, metadata=None):
    """An HTTP handler's core: (status, body). Branches on the SQLSTATE; the
    DETAIL carries the figures to show."""
    try:
        res = call(conn, "SELECT * FROM credit_ledger.deduct(%s, %s, %s, metadata => %s)",
                   (account_id, credits, event_id,
                    Jsonb(metadata) if metadata is not None else None))
        return 200, res
    except psycopg.Error as e:
        if e.sqlstate == "LD001":      # insufficient credit
            return 402, e.diag.message_detail
        if e.sqlstate == "LD004":      # event_id reused for a different request
            return 409, e.diag.message_detail
        raise


@dataclass
class Order:
    """The columns of credit_ledger.credit_order the shop uses, by name."""
    order_no: str
    account_id: int
    status: str
    credits: int
    amount_minor: int
    currency: str
    payment_ref: Optional[str]
    grant_entry_id: Optional[int]


ORDER_COLUMNS = "order_no, account_id, status, credits, amount_minor, currency, payment_ref, grant_entry_id"


def create_order(conn, account_id: int, sku: str, quantity: int, order_no: str) -> Order:
    """Checkout: a pending order of a credit pack (idempotent on order_no);
    the payment page charges its amount_minor in its currency."""
    with conn.cursor(row_factory=class_row(Order)) as cur:
        return cur.execute(f"SELECT {ORDER_COLUMNS} FROM credit_ledger.create_order(%s, %s, %s, %s)",
                           (account_id, sku, quantity, order_no)).fetchone()


def payment_webhook(conn, order_no: str, payment_ref: str, paid_minor: int, currency: str):
    """The core of the payment provider's webhook route: (status, body).
    Providers deliver again until they get a 2xx, sometimes twice at once:
    pay_order with the same payment_ref returns the paid order again (one
    grant in all), so a replay is a 200 like the first delivery. LD011 (an
    amount or currency not the order's, another payment for a paid order, a
    cancelled, expired or unknown order) changes nothing: 409 with the
    DETAIL, for a person to look at."""
    try:
        with conn.cursor(row_factory=class_row(Order)) as cur:
            return 200, cur.execute(f"SELECT {ORDER_COLUMNS} FROM credit_ledger.pay_order(%s, %s, %s, %s)",
                                    (order_no, payment_ref, paid_minor, currency)).fetchone()
    except psycopg.Error as e:
        if e.sqlstate == "LD011":      # the payment does not match, or the order cannot be paid
            return 409, e.diag.message_detail
        raise


class StreamInterrupted(Exception):
    pass


def stream_answer(conn, account_id: int, request_id: str, estimate: int,
                  chunks: Iterable[str], input_tokens: int):
    """A streamed LLM call: hold an estimate (committed at once, so the stream
    holds no lock), stream, then bill the real usage against the hold (charge
    with hold_id confirms it for the priced amount; the rest comes back). An
    interrupted stream cancels the hold: the user pays nothing."""
    hold = call(conn, "SELECT * FROM credit_ledger.reserve(%s, %s, %s, interval '5 minutes')",
                (account_id, estimate, "hold-" + request_id))
    text, output_tokens = [], 0
    try:
        for chunk in chunks:
            text.append(chunk)
            output_tokens += 1
    except Exception:
        conn.execute("SELECT credit_ledger.cancel(%s, %s, 'stream interrupted')",
                     (account_id, hold.hold_id))
        raise
    res = call(conn, """SELECT * FROM credit_ledger.charge(%s, %s, 'chat', 'openai', 'gpt-4o-mini',
                   input_tokens => %s, output_tokens => %s, hold_id => %s)""",
               (account_id, request_id, input_tokens, output_tokens, hold.hold_id))
    return "".join(text), res


def agent_turn(conn, account_id: int, turn_id: str, budget: int, tool_costs: Sequence[int]) -> OpResult:
    """An agent turn billed as it goes: a budget held for this session (a
    lease: if the process dies, the worker gives it back within a sweep
    interval), each tool call captured against it, the last capture final
    (what is left comes back). Every key derives from turn_id: a retried turn
    replays, charged once."""
    hold = call(conn, """SELECT * FROM credit_ledger.reserve(%s, %s, %s, interval '10 minutes',
                   lease => true)""", (account_id, budget, "turn-" + turn_id))
    res = hold
    for i, cost in enumerate(tool_costs):
        res = call(conn, "SELECT * FROM credit_ledger.capture(%s, %s, %s, %s, final => %s)",
                   (account_id, hold.hold_id, cost, f"turn-{turn_id}-{i}", i == len(tool_costs) - 1))
    return res


class LowBalanceListener:
    """The alert loop on a connection of its own: LISTEN credit_ledger_events
    (from construction on), and on each notification, or every second, poll
    the consumer's events, act on balance.low, then acknowledge them.
    notifications keeps the payloads seen ('<event_seq> <account_id> <kind>')."""

    def __init__(self, conn, consumer: str, on_low: Callable[[dict], None]):
        self.conn, self.consumer, self.on_low = conn, consumer, on_low
        self.notifications = []
        conn.add_notify_handler(lambda n: self.notifications.append(n.payload))
        conn.execute("LISTEN credit_ledger_events")

    def run(self, until: Callable[[], bool], timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            select.select([self.conn.fileno()], [], [], 1.0)   # a notification, or a second
            events = self.conn.execute(   # a query also delivers the notifications read
                "SELECT event_seq, kind, payload FROM credit_ledger.poll_events(%s, 100)",
                (self.consumer,)).fetchall()
            for seq, kind, payload in events:
                if kind == "balance.low":
                    self.on_low(payload)
            if events:
                self.conn.execute("SELECT credit_ledger.ack_events(%s, %s)",
                                  (self.consumer, events[-1][0]))


if __name__ == "__main__":
    # python3 app.py: top up account 42, answer one chat request, show the balance
    with connect() as conn:
        top_up(conn, 42, 1000, "demo-payment-1")
        try:
            res = save_answer(conn, 42, "demo-request-1", "hi", "hello", 1000, 500)
            print(f"charged {res.amount} credits (replayed: {res.replayed}), available {res.available}")
        except psycopg.Error as e:
            if e.sqlstate != "LD001":
                raise
            print("out of credits:", e.diag.message_detail)
