package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

const (
	bruteForceText = "Your account has been blocked after multiple consecutive login attempts. We've sent you a notification via your preferred contact method with instructions on how to unblock it."
	throttledText  = "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator."
)

// eventLog records the Auth0 log events a server emits.
type eventLog struct {
	mu     sync.Mutex
	events []events.Event
}

func (l *eventLog) Emit(_ context.Context, e events.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) option() testenv.Option {
	return testenv.WithServerOptions(server.WithHooks(oauth.Hooks{Events: l}))
}

// count returns how many events of type typ were emitted.
func (l *eventLog) count(typ string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// login is a password grant with optional request headers.
func login(e *testenv.Env, tn *testenv.Tenant, user, password string, header ...string) (int, map[string]any, http.Header) {
	v := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}
	req, _ := http.NewRequest("POST", e.URL+"/oauth/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.Do(req)
}

// expectLogin checks a login's status and error code ("" for a success).
func expectLogin(t *testing.T, e *testenv.Env, tn *testenv.Tenant, user, password string, status int, code string, header ...string) map[string]any {
	t.Helper()
	got, body, _ := login(e, tn, user, password, header...)
	if got != status || (code != "" && body["error"] != code) {
		t.Fatalf("login %s (%v): %d %v, want %d %s", user, header, got, body, status, code)
	}
	return body
}

func setBruteForce(e *testenv.Env, patch map[string]any) {
	e.API("PATCH", "/attack-protection/brute-force-protection", patch, 200)
}

func TestBruteForceBlocksAtThresholdAndUnblocks(t *testing.T) {
	t.Parallel()
	log := &eventLog{}
	e := testenv.Start(t, log.option())
	tn := e.SeedTenant()

	// The default is Auth0's: on, 10 attempts, per identifier and IP.
	def := e.API("GET", "/attack-protection/brute-force-protection", nil, 200)
	if def["enabled"] != true || def["max_attempts"] != float64(10) || def["mode"] != "count_per_identifier_and_ip" ||
		len(def["shields"].([]any)) != 2 || len(def["allowlist"].([]any)) != 0 {
		t.Fatalf("default brute-force protection: %v", def)
	}
	setBruteForce(e, map[string]any{"max_attempts": 3})

	// A success resets the count: two failures, a success, two failures.
	for _, pw := range []string{"wrong", "wrong", tn.Password, "wrong", "wrong"} {
		if pw == tn.Password {
			expectLogin(t, e, tn, tn.Username, pw, 200, "")
		} else {
			expectLogin(t, e, tn, tn.Username, pw, 403, "invalid_grant")
		}
	}
	// The third failure in a row blocks, even the right password.
	expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant")
	body := expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts")
	if body["error_description"] != bruteForceText {
		t.Fatalf("blocked: %v", body)
	}
	if n := log.count(events.BlockedAccount); n != 1 {
		t.Fatalf("%d limit_wc events, want 1", n)
	}
	// Another identifier from the same IP is not blocked.
	expectLogin(t, e, tn, "nobody@example.com", "x", 403, "invalid_grant")

	blocks := e.API("GET", "/user-blocks?identifier="+url.QueryEscape(strings.ToUpper(tn.Username)), nil, 200)["blocked_for"].([]any)
	if len(blocks) != 1 {
		t.Fatalf("blocked_for = %v", blocks)
	}
	if b := blocks[0].(map[string]any); b["identifier"] != tn.Username || b["ip"] != "127.0.0.1" || b["connection"] != tn.Connection {
		t.Fatalf("block = %v", b)
	}
	if got := e.API("GET", "/user-blocks/"+url.PathEscape(tn.UserID), nil, 200)["blocked_for"].([]any); len(got) != 1 {
		t.Fatalf("blocks of the user = %v", got)
	}

	// Unblocked through the API by identifier...
	e.API("DELETE", "/user-blocks?identifier="+url.QueryEscape(tn.Username), nil, 204)
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "")
	// ...by user id...
	e.Clock.Advance(2 * time.Minute) // the same-user login limit refills
	for range 3 {
		expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant")
	}
	expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts")
	e.API("DELETE", "/user-blocks/"+url.PathEscape(tn.UserID), nil, 204)
	if got := e.API("GET", "/user-blocks?identifier="+url.QueryEscape(tn.Username), nil, 200)["blocked_for"].([]any); len(got) != 0 {
		t.Fatalf("still blocked after DELETE: %v", got)
	}
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "")
	// ...and by a password change.
	e.Clock.Advance(2 * time.Minute)
	for range 3 {
		expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant")
	}
	expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts")
	newPassword := "another correct horse 2B!"
	e.API("PATCH", "/users/"+url.PathEscape(tn.UserID), map[string]any{"connection": tn.Connection, "password": newPassword}, 200)
	expectLogin(t, e, tn, tn.Username, newPassword, 200, "")
	if log.count(events.BlockReleased) < 3 {
		t.Fatalf("%d ublkdu events, want 3", log.count(events.BlockReleased))
	}

	// Raising the threshold above the count lifts a block.
	e.Clock.Advance(2 * time.Minute)
	for range 3 {
		expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant")
	}
	expectLogin(t, e, tn, tn.Username, newPassword, 429, "too_many_attempts")
	setBruteForce(e, map[string]any{"max_attempts": 4})
	expectLogin(t, e, tn, tn.Username, newPassword, 200, "")

	// Monitoring: no block shield, only the log.
	e.Clock.Advance(2 * time.Minute)
	setBruteForce(e, map[string]any{"max_attempts": 2, "shields": []string{}})
	for range 4 {
		expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant")
	}
	expectLogin(t, e, tn, tn.Username, newPassword, 200, "")
	if n := log.count(events.BlockedAccount); n != 5 {
		t.Fatalf("%d limit_wc events, want 5", n)
	}

	// Unknown user and bad input on the endpoints.
	e.API("GET", "/user-blocks/auth0%7Cnobody", nil, 404)
	e.API("GET", "/user-blocks", nil, 400)
	e.API("PATCH", "/attack-protection/brute-force-protection", map[string]any{"max_attempts": 101}, 400)
	e.API("PATCH", "/attack-protection/brute-force-protection", map[string]any{"mode": "per_moon"}, 400)
	e.API("PATCH", "/attack-protection/brute-force-protection", map[string]any{"allowlist": []string{"10.0.0.0/33"}}, 400)
	e.API("PATCH", "/attack-protection/brute-force-protection", map[string]any{"shields": []string{"block", "nope"}}, 400)
}

