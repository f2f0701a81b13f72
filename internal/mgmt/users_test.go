package mgmt

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// userPath is the URL-encoded user_id, as SDKs send it (auth0%7C...).
func userPath(t *testing.T, u map[string]any) string {
	t.Helper()
	return url.PathEscape(str(t, u, "user_id"))
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "Username-Password-Authentication", nil)
	u := e.seedUser(t, map[string]any{"connection": "Username-Password-Authentication", "email": "Jane.Doe@Example.com",
		"password": "secret pw", "user_metadata": map[string]any{"lang": "en"}})

	id := str(t, u, "user_id")
	if !regexp.MustCompile(`^auth0\|[0-9a-f]{24}$`).MatchString(id) {
		t.Errorf("user_id %q", id)
	}
	sum := md5.Sum([]byte("jane.doe@example.com"))
	wantPicture := "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=480&r=pg&d=" +
		url.QueryEscape("https://cdn.auth0.com/avatars/ja.png")
	jsonEqual(t, u, `{"user_id":"`+id+`","email":"jane.doe@example.com","email_verified":false,
		"name":"jane.doe@example.com","nickname":"jane.doe","picture":"`+wantPicture+`",
		"identities":[{"connection":"Username-Password-Authentication","user_id":"`+strings.TrimPrefix(id, "auth0|")+`","provider":"auth0","isSocial":false}],
		"user_metadata":{"lang":"en"},
		"created_at":"2024-05-06T07:08:09.123Z","updated_at":"2024-05-06T07:08:09.123Z"}`)

	stored, err := e.store.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := e.hasher.Verify(stored.PasswordHash, "secret pw"); !ok || err != nil {
		t.Errorf("stored hash does not verify the password: %v", err)
	}
	if stored.ConnectionID == "" || stored.Connection != "Username-Password-Authentication" {
		t.Errorf("stored connection %q %q", stored.ConnectionID, stored.Connection)
	}
	got := e.do(t, "GET", "/api/v2/users/"+userPath(t, u), nil, 200)
	if strings.Contains(string(got.body), "password") || strings.Contains(string(got.body), stored.PasswordHash) {
		t.Errorf("user JSON shows password data: %s", got.body)
	}

	e.call(t, adminToken, "POST", "/api/v2/users", map[string]any{"connection": "Username-Password-Authentication",
		"email": "JANE.DOE@example.com", "password": "x"}).wantError(t, http.StatusConflict, "auth0_idp_error", "The user already exists.")
}

