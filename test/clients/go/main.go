package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v4"
)

// go run . : top up account 42, answer one chat request, show the balance.
func main() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL")) // empty: PGHOST, PGPORT, ...
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close(ctx)
	if err := Setup(ctx, conn); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := TopUp(ctx, conn, 42, 1000, "demo-payment-1"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := SaveAnswer(ctx, conn, 42, "demo-request-1", "hi", "hello", 1000, 500)
	if code, detail, ok := SQLState(err); ok && code == "LD001" {
		fmt.Println("out of credits:", detail)
		return
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("charged %d credits (replayed: %v), available %d\n", res.Amount, res.Replayed, res.Available)
}
