// credit_ledger from Go with pgx (v4): a small chat application.
//
// The database is the API: each function below is one or two SQL calls of
// credit_ledger in the application's own transactions. Connect with libpq's
// variables (PGHOST, PGPORT, PGUSER, PGDATABASE) or a connection string.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
)

// OpResult is credit_ledger.op_result, filled by column name (scanOpResult).
type OpResult struct {
	EntryID   int64
	HoldID    *int64 // NULL unless the call reserved or settled a hold
	AccountID int64
	Amount    int64
	Balance   int64
	Reserved  int64
	Available int64
	Replayed  bool
}

// Querier is what *pgx.Conn and pgx.Tx have in common.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...interface{}) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...interface{}) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...interface{}) pgx.Row
}

// Call runs one money call written as SELECT * FROM credit_ledger.f(...) and
// reads its row by column name, whatever the column order.
func Call(ctx context.Context, q Querier, sql string, args ...interface{}) (OpResult, error) {
	var r OpResult
	byName := map[string]interface{}{
		"entry_id": &r.EntryID, "hold_id": &r.HoldID, "account_id": &r.AccountID,
		"amount": &r.Amount, "balance": &r.Balance, "reserved": &r.Reserved,
		"available": &r.Available, "replayed": &r.Replayed,
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return r, err
		}
		return r, pgx.ErrNoRows
	}
	dest := make([]interface{}, len(rows.FieldDescriptions()))
	for i, fd := range rows.FieldDescriptions() {
		if d, ok := byName[string(fd.Name)]; ok {
			dest[i] = d
		} else {
			dest[i] = new(interface{}) // a column this version does not know
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	rows.Close()
	return r, rows.Err()
}

// SQLState is the error's SQLSTATE and DETAIL when the server raised it.
func SQLState(err error) (code, detail string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.Detail, true
	}
	return "", "", false
}

// Setup creates the application's own table.
func Setup(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS chat_message (
		request_id text PRIMARY KEY,
		account_id bigint NOT NULL,
		prompt text NOT NULL,
		answer text NOT NULL CHECK (length(answer) <= 1000),
		credits bigint NOT NULL)`)
	return err
}

func TopUp(ctx context.Context, q Querier, account, credits int64, paymentID string) (OpResult, error) {
	return Call(ctx, q, "SELECT * FROM credit_ledger.grant_credits($1, $2, $3)", account, credits, paymentID)
}

// SaveAnswer charges the call and stores the answer in one transaction: if
// either fails, neither happened. requestID is the charge's event_id, so a
// retried request is charged once.
func SaveAnswer(ctx context.Context, conn *pgx.Conn, account int64, requestID, prompt, answer string,
	inputTokens, outputTokens int64) (res OpResult, err error) {
	err = conn.BeginFunc(ctx, func(tx pgx.Tx) error {
		res, err = Call(ctx, tx, `SELECT * FROM credit_ledger.charge($1, $2, 'chat', 'openai', 'gpt-4o-mini',
			input_tokens => $3, output_tokens => $4)`, account, requestID, inputTokens, outputTokens)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO chat_message VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (request_id) DO NOTHING`, requestID, account, prompt, answer, res.Amount)
		return err
	})
	return res, err
}

// WithRetry runs fn in a REPEATABLE READ transaction; a serialization
// failure (40001: another transaction changed the account since our
// snapshot) rolls back and runs fn again on a new snapshot.
func WithRetry(ctx context.Context, conn *pgx.Conn, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := conn.BeginTxFunc(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, fn)
		if code, _, _ := SQLState(err); code == "40001" && attempt < 5 {
			continue
		}
		return err
	}
}

// SpendOnce reads the balance (which takes the snapshot), then deducts.
func SpendOnce(ctx context.Context, q Querier, account, credits int64, eventID string) (OpResult, error) {
	var available int64
	if err := q.QueryRow(ctx, "SELECT available FROM credit_ledger.balance($1)", account).Scan(&available); err != nil {
		return OpResult{}, err
	}
	return Call(ctx, q, "SELECT * FROM credit_ledger.deduct($1, $2, $3)", account, credits, eventID)
}

