package cache_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/cache"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// freshness is how soon another node's change must be seen.
const freshness = 100 * time.Millisecond

// pgNode is one node's store on a shared PostgreSQL database. Its
// ConfigVersion can be made to run a hook first (another node's write
// landing in the instant after this node's own).
type pgNode struct {
	*sqlstore.Store
	beforeVersion atomic.Pointer[func()]
}

func (n *pgNode) ConfigVersion(ctx context.Context) (int64, error) {
	if f := n.beforeVersion.Swap(nil); f != nil {
		(*f)()
	}
	return n.Store.ConfigVersion(ctx)
}

func openPG(t *testing.T, dsn string) *pgNode {
	t.Helper()
	sealer, _ := seal.New(bytes.Repeat([]byte{7}, 32))
	s, err := sqlstore.Open(context.Background(), dsn, sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &pgNode{Store: s}
}

// watched is a cache running with a poll too slow to matter: whatever it
// sees in time, it saw through PostgreSQL's announcements.
func watched(t *testing.T, inner store.Store) (*cache.Store, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := cache.New(ctx, inner, slog.New(slog.DiscardHandler))
	changes := make(chan struct{}, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, time.Hour, func() { changes <- struct{}{} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c, changes
}

// seenWithin waits for an onChange call.
func seenWithin(t *testing.T, changes <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-changes:
	case <-time.After(d):
		t.Fatalf("%s: no change seen within %v", what, d)
	}
}

// settle waits until b's watch is in place (a write through a is seen) and
// empties its change channel.
func settle(t *testing.T, a store.Store, changes <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		if err := a.CreateClient(context.Background(), &store.Client{ClientID: "warmup" + string(rune('a'+i)), Name: "w"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changes:
			for {
				select {
				case <-changes:
				case <-time.After(50 * time.Millisecond):
					return
				}
			}
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("node b never saw node a's writes")
		}
	}
}

func TestAnotherNodesWriteIsSeenWithinAHundredMilliseconds(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDatabase(t)
	ctx := context.Background()
	a, b := openPG(t, dsn), openPG(t, dsn)
	if a.NodeID() == "" || a.NodeID() == b.NodeID() {
		t.Fatalf("node ids %q and %q", a.NodeID(), b.NodeID())
	}
	ca, _ := watched(t, a)
	cb, changes := watched(t, b)
	settle(t, ca, changes)

	// b remembers that there is no such client; a creates it.
	if _, err := cb.GetClient(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	start := time.Now()
	if err := ca.CreateClient(ctx, &store.Client{ClientID: "app", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	seenWithin(t, changes, freshness, "create on a")
	if cl, err := cb.GetClient(ctx, "app"); err != nil || cl.Name != "one" {
		t.Fatalf("b after %v: %+v, %v", time.Since(start), cl, err)
	}
	t.Logf("seen on b after %v", time.Since(start))

	// A change, likewise.
	if _, err := ca.UpdateClient(ctx, "app", func(cl *store.Client) error { cl.Name = "two"; return nil }); err != nil {
		t.Fatal(err)
	}
	seenWithin(t, changes, freshness, "update on a")
	if cl, err := cb.GetClient(ctx, "app"); err != nil || cl.Name != "two" {
		t.Fatalf("b after the update: %+v, %v", cl, err)
	}

	// b's own writes are announced too, but are no news to b.
	if err := cb.CreateClient(ctx, &store.Client{ClientID: "mine", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
		t.Fatal("b took its own write for another node's")
	case <-time.After(3 * freshness):
	}
}

// TestAWriteLandingRightAfterALocalOneIsNotMissed is the race the poll
// cannot see: a writes in the instant between b's own write and b reading
// the version after it, so the version b records already counts a's change.
// The announcement carries a's node id, so b still reloads for it.
func TestAWriteLandingRightAfterALocalOneIsNotMissed(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDatabase(t)
	ctx := context.Background()
	a, b := openPG(t, dsn), openPG(t, dsn)
	cb, changes := watched(t, b)
	settle(t, a, changes)

	versionBefore, _ := b.Store.ConfigVersion(ctx)
	foreign := func() {
		if err := a.CreateClient(ctx, &store.Client{ClientID: "foreign", Name: "a"}); err != nil {
			t.Error(err)
		}
	}
	b.beforeVersion.Store(&foreign)
	if err := cb.CreateClient(ctx, &store.Client{ClientID: "local", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Store.ConfigVersion(ctx); v != versionBefore+2 {
		t.Fatalf("version %d, want %d: the two writes did not interleave as planned", v, versionBefore+2)
	}
	seenWithin(t, changes, freshness, "a's write inside b's version")
}

// TestTheWatchComesBackAfterItsConnectionDies: PostgreSQL ends the
// listening connection; the node reconnects, reloads (announcements may
// have been missed meanwhile) and is back to seeing changes at once.
func TestTheWatchComesBackAfterItsConnectionDies(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDatabase(t)
	ctx := context.Background()
	a, b := openPG(t, dsn), openPG(t, dsn)
	_, changes := watched(t, b)
	settle(t, a, changes)

	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN gatehouse_config'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners: %v", killed, err)
	}
	// Back within the first backoff step, with a reload for what it missed.
	seenWithin(t, changes, 5*time.Second, "reconnect")
	if err := a.CreateClient(ctx, &store.Client{ClientID: "after", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	seenWithin(t, changes, freshness, "a write after the reconnect")
}
