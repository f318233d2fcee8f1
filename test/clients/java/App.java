// credit_ledger from Java with the PostgreSQL JDBC driver: a small chat
// application. The database is the API: each method below is one or two SQL
// calls of credit_ledger in the application's own transactions.
//
// Connects with libpq's variables (PGHOST, PGPORT, PGUSER, PGDATABASE), which
// connect() turns into a JDBC URL; a Spring service gets its DataSource the
// same way and uses the methods unchanged.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.util.PSQLException;

public final class App {
    private App() {
    }

    /** credit_ledger.op_result, read by column name. holdId is null unless the call reserved or settled a hold. */
    public record OpResult(long entryId, Long holdId, long accountId, long amount, long balance, long reserved,
            long available, boolean replayed) {
        static OpResult of(ResultSet rs) throws SQLException {
            return new OpResult(rs.getLong("entry_id"), rs.getObject("hold_id", Long.class), rs.getLong("account_id"),
                    rs.getLong("amount"), rs.getLong("balance"), rs.getLong("reserved"), rs.getLong("available"),
                    rs.getBoolean("replayed"));
        }
    }

    /** What an HTTP handler answers: a status, and the result or the message to show. */
    public record Response(int status, OpResult result, String message) {
    }

    /** A balance.low event, its figures taken out of the payload in SQL. */
    public record LowBalance(long seq, long accountId, long availableBefore, long availableAfter, long threshold) {
    }

    public static Connection connect() throws SQLException {
        String host = System.getenv().getOrDefault("PGHOST", "127.0.0.1");
        String url = "jdbc:postgresql://" + host + ":" + System.getenv().getOrDefault("PGPORT", "5432") + "/"
                + System.getenv().getOrDefault("PGDATABASE", "postgres");
        Properties props = new Properties();
        props.setProperty("user", System.getenv().getOrDefault("PGUSER", "postgres"));
        Connection conn = DriverManager.getConnection(url, props);
        try (Statement st = conn.createStatement()) {
            st.execute("""
                    CREATE TABLE IF NOT EXISTS chat_message (
                        request_id text PRIMARY KEY,
                        account_id bigint NOT NULL,
                        prompt text NOT NULL,
                        answer text NOT NULL CHECK (length(answer) <= 1000),
                        credits bigint NOT NULL)""");
        }
        return conn;
    }

    /** Reads the current row of a ResultSet (OpResult::of, Order::of). */
    public interface RowReader<T> {
        T read(ResultSet rs) throws SQLException;
    }

