package ad_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// A login through an ad connection whose directory does not listen answers
// that the connection cannot be reached (503 temporarily_unavailable), not
// a server error and not a wrong password.
func TestLoginThroughADIsUnavailable(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	e.API("POST", "/connections", map[string]any{"name": "corp-ldap", "strategy": "ad",
		"enabled_clients": []string{tn.ClientID},
		"options":         map[string]any{"url": "ldap://127.0.0.1:1", "base_dn": "dc=example,dc=com"}}, 201)
	status, body := e.PostForm("/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"corp-ldap"},
		"username": {"ann"}, "password": {"pw"}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	})
	if status != 503 || body["error"] != "temporarily_unavailable" {
		t.Errorf("login through ad: %d %v, want 503 temporarily_unavailable", status, body)
	}
}
