package server_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestRefreshLeewayKeepsEveryCallerLoggedIn is issue 7's first defect: two
// callers exchange the same token inside the leeway and each goes on with
// the token it got; nobody is logged out.
func TestRefreshLeewayKeepsEveryCallerLoggedIn(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(10, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	t0 := body["refresh_token"].(string)
	t1 := mustRefresh(t, e, tn, t0) // A
	t2 := mustRefresh(t, e, tn, t0) // B, inside the leeway
	t3 := mustRefresh(t, e, tn, t1) // A goes on
	b := mustRefresh(t, e, tn, t2)  // B goes on
	mustRefresh(t, e, tn, t3)
	mustRefresh(t, e, tn, b)
}

// TestRefreshLeewayRace has 20 callers exchange one token at once, inside
// the leeway, then each use the token it got, twice over: every token
// issued inside the window stays good exactly once, on both stores.
func TestRefreshLeewayRace(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts []testenv.Option
	}{{"sqlite", nil}, {"postgres", []testenv.Option{testenv.WithPostgres()}}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.Start(t, c.opts...)
			e.AllowLoopback() // 20 exchanges at once are past the refresh rate limit
			tn := e.SeedTenant(rotating(10, 2592000, 1296000))
			_, body := e.PasswordGrant(tn, nil)
			const callers = 20
			held := make([]string, callers)
			for i := range held {
				held[i] = body["refresh_token"].(string)
			}
			for round := range 3 {
				var wg sync.WaitGroup
				for i := range held {
					wg.Add(1)
					go func() {
						defer wg.Done()
						status, body := refresh(e, tn, held[i])
						next, _ := body["refresh_token"].(string)
						if status != 200 || next == "" {
							t.Errorf("round %d, caller %d: %d %v", round, i, status, body)
						}
						held[i] = next
					}()
				}
				wg.Wait()
				if t.Failed() {
					return
				}
			}
			// A second use of a token after its leeway is reuse and still
			// revokes the family.
			first := held[0]
			mustRefresh(t, e, tn, first)
			e.Clock.Advance(11 * time.Second)
			expectRefused(t, e, tn, first, "a spent token after the leeway")
			expectRefused(t, e, tn, held[1], "a sibling after the family was revoked")
		})
	}
}