func TestBruteForceAllowlistAndModes(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(func(client, _ map[string]any) { client["is_token_endpoint_ip_header_trusted"] = true })
	untrusted := e.API("POST", "/clients", map[string]any{"name": "untrusted", "app_type": "regular_web",
		"grant_types": []string{"password"}, "token_endpoint_auth_method": "client_secret_post"}, 201)
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"enabled_clients": []string{tn.ClientID, untrusted["client_id"].(string)}}, 200)
	other := *tn
	other.ClientID, other.ClientSecret = untrusted["client_id"].(string), untrusted["client_secret"].(string)
	from := func(ip string) []string { return []string{"Auth0-Forwarded-For", ip} }

	// An allowlisted network is never counted nor blocked.
	setBruteForce(e, map[string]any{"max_attempts": 2, "allowlist": []string{"198.51.100.0/24"}})
	for range 4 {
		expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant", from("198.51.100.20")...)
	}
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "", from("198.51.100.20")...)

	// Per identifier and IP: the trusted application's forwarded IP is
	// the one blocked; another IP still logs in.
	for range 2 {
		expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant", from("203.0.113.1")...)
	}
	expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts", from("203.0.113.1")...)
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "", from("203.0.113.2")...)
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "") // the peer, 127.0.0.1

	// An application that is not trusted cannot pick the IP: its header
	// is ignored, the attempts count against the peer address.
	for range 2 {
		expectLogin(t, e, &other, tn.Username, "wrong", 403, "invalid_grant", from("203.0.113.50")...)
	}
	expectLogin(t, e, &other, tn.Username, tn.Password, 429, "too_many_attempts", from("203.0.113.51")...)
	expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts")
	blocks := e.API("GET", "/user-blocks?identifier="+url.QueryEscape(tn.Username), nil, 200)["blocked_for"].([]any)
	var ips []string
	for _, b := range blocks {
		ips = append(ips, b.(map[string]any)["ip"].(string))
	}
	slices.Sort(ips)
	if !slices.Equal(ips, []string{"127.0.0.1", "203.0.113.1"}) {
		t.Fatalf("blocked IPs = %v", ips)
	}
	e.API("DELETE", "/user-blocks?identifier="+url.QueryEscape(tn.Username), nil, 204)

	// Account lockout: blocked from every IP, and listed without one.
	setBruteForce(e, map[string]any{"mode": "count_per_identifier"})
	expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant", from("203.0.113.7")...)
	expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant", from("203.0.113.8")...)
	expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts", from("203.0.113.9")...)
	blocks = e.API("GET", "/user-blocks?identifier="+url.QueryEscape(tn.Username), nil, 200)["blocked_for"].([]any)
	if len(blocks) != 1 || blocks[0].(map[string]any)["ip"] != nil {
		t.Fatalf("account lockout blocks = %v", blocks)
	}
	// Switched off, nothing blocks, and the listing may say so.
	setBruteForce(e, map[string]any{"enabled": false})
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "", from("203.0.113.9")...)
	if b := e.API("GET", "/user-blocks?consider_brute_force_enablement=true&identifier="+url.QueryEscape(tn.Username), nil, 200)["blocked_for"].([]any); len(b) != 0 {
		t.Fatalf("blocks with brute force off = %v", b)
	}
}

