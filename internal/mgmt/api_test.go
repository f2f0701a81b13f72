package mgmt

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestScopesListsEveryRouteScopeOnce(t *testing.T) {
	t.Parallel()
	got := Scopes()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("Scopes() not sorted and unique: %v", got)
	}
	for _, rt := range routes() {
		for _, s := range rt.scopes {
			if !slices.Contains(got, s) {
				t.Errorf("route %s scope %s missing from Scopes()", rt.pattern, s)
			}
		}
	}
	for _, s := range []string{"read:client_keys", "update:client_keys", "update:users_app_metadata", "read:tenant_settings"} {
		if !slices.Contains(got, s) {
			t.Errorf("Scopes() lacks %s", s)
		}
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name    string
		header  string
		status  int
		message string
	}{
		{"missing header", "", 401, "Missing authentication"},
		{"not bearer", "Basic YWJjOmRlZg==", 401, "Bad HTTP authentication header format"},
		{"empty bearer", "Bearer ", 401, "Bad HTTP authentication header format"},
		{"unknown token", "Bearer forged", 401, "Invalid token"},
		{"lower-case scheme accepted", "bearer " + adminToken, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v2/clients", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			r := response{status: res.StatusCode, header: res.Header}
			r.body = readAll(t, res)
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			r.wantError(t, tt.status, "", tt.message)
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// Every route refuses a caller without one of its scopes, naming them.
func TestEveryRouteChecksItsScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	unrelated := e.token("read:stats") // a scope no route here asks for
	for _, rt := range routes() {
		t.Run(rt.pattern, func(t *testing.T) {
			method, path, _ := strings.Cut(rt.pattern, " ")
			path = strings.NewReplacer("{id}", "x", "{cred}", "y", "{kid}", "k", "{method}", "m").Replace(path)
			r := e.call(t, unrelated, method, path, nil)
			expect, holds := "any", rt.scopes[:1]
			if allScopesRequired[rt.pattern] {
				expect, holds = "all", rt.scopes
				if r := e.call(t, e.token(rt.scopes[0]), method, path, nil); r.status != http.StatusForbidden {
					t.Errorf("holder of %s alone got %d", rt.scopes[0], r.status)
				}
			}
			r.wantError(t, http.StatusForbidden, "insufficient_scope",
				"Insufficient scope, expected "+expect+" of: "+strings.Join(rt.scopes, ","))
			// The scope check comes before anything else: a holder of the
			// scopes gets past it.
			if r := e.call(t, e.token(holds...), method, path, nil); r.status == http.StatusForbidden {
				t.Errorf("holder of %v still refused: %s", holds, r.body)
			}
		})
	}
}

func TestUnknownPathsAnswerInErrorShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v2/nothing-here"},
		{"PUT", "/api/v2/clients"},
	} {
		e.call(t, adminToken, c.method, c.path, nil).wantError(t, http.StatusNotFound, "", "Not Found")
	}
}

func TestBodyValidationErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		code        string
		message     string
	}{
		{"malformed JSON", "", `{"name":`, 400, "invalid_body", "Payload validation error: 'Invalid request payload JSON format'."},
		{"trailing garbage", "", `{"name":"a"} x`, 400, "invalid_body", "Payload validation error: 'Invalid request payload JSON format'."},
		{"unknown property", "", `{"name":"a","foo":1}`, 400, "invalid_body", "Payload validation error: 'Additional properties not allowed: foo'."},
		{"unknown nested property", "", `{"name":"a","jwt_configuration":{"bogus":true}}`, 400, "invalid_body",
			"Payload validation error: 'Additional properties not allowed: bogus'."},
		{"wrong type", "", `{"name":5}`, 400, "invalid_body", "Payload validation error: 'Expected type string but found type number' on property name."},
		{"wrong nested type", "", `{"name":"a","refresh_token":{"rotation_type":"rotating","expiration_type":"expiring","leeway":"x"}}`, 400, "invalid_body",
			"Payload validation error: 'Expected type integer but found type string' on property refresh_token.leeway."},
		{"null for non-nullable", "", `{"name":null}`, 400, "invalid_body", "Payload validation error: 'Expected type string but found type null' on property name."},
		{"array body", "", `[1]`, 400, "invalid_body", "Payload validation error: 'Expected type object but found type array'."},
		{"empty body", "", ``, 400, "invalid_body", "Payload validation error: 'Expected type object but found type null'."},
		{"missing required", "", `{}`, 400, "invalid_body", "Payload validation error: 'Missing required property: name'."},
		{"not JSON content type", "text/plain", `{"name":"a"}`, 415, "", "Unsupported Media Type"},
		{"JSON with charset", "application/json; charset=utf-8", `{"name":"a"}`, 201, "", ""},
		{"over 1 MiB", "", `{"name":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v2/clients", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			r := response{status: res.StatusCode, header: res.Header, body: readAll(t, res)}
			if tt.status == 201 {
				if r.status != 201 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			r.wantError(t, tt.status, tt.code, tt.message)
		})
	}
}

func TestQueryValidationErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{"page=abc", "page=-1", "per_page=0", "per_page=101", "include_totals=maybe",
		"include_fields=yes", "take=1000", "from=x"} {
		t.Run(q, func(t *testing.T) {
			r := e.call(t, adminToken, "GET", "/api/v2/clients?"+q, nil)
			r.wantError(t, http.StatusBadRequest, "invalid_query_string", "")
			if m := str(t, r.obj(t), "message"); !strings.HasPrefix(m, "Query validation error: ") {
				t.Errorf("message %q", m)
			}
		})
	}
}

// No malformed body makes any write endpoint fail with 500 or panic.
func TestBadBodiesNeverCauseServerErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clientID := str(t, e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "c"}, 201).obj(t), "client_id")
	conID := e.seedDB(t, "db", nil)
	user := e.seedUser(t, map[string]any{"connection": "db", "email": "u@example.com", "password": "x"})
	userID := strings.ReplaceAll(str(t, user, "user_id"), "|", "%7C")
	bodies := []string{``, `null`, `[]`, `{}`, `"x"`, `1`, `{"name":{}}`, `{"options":"x"}`, `{"scopes":[{"value":1}]}`,
		`{"client_authentication_methods":{"private_key_jwt":{"credentials":[{"credential_type":"public_key","pem":"x"}]}}}`,
		`{"refresh_token":{}}`, `{"jwt_configuration":null}`, `{"app_metadata":[]}`, `{"flags":{"a":"b"}}`,
		`[{"client_id":1}]`, `[{}]`, `{"password":"` + strings.Repeat("p", 100) + `","connection":"db"}`,
		`{"email":"not-an-email","connection":"db"}`, `{"token_lifetime":-1}`, `{"expires_at":"yesterday"}`}
	for _, rt := range routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if method != "POST" && method != "PATCH" {
			continue
		}
		id := map[bool]string{true: clientID}[strings.HasPrefix(path, "/api/v2/clients/")]
		switch {
		case strings.HasPrefix(path, "/api/v2/connections/"):
			id = conID
		case strings.HasPrefix(path, "/api/v2/users/"):
			id = userID
		}
		path = strings.NewReplacer("{id}", id, "{cred}", "cred_x").Replace(path)
		for _, b := range bodies {
			if r := e.call(t, adminToken, method, path, b); r.status >= 500 {
				t.Errorf("%s %s %s: status %d %s", method, path, b, r.status, r.body)
			}
		}
	}
}

// FuzzCreateClient feeds arbitrary bodies to client creation: the handler
// must answer without a panic or a 500.
func FuzzCreateClient(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"name":"a","refresh_token":{"rotation_type":"rotating","expiration_type":"expiring"}}`,
		`{"name":"a","grant_types":["password"],"token_endpoint_auth_method":"none"}`, `{"name":"a","client_metadata":{"k":"v"}}`} {
		f.Add(s)
	}
	st := newTestStore(f)
	h := New(Config{Store: st, Issuer: testIssuer, Authenticate: func(context.Context, string) (Principal, error) {
		return Principal{Scopes: Scopes()}, nil
	}})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v2/clients", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// failingStore breaks one store call to exercise the internal-error path.
type failingStore struct {
	store.Store
}

func (failingStore) ListClients(context.Context, store.Page) ([]*store.Client, int, error) {
	return nil, 0, errors.New("disk on fire")
}

func TestStoreFailuresAnswer500WithoutDetails(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	srv := httptest.NewServer(New(Config{
		Store:  failingStore{newTestStore(t)},
		Issuer: testIssuer,
		Authenticate: func(context.Context, string) (Principal, error) {
			return Principal{Subject: "x@clients", Scopes: Scopes()}, nil
		},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v2/clients", nil)
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("X-Correlation-ID", "corr-123")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header, body: readAll(t, res)}
	r.wantError(t, http.StatusInternalServerError, "", "Internal error")
	if strings.Contains(string(r.body), "disk on fire") {
		t.Errorf("internal error leaked: %s", r.body)
	}
	for _, want := range []string{"disk on fire", "corr-123", "GET /api/v2/clients", "x@clients"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs.String())
		}
	}
}
