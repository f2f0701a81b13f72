package server_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestEventsAndRequestIDs: each token request logs Auth0's event types,
// and every line a request logs (its events, a refusal, the access line)
// carries the request id the response names in X-Request-Id.
func TestEventsAndRequestIDs(t *testing.T) {
	t.Parallel()
	logs := newLogRecorder()
	e := testenv.Start(t, testenv.WithServerOptions(logs.option()))
	tn := e.SeedTenant(rotating(0, 2592000, 1296000))
	m2m := e.API("POST", "/clients", map[string]any{"name": "m2m", "app_type": "non_interactive", "grant_types": []string{"client_credentials"}}, 201)
	e.API("POST", "/client-grants", map[string]any{"client_id": m2m["client_id"], "audience": tn.API, "scope": []string{"read:sample"}}, 201)

	send := func(path string, v url.Values) (int, map[string]any, string) {
		req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		status, body, h := e.Do(req)
		return status, body, h.Get("X-Request-Id")
	}
	password := func(user, pw string) url.Values {
		return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}, "audience": {tn.API},
			"scope": {"openid offline_access"}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}
	}
	refreshForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}
	}
	m2mForm := func(scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {m2m["client_id"].(string)},
			"client_secret": {m2m["client_secret"].(string)}, "audience": {tn.API}, "scope": {scope}}
	}

	_, body, _ := send("/oauth/token", password(tn.Username, tn.Password))
	rt1, _ := body["refresh_token"].(string)
	steps := []struct {
		name   string
		do     func() (int, map[string]any, string)
		status int
		events []string
	}{
		{"login", func() (int, map[string]any, string) { return send("/oauth/token", password(tn.Username, tn.Password)) }, 200, []string{"s", "sepft"}},
		{"wrong password", func() (int, map[string]any, string) { return send("/oauth/token", password(tn.Username, "wrong")) }, 403, []string{"fp"}},
		{"unknown user", func() (int, map[string]any, string) { return send("/oauth/token", password("nobody@example.com", "x")) }, 403, []string{"fu"}},
		{"password grant refused", func() (int, map[string]any, string) {
			v := password(tn.Username, tn.Password)
			v.Set("audience", "https://nowhere.example.com/")
			return send("/oauth/token", v)
		}, 403, []string{"fepft"}},
		{"refresh", func() (int, map[string]any, string) { return send("/oauth/token", refreshForm(rt1)) }, 200, []string{"sertft"}},
		{"refresh refused", func() (int, map[string]any, string) { return send("/oauth/token", refreshForm("v1.nothing")) }, 403, []string{"fertft"}},
		{"refresh token reused", func() (int, map[string]any, string) { return send("/oauth/token", refreshForm(rt1)) }, 403, []string{"ferrt"}},
		{"client credentials", func() (int, map[string]any, string) { return send("/oauth/token", m2mForm("read:sample")) }, 200, []string{"seccft"}},
		{"client credentials refused", func() (int, map[string]any, string) { return send("/oauth/token", m2mForm("delete:all")) }, 403, []string{"feccft"}},
		{"revocation", func() (int, map[string]any, string) {
			_, b, _ := send("/oauth/token", password(tn.Username, tn.Password))
			return send("/oauth/revoke", url.Values{"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}, "token": {b["refresh_token"].(string)}})
		}, 200, []string{"srrt"}},
	}
	for _, s := range steps {
		status, body, id := s.do()
		if status != s.status || id == "" {
			t.Errorf("%s: %d %v (request id %q), want %d", s.name, status, body, id, s.status)
			continue
		}
		var got []string
		access := false
		for _, r := range logs.Records() {
			if r.Attrs["request_id"] != id {
				continue
			}
			if ev, ok := r.Attrs["event"].(string); ok && r.Msg == "event" {
				got = append(got, ev)
			}
			access = access || r.Msg == "request"
		}
		if !reflect.DeepEqual(got, s.events) || !access {
			t.Errorf("%s: events %v (access line %v), want %v", s.name, got, access, s.events)
		}
	}
	// No line carries a secret, a password or a token.
	for _, r := range logs.Records() {
		for k, v := range r.Attrs {
			str, _ := v.(string)
			for _, secret := range []string{tn.Password, tn.ClientSecret, rt1, m2m["client_secret"].(string)} {
				if str != "" && strings.Contains(str, secret) {
					t.Errorf("%s logs %s = %q", r.Msg, k, str)
				}
			}
		}
	}
}