// TestTrustedProxyForwardedFor: X-Forwarded-For names the client only when
// the peer is a configured trusted proxy.
func TestTrustedProxyForwardedFor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		trusted bool
	}{{"behind a trusted proxy", true}, {"no trusted proxies", false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.Start(t, testenv.WithConfig(func(cfg *config.Config) {
				if c.trusted {
					cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
				}
			}))
			tn := e.SeedTenant()
			setBruteForce(e, map[string]any{"max_attempts": 2})
			xff := func(chain string) []string { return []string{"X-Forwarded-For", chain} }
			// The client spoofs a left entry; the proxy appends the real one.
			for range 2 {
				expectLogin(t, e, tn, tn.Username, "wrong", 403, "invalid_grant", xff("10.9.9.9, 198.51.100.1")...)
			}
			expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts", xff("198.51.100.1")...)
			status, _, _ := login(e, tn, tn.Username, tn.Password, xff("198.51.100.2")...)
			blocks := e.API("GET", "/user-blocks?identifier="+url.QueryEscape(tn.Username), nil, 200)["blocked_for"].([]any)
			ip := blocks[0].(map[string]any)["ip"]
			if c.trusted && (status != 200 || ip != "198.51.100.1") {
				t.Fatalf("trusted proxy: another client got %d, the block is on %v", status, ip)
			}
			if !c.trusted && (status != 429 || ip != "127.0.0.1") {
				t.Fatalf("untrusted peer: the header moved the block: %d, block on %v", status, ip)
			}
		})
	}
}

func TestSuspiciousIPThrottling(t *testing.T) {
	t.Parallel()
	log := &eventLog{}
	e := testenv.Start(t, log.option())
	tn := e.SeedTenant()
	def := e.API("GET", "/attack-protection/suspicious-ip-throttling", nil, 200)
	if st := def["stage"].(map[string]any); st["pre-login"].(map[string]any)["max_attempts"] != float64(100) ||
		st["pre-login"].(map[string]any)["rate"] != float64(864000) || st["pre-user-registration"].(map[string]any)["max_attempts"] != float64(50) {
		t.Fatalf("default throttling: %v", def)
	}
	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{
		"stage": map[string]any{"pre-login": map[string]any{"max_attempts": 3}}}, 200)

	// Failed logins for different accounts from one IP, then even a good
	// login from it is refused before its password is looked at.
	for i, user := range []string{"a@example.com", "b@example.com", tn.Username} {
		expectLogin(t, e, tn, user, "wrong", 403, "invalid_grant")
		if i < 2 {
			expectLogin(t, e, tn, tn.Username, tn.Password, 200, "") // a success does not count
		}
	}
	body := expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts")
	if body["error_description"] != throttledText {
		t.Fatalf("throttled: %v", body)
	}
	if n := log.count(events.BlockedIP); n != 1 {
		t.Fatalf("%d limit_mu events, want 1", n)
	}
	e.API("GET", "/anomaly/blocks/ips/127.0.0.1", nil, 200)
	e.API("GET", "/anomaly/blocks/ips/192.0.2.1", nil, 404)
	e.API("GET", "/anomaly/blocks/ips/not-an-ip", nil, 400)
	e.API("DELETE", "/anomaly/blocks/ips/127.0.0.1", nil, 204)
	e.API("GET", "/anomaly/blocks/ips/127.0.0.1", nil, 404)
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "")

	// An allowlisted IP is never throttled.
	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{"allowlist": []string{"127.0.0.1"}}, 200)
	for _, user := range []string{"c@example.com", "d@example.com", "e@example.com", "f@example.com"} {
		expectLogin(t, e, tn, user, "wrong", 403, "invalid_grant")
	}
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "")
	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{"stage": map[string]any{"pre-moon": map[string]any{}}}, 400)
	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{"shields": []string{"user_notification"}}, 400)
}

