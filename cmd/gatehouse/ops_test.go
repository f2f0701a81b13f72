package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// logLines parses a JSON log.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// TestLogsAndOperatorEndpoints: the access log gives durations in
// milliseconds, debug adds a detail line per request, /readyz and /metrics
// answer, and shutdown is logged.
func TestLogsAndOperatorEndpoints(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	log := serveUntilHealthy(t, []string{"--database", db, "--log-level", "debug"}, noEnv, func(base string) {
		if status, body := get(t, base+"/readyz"); status != 200 || !strings.Contains(body, `"store":"ok"`) || !strings.Contains(body, `"keys":"ok"`) {
			t.Errorf("/readyz = %d %s", status, body)
		}
		get(t, base+"/oauth/nowhere")
		status, body := get(t, base+"/metrics")
		if status != 200 {
			t.Fatalf("/metrics = %d", status)
		}
		for _, want := range []string{`gatehouse_http_requests_total{method="GET",route="GET /healthz",status="200"}`,
			`gatehouse_http_requests_total{method="GET",route="GET /readyz",status="200"}`, `route="/",status="404"`,
			"gatehouse_http_request_duration_seconds_bucket", `gatehouse_logins_total{outcome="wrong_password"} 0`,
			"gatehouse_store_ping_duration_seconds_count 1", "go_goroutines", "process_resident_memory_bytes"} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
	var requests, details int
	for _, l := range logLines(t, log) {
		switch l["msg"] {
		case "request":
			requests++
			if _, ok := l["duration_ms"].(float64); !ok {
				t.Errorf("request line without a duration_ms number: %v", l)
			}
			if l["request_id"] == nil {
				t.Errorf("request line without request_id: %v", l)
			}
			if _, ok := l["duration"]; ok {
				t.Errorf("request line still has duration in nanoseconds: %v", l)
			}
		case "request detail":
			details++
			if l["route"] == nil || l["user_agent"] == nil || l["level"] != "DEBUG" || l["request_id"] == nil {
				t.Errorf("debug detail line: %v", l)
			}
		}
	}
	if requests == 0 || details != requests {
		t.Errorf("%d request lines, %d debug detail lines", requests, details)
	}
	for _, want := range []string{"gatehouse shutting down", "gatehouse stopped", "uptime_ms"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestMetricsOnTheirOwnAddress: with --metrics-addr, /metrics moves off
// the main listener.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	metricsAddr := freeAddr(t)
	serveUntilHealthy(t, []string{"--database", db, "--metrics-addr", metricsAddr}, noEnv, func(base string) {
		if status, _ := get(t, base+"/metrics"); status != 404 {
			t.Errorf("main listener /metrics = %d, want 404", status)
		}
		if status, body := get(t, "http://"+metricsAddr+"/metrics"); status != 200 || !strings.Contains(body, "gatehouse_http_requests_total") {
			t.Errorf("metrics listener /metrics = %d", status)
		}
	})
}
