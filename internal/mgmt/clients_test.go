package mgmt

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
)

var alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)

func TestCreateClientDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	confidential := `["authorization_code","implicit","refresh_token","client_credentials"]`
	public := `["authorization_code","implicit","refresh_token"]`
	tests := []struct {
		name       string
		body       map[string]any
		grantTypes string
		method     any
	}{
		{"regular web app is confidential", map[string]any{"name": "web", "app_type": "regular_web"}, confidential, "client_secret_post"},
		{"no app type is confidential", map[string]any{"name": "plain"}, confidential, "client_secret_post"},
		{"spa is public", map[string]any{"name": "spa", "app_type": "spa"}, public, "none"},
		{"native is public", map[string]any{"name": "native", "app_type": "native"}, public, "none"},
		{"auth method none is public", map[string]any{"name": "pub", "token_endpoint_auth_method": "none"}, public, "none"},
		{"basic auth kept", map[string]any{"name": "basic", "token_endpoint_auth_method": "client_secret_basic"}, confidential, "client_secret_basic"},
		{"explicit grant types kept", map[string]any{"name": "ropg", "grant_types": []string{"password", "refresh_token"}},
			`["password","refresh_token"]`, "client_secret_post"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.do(t, "POST", "/api/v2/clients", tt.body, http.StatusCreated).obj(t)
			id, secret := str(t, c, "client_id"), str(t, c, "client_secret")
			if len(id) != 32 || !alnum.MatchString(id) {
				t.Errorf("client_id %q", id)
			}
			if len(secret) != 64 {
				t.Errorf("client_secret has %d chars", len(secret))
			}
			jsonEqual(t, c["grant_types"], tt.grantTypes)
			if c["token_endpoint_auth_method"] != tt.method {
				t.Errorf("token_endpoint_auth_method %v, want %v", c["token_endpoint_auth_method"], tt.method)
			}
			jsonEqual(t, c["jwt_configuration"], `{"secret_encoded":false,"lifetime_in_seconds":36000}`)
			jsonEqual(t, c["refresh_token"], `{"rotation_type":"non-rotating","expiration_type":"non-expiring","leeway":0,
				"token_lifetime":31557600,"infinite_token_lifetime":true,"idle_token_lifetime":2592000,"infinite_idle_token_lifetime":true}`)
			for key, want := range map[string]any{"is_first_party": true, "oidc_conformant": false, "global": false,
				"is_token_endpoint_ip_header_trusted": false, "sso_disabled": false, "cross_origin_authentication": false,
				"custom_login_page_on": true} {
				if c[key] != want {
					t.Errorf("%s = %v, want %v", key, c[key], want)
				}
			}
			for _, key := range []string{"callbacks", "allowed_origins", "web_origins", "allowed_logout_urls"} {
				jsonEqual(t, c[key], `[]`)
			}
			jsonEqual(t, c["client_metadata"], `{}`)
			if _, ok := c["client_authentication_methods"]; ok {
				t.Error("client_authentication_methods present on a secret-based client")
			}
		})
	}
}

func TestClientSecretVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "app"}, http.StatusCreated).obj(t)
	id, secret := str(t, c, "client_id"), str(t, c, "client_secret")
	tests := []struct {
		name   string
		token  string
		method string
		path   string
		body   any
		shown  bool
	}{
		{"GET without read:client_keys", e.token("read:clients"), "GET", "/api/v2/clients/" + id, nil, false},
		{"GET with read:client_keys", e.token("read:clients", "read:client_keys"), "GET", "/api/v2/clients/" + id, nil, true},
		{"GET with read:client_keys alone", e.token("read:client_keys"), "GET", "/api/v2/clients/" + id, nil, true},
		{"PATCH with update:clients", e.token("update:clients"), "PATCH", "/api/v2/clients/" + id, map[string]any{"description": "d"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, tt.token, tt.method, tt.path, tt.body)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			got, ok := r.obj(t)["client_secret"]
			if ok != tt.shown || (ok && got != secret) {
				t.Errorf("client_secret shown=%v (%v), want shown=%v", ok, got, tt.shown)
			}
		})
	}
	t.Run("list", func(t *testing.T) {
		for _, tok := range []struct {
			token string
			shown bool
		}{{e.token("read:clients"), false}, {e.token("read:client_keys"), true}} {
			r := e.call(t, tok.token, "GET", "/api/v2/clients", nil)
			l := r.list(t)
			if len(l) != 1 {
				t.Fatalf("%d clients", len(l))
			}
			if _, ok := l[0].(map[string]any)["client_secret"]; ok != tok.shown {
				t.Errorf("secret shown=%v, want %v", ok, tok.shown)
			}
		}
	})
}

func TestClientSecretChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "app"}, http.StatusCreated).obj(t)
	id, secret := str(t, c, "client_id"), str(t, c, "client_secret")

	rotated := e.call(t, e.token("update:client_keys"), "POST", "/api/v2/clients/"+id+"/rotate-secret", nil)
	if rotated.status != http.StatusOK {
		t.Fatalf("rotate: %d %s", rotated.status, rotated.body)
	}
	newSecret := str(t, rotated.obj(t), "client_secret")
	if newSecret == secret || len(newSecret) != 64 {
		t.Fatalf("rotated secret %q (old %q)", newSecret, secret)
	}
	stored, err := e.store.GetClient(t.Context(), id)
	if err != nil || stored.ClientSecret != newSecret {
		t.Fatalf("stored secret not rotated: %v", err)
	}

	custom := "a-custom-secret-of-at-least-thirty-two-chars"
	e.call(t, e.token("update:clients"), "PATCH", "/api/v2/clients/"+id, map[string]any{"client_secret": custom}).
		wantError(t, http.StatusForbidden, "insufficient_scope", "Insufficient scope, expected any of: update:client_keys")
	e.call(t, e.token("update:client_keys"), "PATCH", "/api/v2/clients/"+id, map[string]any{"client_secret": custom, "name": "x"}).
		wantError(t, http.StatusForbidden, "insufficient_scope", "Insufficient scope, expected any of: update:clients")
	r := e.call(t, e.token("update:client_keys"), "PATCH", "/api/v2/clients/"+id, map[string]any{"client_secret": custom})
	if r.status != http.StatusOK || str(t, r.obj(t), "client_secret") != custom {
		t.Fatalf("custom secret: %d %s", r.status, r.body)
	}
	e.do(t, "PATCH", "/api/v2/clients/"+id, map[string]any{"client_secret": "short"}, http.StatusBadRequest)
	e.call(t, adminToken, "POST", "/api/v2/clients/nope/rotate-secret", nil).wantError(t, 404, "inexistent_client", "The client does not exist")
}

func TestUpdateClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "app", "callbacks": []string{"https://a/cb"},
		"client_metadata": map[string]string{"k": "v"}}, http.StatusCreated).obj(t)
	path := "/api/v2/clients/" + str(t, c, "client_id")

	t.Run("partial update keeps other fields", func(t *testing.T) {
		u := e.do(t, "PATCH", path, map[string]any{"name": "renamed", "grant_types": []string{"password", "refresh_token"}}, 200).obj(t)
		if u["name"] != "renamed" {
			t.Errorf("name %v", u["name"])
		}
		jsonEqual(t, u["callbacks"], `["https://a/cb"]`)
		jsonEqual(t, u["client_metadata"], `{"k":"v"}`)
		jsonEqual(t, u["grant_types"], `["password","refresh_token"]`)
		g := e.do(t, "GET", path, nil, 200).obj(t)
		if g["name"] != "renamed" {
			t.Errorf("GET after PATCH: name %v", g["name"])
		}
	})
	t.Run("nested objects are replaced", func(t *testing.T) {
		u := e.do(t, "PATCH", path, map[string]any{"jwt_configuration": map[string]any{"alg": "HS256"}}, 200).obj(t)
		jsonEqual(t, u["jwt_configuration"], `{"alg":"HS256","secret_encoded":false,"lifetime_in_seconds":36000}`)
		u = e.do(t, "PATCH", path, map[string]any{"client_metadata": map[string]string{"other": "1"}}, 200).obj(t)
		jsonEqual(t, u["client_metadata"], `{"other":"1"}`)
	})
	t.Run("rotating refresh tokens take the rotating preset", func(t *testing.T) {
		u := e.do(t, "PATCH", path, map[string]any{"refresh_token": map[string]any{"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 3}}, 200).obj(t)
		jsonEqual(t, u["refresh_token"], `{"rotation_type":"rotating","expiration_type":"expiring","leeway":3,"token_lifetime":2592000,
			"infinite_token_lifetime":false,"idle_token_lifetime":1296000,"infinite_idle_token_lifetime":false}`)
	})
	t.Run("unknown client", func(t *testing.T) {
		e.call(t, adminToken, "PATCH", "/api/v2/clients/nope", map[string]any{"name": "x"}).wantError(t, 404, "inexistent_client", "The client does not exist")
	})

	rt := func(rot, exp string, tl, idle int, infinite bool) map[string]any {
		return map[string]any{"refresh_token": map[string]any{"rotation_type": rot, "expiration_type": exp,
			"token_lifetime": tl, "idle_token_lifetime": idle, "infinite_token_lifetime": infinite, "infinite_idle_token_lifetime": infinite}}
	}
	invalid := []struct {
		name string
		body map[string]any
		prop string
	}{
		{"rotation requires expiring", rt("rotating", "non-expiring", 100, 50, false), "refresh_token.expiration_type"},
		{"idle above absolute lifetime", rt("rotating", "expiring", 100, 200, false), "refresh_token.idle_token_lifetime"},
		{"zero lifetime", rt("non-rotating", "expiring", 0, 0, false), "refresh_token.token_lifetime"},
		{"lifetime above a year", rt("non-rotating", "expiring", 31557601, 100, false), "refresh_token.token_lifetime"},
		{"unknown rotation type", rt("sometimes", "expiring", 100, 50, false), "refresh_token.rotation_type"},
		{"refresh token without rotation_type", map[string]any{"refresh_token": map[string]any{"expiration_type": "expiring"}}, "refresh_token"},
		{"ip header trust for a public client", map[string]any{"token_endpoint_auth_method": "none", "grant_types": []string{"refresh_token"},
			"is_token_endpoint_ip_header_trusted": true}, "is_token_endpoint_ip_header_trusted"},
		{"client credentials for a public client", map[string]any{"token_endpoint_auth_method": "none",
			"grant_types": []string{"client_credentials"}}, "grant_types"},
		{"unknown grant type", map[string]any{"grant_types": []string{"password", "magic"}}, "grant_types"},
		{"unknown auth method", map[string]any{"token_endpoint_auth_method": "private_key"}, "token_endpoint_auth_method"},
		{"empty name", map[string]any{"name": " "}, "name"},
		{"name with markup", map[string]any{"name": "<b>x</b>"}, "name"},
		{"ID token lifetime zero", map[string]any{"jwt_configuration": map[string]any{"lifetime_in_seconds": 0}}, "jwt_configuration.lifetime_in_seconds"},
		{"unknown ID token alg", map[string]any{"jwt_configuration": map[string]any{"alg": "none"}}, "jwt_configuration.alg"},
		{"too many metadata keys", map[string]any{"client_metadata": func() map[string]string {
			m := map[string]string{}
			for i := range 11 {
				m[fmt.Sprint("k", i)] = "v"
			}
			return m
		}()}, "client_metadata"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			before := e.do(t, "GET", path, nil, 200).body
			r := e.call(t, adminToken, "PATCH", path, tt.body)
			r.wantError(t, http.StatusBadRequest, "invalid_body", "")
			if m := str(t, r.obj(t), "message"); !regexp.MustCompile(`on property ` + regexp.QuoteMeta(tt.prop) + `\.$`).MatchString(m) {
				t.Errorf("message %q does not name %s", m, tt.prop)
			}
			if after := e.do(t, "GET", path, nil, 200).body; string(after) != string(before) {
				t.Errorf("refused PATCH changed the client")
			}
		})
	}
}

func TestListClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		appType := map[bool]string{true: "spa", false: "regular_web"}[i%2 == 0]
		e.do(t, "POST", "/api/v2/clients", map[string]any{"name": fmt.Sprint("app", i), "app_type": appType,
			"is_first_party": i != 4}, http.StatusCreated)
	}
	names := func(l []any) []string {
		out := []string{}
		for _, c := range l {
			out = append(out, c.(map[string]any)["name"].(string))
		}
		return out
	}
	tests := []struct {
		query string
		want  string
	}{
		{"", `["app0","app1","app2","app3","app4"]`},
		{"?page=1&per_page=2", `["app2","app3"]`},
		{"?page=3&per_page=2", `[]`},
		{"?app_type=spa", `["app0","app2","app4"]`},
		{"?app_type=regular_web,native", `["app1","app3"]`},
		{"?is_first_party=false", `["app4"]`},
		{"?app_type=spa&is_first_party=true", `["app0","app2"]`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			jsonEqual(t, names(e.do(t, "GET", "/api/v2/clients"+tt.query, nil, 200).list(t)), tt.want)
		})
	}
	t.Run("include_totals", func(t *testing.T) {
		m := e.do(t, "GET", "/api/v2/clients?include_totals=true&page=1&per_page=2", nil, 200).obj(t)
		if m["start"] != 2.0 || m["limit"] != 2.0 || m["length"] != 2.0 || m["total"] != 5.0 {
			t.Errorf("totals %v", m)
		}
		jsonEqual(t, names(m["clients"].([]any)), `["app2","app3"]`)
	})
	t.Run("checkpoint paging", func(t *testing.T) {
		var all []string
		next := ""
		for range 5 {
			m := e.do(t, "GET", "/api/v2/clients?take=2&from="+next, nil, 200).obj(t)
			all = append(all, names(m["clients"].([]any))...)
			n, ok := m["next"].(string)
			if !ok {
				break
			}
			next = n
		}
		jsonEqual(t, all, `["app0","app1","app2","app3","app4"]`)
	})
	t.Run("fields", func(t *testing.T) {
		l := e.do(t, "GET", "/api/v2/clients?fields=name,app_type&per_page=1", nil, 200).list(t)
		jsonEqual(t, l, `[{"name":"app0","app_type":"spa"}]`)
		l = e.do(t, "GET", "/api/v2/clients?fields=client_secret,callbacks,grant_types&include_fields=false&per_page=1", nil, 200).list(t)
		c := l[0].(map[string]any)
		if _, ok := c["callbacks"]; ok || c["name"] != "app0" {
			t.Errorf("excluded fields still shown: %v", c)
		}
	})
}

func TestDeleteClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := str(t, e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "app"}, 201).obj(t), "client_id")
	e.do(t, "POST", "/api/v2/resource-servers", map[string]any{"identifier": "https://api"}, 201)
	e.do(t, "POST", "/api/v2/client-grants", map[string]any{"client_id": id, "audience": "https://api", "scope": []string{}}, 201)

	r := e.do(t, "DELETE", "/api/v2/clients/"+id, nil, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Errorf("204 with body %q", r.body)
	}
	e.call(t, adminToken, "GET", "/api/v2/clients/"+id, nil).wantError(t, 404, "inexistent_client", "The client does not exist")
	e.call(t, adminToken, "DELETE", "/api/v2/clients/"+id, nil).wantError(t, 404, "inexistent_client", "")
	if l := e.do(t, "GET", "/api/v2/client-grants?client_id="+id, nil, 200).list(t); len(l) != 0 {
		t.Errorf("grants of a deleted client remain: %v", l)
	}
}
