package server_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestInvalidTextIsRefusedAtTheEdge is the Authentication API side of
// issue 7's second and fifth defects: a NUL or invalid UTF-8 in any
// parameter, and a JSON key given twice, get 400 invalid_request with a
// description, the same on SQLite and PostgreSQL, and no ERROR line.
func TestInvalidTextIsRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts []testenv.Option
	}{{"sqlite", nil}, {"postgres", []testenv.Option{testenv.WithPostgres()}}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			logs := newLogRecorder()
			e := testenv.Start(t, append(c.opts, testenv.WithServerOptions(logs.option()))...)
			tn := e.SeedTenant()
			cc := "grant_type=client_credentials&client_secret=x&audience=" + tn.API
			pw := "grant_type=password&client_id=" + tn.ClientID + "&client_secret=" + tn.ClientSecret + "&password=x"
			form, json := "application/x-www-form-urlencoded", "application/json"
			probes := []struct {
				name, path, ctype, body string
				header                  map[string]string
			}{
				// The probes of issue 7 at the token endpoint.
				{"client_id NUL", "/oauth/token", form, cc + "&client_id=abc%00", nil},
				{"client_id invalid UTF-8", "/oauth/token", form, cc + "&client_id=abc%FF", nil},
				{"username NUL", "/oauth/token", form, pw + "&username=ann%00@example.com", nil},
				{"username invalid UTF-8", "/oauth/token", form, pw + "&username=%C3%28@example.com", nil},
				{"audience NUL", "/oauth/token", form, pw + "&username=ann@example.com&audience=a%00b", nil},
				{"realm NUL", "/oauth/token", form, pw + "&username=ann&grant_type=http://auth0.com/oauth/grant-type/password-realm&realm=x%00", nil},
				{"parameter name NUL", "/oauth/token", form, cc + "&client_id=abc&x%00y=1", nil},
				{"JSON \\u0000", "/oauth/token", json, `{"grant_type":"client_credentials","client_id":"abc\u0000","client_secret":"x"}`, nil},
				{"JSON lone NUL in a scope list", "/oauth/token", json, `{"grant_type":"client_credentials","client_id":"abc","client_secret":"x","scope":["a","b\u0000"]}`, nil},
				{"JSON raw invalid UTF-8", "/oauth/token", json, "{\"grant_type\":\"client_credentials\",\"client_id\":\"abc\xff\",\"client_secret\":\"x\"}", nil},
				{"Basic credentials NUL", "/oauth/token", form, "grant_type=client_credentials", map[string]string{"Authorization": "Basic YWJjJTAwOng="}},
				{"JSON duplicate key", "/oauth/token", json, `{"grant_type":"client_credentials","client_id":"` + tn.ClientID + `","client_id":"other","client_secret":"x"}`, nil},
				{"revoke token NUL", "/oauth/revoke", form, "client_id=" + tn.ClientID + "&client_secret=" + tn.ClientSecret + "&token=v1.%00", nil},
				{"revoke client_id invalid UTF-8", "/oauth/revoke", form, "client_id=%FE&client_secret=x&token=v1.x", nil},
				{"revoke JSON duplicate key", "/oauth/revoke", json, `{"client_id":"` + tn.ClientID + `","client_secret":"` + tn.ClientSecret + `","token":"a","token":"b"}`, nil},
				{"userinfo bearer invalid UTF-8", "/userinfo", "", "", map[string]string{"Authorization": "Bearer abc\xff"}},
				{"userinfo body NUL", "/userinfo", form, "access_token=abc%00", map[string]string{"Authorization": "Bearer abc"}},
			}
			for _, p := range probes {
				req, _ := http.NewRequest("POST", e.URL+p.path, strings.NewReader(p.body))
				if p.ctype != "" {
					req.Header.Set("Content-Type", p.ctype)
				}
				for k, v := range p.header {
					req.Header.Set(k, v)
				}
				status, body, h := e.Do(req)
				desc, _ := body["error_description"].(string)
				if status != 400 || body["error"] != "invalid_request" || desc == "" {
					t.Errorf("%s: %d %v, want 400 invalid_request", p.name, status, body)
				}
				if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
					t.Errorf("%s: content type %q", p.name, h.Get("Content-Type"))
				}
			}
			for _, r := range logs.Records() {
				if r.Level >= slog.LevelError {
					t.Errorf("logged at %v: %s %v", r.Level, r.Msg, r.Attrs)
				}
			}
		})
	}
}
