package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scripts"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestRunawayActionsAreStopped binds an Action that spins or allocates
// without end when asked: the spinning login is cut at the time limit
// while other logins finish at their usual speed meanwhile, the
// allocating one is stopped by the memory watchdog, and both answer
// server_error without taking the server down. Not parallel: the
// watchdog judges the whole process's heap.
func TestRunawayActionsAreStopped(t *testing.T) {
	const limit = 3 * time.Second
	e := testenv.Start(t, testenv.WithServerOptions(server.WithScriptOptions(scripts.Options{
		Timeout: limit, Watchdog: scripts.NewWatchdog(256 << 20),
	})))
	tn := e.SeedTenant()
	e.AllowLoopback() // one user logs in many times from here: past the same-user limit
	a := e.API("POST", "/actions/actions", map[string]any{
		"name": "runaway", "supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}},
		"code": `exports.onExecutePostLogin = async (event, api) => {
			if (event.request.query.mode === 'loop') for (;;) {}
			if (event.request.query.mode === 'alloc') { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }
			api.accessToken.setCustomClaim('https://example.com/ok', true);
		};`,
	}, 201)
	e.API("POST", "/actions/actions/"+a["id"].(string)+"/deploy", nil, 200)
	e.API("PATCH", "/actions/triggers/post-login/bindings", map[string]any{"bindings": []any{
		map[string]any{"ref": map[string]string{"type": "action_id", "value": a["id"].(string)}}}}, 200)

	login := func(mode string) (int, map[string]any, time.Duration) {
		v := url.Values{
			"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password}, "scope": {"openid"},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
		}
		req, _ := http.NewRequest("POST", e.URL+"/oauth/token?mode="+mode, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		start := time.Now()
		status, body, _ := e.Do(req)
		return status, body, time.Since(start)
	}
	normal := func(n int) time.Duration {
		var times []time.Duration
		for range n {
			status, body, d := login("normal")
			if status != 200 || claimsOf(t, body["access_token"].(string))["https://example.com/ok"] != true {
				t.Fatalf("normal login: %d %v", status, body)
			}
			times = append(times, d)
		}
		slices.Sort(times)
		return times[len(times)/2]
	}

	before := normal(3)
	t.Logf("median login before: %v", before)
	type outcome struct {
		status int
		body   map[string]any
		took   time.Duration
		ended  time.Time
	}
	spun := make(chan outcome, 1)
	spinStart := time.Now()
	go func() {
		status, body, d := login("loop")
		spun <- outcome{status, body, d, time.Now()}
	}()
	time.Sleep(100 * time.Millisecond) // the loop is running
	// Logins while it spins, for up to two thirds of its time limit (at
	// least one, however slow the machine).
	var times []time.Duration
	var firstEnded time.Time
	for len(times) == 0 || time.Since(spinStart) < limit*2/3 {
		status, body, d := login("normal")
		if status != 200 || claimsOf(t, body["access_token"].(string))["https://example.com/ok"] != true {
			t.Fatalf("login while an Action spins: %d %v", status, body)
		}
		times = append(times, d)
		if firstEnded.IsZero() {
			firstEnded = time.Now()
		}
	}
	slices.Sort(times)
	during := times[len(times)/2]
	o := <-spun
	if o.status != 500 || o.body["error"] != "server_error" || o.took < limit || o.took > limit+5*time.Second {
		t.Fatalf("spinning login: %d %v after %v (limit %v)", o.status, o.body, o.took, limit)
	}
	// On a loaded machine the last login may outlast the spin; the first
	// one must not: logins go on while an Action spins.
	if !firstEnded.Before(o.ended) {
		t.Fatalf("no login finished while the Action spun (first %v, spin ended %v)", firstEnded, o.ended)
	}
	// Usual speed: a generous bound for a shared 2-core machine, far below
	// the time limit the spinning run holds its runtime for.
	if during > 5*before+100*time.Millisecond {
		t.Errorf("median login took %v while an Action spun, %v before", during, before)
	}
	t.Logf("median login %v before, %v while an Action spun (%d logins)", before, during, len(times))

	status, body, _ := login("alloc")
	if status != 500 || body["error"] != "server_error" {
		t.Fatalf("allocating login: %d %v", status, body)
	}
	normal(1)
}