// Buy is an HTTP handler's core: the status and either the result or the
// message to show. It branches on the SQLSTATE; the DETAIL has the figures.
func Buy(ctx context.Context, q Querier, account, credits int64, eventID string,
	metadata map[string]interface{}) (int, *OpResult, string, error) {
	res, err := Call(ctx, q, "SELECT * FROM credit_ledger.deduct($1, $2, $3, metadata => $4)",
		account, credits, eventID, metadata)
	switch code, detail, _ := SQLState(err); code {
	case "":
		if err != nil {
			return 0, nil, "", err
		}
		return 200, &res, "", nil
	case "LD001": // insufficient credit
		return 402, nil, detail, nil
	case "LD004": // event_id reused for a different request
		return 409, nil, detail, nil
	default:
		return 0, nil, "", err
	}
}

// Order is the part of credit_ledger.credit_order the shop uses.
type Order struct {
	OrderNo      string
	AccountID    int64
	Status       string
	Credits      int64
	AmountMinor  int64
	Currency     string
	PaymentRef   *string // NULL until paid
	GrantEntryID *int64  // the grant entry of a paid order
}

const orderColumns = "order_no, account_id, status, credits, amount_minor, currency, payment_ref, grant_entry_id"

func scanOrder(row pgx.Row) (Order, error) {
	var o Order
	err := row.Scan(&o.OrderNo, &o.AccountID, &o.Status, &o.Credits, &o.AmountMinor, &o.Currency,
		&o.PaymentRef, &o.GrantEntryID)
	return o, err
}

// CreateOrder is checkout: a pending order of a credit pack (idempotent on
// orderNo); the payment page charges its AmountMinor in its Currency.
func CreateOrder(ctx context.Context, q Querier, account int64, sku string, quantity int, orderNo string) (Order, error) {
	return scanOrder(q.QueryRow(ctx, "SELECT "+orderColumns+" FROM credit_ledger.create_order($1, $2, $3, $4)",
		account, sku, quantity, orderNo))
}

// PaymentWebhook is the core of the payment provider's webhook route: the
// status and either the paid order or the message to show. Providers deliver
// again until they get a 2xx, sometimes twice at once: pay_order with the
// same paymentRef returns the paid order again (one grant in all), so a
// replay is a 200 like the first delivery. LD011 (an amount or currency not
// the order's, another payment for a paid order, a cancelled, expired or
// unknown order) changes nothing: 409 with the DETAIL, for a person to look at.
func PaymentWebhook(ctx context.Context, q Querier, orderNo, paymentRef string, paidMinor int64,
	currency string) (int, *Order, string, error) {
	o, err := scanOrder(q.QueryRow(ctx, "SELECT "+orderColumns+" FROM credit_ledger.pay_order($1, $2, $3, $4)",
		orderNo, paymentRef, paidMinor, currency))
	switch code, detail, _ := SQLState(err); code {
	case "":
		if err != nil {
			return 0, nil, "", err
		}
		return 200, &o, "", nil
	case "LD011": // the payment does not match, or the order cannot be paid
		return 409, nil, detail, nil
	default:
		return 0, nil, "", err
	}
}

// Stream is an LLM client's streamed answer: Recv gives the next chunk, or
// io.EOF at the end, or another error when the stream broke.
type Stream interface {
	Recv() (string, error)
}

