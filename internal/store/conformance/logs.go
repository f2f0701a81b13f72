package conformance

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func logID(e *store.LogEvent) string { return e.LogID }

func logTests() []test {
	return []test{
		{"AppendedEventsReadBackWholeWithRisingIDs", testLogRoundTrip},
		{"ListFiltersSortsAndPages", testLogList},
		{"CheckpointPagingSeesEveryEventOnce", testLogCheckpoint},
		{"ConcurrentAppendsGetDistinctRisingIDs", testLogConcurrentAppends},
		{"OldEventsAreDeletedInBatches", testLogRetention},
	}
}

// logAt is an event of type typ at base+minutes.
func logAt(base time.Time, minutes int, typ, user, client string) *store.LogEvent {
	return &store.LogEvent{Date: base.Add(time.Duration(minutes) * time.Minute), Type: typ, UserID: user, ClientID: client}
}

func testLogRoundTrip(t *testing.T, s store.Store) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	full := &store.LogEvent{
		Date: date, Type: "fp", Description: "Wrong email or password.", ClientID: "c1", ClientName: "Ünïcode app",
		IP: "2001:db8::1", UserAgent: "curl/8.0", Hostname: "tenant.example.com", UserID: "auth0|1", UserName: "ann@example.com",
		Connection: "db", ConnectionID: "con_1", Strategy: "auth0", StrategyType: "database",
		Audience: "https://api.example.com/", Scope: "openid offline_access", IsMobile: true,
		Details: json.RawMessage(`{"grant_type":"password","error":"invalid_grant","nested":{"n":1}}`),
	}
	bare := &store.LogEvent{Date: date, Type: "sapi"}
	batch := []*store.LogEvent{full, bare}
	must(t, s.AppendLogs(ctx(t), batch))
	if full.LogID == "" || bare.LogID <= full.LogID {
		t.Fatalf("ids %q, %q: want set and rising within the batch", full.LogID, bare.LogID)
	}
	if len(full.LogID) != 29 || full.LogID[:3] != "900" {
		t.Fatalf("id %q: want 29 digits starting with 900", full.LogID)
	}
	must(t, s.AppendLogs(ctx(t), []*store.LogEvent{{Date: date, Type: "s"}}))
	wantEqual(t, "full event", ok[*store.LogEvent](t)(s.GetLog(ctx(t), full.LogID)), full)
	wantEqual(t, "bare event", ok[*store.LogEvent](t)(s.GetLog(ctx(t), bare.LogID)), bare)
	all := ok[[]*store.LogEvent](t)(s.LogsAfter(ctx(t), "", 10))
	if len(all) != 3 || all[2].LogID <= bare.LogID {
		t.Fatalf("after a second batch: %v, want a third id above %q", ids(all, logID), bare.LogID)
	}
	_, err := s.GetLog(ctx(t), "90020260304050607000000000000")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.AppendLogs(ctx(t), nil))
}

func testLogList(t *testing.T, s store.Store) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Appended out of date order: the listing sorts by date, not by id.
	events := []*store.LogEvent{
		logAt(base, 3, "fp", "auth0|a", "c1"),
		logAt(base, 1, "s", "auth0|a", "c1"),
		logAt(base, 2, "sepft", "auth0|a", "c1"),
		logAt(base, 5, "fu", "", "c2"),
		logAt(base, 4, "sapi", "", "m2m"),
		logAt(base, 6, "s", "auth0|b", "c2"),
	}
	must(t, s.AppendLogs(ctx(t), events[:2]))
	must(t, s.AppendLogs(ctx(t), events[2:]))
	types := func(list []*store.LogEvent) []string {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Type
		}
		return out
	}
	list := func(q store.LogQuery, p store.Page) ([]string, int) {
		t.Helper()
		got, total, err := s.ListLogs(ctx(t), q, p)
		must(t, err)
		return types(got), total
	}
	cases := []struct {
		name  string
		q     store.LogQuery
		p     store.Page
		want  []string
		total int
	}{
		{"newest first by default", store.LogQuery{Totals: true}, store.Page{}, []string{"s", "fu", "sapi", "fp", "sepft", "s"}, 6},
		{"oldest first", store.LogQuery{Ascending: true}, store.Page{}, []string{"s", "sepft", "fp", "sapi", "fu", "s"}, -1},
		{"by type", store.LogQuery{Types: []string{"s"}, Totals: true}, store.Page{}, []string{"s", "s"}, 2},
		{"by any of types", store.LogQuery{Types: []string{"fp", "fu"}, Totals: true}, store.Page{}, []string{"fu", "fp"}, 2},
		{"by user", store.LogQuery{UserID: "auth0|a", Totals: true}, store.Page{}, []string{"fp", "sepft", "s"}, 3},
		{"by client", store.LogQuery{ClientID: "c2", Totals: true}, store.Page{}, []string{"s", "fu"}, 2},
		{"date range, both ends inclusive", store.LogQuery{From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute), Totals: true},
			store.Page{}, []string{"sapi", "fp", "sepft"}, 3},
		{"open-ended range", store.LogQuery{From: base.Add(5 * time.Minute)}, store.Page{}, []string{"s", "fu"}, -1},
		{"filters combine", store.LogQuery{UserID: "auth0|a", Types: []string{"s", "fp"}, To: base.Add(2 * time.Minute), Totals: true},
			store.Page{}, []string{"s"}, 1},
		{"second page", store.LogQuery{Totals: true}, store.Page{Page: 1, PerPage: 4}, []string{"sepft", "s"}, 6},
		{"past the end", store.LogQuery{Totals: true}, store.Page{Page: 3, PerPage: 4}, []string{}, 6},
		{"no match", store.LogQuery{UserID: "auth0|nobody", Totals: true}, store.Page{}, []string{}, 0},
	}
	for _, c := range cases {
		got, total := list(c.q, c.p)
		wantEqual(t, c.name, got, c.want)
		if total != c.total {
			t.Errorf("%s: total %d, want %d", c.name, total, c.total)
		}
	}
}