// TestSameUserAndRefreshRateLimits: 20 logins of one user from one IP,
// then 429 with Retry-After (limit_sul); 10 exchanges of one refresh
// token family from one IP, then 429.
func TestSameUserAndRefreshRateLimits(t *testing.T) {
	t.Parallel()
	log := &eventLog{}
	e := testenv.Start(t, log.option())
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	// The first 20 logins pass; the bucket refills one every 6 s, so
	// within a few more (however slow the hashes here) one is refused.
	var rt string
	began := time.Now()
	for i := range 20 {
		status, body := e.PasswordGrant(tn, nil)
		if status != 200 {
			t.Fatalf("login %d: %d %v", i+1, status, body)
		}
		rt = body["refresh_token"].(string)
	}
	refills := int(time.Since(began)/(6*time.Second)) + 1
	var h http.Header
	status, body := 200, map[string]any{}
	for i := 0; status == 200 && i <= refills; i++ {
		status, body, h = login(e, tn, tn.Username, tn.Password)
	}
	if status != 429 || body["error"] != "too_many_attempts" || h.Get("Retry-After") == "" {
		t.Fatalf("login past the limit: %d %v Retry-After %q", status, body, h.Get("Retry-After"))
	}
	if log.count(events.SameUserLoginLimit) != 1 {
		t.Fatalf("%d limit_sul events", log.count(events.SameUserLoginLimit))
	}
	// Six seconds later one more login fits.
	e.Clock.Advance(6 * time.Second)
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "")

	for i := range 10 {
		status, body := refresh(e, tn, rt)
		if status != 200 {
			t.Fatalf("refresh %d: %d %v", i+1, status, body)
		}
		rt = body["refresh_token"].(string)
	}
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}
	req, _ := http.NewRequest("POST", e.URL+"/oauth/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, h = e.Do(req)
	if status != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("11th refresh: %d %v Retry-After %q", status, body, h.Get("Retry-After"))
	}
	// The refused exchange did not use the token up.
	e.Clock.Advance(6 * time.Second)
	mustRefresh(t, e, tn, rt)
}