func TestCreateUserWithUsernameAndCustomID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "users", map[string]any{"requires_username": true, "validation": map[string]any{"username": map[string]int{"min": 3, "max": 20}}})
	// Auth0's recorded request and answer.
	u := e.seedUser(t, map[string]any{"user_id": "testaccuser", "connection": "users", "email": "testaccuser@acceptance.test.com",
		"username": "testaccuser", "password": "passpass$12$12"})
	if u["user_id"] != "auth0|testaccuser" || u["username"] != "testaccuser" || u["nickname"] != "testaccuser" ||
		u["name"] != "testaccuser@acceptance.test.com" {
		t.Errorf("user %v", u)
	}
	jsonEqual(t, u["identities"], `[{"user_id":"testaccuser","connection":"users","provider":"auth0","isSocial":false}]`)
	e.do(t, "GET", "/api/v2/users/auth0%7Ctestaccuser", nil, 200)
	e.do(t, "GET", "/api/v2/users/auth0|testaccuser", nil, 200)

	noEmail := e.seedUser(t, map[string]any{"connection": "users", "username": "loner", "password": "x"})
	if noEmail["name"] != "loner" || noEmail["nickname"] != "loner" {
		t.Errorf("username-only user %v", noEmail)
	}
	e.call(t, adminToken, "POST", "/api/v2/users", map[string]any{"user_id": "auth0|testaccuser", "connection": "users",
		"username": "someoneelse", "password": "x"}).wantError(t, 409, "auth0_idp_error", "The user already exists.")
	e.call(t, adminToken, "POST", "/api/v2/users", map[string]any{"connection": "users", "username": "TESTACCUSER", "password": "x"}).
		wantError(t, 409, "auth0_idp_error", "")
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "db", map[string]any{"passwordPolicy": "fair"})
	e.seedDB(t, "named", map[string]any{"requires_username": true})
	e.do(t, "POST", "/api/v2/connections", map[string]any{"name": "ldap", "strategy": "ad"}, 201)
	tests := []struct {
		name    string
		body    map[string]any
		status  int
		code    string
		message string
	}{
		{"missing connection", map[string]any{"email": "a@example.com", "password": "Passw0rdX"}, 400, "invalid_body",
			"Payload validation error: 'Missing required property: connection'."},
		{"unknown connection", map[string]any{"connection": "nope", "email": "a@example.com", "password": "Passw0rdX"}, 400,
			"inexistent_connection", "The connection does not exist."},
		{"not a database connection", map[string]any{"connection": "ldap", "email": "a@example.com", "password": "Passw0rdX"}, 400, "invalid_body", ""},
		{"missing email", map[string]any{"connection": "db", "password": "Passw0rdX"}, 400, "invalid_body",
			"Payload validation error: 'Missing required property: email'."},
		{"missing username", map[string]any{"connection": "named", "email": "a@example.com", "password": "x"}, 400, "invalid_body",
			"Payload validation error: 'Missing required property: username'."},
		{"username without requires_username", map[string]any{"connection": "db", "email": "a@example.com", "username": "abc",
			"password": "Passw0rdX"}, 400, "invalid_body", ""},
		{"username too long", map[string]any{"connection": "named", "username": strings.Repeat("u", 16), "password": "x"}, 400, "invalid_body", ""},
		{"username with a space", map[string]any{"connection": "named", "username": "a b", "password": "x"}, 400, "invalid_body", ""},
		{"missing password", map[string]any{"connection": "db", "email": "a@example.com"}, 400, "invalid_body",
			"Payload validation error: 'Missing required property: password'."},
		{"invalid email", map[string]any{"connection": "db", "email": "not an email", "password": "Passw0rdX"}, 400, "invalid_body", ""},
		{"email with display name", map[string]any{"connection": "db", "email": "A <a@example.com>", "password": "Passw0rdX"}, 400, "invalid_body", ""},
		{"weak password for fair", map[string]any{"connection": "db", "email": "a@example.com", "password": "password1"}, 400,
			"invalid_password", "PasswordStrengthError: Password is too weak"},
		{"password over 72 bytes", map[string]any{"connection": "db", "email": "a@example.com", "password": "Aa1" + strings.Repeat("x", 70)}, 400,
			"invalid_password", "PasswordStrengthError: Password is too long"},
		{"metadata of wrong type", map[string]any{"connection": "db", "email": "a@example.com", "password": "Passw0rdX", "app_metadata": []int{}}, 400,
			"invalid_body", "Payload validation error: 'Expected type object but found type array' on property app_metadata."},
		{"client_id is for updates", map[string]any{"connection": "db", "email": "a@example.com", "password": "Passw0rdX", "client_id": "x"}, 400, "invalid_body", ""},
		{"blank custom id", map[string]any{"connection": "db", "email": "a@example.com", "password": "Passw0rdX", "user_id": "auth0|"}, 400, "invalid_body", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, adminToken, "POST", "/api/v2/users", tt.body).wantError(t, tt.status, tt.code, tt.message)
		})
	}
	if l := e.do(t, "GET", "/api/v2/users", nil, 200).list(t); len(l) != 0 {
		t.Errorf("refused requests created users: %v", l)
	}
}

func TestPasswordPolicyOfTheConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		options  map[string]any
		password string
		ok       bool
		code     string
	}{
		{map[string]any{}, "a", true, ""},
		{map[string]any{"passwordPolicy": "low"}, "abcde", false, "invalid_password"},
		{map[string]any{"passwordPolicy": "low"}, "abcdef", true, ""},
		{map[string]any{"passwordPolicy": "fair"}, "abcdefg1", false, "invalid_password"},
		{map[string]any{"passwordPolicy": "fair"}, "Abcdefg1", true, ""},
		{map[string]any{"passwordPolicy": "good"}, "Abcdefg!", true, ""},
		{map[string]any{"passwordPolicy": "excellent"}, "Abcdefg!111", false, "invalid_password"},
		{map[string]any{"passwordPolicy": "excellent"}, "Abcdefg!12", true, ""},
		{map[string]any{"passwordPolicy": "low", "password_complexity_options": map[string]any{"min_length": 12}}, "abcdefghijk", false, "invalid_password"},
		{map[string]any{"password_dictionary": map[string]any{"enable": true, "dictionary": []string{"Gatehouse!"}}}, "gatehouse!", false, "invalid_password"},
		{map[string]any{"password_dictionary": map[string]any{"enable": true}}, "qwerty123", false, "invalid_password"},
		{map[string]any{"password_no_personal_info": map[string]any{"enable": true}}, "MyMarianne1", false, "invalid_password"},
		{map[string]any{"password_history": map[string]any{"enable": true, "size": 5}}, "x", true, ""},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s", tt.options, tt.password), func(t *testing.T) {
			name := fmt.Sprint("db", i)
			e.seedDB(t, name, tt.options)
			r := e.call(t, adminToken, "POST", "/api/v2/users", map[string]any{"connection": name,
				"email": "marianne@example.com", "password": tt.password})
			if tt.ok {
				if r.status != http.StatusCreated {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			r.wantError(t, http.StatusBadRequest, tt.code, "")
		})
	}
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "db", map[string]any{"passwordPolicy": "fair"})
	u := e.seedUser(t, map[string]any{"connection": "db", "email": "a@example.com", "password": "Passw0rdX",
		"app_metadata": map[string]any{"plan": "free", "roles": []string{"user"}}, "user_metadata": map[string]any{"theme": "dark"}})
	path := "/api/v2/users/" + userPath(t, u)

	t.Run("metadata is merged at the top level", func(t *testing.T) {
		e.advance(time.Second)
		got := e.do(t, "PATCH", path, map[string]any{"app_metadata": map[string]any{"plan": "pro", "roles": nil, "org": map[string]any{"id": 1}}}, 200).obj(t)
		jsonEqual(t, got["app_metadata"], `{"plan":"pro","org":{"id":1}}`)
		jsonEqual(t, got["user_metadata"], `{"theme":"dark"}`)
		if got["updated_at"] != "2024-05-06T07:08:10.123Z" || got["created_at"] != "2024-05-06T07:08:09.123Z" {
			t.Errorf("dates %v %v", got["created_at"], got["updated_at"])
		}
		got = e.do(t, "PATCH", path, map[string]any{"app_metadata": map[string]any{"org": map[string]any{"name": "x"}}}, 200).obj(t)
		jsonEqual(t, got["app_metadata"], `{"plan":"pro","org":{"name":"x"}}`)
		got = e.do(t, "PATCH", path, map[string]any{"user_metadata": map[string]any{"theme": nil}}, 200).obj(t)
		if _, ok := got["user_metadata"]; ok {
			t.Errorf("emptied user_metadata still shown: %v", got["user_metadata"])
		}
	})
	t.Run("profile fields", func(t *testing.T) {
		got := e.do(t, "PATCH", path, map[string]any{"blocked": true, "given_name": "Ann", "email_verified": true}, 200).obj(t)
		if got["blocked"] != true || got["given_name"] != "Ann" || got["email_verified"] != true || got["email"] != "a@example.com" {
			t.Errorf("user %v", got)
		}
	})
	t.Run("password change", func(t *testing.T) {
		e.call(t, adminToken, "PATCH", path, map[string]any{"password": "N3wPassword"}).wantError(t, 400, "invalid_body", "")
		e.call(t, adminToken, "PATCH", path, map[string]any{"password": "weakweak", "connection": "db"}).
			wantError(t, 400, "invalid_password", "PasswordStrengthError: Password is too weak")
		e.call(t, adminToken, "PATCH", path, map[string]any{"password": "N3wPassword", "connection": "other"}).wantError(t, 400, "invalid_body", "")
		e.call(t, adminToken, "PATCH", path, map[string]any{"password": "N3wPassword", "email": "b@example.com", "connection": "db"}).
			wantError(t, 400, "invalid_body", "")
		e.advance(time.Minute)
		got := e.do(t, "PATCH", path, map[string]any{"password": "N3wPassword", "connection": "db"}, 200).obj(t)
		if got["last_password_reset"] != "2024-05-06T07:09:10.123Z" {
			t.Errorf("last_password_reset %v", got["last_password_reset"])
		}
		stored, _ := e.store.GetUser(t.Context(), str(t, u, "user_id"))
		if ok, _, _ := e.hasher.Verify(stored.PasswordHash, "N3wPassword"); !ok {
			t.Error("new password does not verify")
		}
		if ok, _, _ := e.hasher.Verify(stored.PasswordHash, "Passw0rdX"); ok {
			t.Error("old password still verifies")
		}
	})
	t.Run("email change resets verification", func(t *testing.T) {
		got := e.do(t, "PATCH", path, map[string]any{"email": "New@Example.com", "connection": "db"}, 200).obj(t)
		if got["email"] != "new@example.com" || got["email_verified"] != false {
			t.Errorf("user %v", got)
		}
		other := e.seedUser(t, map[string]any{"connection": "db", "email": "other@example.com", "password": "Passw0rdX"})
		e.call(t, adminToken, "PATCH", "/api/v2/users/"+userPath(t, other), map[string]any{"email": "new@example.com", "connection": "db"}).
			wantError(t, 409, "auth0_idp_error", "The user already exists.")
	})
	t.Run("metadata-only scope", func(t *testing.T) {
		tok := e.token("update:users_app_metadata")
		if r := e.call(t, tok, "PATCH", path, map[string]any{"app_metadata": map[string]any{"x": 1}}); r.status != 200 {
			t.Errorf("metadata update refused: %d %s", r.status, r.body)
		}
		e.call(t, tok, "PATCH", path, map[string]any{"app_metadata": map[string]any{"x": 2}, "blocked": false}).
			wantError(t, 403, "insufficient_scope", "Insufficient scope, expected any of: update:users")
	})
	t.Run("refused changes", func(t *testing.T) {
		e.call(t, adminToken, "PATCH", path, map[string]any{"user_id": "auth0|other"}).wantError(t, 400, "invalid_body", "")
		e.call(t, adminToken, "PATCH", path, map[string]any{"username": "abc", "connection": "db"}).wantError(t, 400, "invalid_body", "")
		e.call(t, adminToken, "PATCH", path, map[string]any{"app_metadata": nil}).wantError(t, 400, "invalid_body", "")
		e.call(t, adminToken, "PATCH", "/api/v2/users/auth0%7Cnope", map[string]any{"blocked": true}).
			wantError(t, 404, "inexistent_user", "The user does not exist.")
	})
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "db", nil)
	e.seedDB(t, "other", nil)
	var ids []string
	for i := range 5 {
		conn := map[bool]string{true: "db", false: "other"}[i < 3]
		u := e.seedUser(t, map[string]any{"connection": conn, "email": fmt.Sprintf("user%d@example.com", i), "password": "x"})
		ids = append(ids, str(t, u, "user_id"))
	}
	emails := func(l []any) []string {
		out := []string{}
		for _, u := range l {
			out = append(out, u.(map[string]any)["email"].(string))
		}
		return out
	}
	tests := []struct{ query, want string }{
		{"", `["user0@example.com","user1@example.com","user2@example.com","user3@example.com","user4@example.com"]`},
		{"?per_page=2&page=2", `["user4@example.com"]`},
		{"?connection=other", `["user3@example.com","user4@example.com"]`},
		{"?q=" + url.QueryEscape(`email:"USER1@example.com"`), `["user1@example.com"]`},
		{"?q=" + url.QueryEscape(`email:user1@example.com AND identities.connection:"other"`), `[]`},
		{"?q=" + url.QueryEscape(`identities.connection:"db"`) + "&search_engine=v3&sort=created_at:1", `["user0@example.com","user1@example.com","user2@example.com"]`},
		{"?q=" + url.QueryEscape(`user_id:"`+ids[3]+`"`), `["user3@example.com"]`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			jsonEqual(t, emails(e.do(t, "GET", "/api/v2/users"+tt.query, nil, 200).list(t)), tt.want)
		})
	}
	t.Run("include_totals", func(t *testing.T) {
		m := e.do(t, "GET", "/api/v2/users?include_totals=true&per_page=2&page=1&connection=db", nil, 200).obj(t)
		if m["start"] != 2.0 || m["limit"] != 2.0 || m["length"] != 1.0 || m["total"] != 3.0 {
			t.Errorf("totals %v", m)
		}
		jsonEqual(t, emails(m["users"].([]any)), `["user2@example.com"]`)
	})
	t.Run("fields", func(t *testing.T) {
		l := e.do(t, "GET", "/api/v2/users?fields=user_id,email&per_page=1", nil, 200).list(t)
		jsonEqual(t, l, `[{"user_id":"`+ids[0]+`","email":"user0@example.com"}]`)
		one := e.do(t, "GET", "/api/v2/users/"+url.PathEscape(ids[0])+"?fields=identities,picture&include_fields=false", nil, 200).obj(t)
		if _, ok := one["identities"]; ok || one["email"] != "user0@example.com" {
			t.Errorf("single user field exclusion: %v", one)
		}
	})
	for _, q := range []string{"q=" + url.QueryEscape(`name:"x"`), "q=" + url.QueryEscape(`email:*@example.com`),
		"q=" + url.QueryEscape(`email:"a" OR email:"b"`), "page=10&per_page=100", "sort=email", "per_page=200"} {
		t.Run("refused "+q, func(t *testing.T) {
			e.call(t, adminToken, "GET", "/api/v2/users?"+q, nil).wantError(t, 400, "invalid_query_string", "")
		})
	}
}

func TestUsersByEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "db", nil)
	e.seedDB(t, "other", nil)
	e.seedUser(t, map[string]any{"connection": "db", "email": "same@example.com", "password": "x"})
	e.seedUser(t, map[string]any{"connection": "other", "email": "same@example.com", "password": "x"})
	e.seedUser(t, map[string]any{"connection": "db", "email": "different@example.com", "password": "x"})
	l := e.do(t, "GET", "/api/v2/users-by-email?email=SAME@example.com", nil, 200).list(t)
	if len(l) != 2 {
		t.Fatalf("%d users", len(l))
	}
	l = e.do(t, "GET", "/api/v2/users-by-email?email=same@example.com&fields=email", nil, 200).list(t)
	jsonEqual(t, l, `[{"email":"same@example.com"},{"email":"same@example.com"}]`)
	jsonEqual(t, e.do(t, "GET", "/api/v2/users-by-email?email=none@example.com", nil, 200).list(t), `[]`)
	e.call(t, adminToken, "GET", "/api/v2/users-by-email", nil).wantError(t, 400, "invalid_query_string", "")
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDB(t, "db", nil)
	u := e.seedUser(t, map[string]any{"connection": "db", "email": "a@example.com", "password": "x"})
	e.do(t, "DELETE", "/api/v2/users/"+userPath(t, u), nil, http.StatusNoContent)
	e.call(t, adminToken, "GET", "/api/v2/users/"+userPath(t, u), nil).wantError(t, 404, "inexistent_user", "The user does not exist.")
	e.call(t, adminToken, "DELETE", "/api/v2/users/"+userPath(t, u), nil).wantError(t, 404, "inexistent_user", "")
}
