package tenantlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func openStore(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	sealer, _ := seal.New(bytes.Repeat([]byte{7}, 32))
	s, err := sqlstore.Open(context.Background(), path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// gated is a real store whose appends can be held up or made to fail,
// and which counts them.
type gated struct {
	store.Logs
	mu      sync.Mutex
	hold    chan struct{} // appends wait on it while not nil
	entered chan struct{} // told when an append starts waiting
	fail    int           // appends left to fail
	appends atomic.Int64
}

func (g *gated) AppendLogs(ctx context.Context, evs []*store.LogEvent) error {
	g.appends.Add(1)
	g.mu.Lock()
	hold, entered := g.hold, g.entered
	if g.fail > 0 {
		g.fail--
		g.mu.Unlock()
		return errors.New("database unavailable")
	}
	g.mu.Unlock()
	if hold != nil {
		entered <- struct{}{}
		<-hold
	}
	return g.Logs.AppendLogs(ctx, evs)
}

func all(t *testing.T, s store.Logs) []*store.LogEvent {
	t.Helper()
	evs, err := s.LogsAfter(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestFlushStoresEverythingEmittedInBatches(t *testing.T) {
	t.Parallel()
	s := &gated{Logs: openStore(t, filepath.Join(t.TempDir(), "l.db"))}
	var stream bytes.Buffer
	b := New(Options{Store: s, Hostname: "tenant.example.com", Batch: 40, FlushInterval: time.Hour, Stream: &stream})
	defer b.Close(context.Background())
	for i := range 100 {
		b.Emit(context.Background(), events.Event{Type: events.SuccessLogin, UserID: "auth0|" + string(rune('a'+i%26)), Strategy: "auth0",
			UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"})
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := all(t, s)
	if len(got) != 100 {
		t.Fatalf("%d events stored, want 100", len(got))
	}
	// Full batches of 40 went as soon as they filled; the rest at Flush.
	if n := s.appends.Load(); n < 3 || n > 4 {
		t.Errorf("%d appends for 100 events in batches of 40", n)
	}
	if e := got[0]; e.Hostname != "tenant.example.com" || e.StrategyType != "database" || !e.IsMobile || e.Date.IsZero() {
		t.Errorf("stored event %+v", e)
	}
	// The stream has every stored event, with its id, in Auth0's shape.
	sc := bufio.NewScanner(&stream)
	lines := 0
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("stream line %q: %v", sc.Text(), err)
		}
		if v["log_id"] != got[lines].LogID || v["type"] != "s" || v["isMobile"] != true {
			t.Fatalf("stream line %d: %v", lines, v)
		}
		lines++
	}
	if lines != 100 {
		t.Fatalf("%d stream lines, want 100", lines)
	}
}

func TestTimerFlushesAPartialBatch(t *testing.T) {
	t.Parallel()
	s := openStore(t, filepath.Join(t.TempDir(), "l.db"))
	b := New(Options{Store: s, FlushInterval: 20 * time.Millisecond})
	defer b.Close(context.Background())
	b.Emit(context.Background(), events.Event{Type: events.SuccessAPIOperation})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(all(t, s)) == 1 {
			return
		}
	}
	t.Fatal("the event was never written without a Flush")
}

// A full queue drops, counts and reports; it never blocks the emitter.
func TestFullBufferIsCountedAndReported(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	s := &gated{Logs: openStore(t, filepath.Join(t.TempDir(), "l.db")), hold: hold, entered: make(chan struct{}, 1)}
	var logBuf syncBuffer
	dropped := map[string]int{}
	var mu sync.Mutex
	const capacity = 8
	b := New(Options{Store: s, Capacity: capacity, Batch: 1, FlushInterval: time.Hour, WarnInterval: 20 * time.Millisecond,
		Log: slog.New(slog.NewJSONHandler(&logBuf, nil)),
		Dropped: func(reason string, n int) {
			mu.Lock()
			dropped[reason] += n
			mu.Unlock()
		}})
	b.Emit(context.Background(), events.Event{Type: "s"})
	<-s.entered // the writer holds the first event, waiting on the store
	start := time.Now()
	for range capacity + 5 {
		b.Emit(context.Background(), events.Event{Type: "s"})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("emitting into a full queue took %v", d)
	}
	if got := b.Dropped(); got != 5 {
		t.Fatalf("Dropped() = %d, want 5", got)
	}
	mu.Lock()
	if dropped[DroppedFull] != 5 {
		t.Errorf("dropped by reason %v, want 5 buffer_full", dropped)
	}
	mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logBuf.String(), "tenant log: events dropped"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning line: %s", logBuf.String())
		}
	}
	if !strings.Contains(logBuf.String(), `"dropped":5`) {
		t.Errorf("warning line does not count 5: %s", logBuf.String())
	}
	s.mu.Lock()
	s.hold = nil
	s.mu.Unlock()
	close(hold)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(all(t, s)); n != capacity+1 {
		t.Fatalf("%d events stored, want %d (the held one and a full queue)", n, capacity+1)
	}
}

// A failing store keeps the events for a retry, then stores them.
func TestFailedWritesAreRetried(t *testing.T) {
	t.Parallel()
	s := &gated{Logs: openStore(t, filepath.Join(t.TempDir(), "l.db")), fail: 2}
	b := New(Options{Store: s, FlushInterval: 10 * time.Millisecond})
	for range 3 {
		b.Emit(context.Background(), events.Event{Type: "fp"})
	}
	for deadline := time.Now().Add(10 * time.Second); len(all(t, s)) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d of 3 after two failed writes", len(all(t, s)))
		}
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(all(t, s)); n != 3 || b.Dropped() != 0 {
		t.Fatalf("%d stored (duplicates?), %d dropped", n, b.Dropped())
	}
}

// Close stores everything emitted before it, with nothing lost, and
// counts what comes after.
func TestCloseStoresEveryAcknowledgedEvent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "l.db")
	s := openStore(t, path)
	b := New(Options{Store: s, Batch: 100000, FlushInterval: time.Hour})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				b.Emit(context.Background(), events.Event{Type: "sertft", ClientID: string(rune('a' + w)), Details: map[string]any{"i": i}})
			}
		}()
	}
	wg.Wait()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Emit(context.Background(), events.Event{Type: "s"})
	if b.Dropped() != 1 {
		t.Errorf("an event after Close: Dropped() = %d, want 1", b.Dropped())
	}
	s.Close()
	again := openStore(t, path)
	if n := len(all(t, again)); n != 2000 {
		t.Fatalf("%d events stored after Close, want 2000", n)
	}
}