    /** The first row of a query with its ? parameters, read by reader. */
    public static <T> T one(Connection conn, String sql, RowReader<T> reader, Object... args) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return reader.read(rs);
            }
        }
    }

    /** One money call written as SELECT * FROM credit_ledger.f(?, ...). */
    public static OpResult call(Connection conn, String sql, Object... args) throws SQLException {
        return one(conn, sql, OpResult::of, args);
    }

    /** The DETAIL of an error the server raised (the figures), or null. */
    public static String detail(SQLException e) {
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            return p.getServerErrorMessage().getDetail();
        }
        return null;
    }

    public static OpResult topUp(Connection conn, long account, long credits, String paymentId) throws SQLException {
        return call(conn, "SELECT * FROM credit_ledger.grant_credits(?, ?, ?)", account, credits, paymentId);
    }

    /** A unit of work in a transaction. */
    public interface Work<T> {
        T run(Connection conn) throws SQLException;
    }

    /** Runs work in one transaction at the isolation level given: commit, or roll back on any exception. */
    public static <T> T inTransaction(Connection conn, int isolation, Work<T> work) throws SQLException {
        int before = conn.getTransactionIsolation();
        conn.setAutoCommit(false);
        conn.setTransactionIsolation(isolation);
        try {
            T result = work.run(conn);
            conn.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(true);
            conn.setTransactionIsolation(before);
        }
    }

    /**
     * Charges the call and stores the answer in one transaction: if either fails, neither happened. requestId is
     * the charge's event_id, so a retried request is charged once.
     */
    public static OpResult saveAnswer(Connection conn, long account, String requestId, String prompt, String answer,
            long inputTokens, long outputTokens) throws SQLException {
        return inTransaction(conn, Connection.TRANSACTION_READ_COMMITTED, c -> {
            OpResult res = call(c, """
                    SELECT * FROM credit_ledger.charge(?, ?, 'chat', 'openai', 'gpt-4o-mini',
                        input_tokens => ?, output_tokens => ?)""", account, requestId, inputTokens, outputTokens);
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO chat_message VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING")) {
                ps.setString(1, requestId);
                ps.setLong(2, account);
                ps.setString(3, prompt);
                ps.setString(4, answer);
                ps.setLong(5, res.amount());
                ps.executeUpdate();
            }
            return res;
        });
    }

    /**
     * Runs work in a REPEATABLE READ transaction; a serialization failure (40001: another transaction changed the
     * account since our snapshot) rolls back and runs it again on a new snapshot.
     */
    public static <T> T withRetry(Connection conn, Work<T> work) throws SQLException {
        for (int attempt = 1;; attempt++) {
            try {
                return inTransaction(conn, Connection.TRANSACTION_REPEATABLE_READ, work);
            } catch (SQLException e) {
                if (!"40001".equals(e.getSQLState()) || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    /** Reads the balance (which takes the snapshot), then deducts. */
    public static OpResult spendOnce(Connection conn, long account, long credits, String eventId) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT available FROM credit_ledger.balance(?)")) {
            ps.setLong(1, account);
            ps.executeQuery().close();
        }
        return call(conn, "SELECT * FROM credit_ledger.deduct(?, ?, ?)", account, credits, eventId);
    }

    /** An HTTP handler's core: branches on the SQLSTATE; the DETAIL has the figures. metadata is JSON text or null. */
    public static Response buy(Connection conn, long account, long credits, String eventId, String metadata)
            throws SQLException {
        try {
            return new Response(200, call(conn, "SELECT * FROM credit_ledger.deduct(?, ?, ?, metadata => ?::jsonb)",
                    account, credits, eventId, metadata), null);
        } catch (SQLException e) {
            switch (e.getSQLState()) {
                case "LD001": // insufficient credit
                    return new Response(402, null, detail(e));
                case "LD004": // event_id reused for a different request
                    return new Response(409, null, detail(e));
                default:
                    throw e;
            }
        }
    }

    /** The part of credit_ledger.credit_order the shop uses, read by column name. */
    public record Order(String orderNo, long accountId, String status, long credits, long amountMinor, String currency,
            String paymentRef, Long grantEntryId) {
        static Order of(ResultSet rs) throws SQLException {
            return new Order(rs.getString("order_no"), rs.getLong("account_id"), rs.getString("status"),
                    rs.getLong("credits"), rs.getLong("amount_minor"), rs.getString("currency"),
                    rs.getString("payment_ref"), rs.getObject("grant_entry_id", Long.class));
        }
    }

    /** What the webhook route answers: a status, and the paid order or the message to show. */
    public record WebhookResponse(int status, Order order, String message) {
    }

    /** Checkout: a pending order of a credit pack (idempotent on orderNo); the payment page charges its amountMinor. */
    public static Order createOrder(Connection conn, long account, String sku, int quantity, String orderNo)
            throws SQLException {
        return one(conn, "SELECT * FROM credit_ledger.create_order(?, ?, ?, ?)", Order::of, account, sku, quantity,
                orderNo);
    }

    /**
     * The core of the payment provider's webhook route. Providers deliver again until they get a 2xx, sometimes twice
     * at once: pay_order with the same paymentRef returns the paid order again (one grant in all), so a replay is a
     * 200 like the first delivery. LD011 (an amount or currency not the order's, another payment for a paid order, a
     * cancelled, expired or unknown order) changes nothing: 409 with the DETAIL, for a person to look at.
     */
    public static WebhookResponse paymentWebhook(Connection conn, String orderNo, String paymentRef, long paidMinor,
            String currency) throws SQLException {
        try {
            return new WebhookResponse(200, one(conn, "SELECT * FROM credit_ledger.pay_order(?, ?, ?, ?)", Order::of,
                    orderNo, paymentRef, paidMinor, currency), null);
        } catch (SQLException e) {
            if ("LD011".equals(e.getSQLState())) { // the payment does not match, or the order cannot be paid
                return new WebhookResponse(409, null, detail(e));
            }
            throw e;
        }
    }

    /** A streamed answer whose next() throws when the stream breaks. */
    public static final class StreamInterruptedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public StreamInterruptedException(String message) {
            super(message);
        }
    }

    /** The text streamed and what it cost. */
    public record Streamed(String text, OpResult result) {
    }

    /**
     * A streamed LLM call: hold an estimate (committed at once, so the stream holds no lock), stream, then bill the
     * real usage against the hold (charge with hold_id confirms it for the priced amount; the rest comes back). An
     * interrupted stream cancels the hold: the user pays nothing.
     */
    public static Streamed streamAnswer(Connection conn, long account, String requestId, long estimate,
            Iterator<String> chunks, long inputTokens) throws SQLException {
        OpResult hold = call(conn, "SELECT * FROM credit_ledger.reserve(?, ?, ?, interval '5 minutes')", account,
                estimate, "hold-" + requestId);
        StringBuilder text = new StringBuilder();
        long outputTokens = 0;
        try {
            while (chunks.hasNext()) {
                text.append(chunks.next());
                outputTokens++;
            }
        } catch (RuntimeException e) {
            try (PreparedStatement ps = conn.prepareStatement("SELECT credit_ledger.cancel(?, ?, 'stream interrupted')")) {
                ps.setLong(1, account);
                ps.setLong(2, hold.holdId());
                ps.executeQuery().close();
            }
            throw e;
        }
        OpResult res = call(conn, """
                SELECT * FROM credit_ledger.charge(?, ?, 'chat', 'openai', 'gpt-4o-mini',
                    input_tokens => ?, output_tokens => ?, hold_id => ?)""", account, requestId, inputTokens,
                outputTokens, hold.holdId());
        return new Streamed(text.toString(), res);
    }

    /**
     * An agent turn billed as it goes: a budget held for this session (a lease: if the process dies, the worker
     * gives it back within a sweep interval), each tool call captured against it, the last capture final (what is
     * left comes back). Every key derives from turnId: a retried turn replays, charged once.
     */
    public static OpResult agentTurn(Connection conn, long account, String turnId, long budget, List<Long> toolCosts)
            throws SQLException {
        OpResult hold = call(conn, """
                SELECT * FROM credit_ledger.reserve(?, ?, ?, interval '10 minutes', lease => true)""", account,
                budget, "turn-" + turnId);
        OpResult res = hold;
        for (int i = 0; i < toolCosts.size(); i++) {
            res = call(conn, "SELECT * FROM credit_ledger.capture(?, ?, ?, ?, final => ?)", account, hold.holdId(),
                    toolCosts.get(i), "turn-" + turnId + "-" + i, i == toolCosts.size() - 1);
        }
        return res;
    }

    /**
     * The alert loop, on a connection of its own: LISTEN credit_ledger_events; on each notification, or every
     * second, poll the consumer's events, hand each balance.low to onLow, then acknowledge them. Returns the
     * notification payloads seen ('&lt;event_seq&gt; &lt;account_id&gt; &lt;kind&gt;'). onListening runs once LISTEN
     * has.
     */
    public static List<String> listenLowBalance(Connection conn, String consumer, Consumer<LowBalance> onLow,
            BooleanSupplier until, Runnable onListening, long timeoutMillis) throws SQLException {
        List<String> seen = new ArrayList<>();
        try (Statement st = conn.createStatement()) {
            st.execute("LISTEN credit_ledger_events");
        }
        onListening.run();
        PGConnection pg = conn.unwrap(PGConnection.class);
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (!until.getAsBoolean() && System.currentTimeMillis() < deadline) {
            PGNotification[] notes = pg.getNotifications(1000); // waits up to a second
            if (notes != null) {
                for (PGNotification n : notes) {
                    seen.add(n.getParameter());
                }
            }
            long last = -1;
            try (PreparedStatement ps = conn.prepareStatement("""
                    SELECT event_seq, account_id, kind, (payload->>'available_before')::bigint,
                           (payload->>'available_after')::bigint, (payload->>'threshold')::bigint
                    FROM credit_ledger.poll_events(?, 100)""")) {
                ps.setString(1, consumer);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        last = rs.getLong(1);
                        if ("balance.low".equals(rs.getString(3))) {
                            onLow.accept(new LowBalance(last, rs.getLong(2), rs.getLong(4), rs.getLong(5), rs.getLong(6)));
                        }
                    }
                }
            }
            if (last >= 0) {
                try (PreparedStatement ps = conn.prepareStatement("SELECT credit_ledger.ack_events(?, ?)")) {
                    ps.setString(1, consumer);
                    ps.setLong(2, last);
                    ps.executeQuery().close();
                }
            }
        }
        return seen;
    }

    /** java App: top up account 42, answer one chat request, show the balance. */
    public static void main(String[] args) throws SQLException {
        try (Connection conn = connect()) {
            topUp(conn, 42, 1000, "demo-payment-1");
            try {
                OpResult res = saveAnswer(conn, 42, "demo-request-1", "hi", "hello", 1000, 500);
                System.out.printf("charged %d credits (replayed: %b), available %d%n", res.amount(), res.replayed(),
                        res.available());
            } catch (SQLException e) {
                if (!"LD001".equals(e.getSQLState())) {
                    throw e;
                }
                System.out.println("out of credits: " + detail(e));
            }
        }
    }
}
