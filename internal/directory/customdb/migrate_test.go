package customdb_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// loginScript is an Auth0 custom database login script that asks an old
// Auth0 tenant for the user with the password-realm grant and hands back
// the ID token's profile.
const loginScript = `function login(email, password, callback) {
  const request = require('request');
  request.post({
    url: configuration.OLD_TENANT + '/oauth/token',
    form: {
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm', realm: configuration.OLD_REALM,
      username: email, password: password, scope: 'openid profile email',
      client_id: configuration.OLD_CLIENT_ID, client_secret: configuration.OLD_CLIENT_SECRET
    },
    json: true
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 401 || response.statusCode === 403) {
      return callback(new WrongUsernameOrPasswordError(email, body.error_description));
    }
    if (response.statusCode !== 200) return callback(new Error('the old tenant answered ' + response.statusCode));
    const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
    callback(null, {
      user_id: claims.sub.replace('auth0|', ''), email: claims.email,
      email_verified: claims.email_verified, given_name: claims.given_name
    });
  });
}`

const getUserScript = `function getByEmail(email, callback) { callback(null); }`

// TestLazyMigrationFromAnOldTenant: a second gatehouse plays the old Auth0
// tenant. A connection in import mode migrates a user at the first login
// through its login script; the second login, and a wrong password for the
// migrated user, never reach the old tenant; an unmigrated user's wrong
// password is the script's WrongUsernameOrPasswordError; a script that
// cannot reach its store is "unavailable", never a wrong password.
func TestLazyMigrationFromAnOldTenant(t *testing.T) {
	t.Parallel()
	old := testenv.Start(t)
	oldTenant := old.SeedTenant()
	old.API("POST", "/users", map[string]any{"connection": oldTenant.Connection, "email": "bob@example.com", "password": "bob's old password 9Z!"}, 201)

	var calls atomic.Int64
	target, _ := url.Parse(old.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			calls.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	frontURL, _ := url.Parse(front.URL)

	e := testenv.Start(t)
	tn := e.SeedTenant()
	options := map[string]any{
		"enabledDatabaseCustomization": true,
		"import_mode":                  true,
		"customScripts":                map[string]string{"login": loginScript, "get_user": getUserScript},
		"configuration": map[string]string{
			"OLD_TENANT": front.URL, "OLD_REALM": oldTenant.Connection,
			"OLD_CLIENT_ID": oldTenant.ClientID, "OLD_CLIENT_SECRET": oldTenant.ClientSecret,
		},
		"allowed_hosts": []string{frontURL.Host},
	}
	conn := e.API("POST", "/connections", map[string]any{
		"name": "legacy-db", "strategy": "auth0", "enabled_clients": []string{tn.ClientID}, "options": options,
	}, 201)
	if got := conn["options"].(map[string]any); got["configuration"] != nil {
		t.Errorf("the configuration (secrets) is shown: %v", got["configuration"])
	}

	login := func(username, password string) (int, map[string]any) {
		return e.PostForm("/oauth/token", url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"legacy-db"},
			"username": {username}, "password": {password}, "scope": {"openid profile email"},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
		})
	}

	status, body := login(oldTenant.Username, oldTenant.Password)
	if status != 200 {
		t.Fatalf("first login: %d %v", status, body)
	}
	if calls.Load() != 1 {
		t.Fatalf("the old tenant was asked %d times at the first login, want 1", calls.Load())
	}
	id := claimsOf(t, body["id_token"].(string))
	if id["sub"] != oldTenant.UserID || id["email"] != oldTenant.Username {
		t.Errorf("migrated user's ID token = %v (old user %s)", id, oldTenant.UserID)
	}
	u, err := e.App.Store.GetUser(context.Background(), oldTenant.UserID)
	if err != nil || u.Connection != "legacy-db" || u.PasswordHash == "" || u.GivenName != "Ann" {
		t.Fatalf("migrated user = %+v, %v", u, err)
	}
	if strings.Contains(u.PasswordHash, oldTenant.Password) {
		t.Fatal("the password is stored in the clear")
	}

	if status, body := login(oldTenant.Username, oldTenant.Password); status != 200 {
		t.Fatalf("second login: %d %v", status, body)
	}
	if status, body := login(oldTenant.Username, "not the password"); status != 403 || body["error"] != "invalid_grant" || body["error_description"] != "Wrong email or password." {
		t.Fatalf("wrong password of a migrated user: %d %v", status, body)
	}
	if calls.Load() != 1 {
		t.Fatalf("the old tenant was asked %d times after the migration, want still 1", calls.Load())
	}

	if status, body := login("bob@example.com", "a wrong one"); status != 403 || body["error"] != "invalid_grant" || body["error_description"] != "Wrong email or password." {
		t.Fatalf("wrong password through the script: %d %v", status, body)
	}
	if calls.Load() != 2 {
		t.Fatalf("the old tenant was asked %d times, want 2", calls.Load())
	}

	// The old tenant's host no longer allowed: the script cannot reach it,
	// which is not a wrong password.
	options["allowed_hosts"] = []string{"other.example"}
	e.API("PATCH", "/connections/"+conn["id"].(string), map[string]any{"options": options}, 200)
	if status, body := login("bob@example.com", "bob's old password 9Z!"); status != 503 || body["error"] != "temporarily_unavailable" {
		t.Fatalf("unreachable user store: %d %v", status, body)
	}
	// The migrated user is not affected.
	if status, body := login(oldTenant.Username, oldTenant.Password); status != 200 {
		t.Fatalf("migrated user with the old tenant unreachable: %d %v", status, body)
	}

	// Bad scripts are refused when saved.
	bad := map[string]any{"enabledDatabaseCustomization": true, "customScripts": map[string]string{"login": "function login(email, password, callback) {"}}
	e.API("POST", "/connections", map[string]any{"name": "bad-db", "strategy": "auth0", "options": bad}, 400)
	e.API("POST", "/connections", map[string]any{"name": "bad-db", "strategy": "auth0", "options": map[string]any{"enabledDatabaseCustomization": true}}, 400)
}

// claimsOf decodes a JWT payload without verifying it.
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// Two custom database connections whose login scripts name the same
// user_id (Auth0's advice is to prefix ids per connection; these do not):
// the second connection's login is refused with 403 access_denied, never a
// server error, and never hands over the first connection's user.
func TestScriptUserIDOfAnotherConnection(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	script := `function login(email, password, callback) {
  callback(null, { user_id: 'shared-1', email: email });
}`
	for _, name := range []string{"legacy-a", "legacy-b"} {
		e.API("POST", "/connections", map[string]any{"name": name, "strategy": "auth0", "enabled_clients": []string{tn.ClientID},
			"options": map[string]any{"enabledDatabaseCustomization": true, "customScripts": map[string]string{"login": script}}}, 201)
	}
	login := func(realm string) (int, map[string]any) {
		return e.PostForm("/oauth/token", url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {realm},
			"username": {realm + "@example.com"}, "password": {"whatever 1A!"}, "scope": {"openid"},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
		})
	}
	if status, body := login("legacy-a"); status != 200 {
		t.Fatalf("login through legacy-a: %d %v", status, body)
	}
	if status, body := login("legacy-b"); status != 403 || body["error"] != "access_denied" {
		t.Errorf("login through legacy-b of legacy-a's user_id: %d %v, want 403 access_denied", status, body)
	}
	u, err := e.App.Store.GetUser(context.Background(), "auth0|shared-1")
	if err != nil || u.Connection != "legacy-a" || u.Email != "legacy-a@example.com" {
		t.Errorf("legacy-a's user: %+v (%v)", u, err)
	}
}