func TestRecordKeepsNoSecretAndStoresOnlyText(t *testing.T) {
	t.Parallel()
	r := Record(events.Event{
		Type: "fp", UserName: "ann\x00@example.com", UserAgent: "bad \xff agent " + strings.Repeat("x", 1000), Strategy: "ad",
		Details: map[string]any{
			"error": "invalid_grant", "grant_type": "password", "password": "hunter2", "client_secret": "s3cr3t",
			"refresh_token": "rt", "code": "123456", "nested": map[string]any{"otp": "654321", "kept": "yes"},
		},
	}, "h", time.Unix(0, 0))
	if r.UserName != "ann@example.com" || !strings.HasPrefix(r.UserAgent, "bad \uFFFD agent") || len(r.UserAgent) > maxField {
		t.Errorf("text fields: %q, %q", r.UserName, r.UserAgent[:20])
	}
	if r.StrategyType != "enterprise" || !r.Date.Equal(time.Unix(0, 0)) {
		t.Errorf("strategy type %q, date %v", r.StrategyType, r.Date)
	}
	var d map[string]any
	if err := json.Unmarshal(r.Details, &d); err != nil {
		t.Fatal(err)
	}
	want := `{"error":"invalid_grant","grant_type":"password","nested":{"kept":"yes"}}`
	if got, _ := json.Marshal(d); string(got) != want {
		t.Errorf("details %s, want %s", got, want)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// BenchmarkEmit prices what the tenant log adds to a request: turning an
// event into its record and queueing it, beside the process log's line for
// the same event (the reference, measured in the same run).
func BenchmarkEmit(b *testing.B) {
	e := events.Event{Type: events.SuccessExchangeRefresh, Date: time.Now(), ClientID: "abcdefghijklmnopqrstuvwxyz012345",
		ClientName: "Seed App", IP: "192.0.2.1", UserAgent: "Go-http-client/1.1", UserID: "auth0|0123456789abcdef01234567",
		Scope: "openid offline_access", Audience: "https://api.example.com/", Details: map[string]any{"grant_type": "refresh_token"}}
	b.Run("process log line", func(b *testing.B) {
		l := events.Log{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		for b.Loop() {
			l.Emit(context.Background(), e)
		}
	})
	b.Run("tenant log queue", func(b *testing.B) {
		s := openStore(b, filepath.Join(b.TempDir(), "l.db"))
		buf := New(Options{Store: s, Capacity: 1 << 20, Batch: 1000})
		defer buf.Close(context.Background())
		for b.Loop() {
			buf.Emit(context.Background(), e)
		}
		b.ReportMetric(float64(buf.Dropped()), "dropped")
	})
}
