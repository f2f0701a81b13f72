package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestErrorTable checks each row of the spec's token-endpoint error table
// that the grants built so far can produce (authentication-api.md §12),
// in both body encodings.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	m2m := e.API("POST", "/clients", map[string]any{
		"name": "M2M", "app_type": "non_interactive", "grant_types": []string{"client_credentials"},
	}, 201)
	m2mID, m2mSecret := m2m["client_id"].(string), m2m["client_secret"].(string)
	e.API("POST", "/client-grants", map[string]any{"client_id": m2mID, "audience": tn.API, "scope": []string{"read:sample"}}, 201)
	e.API("POST", "/resource-servers", map[string]any{"name": "Other", "identifier": "https://other.example.com/"}, 201)
	blocked := e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "blocked@example.com", "password": tn.Password}, 201)
	e.API("PATCH", "/users/"+blocked["user_id"].(string), map[string]any{"blocked": true}, 200)
	other := e.API("POST", "/connections", map[string]any{"name": "not-enabled", "strategy": "auth0"}, 201)
	_ = other

	// A refresh token whose user is then deleted.
	doomed := e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "doomed@example.com", "password": tn.Password}, 201)
	status, body := e.PasswordGrant(&testenv.Tenant{API: tn.API, ClientID: tn.ClientID, ClientSecret: tn.ClientSecret, Username: "doomed@example.com", Password: tn.Password}, nil)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	orphanRT := body["refresh_token"].(string)
	e.API("DELETE", "/users/"+doomed["user_id"].(string), nil, 204)
	status, body = e.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	rt := body["refresh_token"].(string)

	pw := func(kv ...string) map[string]string {
		return with(map[string]string{"grant_type": "password", "username": tn.Username, "password": tn.Password,
			"client_id": tn.ClientID, "client_secret": tn.ClientSecret}, kv...)
	}
	cc := func(kv ...string) map[string]string {
		return with(map[string]string{"grant_type": "client_credentials", "client_id": m2mID, "client_secret": m2mSecret,
			"audience": tn.API}, kv...)
	}
	rtp := func(token string, kv ...string) map[string]string {
		return with(map[string]string{"grant_type": "refresh_token", "refresh_token": token, "client_id": tn.ClientID,
			"client_secret": tn.ClientSecret}, kv...)
	}
	rows := []struct {
		row    int
		name   string
		params map[string]string
		status int
		code   string
		desc   string
	}{
		{1, "missing username", pw("username", ""), 400, "invalid_request", "Missing required parameter: username"},
		{1, "missing password", pw("password", ""), 400, "invalid_request", "Missing required parameter: password"},
		{1, "missing grant_type", pw("grant_type", ""), 400, "invalid_request", "Missing required parameter: grant_type"},
		{1, "missing refresh_token", rtp(""), 400, "invalid_request", "Missing required parameter: refresh_token"},
		{3, "unknown grant type", pw("grant_type", "urn:example:magic"), 400, "unsupported_grant_type", "Unsupported grant type: urn:example:magic"},
		{4, "bad client secret", pw("client_secret", "wrong"), 401, "access_denied", "Unauthorized"},
		{4, "unknown client", pw("client_id", "ghost"), 401, "access_denied", "Unauthorized"},
		{5, "invalid client assertion", pw("client_secret", "", "client_assertion", "a.b.c", "client_assertion_type", assertionType), 401, "access_denied", "Unauthorized"},
		{6, "grant type not enabled", cc("client_id", tn.ClientID, "client_secret", tn.ClientSecret), 403, "unauthorized_client", "Grant type 'client_credentials' not allowed for the client."},
		{7, "wrong password", pw("password", "wrong"), 403, "invalid_grant", "Wrong email or password."},
		{7, "unknown user", pw("username", "nobody@example.com"), 403, "invalid_grant", "Wrong email or password."},
		{8, "blocked user", pw("username", "blocked@example.com"), 401, "unauthorized", "user is blocked"},
		{15, "unknown audience", pw("audience", "https://nowhere.example.com/"), 403, "access_denied", "Service not found: https://nowhere.example.com/"},
		{16, "no client grant", cc("audience", "https://other.example.com/"), 403, "access_denied", `Client is not authorized to access "https://other.example.com/". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`},
		{17, "scope not granted", cc("scope", "write:sample"), 403, "access_denied", "Client has not been granted scopes: write:sample"},
		{18, "no audience, no default", cc("audience", ""), 403, "access_denied", "No audience parameter was provided, and no default audience has been configured"},
		{20, "unknown realm", pw("grant_type", "http://auth0.com/oauth/grant-type/password-realm", "realm", "nope"), 400, "invalid_request", "Unknown realm nope."},
		{21, "garbage refresh token", rtp("v1.garbage"), 403, "invalid_grant", "Unknown or invalid refresh token."},
		{22, "user deleted", rtp(orphanRT), 403, "invalid_grant", "The refresh_token was generated for a user who doesn't exist anymore."},
		{23, "broader refresh scope", rtp(rt, "scope", "openid write:sample"), 403, "invalid_scope", ""},
		{0, "connection not enabled", pw("grant_type", "http://auth0.com/oauth/grant-type/password-realm", "realm", "not-enabled"), 403, "unauthorized_client", ""},
	}
	for _, enc := range []string{"form", "json"} {
		for _, r := range rows {
			t.Run(enc+"/"+r.name, func(t *testing.T) {
				status, body := tokenRequest(e, enc, r.params, [2]string{})
				if status != r.status || body["error"] != r.code || (r.desc != "" && body["error_description"] != r.desc) {
					t.Fatalf("row %d: %d %v\nwant %d %s %q", r.row, status, body, r.status, r.code, r.desc)
				}
			})
		}
	}
	// Row 6 carries Auth0's error_uri.
	_, body = tokenRequest(e, "form", cc("client_id", tn.ClientID, "client_secret", tn.ClientSecret), [2]string{})
	if body["error_uri"] != "https://auth0.com/docs/clients/client-grant-types" {
		t.Errorf("error_uri = %v", body["error_uri"])
	}

	// Row 2: bodies that do not parse.
	for name, req := range map[string]*http.Request{
		"broken json":        rawRequest(e.URL+"/oauth/token", "application/json", `{"grant_type":`),
		"json array":         rawRequest(e.URL+"/oauth/token", "application/json", `["password"]`),
		"number values":      rawRequest(e.URL+"/oauth/token", "application/json", `{"grant_type":1}`),
		"xml":                rawRequest(e.URL+"/oauth/token", "text/xml", `<grant/>`),
		"repeated parameter": rawRequest(e.URL+"/oauth/token", "application/x-www-form-urlencoded", "grant_type=password&grant_type=refresh_token"),
		"too large":          rawRequest(e.URL+"/oauth/token", "application/x-www-form-urlencoded", "a="+strings.Repeat("x", 1<<20)),
	} {
		status, body, _ := e.Do(req)
		if status < 400 || status >= 500 || body["error"] != "invalid_request" {
			t.Errorf("row 2 %s: %d %v", name, status, body)
		}
	}

	// Row 19: no default directory.
	e.API("PATCH", "/tenants/settings", map[string]any{"default_directory": ""}, 200)
	status, body = tokenRequest(e, "form", pw(), [2]string{})
	if status != 500 || body["error"] != "server_error" || body["error_description"] != "Authorization server not configured with default connection." {
		t.Errorf("row 19: %d %v", status, body)
	}
}

