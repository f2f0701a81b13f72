package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
)

// env is a gatehouse serving on loopback over a fresh SQLite file, with a
// Management API token in hand.
type env struct {
	t      *testing.T
	URL    string // base URL without trailing slash
	Issuer string
	App    *server.App
	Clock  *fakeClock
	mgmt   string // management access token
}

// fakeClock is the real time plus an offset tests can move forward.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

const (
	bootstrapID     = "bootstrapclientid0000000000000000"
	bootstrapSecret = "bootstrap-secret-with-enough-entropy-0123456789"
)

// quietLogger keeps test output readable; set GATEHOUSE_TEST_LOG=1 to see it.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startEnv(t *testing.T, mutate ...func(*config.Config)) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	getenv := func(k string) string {
		switch k {
		case "GATEHOUSE_BOOTSTRAP_CLIENT_ID":
			return bootstrapID
		case "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET":
			return bootstrapSecret
		}
		return ""
	}
	cfg, err := config.Parse([]string{
		"--addr", ln.Addr().String(),
		"--database", filepath.Join(t.TempDir(), "gatehouse.db"),
		"--password-hash", "bcrypt",
	}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock := &fakeClock{}
	app, err := server.Open(ctx, cfg, testLogger(t), server.WithClock(clock.Now))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		app.Close()
	})
	e := &env{t: t, URL: base, Issuer: cfg.Issuer, App: app, Clock: clock}
	status, body := e.postForm("/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {bootstrapID},
		"client_secret": {bootstrapSecret}, "audience": {cfg.Issuer + "api/v2/"},
	})
	if status != 200 {
		t.Fatalf("management token: %d %v", status, body)
	}
	e.mgmt = body["access_token"].(string)
	return e
}

// do sends a request and decodes a JSON response (when there is one).
func (e *env) do(req *http.Request) (int, map[string]any, http.Header) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &body); err != nil {
			// Lists are arrays; wrap them.
			var list []any
			if json.Unmarshal(raw, &list) != nil {
				e.t.Fatalf("%s %s: undecodable JSON %q", req.Method, req.URL, raw)
			}
			body = map[string]any{"list": list}
		}
	}
	if body == nil {
		body = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, body, resp.Header
}

func (e *env) postForm(path string, v url.Values) (int, map[string]any) {
	req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, _ := e.do(req)
	return status, body
}

func (e *env) postJSON(path string, v any) (int, map[string]any) {
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", e.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	status, body, _ := e.do(req)
	return status, body
}

// api calls the Management API and fails the test on an unexpected status.
func (e *env) api(method, path string, in any, wantStatus int) map[string]any {
	e.t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.URL+"/api/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.mgmt)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status, body, _ := e.do(req)
	if status != wantStatus {
		e.t.Fatalf("%s %s = %d %v, want %d", method, path, status, body, wantStatus)
	}
	return body
}

// tenant is the seed's setup: an API, an application allowed the password
// and refresh grants, a database connection enabled for it, a user, and
// the connection as the tenant's default directory.
type tenant struct {
	API          string
	ClientID     string
	ClientSecret string
	Connection   string
	ConnectionID string
	UserID       string
	Username     string
	Password     string
}

type tenantOption func(client map[string]any, api map[string]any)

func (e *env) seedTenant(opts ...tenantOption) *tenant {
	e.t.Helper()
	apiBody := map[string]any{
		"name": "Sample API", "identifier": "https://api.example.com/",
		"scopes":               []map[string]string{{"value": "read:sample"}, {"value": "write:sample"}},
		"allow_offline_access": true,
	}
	clientBody := map[string]any{
		"name": "Seed App", "app_type": "regular_web",
		"grant_types":                []string{"password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"},
		"token_endpoint_auth_method": "client_secret_post",
		"callbacks":                  []string{"https://yourApp/callback"},
	}
	for _, o := range opts {
		o(clientBody, apiBody)
	}
	e.api("POST", "/resource-servers", apiBody, 201)
	client := e.api("POST", "/clients", clientBody, 201)
	tn := &tenant{
		API: apiBody["identifier"].(string), ClientID: client["client_id"].(string),
		ClientSecret: client["client_secret"].(string), Connection: "Username-Password-Authentication",
		Username: "ann@example.com", Password: "correct horse battery staple 1A!",
	}
	conn := e.api("POST", "/connections", map[string]any{
		"name": tn.Connection, "strategy": "auth0", "enabled_clients": []string{tn.ClientID},
	}, 201)
	tn.ConnectionID = conn["id"].(string)
	user := e.api("POST", "/users", map[string]any{
		"connection": tn.Connection, "email": tn.Username, "password": tn.Password, "given_name": "Ann",
	}, 201)
	tn.UserID = user["user_id"].(string)
	e.api("PATCH", "/tenants/settings", map[string]any{"default_directory": tn.Connection}, 200)
	return tn
}

// passwordGrant is the seed's "Request tokens" step.
func (e *env) passwordGrant(tn *tenant, extra url.Values) (int, map[string]any) {
	v := url.Values{
		"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password},
		"audience": {tn.API}, "scope": {"openid profile email offline_access read:sample"},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	}
	for k, vals := range extra {
		v[k] = vals
	}
	return e.postForm("/oauth/token", v)
}

func jsonRequest(u string, v any) *http.Request {
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return req
}
