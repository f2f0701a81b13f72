package apiauth_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/apiauth"
)

type apiFixture struct {
	ti    *testIssuer
	key   *testKey
	clock *fakeClock
	v     *apiauth.Validator
	mux   http.Handler
}

func newAPIFixture(t *testing.T, mod func(*apiauth.Config)) *apiFixture {
	t.Helper()
	f := &apiFixture{key: rsaKey(t, 0, "k1"), clock: newFakeClock()}
	f.ti = newTestIssuer(t, f.key)
	f.v = newValidator(t, f.ti, f.clock, mod)
	mux := http.NewServeMux()
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := apiauth.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(c.Subject))
	})
	mux.Handle("GET /open", whoami)
	mux.Handle("GET /read", apiauth.RequireScope("read:sample")(whoami))
	mux.Handle("GET /write", apiauth.RequireScope("read:sample", "write:sample")(whoami))
	mux.Handle("GET /admin", apiauth.RequirePermission("delete:sample")(whoami))
	mux.Handle("GET /edit", apiauth.RequirePermission("write:sample")(whoami))
	f.mux = f.v.Middleware(mux)
	return f
}

func (f *apiFixture) token(t *testing.T, kv ...any) string {
	return f.key.sign(t, with(claimsAt(f.ti.URL, f.clock.Now()), kv...))
}

func (f *apiFixture) do(path string, authorization ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec
}

func TestMiddlewareAnswersPerRFC6750(t *testing.T) {
	f := newAPIFixture(t, nil)
	good := f.token(t, "permissions", []string{"read:sample", "write:sample"})
	expired := f.token(t, "exp", f.clock.Now().Add(-time.Hour).Unix())

	tests := []struct {
		name      string
		path      string
		auth      []string
		status    int
		challenge string
		errorCode string // the JSON body's error
	}{
		{"valid token", "/open", []string{"Bearer " + good}, 200, "", ""},
		{"scheme is case-insensitive", "/open", []string{"bearer " + good}, 200, "", ""},
		{"several spaces after the scheme", "/open", []string{"Bearer   " + good}, 200, "", ""},
		{"no Authorization header", "/open", nil, 401,
			`Bearer realm="api"`, "unauthorized"},
		{"empty Authorization header", "/open", []string{""}, 401,
			`Bearer realm="api"`, "unauthorized"},
		{"another scheme", "/open", []string{"Basic dXNlcjpwYXNz"}, 401,
			`Bearer realm="api"`, "unauthorized"},
		{"Bearer without a token", "/open", []string{"Bearer"}, 400,
			`Bearer realm="api", error="invalid_request", error_description="the Bearer credential is empty"`, "invalid_request"},
		{"Bearer with only spaces", "/open", []string{"Bearer    "}, 400,
			`Bearer realm="api", error="invalid_request", error_description="the Bearer credential is empty"`, "invalid_request"},
		{"token with a space inside", "/open", []string{"Bearer abc def"}, 400,
			`Bearer realm="api", error="invalid_request", error_description="the Bearer credential is not a b64token"`, "invalid_request"},
		{"token with a quote", "/open", []string{`Bearer abc"def`}, 400,
			`Bearer realm="api", error="invalid_request", error_description="the Bearer credential is not a b64token"`, "invalid_request"},
		{"two Authorization headers", "/open", []string{"Bearer " + good, "Bearer " + good}, 400,
			`Bearer realm="api", error="invalid_request", error_description="several Authorization headers"`, "invalid_request"},
		{"garbage token", "/open", []string{"Bearer abc.def.ghi"}, 401,
			`Bearer realm="api", error="invalid_token", error_description="the access token is malformed"`, "invalid_token"},
		{"expired token", "/open", []string{"Bearer " + expired}, 401,
			`Bearer realm="api", error="invalid_token", error_description="the access token has expired"`, "invalid_token"},
		{"granted scope", "/read", []string{"Bearer " + good}, 200, "", ""},
		{"missing one of two scopes", "/write", []string{"Bearer " + good}, 403,
			`Bearer realm="api", error="insufficient_scope", error_description="the access token lacks write:sample", scope="read:sample write:sample"`,
			"insufficient_scope"},
		{"granted permission", "/edit", []string{"Bearer " + good}, 200, "", ""},
		{"missing permission", "/admin", []string{"Bearer " + good}, 403,
			`Bearer realm="api", error="insufficient_scope", error_description="the access token lacks delete:sample", scope="delete:sample"`,
			"insufficient_scope"},
		{"scope route checked before the token", "/read", nil, 401, `Bearer realm="api"`, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do(tc.path, tc.auth...)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q\n                   want %q", got, tc.challenge)
			}
			if tc.status == 200 {
				if rec.Body.String() != "auth0|64f0c2aa" {
					t.Errorf("handler saw subject %q", rec.Body)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body.Error != tc.errorCode || body.Description == "" {
				t.Errorf("body = %+v, want error %q with a description", body, tc.errorCode)
			}
		})
	}
}

func TestMiddlewareAnswers503WhenKeysAreUnavailable(t *testing.T) {
	f := &apiFixture{key: rsaKey(t, 0, "k1"), clock: newFakeClock()}
	f.ti = newTestIssuer(t, f.key)
	f.ti.setDown(true)
	f.v = newValidator(t, f.ti, f.clock, nil)
	f.mux = f.v.Middleware(http.NotFoundHandler())
	rec := f.do("/", "Bearer "+f.token(t))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
	if h := rec.Header().Get("WWW-Authenticate"); h != "" {
		t.Errorf("WWW-Authenticate = %q on a 503", h)
	}
}

func TestCustomErrorHandlerAndRealm(t *testing.T) {
	var seen []*apiauth.Error
	f := newAPIFixture(t, func(c *apiauth.Config) {
		c.Realm = `my "api"`
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, e *apiauth.Error) {
			seen = append(seen, e)
			if e.Status == http.StatusForbidden {
				http.Error(w, "nope", http.StatusTeapot)
				return
			}
			e.Write(w, "custom")
		}
	})
	rec := f.do("/open")
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="custom"` {
		t.Errorf("no token: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	rec = f.do("/write", "Bearer "+f.token(t))
	if rec.Code != http.StatusTeapot {
		t.Errorf("missing scope through the custom handler: status %d", rec.Code)
	}
	if len(seen) != 2 || !errors.Is(seen[0], apiauth.ErrMissingToken) || !errors.Is(seen[1], apiauth.ErrInsufficientScope) {
		t.Fatalf("handler saw %v", seen)
	}
	if seen[1].Code != apiauth.CodeInsufficientScope || len(seen[1].Scope) != 2 {
		t.Errorf("insufficient scope error = %+v", seen[1])
	}

	// Without a custom handler the realm is sanitised into a quoted-string.
	g := newAPIFixture(t, func(c *apiauth.Config) { c.Realm = "my \"api\"\r\n" })
	if got := g.do("/open").Header().Get("WWW-Authenticate"); got != `Bearer realm="my api"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

func TestRequireScopeWithoutMiddlewareFailsClosed(t *testing.T) {
	h := apiauth.RequireScope("read:sample")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler reached without authentication")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
}

func TestClaimsFromEmptyContext(t *testing.T) {
	if c, ok := apiauth.ClaimsFrom(httptest.NewRequest(http.MethodGet, "/", nil).Context()); ok || c != nil {
		t.Errorf("ClaimsFrom = %v, %v", c, ok)
	}
}
