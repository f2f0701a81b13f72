package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBadInputNeverBreaksTheServer sends malformed requests to every
// Authentication API route: each must get a 4xx with a JSON body (the
// /userinfo challenge excepted, which is plain text as Auth0 sends it).
func TestBadInputNeverBreaksTheServer(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	bodies := []struct{ ctype, body string }{
		{"application/json", `{`},
		{"application/json", `{"grant_type":["password",{"a":1}]}`},
		{"application/json", `{"grant_type":"password","username":` + strings.Repeat("[", 10000) + `}`},
		{"application/x-www-form-urlencoded", "%%%"},
		{"application/x-www-form-urlencoded", "grant_type=password&username=" + tn.Username + "&password=\x00\xff&client_id=" + tn.ClientID},
		{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=v1." + strings.Repeat("A", 65) + "&client_id=" + tn.ClientID + "&client_secret=" + tn.ClientSecret},
		{"application/x-www-form-urlencoded", "grant_type=password&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=" + strings.Repeat("e", 5000)},
		{"multipart/form-data; boundary=x", "--x--"},
		{"text/plain", "hello"},
		{"", ""},
	}
	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/userinfo"} {
		for _, b := range bodies {
			req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(b.body))
			if b.ctype != "" {
				req.Header.Set("Content-Type", b.ctype)
			}
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", 100))
			status, body, h := e.Do(req)
			if status < 400 || status >= 500 {
				t.Errorf("POST %s %q: status %d %v", path, b.body[:min(len(b.body), 40)], status, body)
			}
			if path != "/userinfo" && !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("POST %s %q: content type %q", path, b.body[:min(len(b.body), 40)], h.Get("Content-Type"))
			}
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/oauth/token"}, {"PUT", "/oauth/token"}, {"DELETE", "/oauth/revoke"}, {"PATCH", "/userinfo"},
		{"POST", "/.well-known/jwks.json"}, {"GET", "/nowhere"},
	} {
		req, _ := http.NewRequest(c.method, e.URL+c.path, nil)
		status, body, _ := e.Do(req)
		if (status != 405 && status != 404) || body["error"] == nil {
			t.Errorf("%s %s: %d %v", c.method, c.path, status, body)
		}
	}
}
