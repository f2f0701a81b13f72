package server_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestRoundTripsPerGrant counts what each grant asks of the database, the
// part many nodes share. Configuration (applications, APIs, connections,
// tenant settings) is served from memory, so a password grant reads the
// user and writes once; a refresh grant reads the family and the user and
// writes once.
func TestRoundTripsPerGrant(t *testing.T) {
	cases := []struct {
		name     string
		opts     []testenv.Option
		password [2]int64 // most round trips, transactions
		refresh  [2]int64
		m2m      [2]int64
	}{
		// PostgreSQL: the login record and the new refresh family are one
		// statement (a data-modifying CTE).
		{"postgres", []testenv.Option{testenv.WithPostgres()}, [2]int64{2, 1}, [2]int64{3, 1}, [2]int64{0, 0}},
		// SQLite has no data-modifying CTE: the same write is BEGIN, two
		// statements and COMMIT on the in-process writer connection.
		{"sqlite", nil, [2]int64{5, 1}, [2]int64{3, 1}, [2]int64{0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counter := &testenv.Counter{}
			lite, pg := testenv.CountingDrivers(counter)
			e := testenv.Start(t, append(c.opts, testenv.WithServerOptions(server.WithStoreOptions(sqlstore.WithDriverNames(lite, pg))))...)
			tn := e.SeedTenant(rotating(0, 2592000, 1296000))
			m2m := e.API("POST", "/clients", map[string]any{"name": "m2m", "app_type": "non_interactive", "grant_types": []string{"client_credentials"}}, 201)
			e.API("POST", "/client-grants", map[string]any{"client_id": m2m["client_id"], "audience": tn.API, "scope": []string{"read:sample"}}, 201)

			// The fewest seen in a few tries, in case a background task
			// (the key reload) lands inside one.
			measure := func(name string, limit [2]int64, do func() int) {
				t.Helper()
				best := [2]int64{1 << 30, 1 << 30}
				for range 3 {
					counter.Reset()
					if status := do(); status != 200 {
						t.Fatalf("%s: status %d", name, status)
					}
					rt, tx := counter.Counts()
					if rt < best[0] {
						best = [2]int64{rt, tx}
					}
				}
				t.Logf("%s: %d round trips, %d transactions", name, best[0], best[1])
				if best[0] > limit[0] || best[1] > limit[1] {
					t.Errorf("%s: %d round trips and %d transactions, want at most %d and %d", name, best[0], best[1], limit[0], limit[1])
				}
			}
			var rt string
			measure("password grant", c.password, func() int {
				status, body := e.PasswordGrant(tn, nil)
				rt, _ = body["refresh_token"].(string)
				return status
			})
			measure("refresh grant", c.refresh, func() int {
				status, body := refresh(e, tn, rt)
				rt, _ = body["refresh_token"].(string)
				return status
			})
			measure("client credentials", c.m2m, func() int {
				status, _ := e.PostForm("/oauth/token", url.Values{"grant_type": {"client_credentials"},
					"client_id": {m2m["client_id"].(string)}, "client_secret": {m2m["client_secret"].(string)}, "audience": {tn.API}})
				return status
			})
		})
	}
}
