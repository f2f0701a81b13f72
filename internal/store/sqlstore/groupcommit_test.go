package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// batchOf queues writes behind a write that blocks until they are all
// queued, so that they land in one batch whatever the machine's speed.
func batchOf(t *testing.T, s *Store, writes ...func(ctx context.Context, tx *sql.Tx) error) []error {
	t.Helper()
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.group.do(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
			<-release
			return nil
		})
	}()
	// Wait until the blocking write is being committed: the queue is empty.
	for deadline := time.Now().Add(5 * time.Second); len(s.group.queue) > 0 || !s.group.busy(); {
		if time.Now().After(deadline) {
			t.Fatal("the blocking write never started")
		}
		time.Sleep(time.Millisecond)
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.group.do(t.Context(), w) }()
	}
	for deadline := time.Now().Add(5 * time.Second); len(s.group.queue) < len(writes); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d writes queued", len(s.group.queue), len(writes))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return errs
}

func insertRow(table string, v int) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (v) VALUES ($1)", table), v)
		return err
	}
}

func rows(t *testing.T, s *Store, table string) map[int]bool {
	t.Helper()
	r, err := s.w.QueryContext(t.Context(), "SELECT v FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := map[int]bool{}
	for r.Next() {
		var v int
		r.Scan(&v)
		got[v] = true
	}
	return got
}

func TestGroupCommitBatchesQueuedWritesIntoOneCommit(t *testing.T) {
	t.Parallel()
	s := openSQLiteForTest(t)
	if _, err := s.w.ExecContext(t.Context(), "CREATE TABLE gc_rows (v INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	commits0, _ := s.GroupCommits()
	var writes []func(ctx context.Context, tx *sql.Tx) error
	for i := range 20 {
		writes = append(writes, insertRow("gc_rows", i))
	}
	for i, err := range batchOf(t, s, writes...) {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	commits, writesDone := s.GroupCommits()
	// The blocking write's own commit, then one for the 20 queued behind it.
	if n := commits - commits0; n != 2 {
		t.Errorf("%d commits for 1 + 20 writes, want 2", n)
	}
	if writesDone < 21 {
		t.Errorf("%d writes counted, want at least 21", writesDone)
	}
	if got := rows(t, s, "gc_rows"); len(got) != 20 {
		t.Errorf("%d rows stored, want 20", len(got))
	}
}

func TestGroupCommitFailsOnlyTheWriteThatFails(t *testing.T) {
	t.Parallel()
	s := openSQLiteForTest(t)
	for _, q := range []string{"CREATE TABLE gc_unique (v INTEGER PRIMARY KEY)", "INSERT INTO gc_unique (v) VALUES (0)"} {
		if _, err := s.w.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("refused by the write itself")
	errs := batchOf(t, s,
		insertRow("gc_unique", 1),
		func(ctx context.Context, tx *sql.Tx) error {
			// Writes, then fails: its row must be rolled back alone.
			if _, err := tx.ExecContext(ctx, "INSERT INTO gc_unique (v) VALUES (2)"); err != nil {
				return err
			}
			return boom
		},
		insertRow("gc_unique", 0), // a duplicate: the statement fails
		insertRow("gc_unique", 3),
	)
	if errs[0] != nil || errs[3] != nil {
		t.Errorf("clean writes failed: %v, %v", errs[0], errs[3])
	}
	if !errors.Is(errs[1], boom) {
		t.Errorf("failing write: %v, want its own error", errs[1])
	}
	if errs[2] == nil {
		t.Error("duplicate key committed")
	}
	if got := rows(t, s, "gc_unique"); !got[0] || !got[1] || got[2] || !got[3] || len(got) != 3 {
		t.Errorf("rows %v, want 0, 1 and 3", got)
	}
}

func TestGroupCommitRetriesAloneWhenTheBatchCannotCommit(t *testing.T) {
	t.Parallel()
	s := openSQLiteForTest(t)
	// A deferred foreign key is checked at COMMIT: one bad write makes the
	// whole batch's commit fail, after every statement succeeded.
	for _, q := range []string{
		"CREATE TABLE gc_parent (id INTEGER PRIMARY KEY)",
		"CREATE TABLE gc_child (v INTEGER PRIMARY KEY, parent INTEGER REFERENCES gc_parent(id) DEFERRABLE INITIALLY DEFERRED)",
		"INSERT INTO gc_parent (id) VALUES (1)",
	} {
		if _, err := s.w.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	child := func(v, parent int) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO gc_child (v, parent) VALUES ($1, $2)", v, parent)
			return err
		}
	}
	errs := batchOf(t, s, child(1, 1), child(2, 99), child(3, 1))
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("good writes failed with the batch: %v, %v", errs[0], errs[2])
	}
	if errs[1] == nil {
		t.Error("the write that breaks the foreign key was acknowledged")
	}
	if got := rows(t, s, "gc_child"); !got[1] || got[2] || !got[3] {
		t.Errorf("rows %v, want 1 and 3", got)
	}
}

func TestGroupCommitRefusesWritesAfterClose(t *testing.T) {
	t.Parallel()
	s := openSQLiteForTest(t)
	s.Close()
	err := s.group.do(t.Context(), func(context.Context, *sql.Tx) error { return nil })
	if !errors.Is(err, errWriterClosed) {
		t.Fatalf("write after close: %v", err)
	}
	s.Close() // twice is harmless
}

// BenchmarkFamilyRotation rotates refresh families from 8 goroutines on
// SQLite (synchronous=FULL), each write committed alone and then through
// the group commit, in the same run. commits/op is fsyncs per rotation.
func BenchmarkFamilyRotation(b *testing.B) {
	for _, mode := range []string{"commit-each", "group-commit"} {
		b.Run(mode, func(b *testing.B) {
			s := openSQLiteForTest(b)
			if mode == "commit-each" {
				s.group.close()
				s.group = nil
			}
			var next atomic.Int64
			b.SetParallelism(4) // 8 goroutines on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				f := &store.RefreshFamily{ID: fmt.Sprintf("fam-%d", next.Add(1)), UserID: "auth0|bench", ClientID: "bench", Audience: "https://api.example.com/", Rotating: true}
				if err := s.CreateRefreshFamily(context.Background(), f); err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					f.Current = [][]byte{[]byte(fmt.Sprint(f.Version))}
					if err := s.ReplaceRefreshFamily(context.Background(), f); err != nil {
						b.Error(err)
						return
					}
				}
			})
			commits, writes := s.GroupCommits()
			if writes > 0 {
				b.ReportMetric(float64(commits)/float64(writes), "commits/op")
			} else {
				b.ReportMetric(1, "commits/op")
			}
		})
	}
}

