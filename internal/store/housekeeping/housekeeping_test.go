package housekeeping

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	sealer, _ := seal.New(bytes.Repeat([]byte{7}, 32))
	s, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "h.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A round drains a backlog larger than one batch, leaves live records, and
// does nothing while another holder has the lock.
func TestRoundDeletesExpiredRecordsInBatches(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	now := time.Now()
	for i := range 7 {
		f := &store.RefreshFamily{ID: "old-" + string(rune('a'+i)), UserID: "auth0|1", ClientID: "c", ExpiresAt: now.Add(-time.Hour)}
		if err := s.CreateRefreshFamily(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	live := &store.RefreshFamily{ID: "live", UserID: "auth0|1", ClientID: "c", IdleExpiresAt: now.Add(time.Hour)}
	if err := s.CreateRefreshFamily(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := s.UseNonce(t.Context(), "jti-"+k, now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	c := &Cleaner{Store: s, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler), Batch: 2}

	// Another node is cleaning up: this one skips the round.
	s.Exclusive(t.Context(), func(ctx context.Context) error {
		if d, ran, err := c.Round(ctx); ran || err != nil || d != (Deleted{}) {
			t.Errorf("round under another's lock = %+v, %v, %v; want nothing done", d, ran, err)
		}
		return nil
	})

	d, ran, err := c.Round(t.Context())
	if err != nil || !ran || d != (Deleted{Families: 7, Nonces: 3}) {
		t.Fatalf("Round = %+v, %v, %v; want 7 families and 3 nonces", d, ran, err)
	}
	fams, _ := s.ListRefreshFamilies(t.Context(), "auth0|1", "")
	if len(fams) != 1 || fams[0].ID != "live" {
		t.Fatalf("families left: %d", len(fams))
	}
}

// The retention limit deletes older events in batches and keeps the rest;
// without a limit every event stays.
func TestRoundEnforcesLogRetention(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	now := time.Now()
	var batch []*store.LogEvent
	for i := range 5 {
		batch = append(batch, &store.LogEvent{Date: now.Add(-time.Duration(31+i) * 24 * time.Hour), Type: "s", UserID: "old"})
	}
	batch = append(batch, &store.LogEvent{Date: now.Add(-29 * 24 * time.Hour), Type: "s", UserID: "kept"})
	if err := s.AppendLogs(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	keepAll := &Cleaner{Store: s, Logs: s, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	if d, _, err := keepAll.Round(t.Context()); err != nil || d.Logs != 0 {
		t.Fatalf("without retention: %+v, %v; want no event deleted", d, err)
	}
	c := &Cleaner{Store: s, Logs: s, LogRetention: DefaultLogRetention, Now: func() time.Time { return now },
		Log: slog.New(slog.DiscardHandler), Batch: 2}
	d, ran, err := c.Round(t.Context())
	if err != nil || !ran || d.Logs != 5 {
		t.Fatalf("Round = %+v, %v, %v; want 5 log events deleted", d, ran, err)
	}
	left, _ := s.LogsAfter(t.Context(), "", 10)
	if len(left) != 1 || left[0].UserID != "kept" {
		t.Fatalf("left: %d events", len(left))
	}
}

// Drained and expired attack-protection counters go; one still counting
// stays, and a later take on a deleted key starts afresh as it would have.
func TestRoundDeletesDrainedCounters(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	now := time.Now()
	take := func(key string, at time.Time, burst int, interval, expire time.Duration) {
		t.Helper()
		if _, err := s.TakeCounters(t.Context(), at, store.CounterTake{CounterKey: store.CounterKey{Kind: "bf", Key: key},
			Burst: burst, Interval: interval, Cost: 1, Expire: expire}); err != nil {
			t.Fatal(err)
		}
	}
	take("drained", now.Add(-2*time.Hour), 10, time.Minute, 0)
	take("expired", now.Add(-2*time.Hour), 10, 24*time.Hour, time.Hour)
	take("counting", now.Add(-time.Minute), 10, 24*time.Hour, 0)
	c := &Cleaner{Store: s, Counters: s, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler), Batch: 1}
	d, ran, err := c.Round(t.Context())
	if err != nil || !ran || d.Counters != 2 {
		t.Fatalf("Round = %+v, %v, %v; want 2 counters deleted", d, ran, err)
	}
	left, err := s.ListCounters(t.Context(), "bf", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Key != "counting" {
		t.Fatalf("counters left: %+v", left)
	}
}
