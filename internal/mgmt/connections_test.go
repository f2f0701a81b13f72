package mgmt

import (
	"net/http"
	"regexp"
	"testing"
)

func TestCreateConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.do(t, "POST", "/api/v2/connections", map[string]any{"name": "Username-Password-Authentication", "strategy": "auth0",
		"options":         map[string]any{"passwordPolicy": "good", "requires_username": true, "mfa": map[string]any{"active": true}},
		"enabled_clients": []string{"c1", "c2", "c1"}}, http.StatusCreated).obj(t)
	if !regexp.MustCompile(`^con_[A-Za-z0-9]{16}$`).MatchString(str(t, c, "id")) {
		t.Errorf("id %v", c["id"])
	}
	jsonEqual(t, c["realms"], `["Username-Password-Authentication"]`)
	jsonEqual(t, c["enabled_clients"], `["c1","c2"]`)
	jsonEqual(t, c["options"], `{"passwordPolicy":"good","requires_username":true,"mfa":{"active":true}}`)
	if c["strategy"] != "auth0" || c["is_domain_connection"] != false {
		t.Errorf("connection %v", c)
	}
	ad := e.do(t, "POST", "/api/v2/connections", map[string]any{"name": "corp-ldap", "strategy": "ad", "realms": []string{"corp"},
		"display_name": "Corp", "metadata": map[string]string{"k": "v"}}, 201).obj(t)
	jsonEqual(t, ad["realms"], `["corp"]`)
	jsonEqual(t, ad["options"], `{}`)

	errs := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"duplicate name", map[string]any{"name": "corp-ldap", "strategy": "auth0"}, 409, "connection_conflict"},
		{"missing name", map[string]any{"strategy": "auth0"}, 400, "invalid_body"},
		{"missing strategy", map[string]any{"name": "x"}, 400, "invalid_body"},
		{"unsupported strategy", map[string]any{"name": "gh", "strategy": "github"}, 400, "invalid_body"},
		{"name with underscore", map[string]any{"name": "my_db", "strategy": "auth0"}, 400, "invalid_body"},
		{"name ending in a dash", map[string]any{"name": "db-", "strategy": "auth0"}, 400, "invalid_body"},
		{"unknown password policy", map[string]any{"name": "db", "strategy": "auth0", "options": map[string]any{"passwordPolicy": "strong"}}, 400, "invalid_body"},
		{"options not an object", map[string]any{"name": "db", "strategy": "auth0", "options": []int{1}}, 400, "invalid_body"},
		{"min_length above 72", map[string]any{"name": "db", "strategy": "auth0",
			"options": map[string]any{"password_complexity_options": map[string]any{"min_length": 100}}}, 400, "invalid_body"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, adminToken, "POST", "/api/v2/connections", tt.body).wantError(t, tt.status, tt.code, "")
		})
	}
}

func TestListConnections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "db-one", nil)
	e.do(t, "POST", "/api/v2/connections", map[string]any{"name": "ldap", "strategy": "ad"}, 201)
	e.seedDB(t, "db-two", nil)
	names := func(l []any) []string {
		out := []string{}
		for _, c := range l {
			out = append(out, c.(map[string]any)["name"].(string))
		}
		return out
	}
	for _, tt := range []struct{ query, want string }{
		{"", `["db-one","ldap","db-two"]`},
		{"?strategy=auth0", `["db-one","db-two"]`},
		{"?strategy=ad", `["ldap"]`},
		{"?strategy=auth0&strategy=ad", `["db-one","ldap","db-two"]`},
		{"?name=db-two", `["db-two"]`},
		{"?name=db-two&strategy=ad", `[]`},
		{"?per_page=1&page=1", `["ldap"]`},
	} {
		t.Run(tt.query, func(t *testing.T) {
			jsonEqual(t, names(e.do(t, "GET", "/api/v2/connections"+tt.query, nil, 200).list(t)), tt.want)
		})
	}
	m := e.do(t, "GET", "/api/v2/connections?fields=name&include_totals=true", nil, 200).obj(t)
	jsonEqual(t, m["connections"], `[{"name":"db-one"},{"name":"ldap"},{"name":"db-two"}]`)
}

func TestUpdateConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.seedDB(t, "db", map[string]any{"passwordPolicy": "low", "brute_force_protection": true})
	path := "/api/v2/connections/" + id

	c := e.do(t, "PATCH", path, map[string]any{"options": map[string]any{"passwordPolicy": "fair"}, "display_name": "DB"}, 200).obj(t)
	jsonEqual(t, c["options"], `{"passwordPolicy":"fair"}`)
	if c["display_name"] != "DB" || c["name"] != "db" {
		t.Errorf("connection %v", c)
	}
	e.do(t, "PATCH", path, map[string]any{"name": "db", "strategy": "auth0"}, 200)
	e.call(t, adminToken, "PATCH", path, map[string]any{"name": "renamed"}).wantError(t, 400, "invalid_body", "")
	e.call(t, adminToken, "PATCH", path, map[string]any{"strategy": "ad"}).wantError(t, 400, "invalid_body", "")
	e.call(t, adminToken, "PATCH", path, map[string]any{"options": map[string]any{"passwordPolicy": 1}}).wantError(t, 400, "invalid_body", "")
	e.call(t, adminToken, "PATCH", "/api/v2/connections/con_nope", map[string]any{}).
		wantError(t, 404, "inexistent_connection", "The connection does not exist")
	e.call(t, adminToken, "GET", "/api/v2/connections/con_nope", nil).wantError(t, 404, "inexistent_connection", "")
	if got := e.do(t, "GET", path, nil, 200).obj(t); got["display_name"] != "DB" {
		t.Errorf("GET %v", got)
	}
}

func TestConnectionClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.seedDB(t, "db", nil)
	path := "/api/v2/connections/" + id + "/clients"

	e.do(t, "PATCH", path, []map[string]any{{"client_id": "a", "status": true}, {"client_id": "b", "status": true},
		{"client_id": "c", "status": true}}, http.StatusNoContent)
	e.do(t, "PATCH", path, []map[string]any{{"client_id": "b", "status": false}, {"client_id": "a", "status": true}}, http.StatusNoContent)
	jsonEqual(t, e.do(t, "GET", path, nil, 200).obj(t), `{"clients":[{"client_id":"c"},{"client_id":"a"}]}`)

	first := e.do(t, "GET", path+"?take=1", nil, 200).obj(t)
	jsonEqual(t, first["clients"], `[{"client_id":"c"}]`)
	next := str(t, first, "next")
	jsonEqual(t, e.do(t, "GET", path+"?take=1&from="+next, nil, 200).obj(t), `{"clients":[{"client_id":"a"}]}`)

	conn := e.do(t, "GET", "/api/v2/connections/"+id, nil, 200).obj(t)
	jsonEqual(t, conn["enabled_clients"], `["c","a"]`)

	e.call(t, adminToken, "PATCH", path, []map[string]any{{"client_id": "a"}}).wantError(t, 400, "invalid_body", "")
	e.call(t, adminToken, "PATCH", path, map[string]any{"client_id": "a", "status": true}).wantError(t, 400, "invalid_body", "")
	e.call(t, adminToken, "GET", "/api/v2/connections/con_nope/clients", nil).wantError(t, 404, "inexistent_connection", "")
}

func TestDeleteConnectionDeletesItsUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.seedDB(t, "db", nil)
	e.seedDB(t, "other", nil)
	u := e.seedUser(t, map[string]any{"connection": "db", "email": "a@example.com", "password": "x"})
	kept := e.seedUser(t, map[string]any{"connection": "other", "email": "a@example.com", "password": "x"})

	e.do(t, "DELETE", "/api/v2/connections/"+id, nil, http.StatusNoContent)
	e.call(t, adminToken, "GET", "/api/v2/connections/"+id, nil).wantError(t, 404, "inexistent_connection", "")
	e.call(t, adminToken, "GET", "/api/v2/users/"+userPath(t, u), nil).wantError(t, 404, "inexistent_user", "")
	e.do(t, "GET", "/api/v2/users/"+userPath(t, kept), nil, 200)
	e.call(t, adminToken, "DELETE", "/api/v2/connections/"+id, nil).wantError(t, 404, "inexistent_connection", "")
}

func TestDeleteConnectionUserByEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.seedDB(t, "db", nil)
	u := e.seedUser(t, map[string]any{"connection": "db", "email": "a@example.com", "password": "x"})
	e.call(t, adminToken, "DELETE", "/api/v2/connections/"+id+"/users", nil).wantError(t, 400, "invalid_query_string", "")
	e.call(t, adminToken, "DELETE", "/api/v2/connections/"+id+"/users?email=b@example.com", nil).wantError(t, 404, "inexistent_user", "")
	e.do(t, "DELETE", "/api/v2/connections/"+id+"/users?email=A@example.com", nil, http.StatusNoContent)
	e.call(t, adminToken, "GET", "/api/v2/users/"+userPath(t, u), nil).wantError(t, 404, "inexistent_user", "")
}