// StreamAnswer bills a streamed LLM call: hold an estimate (committed at
// once, so the stream holds no lock), stream, then bill the real usage
// against the hold (charge with hold_id confirms it for the priced amount;
// the rest comes back). An interrupted stream cancels the hold.
func StreamAnswer(ctx context.Context, conn *pgx.Conn, account int64, requestID string, estimate int64,
	stream Stream, inputTokens int64) (string, OpResult, error) {
	hold, err := Call(ctx, conn, "SELECT * FROM credit_ledger.reserve($1, $2, $3, interval '5 minutes')",
		account, estimate, "hold-"+requestID)
	if err != nil {
		return "", hold, err
	}
	text, outputTokens := "", int64(0)
	for {
		chunk, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err == nil {
			text += chunk
			outputTokens++
			continue
		}
		if _, cerr := conn.Exec(ctx, "SELECT credit_ledger.cancel($1, $2, 'stream interrupted')",
			account, *hold.HoldID); cerr != nil {
			return text, hold, fmt.Errorf("%w (and the cancel failed: %v)", err, cerr)
		}
		return text, hold, err
	}
	res, err := Call(ctx, conn, `SELECT * FROM credit_ledger.charge($1, $2, 'chat', 'openai', 'gpt-4o-mini',
		input_tokens => $3, output_tokens => $4, hold_id => $5)`, account, requestID, inputTokens, outputTokens,
		*hold.HoldID)
	return text, res, err
}

// AgentTurn bills an agent turn as it goes: a budget held for this session
// (a lease: if the process dies, the worker gives it back within a sweep
// interval), each tool call captured against it, the last capture final
// (what is left comes back). Every key derives from turnID: a retried turn
// replays, charged once.
func AgentTurn(ctx context.Context, conn *pgx.Conn, account int64, turnID string, budget int64,
	toolCosts []int64) (OpResult, error) {
	hold, err := Call(ctx, conn, `SELECT * FROM credit_ledger.reserve($1, $2, $3, interval '10 minutes',
		lease => true)`, account, budget, "turn-"+turnID)
	if err != nil {
		return hold, err
	}
	res := hold
	for i, cost := range toolCosts {
		res, err = Call(ctx, conn, "SELECT * FROM credit_ledger.capture($1, $2, $3, $4, final => $5)",
			account, *hold.HoldID, cost, fmt.Sprintf("turn-%s-%d", turnID, i), i == len(toolCosts)-1)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// Event is one row of credit_ledger.poll_events.
type Event struct {
	Seq     int64
	Kind    string
	Payload map[string]interface{}
}

// ListenLowBalance is the alert loop, on a connection of its own: LISTEN
// credit_ledger_events; on each notification, or every second, poll the
// consumer's events, call onLow for each balance.low, then acknowledge them.
// It returns the notification payloads seen ('<event_seq> <account_id>
// <kind>') when until says so or ctx ends. listening is closed once LISTEN
// has run.
func ListenLowBalance(ctx context.Context, conn *pgx.Conn, consumer string, onLow func(Event),
	until func() bool, listening chan<- struct{}) ([]string, error) {
	var seen []string
	if _, err := conn.Exec(ctx, "LISTEN credit_ledger_events"); err != nil {
		return seen, err
	}
	close(listening)
	for !until() {
		wait, cancel := context.WithTimeout(ctx, time.Second)
		n, err := conn.WaitForNotification(wait)
		cancel()
		if err == nil {
			seen = append(seen, n.Payload)
		} else if ctx.Err() != nil {
			return seen, ctx.Err()
		} else if !errors.Is(err, context.DeadlineExceeded) {
			return seen, err
		}
		rows, err := conn.Query(ctx, "SELECT event_seq, kind, payload FROM credit_ledger.poll_events($1, 100)", consumer)
		if err != nil {
			return seen, err
		}
		var events []Event
		for rows.Next() {
			var e Event
			if err := rows.Scan(&e.Seq, &e.Kind, &e.Payload); err != nil {
				rows.Close()
				return seen, err
			}
			events = append(events, e)
		}
		if err := rows.Err(); err != nil {
			return seen, err
		}
		for _, e := range events {
			if e.Kind == "balance.low" {
				onLow(e)
			}
		}
		if len(events) > 0 {
			if _, err := conn.Exec(ctx, "SELECT credit_ledger.ack_events($1, $2)", consumer, events[len(events)-1].Seq); err != nil {
				return seen, err
			}
		}
	}
	return seen, nil
}
