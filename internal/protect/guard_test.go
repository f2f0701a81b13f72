package protect

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

func TestCheckSignupThrottlesPerIP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sealer, err := seal.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "protect.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &tenant.Service{Store: st}
	if _, err := svc.UpdateSuspiciousIP(ctx, &tenant.SuspiciousIPInput{
		Stage:     tenant.Some(map[string]tenant.StageInput{tenant.StagePreUserRegistration: {MaxAttempts: tenant.Some(3), Rate: tenant.Some(int64(60000))}}),
		Allowlist: tenant.Some([]string{"192.0.2.0/24"}),
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	g := &Guard{Store: st, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	for i := range 3 {
		if err := g.CheckSignup(ctx, "203.0.113.4", nil, nil); err != nil {
			t.Fatalf("signup %d: %v", i+1, err)
		}
	}
	if err := g.CheckSignup(ctx, "203.0.113.4", nil, nil); !errors.Is(err, ErrSuspiciousIP) {
		t.Fatalf("4th signup: %v, want the throttling answer", err)
	}
	if err := g.CheckSignup(ctx, "203.0.113.5", nil, nil); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	for range 5 {
		if err := g.CheckSignup(ctx, "192.0.2.9", nil, nil); err != nil {
			t.Fatalf("allowlisted IP: %v", err)
		}
	}
	if blocked, err := svc.IPBlocked(ctx, "203.0.113.4"); err != nil || !blocked {
		t.Fatalf("IPBlocked = %v, %v", blocked, err)
	}
	// A minute later one more signup fits; an unblock empties the bucket.
	now = now.Add(time.Minute)
	if err := g.CheckSignup(ctx, "203.0.113.4", nil, nil); err != nil {
		t.Fatalf("after a refill: %v", err)
	}
	if err := svc.UnblockIP(ctx, "203.0.113.4"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := g.CheckSignup(ctx, "203.0.113.4", nil, nil); err != nil {
			t.Fatalf("signup %d after the unblock: %v", i+1, err)
		}
	}
}

func TestMemLimiter(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := newMemLimiter(3, time.Second, 2)
	for i := range 3 {
		if ok, _ := l.take("a", now); !ok {
			t.Fatalf("take %d refused", i+1)
		}
	}
	ok, retry := l.take("a", now)
	if ok || retry != time.Second {
		t.Fatalf("4th take: %v, retry %v", ok, retry)
	}
	if ok, _ := l.take("a", now.Add(time.Second)); !ok {
		t.Fatal("a unit did not come back after the interval")
	}
	// Past maxKeys, drained keys are forgotten.
	l.take("b", now)
	l.take("c", now.Add(time.Hour))
	if _, kept := l.tat["b"]; kept || len(l.tat) > 2 {
		t.Fatalf("keys after a sweep: %v", l.tat)
	}
}
