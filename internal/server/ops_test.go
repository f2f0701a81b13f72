package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestReadinessFollowsTheStore: /readyz answers 200 while the store
// answers and 503 once it cannot; /healthz (liveness) stays 200.
func TestReadinessFollowsTheStore(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	get := func(path string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		status, body, _ := e.Do(req)
		return status, body
	}
	if status, body := get("/readyz"); status != 200 || body["status"] != "ok" {
		t.Fatalf("/readyz = %d %v", status, body)
	}
	e.App.Store.Close()
	status, body := get("/readyz")
	checks, _ := body["checks"].(map[string]any)
	if status != 503 || body["status"] != "unavailable" || checks["store"] != "unavailable" || checks["keys"] != "ok" {
		t.Errorf("/readyz with the store closed = %d %v", status, body)
	}
	if status, _ := get("/healthz"); status != 200 {
		t.Errorf("/healthz with the store closed = %d", status)
	}
}

// TestMetricsCountLogins: logins by outcome and refresh-token reuse,
// counted from the events the token endpoint emits.
func TestMetricsCountLogins(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	rt1 := body["refresh_token"].(string)
	e.PasswordGrant(tn, url.Values{"password": {"wrong password"}})
	e.PasswordGrant(tn, url.Values{"password": {"wrong password"}})
	e.PasswordGrant(tn, url.Values{"username": {"nobody@example.com"}})
	mustRefresh(t, e, tn, rt1)
	expectRefused(t, e, tn, rt1, "reuse")
	req, _ := http.NewRequest("GET", e.URL+"/metrics", nil)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`gatehouse_logins_total{outcome="success"} 1`, `gatehouse_logins_total{outcome="wrong_password"} 2`,
		`gatehouse_logins_total{outcome="unknown_user"} 1`, "gatehouse_refresh_token_reuse_total 1",
		`gatehouse_http_requests_total{method="POST",route="POST /oauth/token",status="200"}`, `route="POST /oauth/token",status="403"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestMetricsPerGrantHashAndStore scrapes /metrics after a few grants and
// finds the per-grant counts and latency histograms, the password-hash time
// and queue gauges, and the store's latency per operation, with counts
// that match what was sent.
func TestMetricsPerGrantHashAndStore(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	_, body := e.PasswordGrant(tn, nil)
	e.PasswordGrant(tn, nil)
	e.PasswordGrant(tn, url.Values{"password": {"wrong password"}})
	mustRefresh(t, e, tn, body["refresh_token"].(string))
	if status, _ := e.PostForm("/oauth/token", url.Values{"grant_type": {"urn:example:made-up"}}); status != 400 {
		t.Fatalf("unsupported grant: %d", status)
	}

	series := scrape(t, e)
	exact := map[string]float64{
		`gatehouse_token_requests_total{grant_type="password",status="200"}`:               2,
		`gatehouse_token_requests_total{grant_type="password",status="403"}`:               1,
		`gatehouse_token_requests_total{grant_type="refresh_token",status="200"}`:          1,
		`gatehouse_token_requests_total{grant_type="client_credentials",status="200"}`:     1,
		`gatehouse_token_requests_total{grant_type="unsupported",status="400"}`:            1,
		`gatehouse_token_request_duration_seconds_count{grant_type="password"}`:            3,
		`gatehouse_token_request_duration_seconds_count{grant_type="refresh_token"}`:       1,
		`gatehouse_token_request_duration_seconds_bucket{grant_type="password",le="+Inf"}`: 3,
		`gatehouse_password_hash_queue_depth`:                                              0,
		`gatehouse_password_hashes_in_progress`:                                            0,
	}
	for name, want := range exact {
		if got, ok := series[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	atLeast := map[string]float64{
		// the three logins hash once each, under the limiter
		`gatehouse_password_hash_duration_seconds_count`:                            3,
		`gatehouse_store_duration_seconds_count{op="user_by_identifier"}`:           3,
		`gatehouse_store_duration_seconds_count{op="get_refresh_family_with_user"}`: 1,
		`gatehouse_store_duration_seconds_count{op="record_login"}`:                 2,
		`gatehouse_store_duration_seconds_count{op="replace_refresh_family"}`:       1,
		`gatehouse_store_duration_seconds_count{op="config_version"}`:               1,
		`gatehouse_token_request_duration_seconds_sum{grant_type="password"}`:       0.0001,
		`gatehouse_password_hash_duration_seconds_sum`:                              0.0001,
		`gatehouse_store_duration_seconds_sum{op="user_by_identifier"}`:             0.000001,
	}
	for name, low := range atLeast {
		if got, ok := series[name]; !ok || got < low {
			t.Errorf("%s = %v (present %v), want at least %v", name, got, ok, low)
		}
	}
}

// scrape reads /metrics into a map from series (name and labels, as
// printed) to value.
func scrape(t *testing.T, e *testenv.Env) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", e.URL+"/metrics", nil)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsCountAttackProtection scrapes /metrics after real blocked
// logins: a brute-force block and the refusal it causes, a suspicious IP
// throttled and refused, the same-user and refresh limits, and leaked
// passwords at login and at user creation, by outcome.
func TestMetricsCountAttackProtection(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"password_policy": "none"}}, 200)
	for _, u := range []string{"bob@example.com", "cy@example.com"} {
		e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": u, "password": tn.Password}, 201)
	}

	// The refresh limit: ten exchanges of a family from one IP, then 429.
	_, body := e.PasswordGrant(tn, nil)
	rt := body["refresh_token"].(string)
	for range 10 {
		rt = mustRefresh(t, e, tn, rt)
	}
	if status, body := refresh(e, tn, rt); status != 429 {
		t.Fatalf("11th refresh: %d %v", status, body)
	}
	// The same-user limit: twenty logins of bob, then one is refused
	// within as many more as the bucket refilled meanwhile.
	began := time.Now()
	for range 20 {
		expectLogin(t, e, tn, "bob@example.com", tn.Password, 200, "")
	}
	status := 200
	for i := 0; status == 200 && i <= int(time.Since(began)/(6*time.Second))+1; i++ {
		status, _, _ = login(e, tn, "bob@example.com", tn.Password)
	}
	if status != 429 {
		t.Fatalf("login past the same-user limit: %d", status)
	}
	// Brute force: the third wrong password of cy blocks; the right one is refused.
	setBruteForce(e, map[string]any{"max_attempts": 3})
	for range 3 {
		expectLogin(t, e, tn, "cy@example.com", "wrong", 403, "invalid_grant")
	}
	expectLogin(t, e, tn, "cy@example.com", tn.Password, 429, "too_many_attempts")
	// Suspicious IP: the IP's bucket (3 failures so far) empties at 5.
	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{
		"stage": map[string]any{"pre-login": map[string]any{"max_attempts": 5}}}, 200)
	expectLogin(t, e, tn, "x@example.com", "wrong", 403, "invalid_grant")
	expectLogin(t, e, tn, "y@example.com", "wrong", 403, "invalid_grant")
	expectLogin(t, e, tn, tn.Username, tn.Password, 429, "too_many_attempts")
	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{"enabled": false}, 200)

	// Breached passwords: logged only at creation and at a login, then blocked at a login.
	const leaked = "letmein"
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"enabled": true, "shields": []string{"admin_notification"}}, 200)
	e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "leaky@example.com", "password": leaked}, 201)
	expectLogin(t, e, tn, "leaky@example.com", leaked, 200, "")
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"shields": []string{"block"}}, 200)
	expectLogin(t, e, tn, "leaky@example.com", leaked, 401, "password_leaked")

	series := scrape(t, e)
	for name, want := range map[string]float64{
		`gatehouse_attack_protection_total{outcome="refused",protection="refresh_limit"}`:               1,
		`gatehouse_attack_protection_total{outcome="refused",protection="same_user_limit"}`:             1,
		`gatehouse_attack_protection_total{outcome="blocked",protection="brute_force"}`:                 1,
		`gatehouse_attack_protection_total{outcome="refused",protection="brute_force"}`:                 1,
		`gatehouse_attack_protection_total{outcome="blocked",protection="suspicious_ip"}`:               1,
		`gatehouse_attack_protection_total{outcome="refused",protection="suspicious_ip"}`:               1,
		`gatehouse_breached_password_detections_total{outcome="allowed",stage="pre-user-registration"}`: 1,
		`gatehouse_breached_password_detections_total{outcome="allowed",stage="pre-login"}`:             1,
		`gatehouse_breached_password_detections_total{outcome="blocked",stage="pre-login"}`:             1,
		`gatehouse_breached_password_detections_total{outcome="check_failed",stage="pre-login"}`:        0,
		`gatehouse_breached_password_detections_total{outcome="blocked",stage="pre-change-password"}`:   0,
	} {
		if got, ok := series[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
}
