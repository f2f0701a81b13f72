package database_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// A database connection with requires_username: the Management API creates
// users with a username inside validation.username's bounds, and both the
// plain password grant (the default directory) and the realm grant accept
// the username or the email.
func TestUsernameLogins(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	conn := e.API("POST", "/connections", map[string]any{"name": "by-username", "strategy": "auth0",
		"enabled_clients": []string{tn.ClientID},
		"options":         map[string]any{"requires_username": true, "validation": map[string]any{"username": map[string]any{"min": 3, "max": 8}}},
	}, 201)
	if conn["options"].(map[string]any)["requires_username"] != true {
		t.Fatalf("options: %v", conn["options"])
	}
	u := e.API("POST", "/users", map[string]any{"connection": "by-username", "username": "carol", "email": "carol@example.com",
		"password": tn.Password}, 201)
	if u["username"] != "carol" || u["nickname"] != "carol" {
		t.Errorf("created user: %v", u)
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"username too short", map[string]any{"username": "ab"}},
		{"username too long", map[string]any{"username": "abcdefghi"}},
		{"username with a space", map[string]any{"username": "ca rol"}},
		{"username missing", map[string]any{"email": "dan@example.com"}},
		{"username taken (case-insensitive)", map[string]any{"username": "CAROL"}},
	} {
		body := map[string]any{"connection": "by-username", "password": tn.Password}
		for k, v := range tc.body {
			body[k] = v
		}
		want := 400
		if tc.name == "username taken (case-insensitive)" {
			want = 409
		}
		e.API("POST", "/users", body, want)
	}

	login := func(grant url.Values, username string) (int, map[string]any) {
		v := url.Values{"username": {username}, "password": {tn.Password}, "client_id": {tn.ClientID},
			"client_secret": {tn.ClientSecret}, "scope": {"openid"}}
		for k, x := range grant {
			v[k] = x
		}
		return e.PostForm("/oauth/token", v)
	}
	realm := url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"by-username"}}
	for _, name := range []string{"carol", "Carol", "carol@example.com"} {
		if status, body := login(realm, name); status != 200 {
			t.Errorf("realm grant as %q: %d %v", name, status, body)
		}
	}
	if status, body := login(realm, "carolx"); status != 403 || body["error"] != "invalid_grant" {
		t.Errorf("realm grant, unknown username: %d %v", status, body)
	}
	e.API("PATCH", "/tenants/settings", map[string]any{"default_directory": "by-username"}, 200)
	plain := url.Values{"grant_type": {"password"}}
	for _, name := range []string{"carol", "carol@example.com"} {
		if status, body := login(plain, name); status != 200 {
			t.Errorf("password grant as %q: %d %v", name, status, body)
		}
	}
}
