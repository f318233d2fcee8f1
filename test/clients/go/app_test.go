// Tests of app.go against a real server (test/clients.sh starts one and sets
// PGHOST, PGPORT, PGUSER, PGDATABASE). Run: go test -v (see README.md).
package main

import (
	"context"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v4"
)

const big int64 = 9007199254740993 // 2^53 + 1: a float64 cannot hold it

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := Setup(ctx, conn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// op(t)(Call(...)): the result, or the test stops on the error
func op(t *testing.T) func(OpResult, error) OpResult {
	return func(r OpResult, err error) OpResult {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func exec(t *testing.T, q Querier, sql string, args ...interface{}) {
	t.Helper()
	if _, err := q.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func scalar[T any](t *testing.T, conn *pgx.Conn, sql string, args ...interface{}) T {
	t.Helper()
	var v T
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func equal(t *testing.T, what string, want, got interface{}) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: want %#v, got %#v", what, want, got)
	}
}

var ctx = context.Background()

func TestChargeCommitsWithTheInsert(t *testing.T) {
	conn := connect(t)
	op(t)(TopUp(ctx, conn, 1001, 1000, "pay-1001"))
	res := op(t)(SaveAnswer(ctx, conn, 1001, "req-1", "hi", "hello", 1000, 500))
	// 1000 input x 0.15 + 500 output x 0.6 credits per token
	equal(t, "amount, balance, replayed", []interface{}{int64(450), int64(550), false},
		[]interface{}{res.Amount, res.Balance, res.Replayed})
	equal(t, "stored credits", int64(450), scalar[int64](t, conn, "SELECT credits FROM chat_message WHERE request_id = 'req-1'"))
	again := op(t)(SaveAnswer(ctx, conn, 1001, "req-1", "hi", "hello", 1000, 500))
	equal(t, "retry replayed", []interface{}{true, res.EntryID, int64(550)},
		[]interface{}{again.Replayed, again.EntryID, again.Balance})
	equal(t, "rows", int64(1), scalar[int64](t, conn, "SELECT count(*) FROM chat_message WHERE account_id = 1001"))
}

func TestRollbackUndoesChargeAndInsert(t *testing.T) {
	conn := connect(t)
	op(t)(TopUp(ctx, conn, 1002, 1000, "pay-1002"))
	_, err := SaveAnswer(ctx, conn, 1002, "req-long", "hi", strings.Repeat("x", 1001), 1000, 500)
	code, _, _ := SQLState(err) // the INSERT fails after the charge
	equal(t, "error", "23514", code)
	equal(t, "available", int64(1000), scalar[int64](t, conn, "SELECT available FROM credit_ledger.balance(1002)"))
	equal(t, "rows", int64(0), scalar[int64](t, conn, "SELECT count(*) FROM chat_message WHERE request_id = 'req-long'"))
	equal(t, "entries", int64(0), scalar[int64](t, conn,
		"SELECT count(*) FROM credit_ledger.history(1002) WHERE event_id = 'req-long'"))
}

func TestRetryOn40001(t *testing.T) {
	conn := connect(t)
	holder := connect(t)
	spender := connect(t)
	op(t)(TopUp(ctx, conn, 1003, 100, "pay-1003"))
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	exec(t, tx, "SELECT credit_ledger.deduct(1003, 1, 'holder')") // holds the account lock

	attempts := 0
	var res OpResult
	done := make(chan error, 1)
	go func() {
		done <- WithRetry(ctx, spender, func(tx pgx.Tx) (err error) {
			attempts++
			res, err = SpendOnce(ctx, tx, 1003, 5, "rr-1") // balance read (the snapshot), then deduct
			return err
		})
	}()
	waited := false
	for i := 0; i < 100 && !waited; i++ {
		waited = scalar[int64](t, conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
			int32(spender.PgConn().PID())) == 1
		time.Sleep(100 * time.Millisecond)
	}
	if !waited {
		t.Fatal("the deduct under REPEATABLE READ did not wait for the lock")
	}
	if err := tx.Commit(ctx); err != nil { // the waiter now fails with 40001, and is retried
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	equal(t, "attempts", 2, attempts)
	equal(t, "amount, balance, replayed", []interface{}{int64(5), int64(94), false},
		[]interface{}{res.Amount, res.Balance, res.Replayed})
}

func TestBranchOnSQLStateWithDetail(t *testing.T) {
	conn := connect(t)
	op(t)(TopUp(ctx, conn, 1004, 100, "pay-1004"))
	status, _, msg, err := Buy(ctx, conn, 1004, 5000, "big", nil)
	equal(t, "LD001", []interface{}{402, "Account 1004: available 100, requested 5000, credit limit 0.", error(nil)},
		[]interface{}{status, msg, err})
	status, res, _, err := Buy(ctx, conn, 1004, 30, "b1", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "first", []interface{}{200, int64(30), false}, []interface{}{status, res.Amount, res.Replayed})
	status, _, msg, err = Buy(ctx, conn, 1004, 999, "b1", nil)
	equal(t, "LD004", []interface{}{409, `Account 1004, event_id "b1": amount was 30, now 999.`, error(nil)},
		[]interface{}{status, msg, err})
	status, res, _, err = Buy(ctx, conn, 1004, 30, "b1", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "replay", []interface{}{200, true, int64(70)}, []interface{}{status, res.Replayed, res.Balance})
	_, _, _, err = Buy(ctx, conn, 1004, 0, "zero", nil) // not a refusal the handler knows: returned
	code, _, _ := SQLState(err)
	equal(t, "other errors", "22023", code)
}

// fakeStream gives n chunks, then io.EOF or the error fail.
type fakeStream struct {
	n    int
	fail error
}

func (s *fakeStream) Recv() (string, error) {
	if s.n == 0 {
		if s.fail != nil {
			return "", s.fail
		}
		return "", io.EOF
	}
	s.n--
	return "tok ", nil
}

func TestStreamedCallThroughAHold(t *testing.T) {
	conn := connect(t)
	op(t)(TopUp(ctx, conn, 1005, 1000, "pay-1005"))
	text, res, err := StreamAnswer(ctx, conn, 1005, "s1", 300, &fakeStream{n: 40}, 200)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "text", strings.Repeat("tok ", 40), text)
	// 200 x 0.15 + 40 x 0.6 = 54, the other 246 of the hold came back
	equal(t, "amount, balance, reserved, available", []int64{54, 946, 0, 946},
		[]int64{res.Amount, res.Balance, res.Reserved, res.Available})
	equal(t, "entry", "confirm", scalar[string](t, conn, "SELECT kind FROM credit_ledger.history(1005, 1)"))

	broken := errors.New("client went away")
	_, _, err = StreamAnswer(ctx, conn, 1005, "s2", 300, &fakeStream{n: 10, fail: broken}, 200)
	equal(t, "stream error", true, errors.Is(err, broken))
	equal(t, "balance/reserved", "946/0", scalar[string](t, conn, "SELECT balance || '/' || reserved FROM credit_ledger.balance(1005)"))
	equal(t, "entry", "cancel", scalar[string](t, conn, "SELECT kind FROM credit_ledger.history(1005, 1)"))
	equal(t, "pending", int64(0), scalar[int64](t, conn, "SELECT count(*) FROM credit_ledger.pending_holds WHERE account_id = 1005"))
}

func TestAgentTurnCapturedAsItGoes(t *testing.T) {
	conn := connect(t)
	op(t)(TopUp(ctx, conn, 1011, 5000, "pay-1011"))
	costs := []int64{300, 450, 250, 200}
	res := op(t)(AgentTurn(ctx, conn, 1011, "t1", 2000, costs))
	// 1,200 captured, the other 800 of the budget came back
	equal(t, "amount, balance, reserved, available", []int64{200, 3800, 0, 3800},
		[]int64{res.Amount, res.Balance, res.Reserved, res.Available})
	equal(t, "entries", "reserve 0, capture -300, capture -450, capture -250, capture -200",
		scalar[string](t, conn, `SELECT string_agg(kind || ' ' || amount, ', ' ORDER BY entry_id)
			FROM credit_ledger.history(1011) WHERE hold_id IS NOT NULL`))
	again := op(t)(AgentTurn(ctx, conn, 1011, "t1", 2000, costs))
	equal(t, "replayed, entry, balance", []interface{}{true, res.EntryID, int64(3800)},
		[]interface{}{again.Replayed, again.EntryID, again.Balance})
}

func TestOpResultByColumnName(t *testing.T) {
	conn := connect(t)
	op(t)(TopUp(ctx, conn, 1006, 100, "pay-1006"))
	res := op(t)(Call(ctx, conn, "SELECT * FROM credit_ledger.deduct($1, $2, $3)", int64(1006), int64(40), "d1"))
	if res.EntryID <= 0 || res.HoldID != nil {
		t.Errorf("entry_id %d, hold_id %v", res.EntryID, res.HoldID)
	}
	equal(t, "row", OpResult{EntryID: res.EntryID, AccountID: 1006, Amount: 40, Balance: 60, Available: 60}, res)
	// the columns in another order are read the same
	swapped := op(t)(Call(ctx, conn, "SELECT available, replayed, entry_id FROM credit_ledger.deduct(1006, 40, 'd1')"))
	equal(t, "by name", OpResult{EntryID: res.EntryID, Available: 60, Replayed: true}, swapped)
	hold := op(t)(Call(ctx, conn, "SELECT * FROM credit_ledger.reserve(1006, 10, 'h1')"))
	if hold.HoldID == nil || *hold.HoldID <= 0 {
		t.Errorf("hold_id %v", hold.HoldID)
	}
	equal(t, "reserved, available", []int64{10, 50}, []int64{hold.Reserved, hold.Available})
}

func TestBigintPast2To53(t *testing.T) {
	conn := connect(t)
	res := op(t)(TopUp(ctx, conn, big, 100, "pay-big"))
	equal(t, "account_id", big, res.AccountID)
	status, r, _, err := Buy(ctx, conn, big, 1, "big-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "buy", []interface{}{200, big, int64(99)}, []interface{}{status, r.AccountID, r.Balance})
	equal(t, "as text", "9007199254740993", scalar[string](t, conn, "SELECT account_id::text FROM credit_ledger.history($1, 1)", big))
	var available int64
	err = conn.QueryRow(ctx, "SELECT available FROM credit_ledger.balance($1)", big-1).Scan(&available)
	code, _, _ := SQLState(err) // 2^53, where a float64 would have rounded big
	equal(t, "2^53 is another account", "LD002", code)
}

func TestJSONBMetadataRoundTrip(t *testing.T) {
	conn := connect(t)
	meta := map[string]interface{}{"model": "gpt-4o-mini", "tokens": map[string]interface{}{"in": 12.0, "out": 34.0},
		"tags": []interface{}{"a", "b"}, "note": "ünïcødé ✓", "trace": nil, "ratio": 0.5}
	op(t)(TopUp(ctx, conn, 1008, 100, "pay-1008"))
	status, _, _, err := Buy(ctx, conn, 1008, 1, "m1", meta)
	if err != nil || status != 200 {
		t.Fatal(status, err)
	}
	equal(t, "metadata", meta, scalar[map[string]interface{}](t, conn, "SELECT metadata FROM credit_ledger.history(1008, 1)"))
	equal(t, "in SQL", "34", scalar[string](t, conn, "SELECT metadata->'tokens'->>'out' FROM credit_ledger.history(1008, 1)"))
}

func TestListenReactsToBalanceLow(t *testing.T) {
	conn := connect(t)
	listenConn := connect(t)
	op(t)(TopUp(ctx, conn, 1009, 150, "pay-1009"))
	exec(t, conn, "SELECT credit_ledger.set_alert(1009, 100)")
	lows := make(chan Event, 10)
	var count int
	listening := make(chan struct{})
	type result struct {
		seen []string
		err  error
	}
	done := make(chan result, 1)
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go func() {
		seen, err := ListenLowBalance(lctx, listenConn, "mailer", func(e Event) {
			if e.Payload["threshold"] == 100.0 {
				count++
				lows <- e
			}
		}, func() bool { return count > 0 }, listening)
		done <- result{seen, err}
	}()
	<-listening
	if status, _, msg, err := Buy(ctx, conn, 1009, 60, "low-1", nil); status != 200 { // available 150 -> 90, below 100
		t.Fatal(status, msg, err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	close(lows)
	var got []Event
	for e := range lows {
		got = append(got, e)
	}
	if len(got) != 1 {
		t.Fatalf("balance.low events: %v", got)
	}
	equal(t, "payload", []interface{}{150.0, 90.0, 100.0},
		[]interface{}{got[0].Payload["available_before"], got[0].Payload["available_after"], got[0].Payload["threshold"]})
	matched := false
	for _, n := range r.seen {
		matched = matched || regexp.MustCompile(`^\d+ 1009 balance\.low$`).MatchString(n)
	}
	equal(t, "notification "+strings.Join(r.seen, ","), true, matched)
	// acknowledged: polled again, nothing is left for this consumer
	equal(t, "left", int64(0), scalar[int64](t, conn, "SELECT count(*) FROM credit_ledger.poll_events('mailer')"))
	if status, _, _, _ := Buy(ctx, conn, 1009, 10, "low-2", nil); status != 200 { // still below: no second crossing
		t.Fatal(status)
	}
	equal(t, "balance.low events", int64(1), scalar[int64](t, conn,
		"SELECT count(*) FROM credit_ledger.events WHERE account_id = 1009 AND kind = 'balance.low'"))
}

func TestPaymentWebhookRetriedGrantsOnce(t *testing.T) {
	conn := connect(t)
	op(t)(TopUp(ctx, conn, 1010, 100, "pay-1010"))
	credits := scalar[int64](t, conn, "SELECT credits FROM credit_ledger.products WHERE sku = 'pack-500'") // test/clients.sh's
	order, err := CreateOrder(ctx, conn, 1010, "pack-500", 2, "ord-1010")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "order", []interface{}{"pending", 2 * credits, int64(998), "USD"},
		[]interface{}{order.Status, order.Credits, order.AmountMinor, order.Currency})
	// a wrong amount: refused with the DETAIL, and nothing changes
	status, _, msg, err := PaymentWebhook(ctx, conn, "ord-1010", "pi_1010", 500, "USD")
	equal(t, "wrong amount", []interface{}{409, `Order "ord-1010": paid 500, the order is 998 USD.`, nil},
		[]interface{}{status, msg, err})
	equal(t, "status", "pending", scalar[string](t, conn, "SELECT status FROM credit_ledger.orders WHERE order_no = 'ord-1010'"))
	equal(t, "available", int64(100), scalar[int64](t, conn, "SELECT available FROM credit_ledger.balance(1010)"))

	// the first delivery and a retry at once, from two connections; a third
	// holds the account's lock until both are waiting, so they overlap
	blocker, hooks := connect(t), []*pgx.Conn{connect(t), connect(t)}
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	exec(t, tx, "SELECT credit_ledger.grant_credits(1010, 1, 'blocker')")
	type answer struct {
		status int
		order  *Order
		err    error
	}
	answers := make(chan answer, 5)
	for _, c := range hooks {
		go func(c *pgx.Conn) {
			status, o, _, err := PaymentWebhook(ctx, c, "ord-1010", "pi_1010", 998, "USD")
			answers <- answer{status, o, err}
		}(c)
	}
	waiting := false
	for i := 0; i < 100 && !waiting; i++ {
		waiting = scalar[int64](t, conn, "SELECT count(*) FROM pg_stat_activity WHERE pid IN ($1, $2) AND wait_event_type = 'Lock'",
			int32(hooks[0].PgConn().PID()), int32(hooks[1].PgConn().PID())) == 2
		time.Sleep(100 * time.Millisecond)
	}
	if !waiting {
		t.Fatal("the two deliveries did not both wait")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	got := []answer{<-answers, <-answers}
	// then three more, one after the other
	for i := 0; i < 3; i++ {
		status, o, _, err := PaymentWebhook(ctx, conn, "ord-1010", "pi_1010", 998, "USD")
		got = append(got, answer{status, o, err})
	}
	for i, a := range got {
		if a.err != nil || a.status != 200 {
			t.Fatalf("delivery %d: %d %v", i+1, a.status, a.err)
		}
		equal(t, "paid order", []interface{}{"paid", "pi_1010", *got[0].order.GrantEntryID},
			[]interface{}{a.order.Status, *a.order.PaymentRef, *a.order.GrantEntryID})
	}
	equal(t, "grant entries", int64(1), scalar[int64](t, conn,
		"SELECT count(*) FROM credit_ledger.entries WHERE event_id = 'order:ord-1010'"))
	equal(t, "available", 100+2*credits, scalar[int64](t, conn, "SELECT available FROM credit_ledger.balance(1010)"))
}
