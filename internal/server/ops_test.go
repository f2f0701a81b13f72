package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
