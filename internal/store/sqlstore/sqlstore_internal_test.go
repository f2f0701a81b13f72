package sqlstore

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
)

func openSQLiteForTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openSQLiteAt(t, filepath.Join(t.TempDir(), "g.db"), opts...)
}

// openSQLiteAt opens a store at path with a throwaway master secret,
// closed when the test ends.
func openSQLiteAt(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	master := make([]byte, 32)
	rand.Read(master)
	sealer, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), path, sealer, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return strings.ToLower(v)
}

func TestSQLitePoolsAreConfiguredForDurabilityAndOneWriter(t *testing.T) {
	t.Parallel()
	s := openSQLiteForTest(t)
	for _, tc := range []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"writer", s.w, "journal_mode", "wal"},
		{"writer", s.w, "synchronous", "2"}, // FULL
		{"writer", s.w, "foreign_keys", "1"},
		{"writer", s.w, "busy_timeout", "5000"},
		{"reader", s.r, "journal_mode", "wal"},
		{"reader", s.r, "busy_timeout", "5000"},
		{"reader", s.r, "query_only", "1"},
	} {
		if got := pragma(t, tc.db, tc.pragma); got != tc.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", tc.pool, tc.pragma, got, tc.want)
		}
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
	if s.r == s.w {
		t.Error("SQLite reads share the writer pool")
	}
}

func TestHotPathLookupsUseAnIndex(t *testing.T) {
	t.Parallel()
	s := openSQLiteForTest(t)
	for _, q := range []string{
		s.clients.selectSQL + " WHERE client_id = $1",
		s.resourceServers.selectSQL + " WHERE identifier = $1",
		s.connections.selectSQL + " WHERE name = $1",
		s.users.selectSQL + " WHERE user_id = $1",
		s.users.selectSQL + userByIdentifierWhere,
		s.grants.selectSQL + " WHERE client_id = $1 AND audience = $2",
		s.users.lockSQL,
		s.users.updateSQL,
		s.families.selectSQL + " WHERE id = $1",
		s.families.lockSQL,
		s.families.updateSQL,
	} {
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") {
				t.Errorf("%s\n  scans a table: %v", q, plan)
			}
		}
	}
}

func TestUseNoncePrunesExpiredNoncesAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := openSQLiteForTest(t, WithClock(clock))
	ctx := t.Context()
	count := func() int {
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM nonces`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if err := s.UseNonce(ctx, "a", clock().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Second)
	// "a" has expired, but the last prune was under a minute ago.
	if err := s.UseNonce(ctx, "b", clock().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d nonces before the prune interval passed, want 2", n)
	}
	// An expired nonce is reusable whether or not it was pruned.
	if err := s.UseNonce(ctx, "a", clock().Add(time.Second)); err != nil {
		t.Fatalf("reusing an expired nonce: %v", err)
	}
	advance(noncePruneInterval)
	if err := s.UseNonce(ctx, "c", clock().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d nonces after pruning, want 2 (b and c)", n)
	}
	if err := s.UseNonce(ctx, "b", clock().Add(time.Hour)); err == nil || !isConflict(err) {
		t.Fatalf("replaying a live nonce after pruning: %v", err)
	}
}

func isConflict(err error) bool { return err != nil && errors.Is(err, store.ErrConflict) }

func FuzzParseConfigChange(f *testing.F) {
	for _, s := range []string{"12 abcdef", "7 ", "7", "", "x y", "-1 n", "99999999999999999999 n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		c, ok := parseConfigChange(payload)
		if !ok {
			return
		}
		if c.Version <= 0 {
			t.Fatalf("%q parsed as version %d", payload, c.Version)
		}
		// What parses is what the trigger would have written for it.
		again, ok := parseConfigChange(strconv.FormatInt(c.Version, 10) + " " + c.Node)
		if !ok || again != c {
			t.Fatalf("%q: %+v, then %+v", payload, c, again)
		}
	})
}
