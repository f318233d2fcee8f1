// Tests of App.java against a real server (test/clients.sh starts one and
// sets PGHOST, PGPORT, PGUSER, PGDATABASE). A self-contained runner: one
// "ok N - name" or "not ok N - name: why" line per test, exit 1 on a failure.

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

public final class AppTest {
    private AppTest() {
    }

    static final long BIG = 9007199254740993L; // 2^53 + 1: a double cannot hold it

    interface Test {
        void run(Connection conn) throws Exception;
    }

    static void eq(String what, Object want, Object got) {
        if (!Objects.equals(want, got)) {
            throw new AssertionError(what + ": want <" + want + ">, got <" + got + ">");
        }
    }

    static void yes(String what, boolean cond) {
        if (!cond) {
            throw new AssertionError(what);
        }
    }

    static Object scalar(Connection conn, String sql, Object... args) throws SQLException {
        return App.one(conn, sql, rs -> rs.getObject(1), args);
    }

    static void exec(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    static SQLException thrown(Test t, Connection conn) throws Exception {
        try {
            t.run(conn);
        } catch (SQLException e) {
            return e;
        }
        throw new AssertionError("no SQLException");
    }

    static void chargeCommitsWithTheInsert(Connection conn) throws Exception {
        App.topUp(conn, 1001, 1000, "pay-1001");
        App.OpResult res = App.saveAnswer(conn, 1001, "req-1", "hi", "hello", 1000, 500);
        // 1000 input x 0.15 + 500 output x 0.6 credits per token
        eq("amount, balance, replayed", List.of(450L, 550L, false), List.of(res.amount(), res.balance(), res.replayed()));
        eq("stored credits", 450L, scalar(conn, "SELECT credits FROM chat_message WHERE request_id = 'req-1'"));
        App.OpResult again = App.saveAnswer(conn, 1001, "req-1", "hi", "hello", 1000, 500);
        eq("retry replayed", List.of(true, res.entryId(), 550L), List.of(again.replayed(), again.entryId(), again.balance()));
        eq("rows", 1L, scalar(conn, "SELECT count(*) FROM chat_message WHERE account_id = 1001"));
    }

    static void rollbackUndoesChargeAndInsert(Connection conn) throws Exception {
        App.topUp(conn, 1002, 1000, "pay-1002");
        SQLException e = thrown(c -> App.saveAnswer(c, 1002, "req-long", "hi", "x".repeat(1001), 1000, 500), conn);
        eq("the INSERT fails after the charge", "23514", e.getSQLState());
        eq("available", 1000L, scalar(conn, "SELECT available FROM credit_ledger.balance(1002)"));
        eq("rows", 0L, scalar(conn, "SELECT count(*) FROM chat_message WHERE request_id = 'req-long'"));
        eq("entries", 0L, scalar(conn, "SELECT count(*) FROM credit_ledger.history(1002) WHERE event_id = 'req-long'"));
        eq("autocommit again", true, conn.getAutoCommit());
    }

    static void retryOn40001(Connection conn) throws Exception {
        App.topUp(conn, 1003, 100, "pay-1003");
        try (Connection holder = App.connect(); Connection spender = App.connect()) {
            holder.setAutoCommit(false);
            exec(holder, "SELECT credit_ledger.deduct(1003, 1, 'holder')"); // holds the account lock
            int pid = ((Number) scalar(spender, "SELECT pg_backend_pid()")).intValue();
            AtomicInteger attempts = new AtomicInteger();
            CompletableFuture<App.OpResult> res = CompletableFuture.supplyAsync(() -> {
                try {
                    return App.withRetry(spender, c -> {
                        attempts.incrementAndGet();
                        return App.spendOnce(c, 1003, 5, "rr-1"); // balance read (the snapshot), then deduct
                    });
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            boolean waited = false;
            for (int i = 0; i < 100 && !waited; i++) {
                waited = (Long) scalar(conn,
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock'", pid) == 1;
                Thread.sleep(100);
            }
            yes("the deduct under REPEATABLE READ waits for the lock", waited);
            holder.commit(); // the waiter now fails with 40001, and is retried
            App.OpResult r = res.get(30, TimeUnit.SECONDS);
            eq("attempts", 2, attempts.get());
            eq("amount, balance, replayed", List.of(5L, 94L, false), List.of(r.amount(), r.balance(), r.replayed()));
        }
    }

    static void branchOnSqlstateWithDetail(Connection conn) throws Exception {
        App.topUp(conn, 1004, 100, "pay-1004");
        eq("LD001", new App.Response(402, null, "Account 1004: available 100, requested 5000, credit limit 0."),
                App.buy(conn, 1004, 5000, "big", null));
        App.Response r = App.buy(conn, 1004, 30, "b1", null);
        eq("first", List.of(200, 30L, false), List.of(r.status(), r.result().amount(), r.result().replayed()));
        eq("LD004", new App.Response(409, null, "Account 1004, event_id \"b1\": amount was 30, now 999."),
                App.buy(conn, 1004, 999, "b1", null));
        r = App.buy(conn, 1004, 30, "b1", null);
        eq("replay", List.of(200, true, 70L), List.of(r.status(), r.result().replayed(), r.result().balance()));
        SQLException e = thrown(c -> App.buy(c, 1004, 0, "zero", null), conn); // not a refusal the handler knows
        eq("other errors are thrown", "22023", e.getSQLState());
    }

    static void streamedCallThroughAHold(Connection conn) throws Exception {
        App.topUp(conn, 1005, 1000, "pay-1005");
        App.Streamed s = App.streamAnswer(conn, 1005, "s1", 300, Collections.nCopies(40, "tok ").iterator(), 200);
        eq("text", "tok ".repeat(40), s.text());
        // 200 x 0.15 + 40 x 0.6 = 54, the other 246 of the hold came back
        eq("amount, balance, reserved, available", List.of(54L, 946L, 0L, 946L),
                List.of(s.result().amount(), s.result().balance(), s.result().reserved(), s.result().available()));
        eq("entry", "confirm", scalar(conn, "SELECT kind FROM credit_ledger.history(1005, 1)"));

        Iterator<String> broken = new Iterator<>() {
            int n = 10;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public String next() {
                if (n-- == 0) {
                    throw new App.StreamInterruptedException("client went away");
                }
                return "tok ";
            }
        };
        boolean interrupted = false;
        try {
            App.streamAnswer(conn, 1005, "s2", 300, broken, 200);
        } catch (App.StreamInterruptedException e) {
            interrupted = true;
        }
        yes("the interruption reaches the caller", interrupted);
        eq("balance/reserved", "946/0", scalar(conn, "SELECT balance || '/' || reserved FROM credit_ledger.balance(1005)"));
        eq("entry", "cancel", scalar(conn, "SELECT kind FROM credit_ledger.history(1005, 1)"));
        eq("pending", 0L, scalar(conn, "SELECT count(*) FROM credit_ledger.pending_holds WHERE account_id = 1005"));
    }

    static void opResultByColumnName(Connection conn) throws Exception {
        App.topUp(conn, 1006, 100, "pay-1006");
        App.OpResult res = App.call(conn, "SELECT * FROM credit_ledger.deduct(?, ?, ?)", 1006L, 40L, "d1");
        yes("entry_id > 0", res.entryId() > 0);
        eq("row", new App.OpResult(res.entryId(), null, 1006, 40, 60, 0, 60, false), res);
        App.OpResult hold = App.call(conn, "SELECT * FROM credit_ledger.reserve(1006, 10, 'h1')");
        yes("hold_id", hold.holdId() != null && hold.holdId() > 0);
        eq("reserved, available", List.of(10L, 50L), List.of(hold.reserved(), hold.available()));
    }

    static void bigintPast2To53(Connection conn) throws Exception {
        eq("account_id", BIG, App.topUp(conn, BIG, 100, "pay-big").accountId());
        App.Response r = App.buy(conn, BIG, 1, "big-1", null);
        eq("buy", List.of(200, BIG, 99L), List.of(r.status(), r.result().accountId(), r.result().balance()));
        eq("as text", "9007199254740993", scalar(conn, "SELECT account_id::text FROM credit_ledger.history(?, 1)", BIG));
        SQLException e = thrown(c -> scalar(c, "SELECT available FROM credit_ledger.balance(?)", BIG - 1), conn);
        eq("2^53, where a double would have rounded BIG, is another account", "LD002", e.getSQLState());
    }

    static void jsonbMetadataRoundTrip(Connection conn) throws Exception {
        String meta = "{\"model\": \"gpt-4o-mini\", \"tokens\": {\"in\": 12, \"out\": 34}, \"tags\": [\"a\", \"b\"],"
                + " \"note\": \"ünïcødé ✓\", \"trace\": null, \"ratio\": 0.5}";
        App.topUp(conn, 1008, 100, "pay-1008");
        eq("status", 200, App.buy(conn, 1008, 1, "m1", meta).status());
        eq("the same JSON", true, scalar(conn, "SELECT metadata = ?::jsonb FROM credit_ledger.history(1008, 1)", meta));
        String back = (String) scalar(conn, "SELECT metadata::text FROM credit_ledger.history(1008, 1)");
        yes("the text comes back in UTF-8: " + back, back.contains("\"note\": \"ünïcødé ✓\""));
        eq("in SQL", "34", scalar(conn, "SELECT metadata->'tokens'->>'out' FROM credit_ledger.history(1008, 1)"));
    }

    static void listenReactsToBalanceLow(Connection conn) throws Exception {
        App.topUp(conn, 1009, 150, "pay-1009");
        exec(conn, "SELECT credit_ledger.set_alert(1009, 100)");
        List<App.LowBalance> lows = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> listening = new CompletableFuture<>();
        try (Connection listenConn = App.connect()) {
            CompletableFuture<List<String>> seen = CompletableFuture.supplyAsync(() -> {
                try {
                    return App.listenLowBalance(listenConn, "mailer", e -> {
                        if (e.accountId() == 1009) {
                            lows.add(e);
                        }
                    }, () -> !lows.isEmpty(), () -> listening.complete(null), 20000);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            listening.get(10, TimeUnit.SECONDS);
            eq("buy", 200, App.buy(conn, 1009, 60, "low-1", null).status()); // available 150 -> 90, below 100
            List<String> notes = seen.get(30, TimeUnit.SECONDS);
            eq("balance.low events", 1, lows.size());
            eq("figures", List.of(150L, 90L, 100L),
                    List.of(lows.get(0).availableBefore(), lows.get(0).availableAfter(), lows.get(0).threshold()));
            yes("notification " + notes, notes.stream().anyMatch(n -> n.matches("\\d+ 1009 balance\\.low")));
            // acknowledged: polled again, nothing is left for this consumer
            eq("left", 0L, scalar(conn, "SELECT count(*) FROM credit_ledger.poll_events('mailer')"));
            eq("buy", 200, App.buy(conn, 1009, 10, "low-2", null).status()); // still below: no second crossing
            eq("balance.low events", 1L, scalar(conn,
                    "SELECT count(*) FROM credit_ledger.events WHERE account_id = 1009 AND kind = 'balance.low'"));
        }
    }

    static void paymentWebhookRetriedGrantsOnce(Connection conn) throws Exception {
        App.topUp(conn, 1010, 100, "pay-1010");
        long credits = (Long) scalar(conn, "SELECT credits FROM credit_ledger.products WHERE sku = 'pack-500'"); // test/clients.sh's
        App.Order order = App.createOrder(conn, 1010, "pack-500", 2, "ord-1010");
        eq("order", List.of("pending", 2 * credits, 998L, "USD"),
                List.of(order.status(), order.credits(), order.amountMinor(), order.currency()));
        // a wrong amount: refused with the DETAIL, and nothing changes
        eq("wrong amount", new App.WebhookResponse(409, null, "Order \"ord-1010\": paid 500, the order is 998 USD."),
                App.paymentWebhook(conn, "ord-1010", "pi_1010", 500, "USD"));
        eq("status", "pending", scalar(conn, "SELECT status FROM credit_ledger.orders WHERE order_no = 'ord-1010'"));
        eq("available", 100L, scalar(conn, "SELECT available FROM credit_ledger.balance(1010)"));

        // the first delivery and a retry at once, from two connections; a third holds the account's lock until both
        // are waiting, so they overlap
        List<App.WebhookResponse> answers = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(2); // the common pool may have one thread
        // blocker closes first: a failed test does not leave the deliveries waiting on it
        try (Connection a = App.connect(); Connection b = App.connect(); Connection blocker = App.connect()) {
            blocker.setAutoCommit(false);
            exec(blocker, "SELECT credit_ledger.grant_credits(1010, 1, 'blocker')");
            Object[] pids = {scalar(a, "SELECT pg_backend_pid()"), scalar(b, "SELECT pg_backend_pid()")};
            List<CompletableFuture<App.WebhookResponse>> deliveries = new ArrayList<>();
            for (Connection c : List.of(a, b)) {
                deliveries.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return App.paymentWebhook(c, "ord-1010", "pi_1010", 998, "USD");
                    } catch (SQLException e) {
                        throw new RuntimeException(e);
                    }
                }, pool));
            }
            boolean waiting = false;
            for (int i = 0; i < 100 && !waiting; i++) {
                waiting = (Long) scalar(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid IN (?, ?)"
                        + " AND wait_event_type = 'Lock'", pids) == 2;
                Thread.sleep(100);
            }
            yes("the two deliveries both wait", waiting);
            blocker.rollback();
            for (CompletableFuture<App.WebhookResponse> d : deliveries) {
                answers.add(d.get(30, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdown();
        }
        // then three more, one after the other
        for (int i = 0; i < 3; i++) {
            answers.add(App.paymentWebhook(conn, "ord-1010", "pi_1010", 998, "USD"));
        }
        for (App.WebhookResponse r : answers) {
            eq("delivery", 200, r.status());
            eq("paid order", List.of("paid", "pi_1010", answers.get(0).order().grantEntryId()),
                    List.of(r.order().status(), r.order().paymentRef(), r.order().grantEntryId()));
        }
        eq("grant entries", 1L,
                scalar(conn, "SELECT count(*) FROM credit_ledger.entries WHERE event_id = 'order:ord-1010'"));
        eq("available", 100 + 2 * credits, scalar(conn, "SELECT available FROM credit_ledger.balance(1010)"));
    }

    static void agentTurnCapturedAsItGoes(Connection conn) throws Exception {
        App.topUp(conn, 1011, 5000, "pay-1011");
        List<Long> costs = List.of(300L, 450L, 250L, 200L);
        App.OpResult res = App.agentTurn(conn, 1011, "t1", 2000, costs);
        // 1,200 captured, the other 800 of the budget came back
        eq("amount, balance, reserved, available, replayed", List.of(200L, 3800L, 0L, 3800L, false),
                List.of(res.amount(), res.balance(), res.reserved(), res.available(), res.replayed()));
        eq("entries", "reserve 0, capture -300, capture -450, capture -250, capture -200", scalar(conn, """
                SELECT string_agg(kind || ' ' || amount, ', ' ORDER BY entry_id)
                FROM credit_ledger.history(1011) WHERE hold_id IS NOT NULL"""));
        App.OpResult again = App.agentTurn(conn, 1011, "t1", 2000, costs);
        eq("replayed, entry, balance", List.of(true, res.entryId(), 3800L),
                List.of(again.replayed(), again.entryId(), again.balance()));
    }

    public static void main(String[] args) throws Exception {
        Map<String, Test> tests = new LinkedHashMap<>();
        tests.put("charge commits with the insert", AppTest::chargeCommitsWithTheInsert);
        tests.put("rollback undoes charge and insert", AppTest::rollbackUndoesChargeAndInsert);
        tests.put("retry on 40001", AppTest::retryOn40001);
        tests.put("branch on SQLSTATE with DETAIL", AppTest::branchOnSqlstateWithDetail);
        tests.put("streamed call through a hold", AppTest::streamedCallThroughAHold);
        tests.put("agent turn captured as it goes", AppTest::agentTurnCapturedAsItGoes);
        tests.put("op_result by column name", AppTest::opResultByColumnName);
        tests.put("bigint past 2^53", AppTest::bigintPast2To53);
        tests.put("jsonb metadata round trip", AppTest::jsonbMetadataRoundTrip);
        tests.put("LISTEN reacts to balance.low", AppTest::listenReactsToBalanceLow);
        tests.put("payment webhook retried, one grant", AppTest::paymentWebhookRetriedGrantsOnce);
        int n = 0;
        int failed = 0;
        for (Map.Entry<String, Test> t : tests.entrySet()) {
            n++;
            try (Connection conn = App.connect()) {
                t.getValue().run(conn);
                System.out.println("ok " + n + " - " + t.getKey());
            } catch (Exception | AssertionError e) {
                failed++;
                System.out.println("not ok " + n + " - " + t.getKey() + ": " + e);
            }
        }
        System.out.println("java: " + (n - failed) + " of " + n + " tests passed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
