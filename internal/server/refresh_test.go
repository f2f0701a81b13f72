package server_test

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func refresh(e *testenv.Env, tn *testenv.Tenant, rt string, extra ...string) (int, map[string]any) {
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return e.PostForm("/oauth/token", v)
}

func rotating(leeway, absolute, idle int) testenv.TenantOption {
	return func(client, _ map[string]any) {
		client["refresh_token"] = map[string]any{
			"rotation_type": "rotating", "expiration_type": "expiring", "leeway": leeway,
			"token_lifetime": absolute, "idle_token_lifetime": idle,
			"infinite_token_lifetime": false, "infinite_idle_token_lifetime": false,
		}
	}
}

func mustRefresh(t *testing.T, e *testenv.Env, tn *testenv.Tenant, rt string) string {
	t.Helper()
	status, body := refresh(e, tn, rt)
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	next, _ := body["refresh_token"].(string)
	return next
}

func expectRefused(t *testing.T, e *testenv.Env, tn *testenv.Tenant, rt, why string) {
	t.Helper()
	status, body := refresh(e, tn, rt)
	if status != 403 || body["error"] != "invalid_grant" || body["error_description"] != "Unknown or invalid refresh token." {
		t.Fatalf("%s: %d %v", why, status, body)
	}
}

func TestRefreshRotationAndReuseDetection(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	rt1 := body["refresh_token"].(string)
	rt2 := mustRefresh(t, e, tn, rt1)
	if rt2 == "" || rt2 == rt1 {
		t.Fatal("rotation did not return a new refresh token")
	}
	rt3 := mustRefresh(t, e, tn, rt2)
	// rt1 is two generations old: reuse. The whole family goes, rt3 too.
	expectRefused(t, e, tn, rt1, "reused token")
	expectRefused(t, e, tn, rt3, "newest token after reuse")
}

func TestRefreshReuseOfPreviousTokenRevokesFamily(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	rt1 := body["refresh_token"].(string)
	rt2 := mustRefresh(t, e, tn, rt1)
	expectRefused(t, e, tn, rt1, "previous token without leeway")
	expectRefused(t, e, tn, rt2, "current token after reuse")
}

func TestRefreshLeeway(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(30, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	rt1 := body["refresh_token"].(string)
	rt2 := mustRefresh(t, e, tn, rt1)
	// Within the leeway the previous token works again, and both children live.
	rt2b := mustRefresh(t, e, tn, rt1)
	if rt2b == rt2 {
		t.Fatal("replay returned the same token")
	}
	mustRefresh(t, e, tn, rt2b)
	e.Clock.Advance(31 * time.Second)
	expectRefused(t, e, tn, rt1, "previous token after the leeway")
}

func TestRefreshConcurrentExchangesOfOneToken(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	rt := body["refresh_token"].(string)
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := refresh(e, tn, rt)
			statuses <- s
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok > 1 {
		t.Fatalf("%d concurrent exchanges of one token succeeded; at most one may", ok)
	}
}

func TestRefreshLifetimes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		absolute int
		idle     int
		steps    []time.Duration // exchange after each wait
		refuseAt int             // index of the first refused exchange (-1: none)
	}{
		{"idle expiry", 3600, 60, []time.Duration{30 * time.Second, 30 * time.Second, 61 * time.Second}, 2},
		{"idle slides, absolute does not", 100, 60, []time.Duration{50 * time.Second, 45 * time.Second, 10 * time.Second}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := testenv.Start(t)
			tn := e.SeedTenant(rotating(0, c.absolute, c.idle))
			_, body := e.PasswordGrant(tn, nil)
			rt := body["refresh_token"].(string)
			for i, wait := range c.steps {
				e.Clock.Advance(wait)
				if i == c.refuseAt {
					expectRefused(t, e, tn, rt, c.name)
					return
				}
				rt = mustRefresh(t, e, tn, rt)
			}
			if c.refuseAt >= 0 {
				t.Fatal("never refused")
			}
		})
	}
}

func TestRefreshNonRotatingAndDownScoping(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	_, body := e.PasswordGrant(tn, nil)
	rt := body["refresh_token"].(string)
	for range 3 {
		if next := mustRefresh(t, e, tn, rt); next != "" {
			t.Fatal("non-rotating refresh returned a refresh token")
		}
	}
	status, body := refresh(e, tn, rt, "scope", "read:sample")
	if status != 200 || body["scope"] != "read:sample" || body["id_token"] != nil {
		t.Fatalf("down-scoped: %d %v", status, body)
	}
	if aud := claimsOf(t, body["access_token"].(string))["aud"]; aud != tn.API {
		t.Errorf("aud without openid = %v, want the API alone", aud)
	}
}

func TestRefreshTokenOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		opt     testenv.TenantOption
		scope   string
		want    bool
		noScope string
	}{
		{"all conditions hold", nil, "openid offline_access", true, ""},
		{"offline_access not asked", nil, "openid", false, ""},
		{"API disallows offline access", func(_, api map[string]any) { api["allow_offline_access"] = false }, "openid offline_access", false, "offline_access"},
		{"client lacks refresh_token grant", func(c, _ map[string]any) { c["grant_types"] = []string{"password"} }, "openid offline_access", false, "offline_access"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := testenv.Start(t)
			var opts []testenv.TenantOption
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			tn := e.SeedTenant(opts...)
			status, body := e.PasswordGrant(tn, url.Values{"scope": {c.scope}})
			if status != 200 {
				t.Fatalf("%d %v", status, body)
			}
			if _, got := body["refresh_token"]; got != c.want {
				t.Fatalf("refresh token present = %v, want %v", got, c.want)
			}
			if c.noScope != "" && containsWord(body["scope"].(string), c.noScope) {
				t.Errorf("scope %q still lists %s", body["scope"], c.noScope)
			}
		})
	}
}

func containsWord(s, w string) bool { return slices.Contains(strings.Fields(s), w) }

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	rt1 := body["refresh_token"].(string)
	rt2 := mustRefresh(t, e, tn, rt1)

	// node-auth0 posts /oauth/revoke as JSON.
	status, resp, _ := e.Do(testenv.JSONRequest(e.URL+"/oauth/revoke", map[string]string{"client_id": tn.ClientID, "client_secret": tn.ClientSecret, "token": rt2}))
	if status != 200 || resp["raw"] != "" {
		t.Fatalf("revoke: %d %v", status, resp)
	}
	expectRefused(t, e, tn, rt2, "revoked token")

	for _, c := range []struct {
		name   string
		params map[string]string
		status int
		code   string
	}{
		{"unknown token is fine", map[string]string{"client_id": tn.ClientID, "client_secret": tn.ClientSecret, "token": "v1.nothing"}, 200, ""},
		{"missing token", map[string]string{"client_id": tn.ClientID, "client_secret": tn.ClientSecret}, 400, "invalid_request"},
		{"wrong secret", map[string]string{"client_id": tn.ClientID, "client_secret": "x", "token": rt2}, 401, "access_denied"},
	} {
		status, resp, _ := e.Do(testenv.JSONRequest(e.URL+"/oauth/revoke", c.params))
		if status != c.status || (c.code != "" && resp["error"] != c.code) {
			t.Errorf("%s: %d %v", c.name, status, resp)
		}
	}
}
