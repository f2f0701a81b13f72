package database_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The three refusals of a password grant (unknown user, wrong password, a
// stored hash in no known format) answer the same status, body and
// headers, over real HTTP.
func TestRefusalsLookAlike(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	broken := e.API("POST", "/users", map[string]any{
		"connection": tn.Connection, "email": "broken@example.com", "password": tn.Password,
	}, 201)["user_id"].(string)
	if _, err := e.App.Store.UpdateUser(context.Background(), broken, func(u *store.User) error {
		u.PasswordHash = "$2a$10$truncated"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	importedMD5 := e.API("POST", "/users", map[string]any{
		"connection": tn.Connection, "email": "md5@example.com", "password": tn.Password,
	}, 201)["user_id"].(string)
	md5Hash, err := passwords.ImportCustomHash([]byte(`{"algorithm":"md5","hash":{"value":"00112233445566778899aabbccddeeff","encoding":"hex"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Store.UpdateUser(context.Background(), importedMD5, func(u *store.User) error {
		u.PasswordHash = md5Hash
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		status  int
		body    map[string]any
		headers http.Header
	}
	refuse := func(username, password string) answer {
		form := url.Values{
			"grant_type": {"password"}, "username": {username}, "password": {password},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}, "scope": {"openid"},
		}
		req, _ := http.NewRequest("POST", e.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		status, body, h := e.Do(req)
		// Headers that differ on every response, whatever it says.
		for _, k := range []string{"Date", "X-Request-Id", "Content-Length"} {
			h.Del(k)
		}
		return answer{status, body, h}
	}
	wrong := refuse(tn.Username, "not the password")
	want := map[string]any{"error": "invalid_grant", "error_description": "Wrong email or password."}
	if wrong.status != 403 || !reflect.DeepEqual(wrong.body, want) {
		t.Fatalf("wrong password: %d %v", wrong.status, wrong.body)
	}
	for _, tt := range []struct{ name, username, password string }{
		{"unknown user", "nobody@example.com", tn.Password},
		{"malformed stored hash, right password", "broken@example.com", tn.Password},
		{"malformed stored hash, wrong password", "broken@example.com", "not the password"},
		{"imported md5 hash, wrong password", "md5@example.com", "not the password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := refuse(tt.username, tt.password)
			if got.status != wrong.status || !reflect.DeepEqual(got.body, wrong.body) {
				t.Errorf("%d %v, want %d %v as for a wrong password", got.status, got.body, wrong.status, wrong.body)
			}
			if !reflect.DeepEqual(got.headers, wrong.headers) {
				t.Errorf("headers %v, want %v as for a wrong password", got.headers, wrong.headers)
			}
		})
	}
}
