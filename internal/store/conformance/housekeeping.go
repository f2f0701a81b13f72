package conformance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func housekeepingTests() []test {
	return []test{
		{"ExpiredRefreshFamiliesAreDeletedInBatches", testExpiredFamilies},
		{"ExpiredNoncesAreDeletedInBatches", testExpiredNonces},
		{"ExclusiveAdmitsOneAtATime", testExclusive},
	}
}

func testExpiredFamilies(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	family := func(id string, absolute, idle time.Time) *store.RefreshFamily {
		f := newFamily(id, "auth0|1", "c1", "a")
		f.ExpiresAt, f.IdleExpiresAt = absolute, idle
		return f
	}
	never := time.Time{}
	for _, f := range []*store.RefreshFamily{
		family("absolute-passed", now.Add(-time.Hour), never),
		family("idle-passed", now.Add(time.Hour), now.Add(-time.Minute)),
		family("expires-now", now, now.Add(time.Hour)),
		family("live", now.Add(time.Hour), now.Add(time.Minute)),
		family("never", never, never),
		family("idle-extended", now.Add(time.Hour), now.Add(-time.Minute)),
	} {
		must(t, s.CreateRefreshFamily(ctx(t), f))
	}
	// An exchange moves the idle expiry on: the family lives again.
	f := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "idle-extended"))
	f.IdleExpiresAt = now.Add(time.Hour)
	must(t, s.ReplaceRefreshFamily(ctx(t), f))
	// A login's family is written by RecordLogin.
	must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0")))
	must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "a@x.test", "a")))
	must(t, s.RecordLogin(ctx(t), store.Login{UserID: "auth0|1", At: now, IP: "192.0.2.1",
		Family: family("login-passed", now.Add(-time.Second), never)}))

	for i, want := range []int{3, 1, 0} {
		n, err := s.DeleteExpiredRefreshFamilies(ctx(t), now, 3)
		must(t, err)
		if n != want {
			t.Fatalf("batch %d deleted %d families, want %d", i, n, want)
		}
	}
	left := ids(ok[[]*store.RefreshFamily](t)(s.ListRefreshFamilies(ctx(t), "auth0|1", "")), familyID)
	slices.Sort(left)
	wantEqual(t, "families left", left, []string{"idle-extended", "live", "never"})
}

func testExpiredNonces(t *testing.T, s store.Store) {
	now := time.Now()
	for _, n := range []struct {
		key string
		at  time.Time
	}{
		{"jti-old-1", now.Add(-time.Hour)},
		{"jti-old-2", now.Add(-time.Minute)},
		{"jti-old-3", now},
		{"jti-live", now.Add(time.Hour)},
	} {
		must(t, s.UseNonce(ctx(t), n.key, n.at))
	}
	for i, want := range []int{2, 1, 0} {
		n, err := s.DeleteExpiredNonces(ctx(t), now, 2)
		must(t, err)
		if n != want {
			t.Fatalf("batch %d deleted %d nonces, want %d", i, n, want)
		}
	}
	// The live nonce is still recorded, so still single-use.
	wantErr(t, s.UseNonce(ctx(t), "jti-live", now.Add(time.Hour)), store.ErrConflict)
}

func testExclusive(t *testing.T, s store.Store) {
	ran := false
	held, err := s.Exclusive(ctx(t), func(c context.Context) error {
		nested, err := s.Exclusive(c, func(context.Context) error {
			t.Error("a second caller ran while the lock was held")
			return nil
		})
		if err != nil || nested {
			t.Errorf("second caller: ok = %v, err = %v; want false, nil", nested, err)
		}
		ran = true
		return nil
	})
	if err != nil || !held || !ran {
		t.Fatalf("Exclusive = %v, %v (ran %v); want true, nil", held, err, ran)
	}
	// Released: the next caller gets it, and fn's error comes back.
	boom := errors.New("boom")
	held, err = s.Exclusive(ctx(t), func(context.Context) error { return boom })
	if !held || !errors.Is(err, boom) {
		t.Fatalf("after release: Exclusive = %v, %v; want true, boom", held, err)
	}
	held, err = s.Exclusive(ctx(t), func(context.Context) error { return nil })
	if !held || err != nil {
		t.Fatalf("after an fn error: Exclusive = %v, %v; want true, nil", held, err)
	}
}
