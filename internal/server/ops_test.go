package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/events"
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

// TestMetricsCountEvents: the metrics emitter turns login and reuse events
// into counters.
func TestMetricsCountEvents(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	em := e.App.Metrics.Events()
	for _, typ := range []string{events.SuccessLogin, events.FailedLoginWrongPassword, events.FailedLoginWrongPassword, events.RefreshTokenReuse} {
		em.Emit(context.Background(), events.Event{Type: typ})
	}
	req, _ := http.NewRequest("GET", e.URL+"/metrics", nil)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{`gatehouse_logins_total{outcome="success"} 1`, `gatehouse_logins_total{outcome="wrong_password"} 2`,
		"gatehouse_refresh_token_reuse_total 1", `gatehouse_events_total{type="fp"} 2`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
