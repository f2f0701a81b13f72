package sqlstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestCacheable(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]bool{
		"SELECT 1":                               true,
		"  insert INTO t VALUES (1)":             true,
		"WITH x AS (SELECT 1) SELECT * FROM x":   true,
		"DELETE FROM t WHERE a = $1;":            true,
		"CREATE TABLE t (a); CREATE TABLE u (b)": false,
		"SELECT 1; SELECT 2":                     false,
		"PRAGMA synchronous = NORMAL":            false,
		"SAVEPOINT s12":                          false,
		"BEGIN IMMEDIATE":                        false,
		"":                                       false,
	} {
		if got := cacheable(q); got != want {
			t.Errorf("cacheable(%q) = %v, want %v", q, got, want)
		}
	}
}

// TestStatementCacheNestedAndEvicted runs a statement again while its own
// rows are still open (it must be compiled afresh, not reset under the
// open rows), and more distinct statements than the cache holds.
func TestStatementCacheNestedAndEvicted(t *testing.T) {
	t.Parallel()
	s := openSQLiteForTest(t)
	ctx := t.Context()
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE sc (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.w.ExecContext(ctx, "INSERT INTO sc (v) VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT v FROM sc ORDER BY v"
	outer, err := tx.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var a int
		if err := outer.Scan(&a); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var b int
			if err := inner.Scan(&b); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, fmt.Sprint(a, b))
		}
		inner.Close()
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if len(pairs) != 9 {
		t.Fatalf("nested reads gave %d pairs, want 9: %v", len(pairs), pairs)
	}
	// Twice the cache's size in distinct texts, each run twice: evicted
	// statements are closed, and the texts still answer.
	for round := range 2 {
		for i := range 2 * stmtCacheSize {
			var v int
			if err := tx.QueryRowContext(ctx, fmt.Sprintf("SELECT %d + v FROM sc WHERE v = 2", i)).Scan(&v); err != nil {
				t.Fatalf("round %d, statement %d: %v", round, i, err)
			}
			if v != i+2 {
				t.Fatalf("statement %d answered %d", i, v)
			}
		}
	}
}

// BenchmarkTakeCounters is the brute-force guard's statement on SQLite:
// three takes (IP, same-user, brute force) for a new address each time,
// with the statement cache and without it, in the same run.
//
//	go test -run '^$' -bench TakeCounters ./internal/store/sqlstore/
func BenchmarkTakeCounters(b *testing.B) {
	for _, mode := range []string{"compiled-each-call", "statement-cache"} {
		b.Run(mode, func(b *testing.B) {
			var opts []Option
			if mode == "compiled-each-call" {
				opts = append(opts, func(s *Store) { s.noStmtCache = true })
			}
			s := openSQLiteForTest(b, opts...)
			var n atomic.Int64
			ctx := context.Background()
			for b.Loop() {
				ip := fmt.Sprintf("10.0.%d.%d", n.Load()>>8&255, n.Add(1)&255)
				_, err := s.TakeCounters(ctx, time.Now(),
					store.CounterTake{CounterKey: store.CounterKey{Kind: "ip", Key: ip}, Burst: 100, Interval: time.Minute, IP: ip},
					store.CounterTake{CounterKey: store.CounterKey{Kind: "sul", Key: "c|u|" + ip}, Burst: 20, Interval: 6 * time.Second, Cost: 1, IP: ip},
					store.CounterTake{CounterKey: store.CounterKey{Kind: "bf", Key: "c|u|" + ip}, Burst: 10, Interval: 24 * time.Hour, Cost: 1, IP: ip})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
