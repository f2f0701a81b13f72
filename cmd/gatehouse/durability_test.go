package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Bounds of the durability load: it stops by itself whichever comes first.
const (
	durabilityWorkers   = 6
	durabilityKillAfter = 150             // acknowledged writes before the SIGKILL
	durabilityMaxLoad   = 3 * time.Minute // the load's time limit, kill or not (a loaded CI machine is slow)
)

// TestSIGKILLDurability builds gatehouse, starts it, runs a bounded load of
// logins, refreshes, user creations and wrong passwords that block users,
// kills it with SIGKILL in the middle of the load, restarts it on the same
// database, and checks that every acknowledged write is there: each
// chain's last-returned refresh token still works, every user answered
// 201 exists, and every block answered 429 is still in force. On SQLite
// and PostgreSQL.
func TestSIGKILLDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		durability(t, bin, filepath.Join(t.TempDir(), "gatehouse.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		durability(t, bin, testenv.PostgresDatabase(t))
	})
}

// node is a gatehouse process.
type node struct {
	cmd  *exec.Cmd
	base string
	log  *testenv.LogBuffer
}

func startNode(t *testing.T, bin, db, addr string) *node {
	t.Helper()
	n := &node{base: "http://" + addr, log: &testenv.LogBuffer{}}
	// Loopback is a trusted proxy: the blocking load names its own client
	// IPs in X-Forwarded-For, away from the allowlisted loopback.
	n.cmd = exec.Command(bin, "serve", "--addr", addr, "--database", db, "--password-hash", "bcrypt", "--log-level", "warn",
		"--trusted-proxies", "127.0.0.1,::1")
	n.cmd.Env = append(os.Environ(),
		"GATEHOUSE_SECRET=durability-test-master-secret-0123456789",
		"GATEHOUSE_BOOTSTRAP_CLIENT_ID=durability-mgmt",
		"GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=durability-mgmt-secret-0123456789")
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.cmd.Process.Kill(); n.cmd.Wait() })
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(n.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
	}
	t.Fatalf("gatehouse never became ready:\n%s", n.log.String())
	return nil
}

// client talks to a node with a short timeout and no connection reuse
// across the kill.
type client struct {
	t    *testing.T
	http *http.Client
	base string
	mgmt string
}