func TestBreachedPasswordDetection(t *testing.T) {
	t.Parallel()
	log := &eventLog{}
	e := testenv.Start(t, log.option())
	tn := e.SeedTenant()
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"password_policy": "none"}}, 200)
	const leaked = "letmein" // in the shipped list of leaked passwords
	user := e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "leaky@example.com", "password": leaked}, 201)

	def := e.API("GET", "/attack-protection/breached-password-detection", nil, 200)
	if def["enabled"] != false || def["method"] != "standard" || def["stage"].(map[string]any)["pre-user-registration"] == nil {
		t.Fatalf("default breached password detection: %v", def)
	}
	// Off: the leaked password logs in.
	expectLogin(t, e, tn, "leaky@example.com", leaked, 200, "")

	// Detection without the block shield only logs.
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"enabled": true, "shields": []string{"admin_notification"}}, 200)
	expectLogin(t, e, tn, "leaky@example.com", leaked, 200, "")
	if log.count(events.PasswordLeaked) != 1 {
		t.Fatalf("%d pwd_leak events", log.count(events.PasswordLeaked))
	}
	// With block: refused once verified; a wrong password stays a wrong password.
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"shields": []string{"block", "user_notification"}}, 200)
	body := expectLogin(t, e, tn, "leaky@example.com", leaked, 401, "password_leaked")
	if !strings.HasPrefix(body["error_description"].(string), "This login attempt has been blocked because the password you're using was previously disclosed") {
		t.Fatalf("password_leaked: %v", body)
	}
	expectLogin(t, e, tn, "leaky@example.com", "not the password", 403, "invalid_grant")
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "") // a good password is untouched

	// Creating users: only the pre-user-registration stage's block refuses.
	e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "second@example.com", "password": leaked}, 201)
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"stage": map[string]any{
		"pre-user-registration": map[string]any{"shields": []string{"block"}},
		"pre-change-password":   map[string]any{"shields": []string{"block"}},
	}}, 200)
	refused := e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "third@example.com", "password": leaked}, 400)
	if refused["errorCode"] != "password_leaked" {
		t.Fatalf("leaked password at creation: %v", refused)
	}
	e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "third@example.com", "password": "a long and unusual passphrase"}, 201)
	// Changing to a leaked password is refused; to another one it ends the leak.
	e.API("PATCH", "/users/"+url.PathEscape(user["user_id"].(string)), map[string]any{"connection": tn.Connection, "password": "123456"}, 400)
	e.API("PATCH", "/users/"+url.PathEscape(user["user_id"].(string)), map[string]any{"connection": tn.Connection, "password": "a long and unusual passphrase"}, 200)
	expectLogin(t, e, tn, "leaky@example.com", "a long and unusual passphrase", 200, "")
	if log.count(events.SignupPasswordLeaked) != 2 || log.count(events.ResetPasswordLeaked) != 1 {
		t.Fatalf("signup_pwd_leak %d, reset_pwd_leak %d", log.count(events.SignupPasswordLeaked), log.count(events.ResetPasswordLeaked))
	}
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"method": "psychic"}, 400)
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"stage": map[string]any{"pre-login": map[string]any{}}}, 400)
}

// TestConcurrentWrongPasswords fires 500 wrong passwords at one user from
// one IP at once: exactly max_attempts are checked (invalid_grant), every
// other one is refused before its hash (too_many_attempts), on SQLite and
// on two nodes sharing PostgreSQL.
func TestConcurrentWrongPasswords(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		nodes int
		opts  []testenv.Option
	}{{"sqlite", 1, nil}, {"postgres two nodes", 2, []testenv.Option{testenv.WithPostgres()}}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Enough hash slots for the ten that get through: a login that
			// waits too long for one is answered 503 and, not being a
			// wrong password, does not count.
			wide := testenv.WithConfig(func(cfg *config.Config) { cfg.HashConcurrency = 16 })
			a := testenv.Start(t, append(c.opts, wide)...)
			tn := a.SeedTenant()
			nodes := []*testenv.Env{a}
			if c.nodes == 2 {
				dsn, secret := a.App.Config.Database, a.App.Config.Secret
				b := testenv.Start(t, wide, testenv.WithConfig(func(cfg *config.Config) { cfg.Database, cfg.Secret = dsn, secret }))
				nodes = append(nodes, b)
				// Node b learns of the tenant within its poll interval; it
				// is asked about another user, so ann's counters stay clean.
				a.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "probe@example.com", "password": tn.Password}, 201)
				waitFor(t, func() bool { s, _, _ := login(b, tn, "probe@example.com", tn.Password); return s == 200 })
			}
			const attempts = 500
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[string]int{}
			start := make(chan struct{})
			for i := range attempts {
				node := nodes[i%len(nodes)]
				wg.Go(func() {
					<-start
					status, body, _ := login(node, tn, tn.Username, "wrong password")
					mu.Lock()
					defer mu.Unlock()
					counts[strings.Join([]string{http.StatusText(status), body["error"].(string)}, " ")]++
				})
			}
			close(start)
			wg.Wait()
			want := map[string]int{"Forbidden invalid_grant": 10, "Too Many Requests too_many_attempts": attempts - 10}
			if len(counts) != 2 || counts["Forbidden invalid_grant"] != 10 || counts["Too Many Requests too_many_attempts"] != attempts-10 {
				t.Fatalf("answers = %v, want %v", counts, want)
			}
			// The block is there for every node to see.
			for _, n := range nodes {
				if b := n.API("GET", "/user-blocks?identifier="+url.QueryEscape(tn.Username), nil, 200)["blocked_for"].([]any); len(b) != 1 {
					t.Fatalf("blocks = %v", b)
				}
			}
		})
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}