// walFramesPerRotation rotates one family n times, one at a time, from an
// emptied WAL, and returns the WAL frames (pages) each rotation wrote.
// n stays below the automatic checkpoint (1000 frames), so the WAL only
// grows.
func walFramesPerRotation(tb testing.TB, n int) float64 {
	tb.Helper()
	dir := tb.TempDir()
	ctx := context.Background()
	s := openSQLiteAt(tb, filepath.Join(dir, "g.db"))
	// A family among others, as in a tenant with many sessions.
	for i := range 300 {
		other := &store.RefreshFamily{ID: fmt.Sprintf("other-%d", i), UserID: fmt.Sprintf("auth0|%d", i), ClientID: "bench",
			Rotating: true, ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateRefreshFamily(ctx, other); err != nil {
			tb.Fatal(err)
		}
	}
	f := &store.RefreshFamily{ID: "fam", UserID: "auth0|bench", ClientID: "bench", Audience: "https://api.example.com/",
		Rotating: true, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateRefreshFamily(ctx, f); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		f.Current = [][]byte{[]byte(fmt.Sprint(i))}
		f.IdleExpiresAt = time.Now().Add(time.Duration(i+1) * time.Minute) // an idle expiry that slides
		if err := s.ReplaceRefreshFamily(ctx, f); err != nil {
			tb.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "g.db-wal"))
	if err != nil {
		tb.Fatal(err)
	}
	const walHeader, frameHeader, page = 32, 24, 4096
	return float64(fi.Size()-walHeader) / (frameHeader + page) / float64(n)
}

// TestRotationWritesOnlyItsRowAndExpiry: a rotation changes the row and the
// expiry index, never the (user_id, client_id) index, whose values a
// family keeps for life. Naming those columns in the UPDATE made it three
// pages a rotation.
func TestRotationWritesOnlyItsRowAndExpiry(t *testing.T) {
	t.Parallel()
	got := walFramesPerRotation(t, 100)
	t.Logf("%.2f WAL frames per rotation", got)
	if got > 2.05 {
		t.Errorf("%.2f WAL frames per rotation, want 2 (the row's page and the expiry index's)", got)
	}
}