func (c *client) form(path string, v url.Values, header ...string) (int, map[string]any, error) {
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

func (c *client) api(method, path string, in any) (int, map[string]any, error) {
	var r io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+"/api/v2"+path, r)
	req.Header.Set("Authorization", "Bearer "+c.mgmt)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

func (c *client) mustAPI(method, path string, in any, want int) map[string]any {
	c.t.Helper()
	status, body, err := c.api(method, path, in)
	if err != nil || status != want {
		c.t.Fatalf("%s %s: %d %v %v", method, path, status, body, err)
	}
	return body
}

func (c *client) login() {
	c.t.Helper()
	status, body, err := c.form("/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"durability-mgmt"}, "client_secret": {"durability-mgmt-secret-0123456789"}, "audience": {c.base + "/api/v2/"}})
	if err != nil || status != 200 {
		c.t.Fatalf("management token: %d %v %v", status, body, err)
	}
	c.mgmt = body["access_token"].(string)
}

// ledger is what the server acknowledged.
type ledger struct {
	mu     sync.Mutex
	chains map[int]string // chain -> last refresh token returned with 200
	users  []string       // user_ids answered 201
	blocks []victim       // brute-force blocks acknowledged by a 429
	acked  atomic.Int64   // acknowledged writes: logins, refreshes, user creations, blocks
	// cut counts requests the kill cut off (sent, never answered).
	cut atomic.Int64
}

// victim is a user the load blocks: wrong passwords from its own IP.
type victim struct{ email, ip string }

// durabilityVictims are the users the load blocks, spread over the workers.
const durabilityVictims = 36

func durability(t *testing.T, bin, db string) {
	addr := freeAddr(t)
	n := startNode(t, bin, db, addr)
	c := &client{t: t, base: n.base, http: &http.Client{Timeout: time.Minute}}
	c.login()

	// The tenant: an API with offline access, an application with rotating
	// refresh tokens (a leeway, so a rotation committed but never answered
	// does not make the last answered token a reuse), a connection, a user.
	c.mustAPI("POST", "/resource-servers", map[string]any{"name": "API", "identifier": "https://api.example.com/", "allow_offline_access": true}, 201)
	app := c.mustAPI("POST", "/clients", map[string]any{"name": "App", "app_type": "regular_web",
		"grant_types": []string{"password", "refresh_token"}, "token_endpoint_auth_method": "client_secret_post",
		"refresh_token": map[string]any{"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 600,
			"token_lifetime": 2592000, "idle_token_lifetime": 1296000, "infinite_token_lifetime": false, "infinite_idle_token_lifetime": false}}, 201)
	clientID, clientSecret := app["client_id"].(string), app["client_secret"].(string)
	c.mustAPI("POST", "/connections", map[string]any{"name": "Username-Password-Authentication", "strategy": "auth0", "enabled_clients": []string{clientID}}, 201)
	const password = "correct horse battery staple 1A!"
	c.mustAPI("POST", "/users", map[string]any{"connection": "Username-Password-Authentication", "email": "ann@example.com", "password": password}, 201)
	c.mustAPI("PATCH", "/tenants/settings", map[string]any{"default_directory": "Username-Password-Authentication"}, 200)
	// The load logs one user in, and refreshes its chains, from here far
	// past the same-user and refresh rate limits: this test is about
	// durability, so attack protection leaves loopback alone.
	for _, path := range []string{"/attack-protection/brute-force-protection", "/attack-protection/suspicious-ip-throttling"} {
		c.mustAPI("PATCH", path, map[string]any{"allowlist": []string{"127.0.0.1", "::1"}}, 200)
	}
	// The blocking load: each victim gets wrong passwords from an IP of
	// its own (named in X-Forwarded-For) until the fourth is answered 429:
	// the third created the block, the 429 acknowledges it.
	c.mustAPI("PATCH", "/attack-protection/brute-force-protection", map[string]any{"max_attempts": 3}, 200)
	victims := make([]victim, durabilityVictims)
	for i := range victims {
		victims[i] = victim{email: fmt.Sprintf("victim-%d@example.com", i), ip: fmt.Sprintf("198.51.100.%d", i+1)}
		c.mustAPI("POST", "/users", map[string]any{"connection": "Username-Password-Authentication", "email": victims[i].email, "password": password}, 201)
	}

	loginForm := url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {password},
		"audience": {"https://api.example.com/"}, "scope": {"openid offline_access"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	refreshForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}, "client_secret": {clientSecret}}
	}

	l := &ledger{chains: map[int]string{}}
	var killed atomic.Bool
	stop := make(chan struct{})
	var stopOnce sync.Once
	deadline := time.Now().Add(durabilityMaxLoad)
	var wg sync.WaitGroup
	for w := range durabilityWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := &client{t: t, base: c.base, mgmt: c.mgmt, http: &http.Client{Timeout: time.Minute}}
			chain := -1
			next := w // this worker's victims: w, w+workers, ...
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch {
				case chain < 0 || i%7 == 0: // a login starts a new refresh chain
					var status int
					var body map[string]any
					if status, body, err = wc.form("/oauth/token", loginForm); err == nil && status == 200 {
						chain = w*1_000_000 + i
						l.mu.Lock()
						l.chains[chain] = body["refresh_token"].(string)
						l.mu.Unlock()
						l.acked.Add(1)
					}
				case i%3 == 1 && next < len(victims): // a wrong password for the worker's victim
					v := victims[next]
					form := url.Values{"grant_type": {"password"}, "username": {v.email}, "password": {"not the password"},
						"client_id": {clientID}, "client_secret": {clientSecret}}
					var status int
					var body map[string]any
					status, body, err = wc.form("/oauth/token", form, "X-Forwarded-For", v.ip)
					switch {
					case err != nil:
					case status == 429 && body["error"] == "too_many_attempts":
						l.mu.Lock()
						l.blocks = append(l.blocks, v)
						l.mu.Unlock()
						l.acked.Add(1)
						next += durabilityWorkers
					case status == 403 || status == 503:
						// Counted, or (a busy hash queue) given back: try again.
					case !killed.Load():
						t.Errorf("wrong password of %s before the kill: %d %v", v.email, status, body)
					}
				case i%3 == 0: // a user creation
					var status int
					var body map[string]any
					email := fmt.Sprintf("user-%d-%d@example.com", w, i)
					if status, body, err = wc.api("POST", "/users", map[string]any{"connection": "Username-Password-Authentication",
						"email": email, "password": password}); err == nil && status == 201 {
						l.mu.Lock()
						l.users = append(l.users, body["user_id"].(string))
						l.mu.Unlock()
						l.acked.Add(1)
					}
				default: // a refresh rotates the chain's token
					l.mu.Lock()
					rt := l.chains[chain]
					l.mu.Unlock()
					var status int
					var body map[string]any
					if status, body, err = wc.form("/oauth/token", refreshForm(rt)); err == nil && status == 200 {
						l.mu.Lock()
						l.chains[chain] = body["refresh_token"].(string)
						l.mu.Unlock()
						l.acked.Add(1)
					} else if err == nil && !killed.Load() {
						t.Errorf("refresh before the kill: %d %v", status, body)
					}
				}
				if err != nil {
					if !killed.Load() {
						t.Errorf("request before the kill: %v", err)
					}
					l.cut.Add(1)
					return // the server is gone
				}
				if l.acked.Load() >= durabilityKillAfter && killed.CompareAndSwap(false, true) {
					// SIGKILL while the other workers' requests are in flight.
					n.cmd.Process.Signal(syscall.SIGKILL)
					n.cmd.Wait()
					stopOnce.Do(func() { close(stop) })
				}
			}
		}()
	}
	wg.Wait()
	if !killed.Load() {
		t.Fatalf("the load ended (%d acknowledged writes) before the kill", l.acked.Load())
	}

	n2 := startNode(t, bin, db, addr)
	c2 := &client{t: t, base: n2.base, http: &http.Client{Timeout: time.Minute}}
	c2.login()
	lost := 0
	for chain, rt := range l.chains {
		status, body, err := c2.form("/oauth/token", refreshForm(rt))
		if err != nil || status != 200 {
			lost++
			t.Errorf("chain %d: its last acknowledged refresh token no longer works: %d %v %v", chain, status, body, err)
		}
	}
	for _, id := range l.users {
		status, _, err := c2.api("GET", "/users/"+url.PathEscape(id), nil)
		if err != nil || status != 200 {
			lost++
			t.Errorf("user %s was acknowledged with 201 but is gone: %d %v", id, status, err)
		}
	}
	// Each acknowledged block is still in force: listed by the API, and
	// even the right password from its IP is refused.
	for _, v := range l.blocks {
		status, body, err := c2.api("GET", "/user-blocks?identifier="+url.QueryEscape(v.email), nil)
		blocked := false
		if list, _ := body["blocked_for"].([]any); err == nil && status == 200 {
			for _, b := range list {
				if m, _ := b.(map[string]any); m["identifier"] == v.email && m["ip"] == v.ip {
					blocked = true
				}
			}
		}
		form := url.Values{"grant_type": {"password"}, "username": {v.email}, "password": {password}, "client_id": {clientID}, "client_secret": {clientSecret}}
		lstatus, lbody, lerr := c2.form("/oauth/token", form, "X-Forwarded-For", v.ip)
		if !blocked || lerr != nil || lstatus != 429 || lbody["error"] != "too_many_attempts" {
			lost++
			t.Errorf("the block of %s from %s was acknowledged with 429 but is gone: user-blocks %d %v %v; login %d %v %v",
				v.email, v.ip, status, body, err, lstatus, lbody, lerr)
		}
	}
	// The blocks were real: a victim's right password from another IP logs in.
	if len(l.blocks) > 0 {
		v := l.blocks[0]
		form := url.Values{"grant_type": {"password"}, "username": {v.email}, "password": {password}, "client_id": {clientID}, "client_secret": {clientSecret}}
		if status, body, err := c2.form("/oauth/token", form, "X-Forwarded-For", "203.0.113.9"); err != nil || status != 200 {
			t.Errorf("%s from another IP: %d %v %v", v.email, status, body, err)
		}
	}
	logins, users, blocks := len(l.chains), len(l.users), len(l.blocks)
	if blocks == 0 {
		t.Error("the load acknowledged no block before the kill")
	}
	t.Logf("%s: %d of %d acknowledged writes lost (%d logins, %d refreshes, %d user creations, %d blocks; SIGKILL with %d requests in flight)",
		dialectOf(db), lost, l.acked.Load(), logins, l.acked.Load()-int64(logins)-int64(users)-int64(blocks), users, blocks, l.cut.Load())
}

func dialectOf(db string) string {
	if strings.HasPrefix(db, "postgres") {
		return "PostgreSQL"
	}
	return "SQLite"
}
