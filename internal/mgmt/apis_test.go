package mgmt

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestCreateResourceServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rs := e.do(t, "POST", "/api/v2/resource-servers", map[string]any{"identifier": "https://api.example"}, http.StatusCreated).obj(t)
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(str(t, rs, "id")) {
		t.Errorf("id %v", rs["id"])
	}
	delete(rs, "id")
	// Auth0's recorded answer, plus the scopes and dialect it also returns.
	jsonEqual(t, rs, `{"identifier":"https://api.example","allow_offline_access":false,
		"skip_consent_for_verifiable_first_party_clients":false,
		"subject_type_authorization":{"client":{"policy":"require_client_grant"},"user":{"policy":"allow_all"}},
		"token_lifetime":86400,"token_lifetime_for_web":7200,"signing_alg":"RS256",
		"scopes":[],"enforce_policies":false,"token_dialect":"access_token"}`)
	stored, err := e.store.ResourceServerByIdentifier(t.Context(), "https://api.example")
	if err != nil || len(stored.SigningSecret) < 32 {
		t.Fatalf("stored API without a usable signing secret: %v", err)
	}

	e.call(t, adminToken, "POST", "/api/v2/resource-servers", map[string]any{"identifier": "https://api.example"}).
		wantError(t, http.StatusConflict, "resource_server_conflict", "")
	e.call(t, adminToken, "POST", "/api/v2/resource-servers", map[string]any{"name": "x"}).
		wantError(t, 400, "invalid_body", "Payload validation error: 'Missing required property: identifier'.")
	e.call(t, adminToken, "POST", "/api/v2/resource-servers", map[string]any{"identifier": "https://x", "is_system": true}).
		wantError(t, 400, "invalid_body", "Payload validation error: 'Additional properties not allowed: is_system'.")

	t.Run("web lifetime follows a shorter token lifetime", func(t *testing.T) {
		rs := e.do(t, "POST", "/api/v2/resource-servers", map[string]any{"identifier": "short", "token_lifetime": 600}, 201).obj(t)
		if rs["token_lifetime_for_web"] != 600.0 {
			t.Errorf("token_lifetime_for_web %v", rs["token_lifetime_for_web"])
		}
	})
}

func TestResourceServerByIDOrIdentifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const identifier = "https://api.example/v1?x=y"
	id := str(t, e.do(t, "POST", "/api/v2/resource-servers", map[string]any{"identifier": identifier, "name": "API",
		"scopes": []map[string]string{{"value": "read:things", "description": "Read"}}}, 201).obj(t), "id")
	for _, ref := range []string{id, url.PathEscape(identifier), url.QueryEscape(identifier)} {
		t.Run(ref, func(t *testing.T) {
			rs := e.do(t, "GET", "/api/v2/resource-servers/"+ref, nil, 200).obj(t)
			if rs["id"] != id || rs["identifier"] != identifier {
				t.Errorf("got %v", rs)
			}
		})
	}
	e.call(t, adminToken, "GET", "/api/v2/resource-servers/nope", nil).
		wantError(t, 404, "inexistent_resource_server", "The resource server does not exist")

	t.Run("update", func(t *testing.T) {
		rs := e.do(t, "PATCH", "/api/v2/resource-servers/"+url.PathEscape(identifier),
			map[string]any{"signing_alg": "HS256", "allow_offline_access": true}, 200).obj(t)
		if rs["signing_alg"] != "HS256" || rs["allow_offline_access"] != true || rs["name"] != "API" {
			t.Errorf("got %v", rs)
		}
		if s, _ := rs["signing_secret"].(string); len(s) < 32 {
			t.Errorf("HS256 API shows signing_secret %q", s)
		}
		jsonEqual(t, rs["scopes"], `[{"value":"read:things","description":"Read"}]`)
	})
	invalid := []struct {
		name string
		body map[string]any
	}{
		{"identifier change", map[string]any{"identifier": "https://other"}},
		{"unknown signing alg", map[string]any{"signing_alg": "none"}},
		{"token lifetime above 30 days", map[string]any{"token_lifetime": 2592001}},
		{"web lifetime above token lifetime", map[string]any{"token_lifetime": 100, "token_lifetime_for_web": 200}},
		{"short signing secret", map[string]any{"signing_secret": "tooshort"}},
		{"duplicate scopes", map[string]any{"scopes": []map[string]string{{"value": "a"}, {"value": "a"}}}},
		{"scope with a space", map[string]any{"scopes": []map[string]string{{"value": "a b"}}}},
		{"unknown token dialect", map[string]any{"token_dialect": "jwt"}},
		{"subject_type_authorization not an object", map[string]any{"subject_type_authorization": "all"}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, adminToken, "PATCH", "/api/v2/resource-servers/"+id, tt.body).wantError(t, 400, "invalid_body", "")
		})
	}
	t.Run("identifier sent back unchanged is accepted", func(t *testing.T) {
		e.do(t, "PATCH", "/api/v2/resource-servers/"+id, map[string]any{"identifier": identifier, "token_lifetime": 3600}, 200)
	})
	t.Run("delete by identifier", func(t *testing.T) {
		e.do(t, "DELETE", "/api/v2/resource-servers/"+url.PathEscape(identifier), nil, http.StatusNoContent)
		e.call(t, adminToken, "GET", "/api/v2/resource-servers/"+id, nil).wantError(t, 404, "inexistent_resource_server", "")
	})
}

func TestSystemResourceServerIsReadOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sys := &store.ResourceServer{ID: "0123456789abcdef01234567", Name: "Auth0 Management API", Identifier: testIssuer + "api/v2/",
		IsSystem: true, SigningAlg: "RS256", SigningSecret: strings.Repeat("s", 32), TokenLifetime: 86400, TokenLifetimeForWeb: 7200,
		TokenDialect: "access_token", Scopes: []store.ResourceServerScope{{Value: "read:users"}}}
	if err := e.store.CreateResourceServer(t.Context(), sys); err != nil {
		t.Fatal(err)
	}
	ref := url.PathEscape(sys.Identifier)
	if rs := e.do(t, "GET", "/api/v2/resource-servers/"+ref, nil, 200).obj(t); rs["is_system"] != true {
		t.Errorf("is_system %v", rs["is_system"])
	}
	e.call(t, adminToken, "PATCH", "/api/v2/resource-servers/"+ref, map[string]any{"token_lifetime": 60}).
		wantError(t, http.StatusForbidden, "operation_not_supported", "")
	e.call(t, adminToken, "DELETE", "/api/v2/resource-servers/"+sys.ID, nil).
		wantError(t, http.StatusForbidden, "operation_not_supported", "")
	if got, _ := e.store.GetResourceServer(t.Context(), sys.ID); got == nil || got.TokenLifetime != 86400 {
		t.Errorf("system API changed: %+v", got)
	}
}

func TestListResourceServers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{"a", "b", "c"} {
		e.do(t, "POST", "/api/v2/resource-servers", map[string]any{"identifier": id}, 201)
	}
	m := e.do(t, "GET", "/api/v2/resource-servers?include_totals=true&per_page=2&page=1", nil, 200).obj(t)
	if m["total"] != 3.0 || m["start"] != 2.0 || m["length"] != 1.0 || m["limit"] != 2.0 {
		t.Errorf("totals %v", m)
	}
	if l := m["resource_servers"].([]any); len(l) != 1 || l[0].(map[string]any)["identifier"] != "c" {
		t.Errorf("page %v", l)
	}
}

func TestClientGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clientA := str(t, e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "a"}, 201).obj(t), "client_id")
	clientB := str(t, e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "b"}, 201).obj(t), "client_id")
	for _, id := range []string{"https://one", "https://two"} {
		e.do(t, "POST", "/api/v2/resource-servers", map[string]any{"identifier": id}, 201)
	}

	g := e.do(t, "POST", "/api/v2/client-grants", map[string]any{"client_id": clientA, "audience": "https://one",
		"scope": []string{"read:x", "write:x"}}, http.StatusCreated).obj(t)
	if !regexp.MustCompile(`^cgr_[A-Za-z0-9]{16}$`).MatchString(str(t, g, "id")) {
		t.Errorf("id %v", g["id"])
	}
	jsonEqual(t, g, `{"id":"`+g["id"].(string)+`","client_id":"`+clientA+`","audience":"https://one","scope":["read:x","write:x"]}`)
	e.do(t, "POST", "/api/v2/client-grants", map[string]any{"client_id": clientA, "audience": "https://two", "scope": []string{},
		"subject_type": "user"}, 201)
	e.do(t, "POST", "/api/v2/client-grants", map[string]any{"client_id": clientB, "audience": "https://one", "scope": []string{}}, 201)

	errs := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"duplicate", map[string]any{"client_id": clientA, "audience": "https://one", "scope": []string{}}, 409, "conflict"},
		{"unknown audience", map[string]any{"client_id": clientA, "audience": "https://nope", "scope": []string{}}, 404, "inexistent_resource_server"},
		{"unknown client", map[string]any{"client_id": "nope", "audience": "https://one", "scope": []string{}}, 404, "inexistent_client"},
		{"missing scope", map[string]any{"client_id": clientB, "audience": "https://two"}, 400, "invalid_body"},
		{"scope not a list", map[string]any{"client_id": clientB, "audience": "https://two", "scope": "read:x"}, 400, "invalid_body"},
		{"unknown subject type", map[string]any{"client_id": clientB, "audience": "https://two", "scope": []string{}, "subject_type": "robot"}, 400, "invalid_body"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, adminToken, "POST", "/api/v2/client-grants", tt.body).wantError(t, tt.status, tt.code, "")
		})
	}

	filters := []struct {
		query string
		n     int
	}{{"", 3}, {"?client_id=" + clientA, 2}, {"?audience=" + url.QueryEscape("https://one"), 2},
		{"?client_id=" + clientB + "&audience=" + url.QueryEscape("https://two"), 0}}
	for _, f := range filters {
		t.Run("list"+f.query, func(t *testing.T) {
			if l := e.do(t, "GET", "/api/v2/client-grants"+f.query, nil, 200).list(t); len(l) != f.n {
				t.Errorf("%d grants, want %d", len(l), f.n)
			}
		})
	}

	path := "/api/v2/client-grants/" + g["id"].(string)
	u := e.do(t, "PATCH", path, map[string]any{"scope": []string{"read:x"}}, 200).obj(t)
	jsonEqual(t, u["scope"], `["read:x"]`)
	if got := e.do(t, "GET", path, nil, 200).obj(t); got["client_id"] != clientA {
		t.Errorf("GET %v", got)
	}
	e.call(t, adminToken, "PATCH", path, map[string]any{"audience": "https://two"}).wantError(t, 400, "invalid_body", "")
	org := e.do(t, "PATCH", path, map[string]any{"organization_usage": "allow", "allow_any_organization": true}, 200).obj(t)
	if org["organization_usage"] != "allow" || org["allow_any_organization"] != true {
		t.Errorf("organization fields %v", org)
	}
	org = e.do(t, "PATCH", path, map[string]any{"organization_usage": nil, "allow_any_organization": nil}, 200).obj(t)
	if _, ok := org["organization_usage"]; ok {
		t.Errorf("organization_usage not cleared: %v", org)
	}
	if _, ok := org["allow_any_organization"]; ok {
		t.Errorf("allow_any_organization not cleared: %v", org)
	}
	e.call(t, adminToken, "PATCH", path, map[string]any{"organization_usage": "sometimes"}).wantError(t, 400, "invalid_body", "")
	e.do(t, "DELETE", path, nil, http.StatusNoContent)
	e.call(t, adminToken, "GET", path, nil).wantError(t, 404, "inexistent_client_grant", "")
	e.call(t, adminToken, "PATCH", path, map[string]any{"scope": []string{}}).wantError(t, 404, "inexistent_client_grant", "")

	t.Run("deleting an API deletes its grants", func(t *testing.T) {
		e.do(t, "DELETE", "/api/v2/resource-servers/"+url.PathEscape("https://two"), nil, 204)
		var grants []store.ClientGrant
		if err := json.Unmarshal(e.do(t, "GET", "/api/v2/client-grants", nil, 200).body, &grants); err != nil {
			t.Fatal(err)
		}
		for _, g := range grants {
			if g.Audience == "https://two" {
				t.Errorf("grant %s for a deleted API remains", g.ID)
			}
		}
	})
}
