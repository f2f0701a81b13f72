package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestRoundTripsPerGrant counts what each grant asks of the database, the
// part many nodes share. Configuration (applications, APIs, connections,
// tenant settings) is served from memory, so a password grant takes its
// attack protection counters (one statement, before the hash), reads the
// user and writes once (the login record also clears the brute-force
// count); a refresh grant reads the family with its user (one statement)
// and writes once (its rate limit is kept in memory).
// The tenant log's events are written in batches by a background writer,
// outside every request's count.
func TestRoundTripsPerGrant(t *testing.T) {
	cases := []struct {
		name     string
		opts     []testenv.Option
		password [2]int64 // most round trips, transactions
		refresh  [2]int64
		m2m      [2]int64
	}{
		// PostgreSQL: the counters are one statement (chained CTEs), the
		// login record, the new refresh family and the counter's reset
		// another (data-modifying CTEs): 3 round trips, 2 before the
		// attack protection counters. (The counters' upsert is a query
		// with RETURNING, which the counter does not see as a write: it is
		// a second, implicit transaction.)
		{"postgres", []testenv.Option{testenv.WithPostgres()}, [2]int64{3, 1}, [2]int64{2, 1}, [2]int64{0, 0}},
		// SQLite has no data-modifying CTE (the counter sees the two PRAGMA
		// statements around the counters' transaction as writes: they only
		// switch its fsync off). The counters are BEGIN, three
		// upserts and COMMIT, the login BEGIN, three statements and COMMIT,
		// on the in-process writer connection (5 round trips and 1
		// transaction before attack protection). A refresh grant's write
		// joins the group commit, whose transaction is the writer's own,
		// so it counts as a round trip and no transaction.
		{"sqlite", nil, [2]int64{11, 3}, [2]int64{2, 1}, [2]int64{0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counter := &testenv.Counter{}
			e := testenv.Start(t, append(c.opts, testenv.WithRoundTripCounter(counter))...)
			tn := e.SeedTenant(rotating(0, 2592000, 1296000))
			m2m := e.API("POST", "/clients", map[string]any{"name": "m2m", "app_type": "non_interactive", "grant_types": []string{"client_credentials"}}, 201)
			e.API("POST", "/client-grants", map[string]any{"client_id": m2m["client_id"], "audience": tn.API, "scope": []string{"read:sample"}}, 201)

			// Each request's database calls are counted apart from
			// everything else the server does meanwhile, so every request
			// after the first (which fills the configuration cache) must
			// keep within the limit.
			post := func(key string, v url.Values) (int, map[string]any) {
				req, _ := http.NewRequest("POST", e.URL+"/oauth/token", strings.NewReader(v.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set(testenv.CountHeader, key)
				status, body, _ := e.Do(req)
				return status, body
			}
			measure := func(name string, limit [2]int64, form func() url.Values, next func(body map[string]any)) {
				t.Helper()
				for i := range 4 {
					key := fmt.Sprintf("%s %d", name, i)
					status, body := post(key, form())
					if status != 200 {
						t.Fatalf("%s: status %d %v", name, status, body)
					}
					next(body)
					if i == 0 {
						continue
					}
					rt, tx := counter.Request(key).Counts()
					t.Logf("%s: %d round trips, %d transactions", key, rt, tx)
					if rt > limit[0] || tx > limit[1] {
						t.Errorf("%s: %d round trips and %d transactions, want at most %d and %d", key, rt, tx, limit[0], limit[1])
					}
				}
			}
			var rt string
			keepRefreshToken := func(body map[string]any) { rt, _ = body["refresh_token"].(string) }
			measure("password grant", c.password, func() url.Values {
				return url.Values{
					"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password},
					"audience": {tn.API}, "scope": {"openid profile email offline_access read:sample"},
					"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
				}
			}, keepRefreshToken)
			measure("refresh grant", c.refresh, func() url.Values {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}
			}, keepRefreshToken)
			measure("client credentials", c.m2m, func() url.Values {
				return url.Values{"grant_type": {"client_credentials"},
					"client_id": {m2m["client_id"].(string)}, "client_secret": {m2m["client_secret"].(string)}, "audience": {tn.API}}
			}, func(map[string]any) {})

			// The tenant log was on all along: every grant's events are
			// stored, by the background writer, not in the requests above.
			evs := storedLogs(t, e)
			// (seccft: the four above and the harness's Management API token.)
			for typ, want := range map[string]int{"sepft": 4, "sertft": 4, "seccft": 5} {
				if n := len(ofType(evs, typ)); n != want {
					t.Errorf("%d %s events stored, want %d", n, typ, want)
				}
			}
		})
	}
}
