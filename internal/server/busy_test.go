package server_test

import (
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestLoginFloodGets503AndRefreshStillWorks saturates password hashing (one
// at a time here) and checks that logins past the bounded queue get a clean
// 503 with Retry-After while refresh grants, which hash nothing, go on.
func TestLoginFloodGets503AndRefreshStillWorks(t *testing.T) {
	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.HashConcurrency = 1 }))
	e.AllowLoopback() // 50 logins of one user from one IP are past the same-user limit
	tn := e.SeedTenant()
	_, body := e.PasswordGrant(tn, nil)
	rt := body["refresh_token"].(string)

	const logins = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	var busy map[string]any
	var retryAfter string
	form := url.Values{"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}.Encode()
	for range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", e.URL+"/oauth/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			status, body, h := e.Do(req)
			mu.Lock()
			defer mu.Unlock()
			counts[status]++
			if status == 503 {
				busy, retryAfter = body, h.Get("Retry-After")
			}
		}()
	}
	// Refresh grants during the flood.
	refreshed := 0
	for range 5 {
		if status, _ := refresh(e, tn, rt); status == 200 {
			refreshed++
		}
	}
	wg.Wait()
	if counts[200] == 0 || counts[503] == 0 || counts[200]+counts[503] != logins {
		t.Fatalf("statuses = %v; want some 200s and some 503s and nothing else", counts)
	}
	if busy["error"] != "temporarily_unavailable" || retryAfter == "" {
		t.Fatalf("503 body = %v, Retry-After %q", busy, retryAfter)
	}
	if refreshed != 5 {
		t.Fatalf("%d of 5 refresh grants succeeded during the login flood", refreshed)
	}
}

// TestLoginsOnLowPriorityThreads: with --hash-nice the server starts one
// hashing thread per slot, password grants go through them, and Close
// ends them.
func TestLoginsOnLowPriorityThreads(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.HashNice, c.HashConcurrency = 10, 2 }))
	if runtime.GOOS == "linux" && e.App.HashThreads != 2 {
		t.Fatalf("%d hashing threads, want one per slot (2)", e.App.HashThreads)
	}
	tn := e.SeedTenant()
	for range 3 {
		if status, body := e.PasswordGrant(tn, nil); status != 200 {
			t.Fatalf("login through the hashing threads: %d %v", status, body)
		}
	}
}
