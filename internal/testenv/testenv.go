// Package testenv starts a real gatehouse on loopback over a fresh SQLite
// file for tests and benchmarks, with Management API credentials in hand and
// helpers that set a tenant up through the Management API as a user would.
package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
)

// Env is a gatehouse serving on loopback over a fresh SQLite file, with a
// Management API token in hand.
type Env struct {
	t      testing.TB
	URL    string // base URL without trailing slash
	Issuer string
	App    *server.App
	Clock  *Clock
	Client *http.Client // trusts the server's certificate under StartTLS
	Mgmt   string       // management access token
}

// Clock is the real time plus an offset tests can move forward.
type Clock struct{ offset atomic.Int64 }

func (c *Clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

const (
	BootstrapID     = "bootstrapclientid0000000000000000"
	BootstrapSecret = "bootstrap-secret-with-enough-entropy-0123456789"
)

// Start serves gatehouse on a free loopback port over a SQLite file in
// t.TempDir(), with bootstrap Management API credentials, and stops it when
// the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	var st settings
	for _, o := range opts {
		o(&st)
	}
	return start(t, st)
}

// Option changes how Start runs gatehouse.
type Option func(*settings)

type settings struct {
	tls      *TLS
	mutate   []func(*config.Config)
	server   []server.Option
	postgres bool
	log      *slog.Logger
	wrap     []func(http.Handler) http.Handler // around the App's handler, innermost first
}

// LogBuffer collects what a server logs (or writes to its stderr) while
// the test reads it; the server's goroutines write it concurrently.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WithLogger makes gatehouse log to l instead of discarding its log, so a
// test can look at what was logged.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// WithConfig edits the configuration before the server starts.
func WithConfig(f func(*config.Config)) Option {
	return func(s *settings) { s.mutate = append(s.mutate, f) }
}

// WithServerOptions passes options to server.Open.
func WithServerOptions(opts ...server.Option) Option {
	return func(s *settings) { s.server = append(s.server, opts...) }
}

// WithPostgres runs gatehouse on a fresh PostgreSQL database (dropped when
// the test ends) instead of SQLite: GATEHOUSE_TEST_POSTGRES, or the local
// server. Without PostgreSQL the test is skipped, or fails when CI is set.
func WithPostgres() Option { return func(s *settings) { s.postgres = true } }

// TLS is what StartTLS serves HTTPS with.
type TLS struct {
	CertFile, KeyFile string
	Roots             *x509.CertPool // trusted by the Env's own client
}

// StartTLS is Start over HTTPS, with issuer https://localhost:<port>/ so
// that the certificate's name, an SDK's domain and every token's iss agree.
func StartTLS(t testing.TB, tlsFiles TLS, opts ...Option) *Env {
	return Start(t, append(opts, func(s *settings) { s.tls = &tlsFiles })...)
}

