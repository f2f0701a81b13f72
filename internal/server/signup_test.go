package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSignup: POST /dbconnections/signup as Auth0's SDKs call it, under
// the connection's policy and switches, with Auth0's answers.
func TestSignup(t *testing.T) {
	t.Parallel()
	rec := &selfEvents{}
	e := testenv.Start(t, testenv.WithServerOptions(rec.option()))
	tn := e.SeedTenant()
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"passwordPolicy": "good"}}, 200)
	signup := func(body map[string]any) (int, map[string]any) {
		body["client_id"] = tn.ClientID
		if _, ok := body["connection"]; !ok {
			body["connection"] = tn.Connection
		}
		return e.PostJSON("/dbconnections/signup", body)
	}

	status, body := signup(map[string]any{"email": "Bob@Example.com", "password": "Sup3r secret", "given_name": "Bob",
		"user_metadata": map[string]any{"plan": "free"}})
	if status != 200 || body["email"] != "bob@example.com" || body["email_verified"] != false || body["given_name"] != "Bob" ||
		len(body["_id"].(string)) != 24 || body["user_metadata"].(map[string]any)["plan"] != "free" || body["name"] != nil {
		t.Fatalf("signup = %d %v", status, body)
	}
	if ev := rec.wait(t, "ss"); ev.UserID != "auth0|"+body["_id"].(string) || ev.ClientID != tn.ClientID || ev.Connection != tn.Connection {
		t.Errorf("ss event %+v", ev)
	}
	user := e.API("GET", "/users/auth0|"+body["_id"].(string), nil, 200)
	if user["user_metadata"].(map[string]any)["plan"] != "free" || user["given_name"] != "Bob" || user["name"] != "bob@example.com" {
		t.Errorf("stored user %v", user)
	}
	// The new user logs in.
	if status, body := e.PasswordGrant(&testenv.Tenant{Username: "bob@example.com", Password: "Sup3r secret", API: tn.API,
		ClientID: tn.ClientID, ClientSecret: tn.ClientSecret}, nil); status != 200 {
		t.Fatalf("login after signup = %d %v", status, body)
	}

	// Someone else's address: Auth0's generic refusal, not "exists".
	status, body = signup(map[string]any{"email": "ann@example.com", "password": "Sup3r secret"})
	if status != 400 || body["code"] != "invalid_signup" || body["description"] != "Invalid sign up" || body["name"] != "BadRequestError" {
		t.Errorf("existing user = %d %v", status, body)
	}
	if ev := rec.wait(t, "fs"); ev.UserName != "ann@example.com" {
		t.Errorf("fs event %+v", ev)
	}
	// ... unless the tenant chose to say so.
	e.API("PATCH", "/tenants/settings", map[string]any{"flags": map[string]any{"enable_public_signup_user_exists_error": true}}, 200)
	if status, body = signup(map[string]any{"email": "ann@example.com", "password": "Sup3r secret"}); status != 400 || body["code"] != "user_exists" {
		t.Errorf("existing user with the flag = %d %v", status, body)
	}

	// A weak password: every rule of the policy, the failed ones unverified.
	status, body = signup(map[string]any{"email": "carl@example.com", "password": "abcdefgh"})
	desc, _ := body["description"].(map[string]any)
	if status != 400 || body["code"] != "invalid_password" || body["name"] != "PasswordStrengthError" || body["message"] != "Password is too weak" ||
		desc == nil || desc["verified"] != false || !strings.Contains(body["policy"].(string), "* At least 8 characters in length") {
		t.Fatalf("weak password = %d %v", status, body)
	}
	rules := desc["rules"].([]any)
	if r := rules[0].(map[string]any); r["code"] != "lengthAtLeast" || r["verified"] != true || r["format"].([]any)[0] != 8.0 {
		t.Errorf("rule 0 = %v", r)
	}
	if r := rules[1].(map[string]any); r["code"] != "containsAtLeast" || r["verified"] != false || len(r["items"].([]any)) != 4 {
		t.Errorf("rule 1 = %v", r)
	}

	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"no email", map[string]any{"password": "Sup3r secret"}, 400, "invalid_body"},
		{"no password", map[string]any{"email": "d@example.com"}, 400, "invalid_body"},
		{"unknown connection", map[string]any{"email": "d@example.com", "password": "Sup3r secret", "connection": "nope"}, 400, "bad.connection"},
		{"username without requires_username", map[string]any{"email": "d@example.com", "password": "Sup3r secret", "username": "dan"}, 400, "invalid_body"},
		{"metadata not strings", map[string]any{"email": "d@example.com", "password": "Sup3r secret", "user_metadata": map[string]any{"n": 1}}, 400, "invalid_body"},
		{"bad email", map[string]any{"email": "not an address", "password": "Sup3r secret"}, 400, "invalid_body"},
	} {
		if status, body := signup(tc.body); status != tc.status || body["code"] != tc.code {
			t.Errorf("%s = %d %v, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	// Duplicate keys and broken JSON are refused at the edge.
	for _, raw := range []string{`{"email":"e@example.com","email":"f@example.com","password":"x","connection":"c","client_id":"x"}`, `{"email":`, "\x00"} {
		req, _ := http.NewRequest("POST", e.URL+"/dbconnections/signup", strings.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		if status, body, _ := e.Do(req); status != 400 || body["code"] != "invalid_body" {
			t.Errorf("%q = %d %v", raw, status, body)
		}
	}
	// A form body works too.
	if status, body := e.PostForm("/dbconnections/signup", url.Values{"client_id": {tn.ClientID}, "connection": {tn.Connection},
		"email": {"form@example.com"}, "password": {"Sup3r secret"}}); status != 200 || body["email"] != "form@example.com" {
		t.Errorf("form signup = %d %v", status, body)
	}

	// Signup switched off, then a connection that requires usernames.
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"disable_signup": true}}, 200)
	if status, body := signup(map[string]any{"email": "g@example.com", "password": "Sup3r secret"}); status != 400 || body["code"] != "operation_not_supported" {
		t.Errorf("disabled signup = %d %v", status, body)
	}
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"requires_username": true}}, 200)
	if status, body := signup(map[string]any{"email": "h@example.com", "password": "Sup3r secret"}); status != 400 || body["code"] != "invalid_body" {
		t.Errorf("missing username = %d %v", status, body)
	}
	if status, body := signup(map[string]any{"email": "h@example.com", "password": "Sup3r secret", "username": "harry"}); status != 200 || body["username"] != "harry" {
		t.Errorf("username signup = %d %v", status, body)
	}
	// A connection not enabled for the application.
	other := e.API("POST", "/clients", map[string]any{"name": "Other"}, 201)
	if status, body := e.PostJSON("/dbconnections/signup", map[string]any{"client_id": other["client_id"], "connection": tn.Connection,
		"email": "i@example.com", "password": "Sup3r secret", "username": "ivan"}); status != 403 || body["code"] != "unauthorized" {
		t.Errorf("not enabled = %d %v", status, body)
	}
}