// TestWrongPasswordAndUnknownUserLookTheSame compares the whole responses.
func TestWrongPasswordAndUnknownUserLookTheSame(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	req := func(user, pass string) *http.Request {
		return testenv.JSONRequest(e.URL+"/oauth/token", map[string]string{"grant_type": "password", "username": user,
			"password": pass, "client_id": tn.ClientID, "client_secret": tn.ClientSecret})
	}
	s1, b1, h1 := e.Do(req(tn.Username, "wrong"))
	s2, b2, h2 := e.Do(req("nobody@example.com", "wrong"))
	if s1 != s2 || b1["error"] != b2["error"] || b1["error_description"] != b2["error_description"] || len(b1) != len(b2) {
		t.Fatalf("wrong password %d %v vs unknown user %d %v", s1, b1, s2, b2)
	}
	h1.Del("Date")
	h2.Del("Date")
	h1.Del("X-Request-Id")
	h2.Del("X-Request-Id")
	if len(h1) != len(h2) {
		t.Fatalf("headers differ: %v vs %v", h1, h2)
	}
}

func rawRequest(u, ctype, body string) *http.Request {
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	return req
}

// with sets the key/value pairs kv in params; an empty value removes the key.
func with(params map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(params, kv[i])
		} else {
			params[kv[i]] = kv[i+1]
		}
	}
	return params
}

// TestDatabaseFailureIsServerError is row 34: when the database fails, the
// client gets a 500 server_error that says nothing of the cause.
func TestDatabaseFailureIsServerError(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	e.App.Store.Close()
	status, body := e.PasswordGrant(tn, nil)
	if status != 500 || body["error"] != "server_error" || strings.Contains(body["error_description"].(string), "sql") {
		t.Fatalf("%d %v", status, body)
	}
}
