package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory/strategies"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/tenant"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
	"golang.org/x/crypto/bcrypt"
)

const (
	testIssuer = "https://auth.example.com/"
	adminToken = "admin-token" // holds every scope
)

// testNow is the fixed time of the fake clock: its milliseconds show in
// created_at.
var testNow = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

// testEnv is a Management API served over real HTTP on loopback, with a
// fake token verifier that knows fixed bearer strings.
type testEnv struct {
	srv    *httptest.Server
	store  store.Store
	hasher *passwords.Hasher

	mu     sync.Mutex
	tokens map[string]Principal
	clock  time.Time
	keys   *keys.Manager
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	hasher, err := passwords.NewHasher(passwords.Bcrypt, passwords.Argon2Params{}, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{
		store:  newTestStore(t),
		hasher: hasher,
		tokens: map[string]Principal{adminToken: {Subject: "admin@clients", ClientID: "admin", Scopes: Scopes()}},
		clock:  testNow,
	}
	e.keys = keys.NewManager(e.store, "tenant.example.com", e.now)
	if err := e.keys.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(New(Config{
		Store:        e.store,
		Issuer:       testIssuer,
		Tenant:       &tenant.Service{Store: e.store, Strategies: strategies.New(strategies.Config{Users: e.store, Hasher: hasher}), Hasher: hasher, Now: e.now},
		Authenticate: e.authenticate,
		Now:          e.now,
		Keys:         e.keys,
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *testEnv) authenticate(_ context.Context, bearer string) (Principal, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.tokens[bearer]
	if !ok {
		return Principal{}, errors.New("unknown token")
	}
	return p, nil
}

func (e *testEnv) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

// token registers a bearer token holding exactly scopes.
func (e *testEnv) token(scopes ...string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	tok := fmt.Sprintf("token-%d", len(e.tokens))
	e.tokens[tok] = Principal{Subject: tok + "@clients", ClientID: tok, Scopes: scopes}
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request. body may be nil, a string (sent as is) or any value
// (sent as JSON).
func (e *testEnv) call(t *testing.T, token, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// do calls as admin and fails the test unless the status is want.
func (e *testEnv) do(t *testing.T, method, path string, body any, want int) response {
	t.Helper()
	r := e.call(t, adminToken, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

// obj decodes a JSON object response.
func (r response) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// list decodes a JSON array response.
func (r response) list(t *testing.T) []any {
	t.Helper()
	var l []any
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("response is not a JSON array: %v: %s", err, r.body)
	}
	return l
}

// wantError checks the Management API error shape.
func (r response) wantError(t *testing.T, status int, code, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	m := r.obj(t)
	if m["statusCode"] != float64(status) || m["error"] != http.StatusText(status) {
		t.Errorf("error shape %v", m)
	}
	if got, _ := m["errorCode"].(string); got != code {
		t.Errorf("errorCode %q, want %q (body %s)", got, code, r.body)
	}
	if message != "" && m["message"] != message {
		t.Errorf("message %q, want %q", m["message"], message)
	}
}

// str reads a string property.
func str(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok {
		t.Fatalf("%s is %T (%v), want string", key, m[key], m[key])
	}
	return s
}

// jsonEqual compares a decoded value with a JSON literal.
func jsonEqual(t *testing.T, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("got %s\nwant %s", gb, wb)
	}
}

// seedDB creates a database connection (with options) through the API and
// returns its id.
func (e *testEnv) seedDB(t *testing.T, name string, options any) string {
	t.Helper()
	body := map[string]any{"name": name, "strategy": "auth0"}
	if options != nil {
		body["options"] = options
	}
	return str(t, e.do(t, "POST", "/api/v2/connections", body, http.StatusCreated).obj(t), "id")
}

// seedUser creates a user through the API and returns its JSON.
func (e *testEnv) seedUser(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	return e.do(t, "POST", "/api/v2/users", body, http.StatusCreated).obj(t)
}

func readAll(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