func start(t testing.TB, st settings) *Env {
	tlsFiles := st.tls
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--addr", ln.Addr().String(), "--database", filepath.Join(t.TempDir(), "gatehouse.db"), "--password-hash", "bcrypt"}
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second}
	if tlsFiles != nil {
		base = "https://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		args = append(args, "--issuer", base+"/", "--tls-cert", tlsFiles.CertFile, "--tls-key", tlsFiles.KeyFile)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tlsFiles.Roots}}
	}
	getenv := func(k string) string {
		switch k {
		case "GATEHOUSE_BOOTSTRAP_CLIENT_ID":
			return BootstrapID
		case "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET":
			return BootstrapSecret
		}
		return ""
	}
	cfg, err := config.Parse(args, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Password hashes run on the requests' goroutines: go test runs
	// packages side by side, and to low-priority hashing threads the other
	// test binaries are busy neighbours that always go first. The threads
	// have their own tests (internal/passwords, TestLoginFloodAtLowPriority).
	cfg.HashNice = 0
	if st.postgres {
		cfg.Database = PostgresDatabase(t)
		cfg.Secret = "test-master-secret-with-enough-entropy-000000"
	}
	for _, m := range st.mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock := &Clock{}
	log := st.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	app, err := server.Open(ctx, cfg, log, append([]server.Option{server.WithClock(clock.Now)}, st.server...)...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for _, w := range st.wrap {
		app.Handler = w(app.Handler)
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
	e := &Env{t: t, URL: base, Issuer: cfg.Issuer, App: app, Clock: clock, Client: client}
	status, body := e.PostForm("/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {BootstrapID},
		"client_secret": {BootstrapSecret}, "audience": {cfg.Issuer + "api/v2/"},
	})
	if status != 200 {
		t.Fatalf("management token: %d %v", status, body)
	}
	e.Mgmt = body["access_token"].(string)
	return e
}

// Do sends a request and decodes a JSON response (when there is one).
func (e *Env) Do(req *http.Request) (int, map[string]any, http.Header) {
	e.t.Helper()
	resp, err := e.Client.Do(req)
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

// PostForm posts a form body to path.
func (e *Env) PostForm(path string, v url.Values) (int, map[string]any) {
	req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, _ := e.Do(req)
	return status, body
}

// PostJSON posts v as JSON to path.
func (e *Env) PostJSON(path string, v any) (int, map[string]any) {
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", e.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	status, body, _ := e.Do(req)
	return status, body
}

// API calls the Management API and fails the test on an unexpected status.
func (e *Env) API(method, path string, in any, wantStatus int) map[string]any {
	e.t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.URL+"/api/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.Mgmt)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status, body, _ := e.Do(req)
	if status != wantStatus {
		e.t.Fatalf("%s %s = %d %v, want %d", method, path, status, body, wantStatus)
	}
	return body
}

// Tenant is the seed's setup: an API, an application allowed the password
// and refresh grants, a database connection enabled for it, a user, and
// the connection as the tenant's default directory.
type Tenant struct {
	API          string
	ClientID     string
	ClientSecret string
	Connection   string
	ConnectionID string
	UserID       string
	Username     string
	Password     string
}

// TenantOption edits the API and client bodies SeedTenant posts.
type TenantOption func(client map[string]any, api map[string]any)

// SeedTenant sets up a Tenant through the Management API.
func (e *Env) SeedTenant(opts ...TenantOption) *Tenant {
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
	e.API("POST", "/resource-servers", apiBody, 201)
	client := e.API("POST", "/clients", clientBody, 201)
	tn := &Tenant{
		API: apiBody["identifier"].(string), ClientID: client["client_id"].(string),
		ClientSecret: client["client_secret"].(string), Connection: "Username-Password-Authentication",
		Username: "ann@example.com", Password: "correct horse battery staple 1A!",
	}
	conn := e.API("POST", "/connections", map[string]any{
		"name": tn.Connection, "strategy": "auth0", "enabled_clients": []string{tn.ClientID},
	}, 201)
	tn.ConnectionID = conn["id"].(string)
	user := e.API("POST", "/users", map[string]any{
		"connection": tn.Connection, "email": tn.Username, "password": tn.Password, "given_name": "Ann",
	}, 201)
	tn.UserID = user["user_id"].(string)
	e.API("PATCH", "/tenants/settings", map[string]any{"default_directory": tn.Connection}, 200)
	return tn
}

// AllowLoopback puts the loopback addresses on the brute-force and
// suspicious IP allowlists, for tests that log one user in many times
// from here (floods, races) and are not about attack protection: an
// allowlisted IP is neither counted, blocked nor rate limited.
func (e *Env) AllowLoopback() {
	e.t.Helper()
	loopback := []string{"127.0.0.1", "::1"}
	e.API("PATCH", "/attack-protection/brute-force-protection", map[string]any{"allowlist": loopback}, 200)
	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{"allowlist": loopback}, 200)
}

// PasswordGrant is the seed's "Request tokens" step.
func (e *Env) PasswordGrant(tn *Tenant, extra url.Values) (int, map[string]any) {
	v := url.Values{
		"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password},
		"audience": {tn.API}, "scope": {"openid profile email offline_access read:sample"},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	}
	for k, vals := range extra {
		v[k] = vals
	}
	return e.PostForm("/oauth/token", v)
}

// JSONRequest builds a POST of v as JSON to u.
func JSONRequest(u string, v any) *http.Request {
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return req
}