func testLogCheckpoint(t *testing.T, s store.Store) {
	base := time.Now().UTC()
	for i := range 3 {
		batch := make([]*store.LogEvent, 5)
		for j := range batch {
			batch[j] = logAt(base, -i*10-j, "s", fmt.Sprintf("auth0|%d", i*5+j), "")
		}
		must(t, s.AppendLogs(ctx(t), batch))
	}
	var seen []string
	from := ""
	for range 10 {
		page := ok[[]*store.LogEvent](t)(s.LogsAfter(ctx(t), from, 4))
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen = append(seen, e.UserID)
		}
		from = page[len(page)-1].LogID
		if len(seen) == 8 {
			// Written while the reader is half-way: found on a later page.
			must(t, s.AppendLogs(ctx(t), []*store.LogEvent{logAt(base, -100, "s", "auth0|late", "")}))
		}
	}
	want := make([]string, 0, 16)
	for i := range 15 {
		want = append(want, fmt.Sprintf("auth0|%d", i))
	}
	want = append(want, "auth0|late")
	wantEqual(t, "users seen in checkpoint order", seen, want)
	if _, err := s.LogsAfter(ctx(t), "", 0); err == nil {
		t.Fatal("LogsAfter with take 0 succeeded")
	}
}

func testLogConcurrentAppends(t *testing.T, s store.Store) {
	const writers, batches, size = 4, 5, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				batch := make([]*store.LogEvent, size)
				for i := range batch {
					batch[i] = &store.LogEvent{Date: time.Now(), Type: "s", UserID: fmt.Sprintf("w%d-b%d-%d", w, b, i)}
				}
				if err := s.AppendLogs(ctx(t), batch); err != nil {
					errs <- err
					return
				}
				// Within a batch, ids rise in the batch's order.
				for i := 1; i < size; i++ {
					if batch[i].LogID <= batch[i-1].LogID {
						errs <- fmt.Errorf("batch ids not rising: %q then %q", batch[i-1].LogID, batch[i].LogID)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := ok[[]*store.LogEvent](t)(s.LogsAfter(ctx(t), "", 1000))
	if len(all) != writers*batches*size {
		t.Fatalf("%d events stored, want %d", len(all), writers*batches*size)
	}
	got := ids(all, logID)
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("ids are not distinct and sorted: %v", got)
	}
}

func testLogRetention(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var batch []*store.LogEvent
	for i := range 5 {
		batch = append(batch, &store.LogEvent{Date: now.Add(-time.Duration(40+i) * 24 * time.Hour), Type: "s", UserID: "old"})
	}
	batch = append(batch,
		&store.LogEvent{Date: now.Add(-30 * 24 * time.Hour), Type: "s", UserID: "at-cutoff"},
		&store.LogEvent{Date: now, Type: "s", UserID: "new"})
	must(t, s.AppendLogs(ctx(t), batch))
	cutoff := now.Add(-30 * 24 * time.Hour)
	for i, want := range []int{2, 2, 1, 0} {
		n, err := s.DeleteLogsBefore(ctx(t), cutoff, 2)
		must(t, err)
		if n != want {
			t.Fatalf("batch %d deleted %d events, want %d", i, n, want)
		}
	}
	left := ok[[]*store.LogEvent](t)(s.LogsAfter(ctx(t), "", 100))
	users := make([]string, len(left))
	for i, e := range left {
		users[i] = e.UserID
	}
	wantEqual(t, "events left", users, []string{"at-cutoff", "new"})
}
