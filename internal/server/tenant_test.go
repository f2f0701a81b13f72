package server_test

import (
	"net/url"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestTenantDefaultsRealmAndHS256IDTokens covers the tenant's
// default_audience, the password-realm grant, and ID tokens signed with the
// client secret.
func TestTenantDefaultsRealmAndHS256IDTokens(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()

	// No audience in the request: the tenant's default_audience applies.
	e.API("PATCH", "/tenants/settings", map[string]any{"default_audience": tn.API}, 200)
	status, body := e.PasswordGrant(tn, url.Values{"audience": {""}, "scope": {"openid"}})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	if aud := claimsOf(t, body["access_token"].(string))["aud"].([]any); aud[0] != tn.API {
		t.Errorf("aud with default_audience = %v", aud)
	}

	// password-realm picks the connection by name, default directory or not.
	e.API("PATCH", "/tenants/settings", map[string]any{"default_directory": ""}, 200)
	status, body = e.PasswordGrant(tn, url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {tn.Connection}})
	if status != 200 || claimsOf(t, body["access_token"].(string))["gty"] != "password" {
		t.Fatalf("password-realm: %d %v", status, body)
	}

	// jwt_configuration.alg HS256: the ID token is signed with the client secret.
	e.API("PATCH", "/clients/"+tn.ClientID, map[string]any{"jwt_configuration": map[string]any{"alg": "HS256", "lifetime_in_seconds": 600}}, 200)
	status, body = e.PasswordGrant(tn, url.Values{"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {tn.Connection}})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	idt, err := jwt.ParseSigned(body["id_token"].(string), []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := idt.Claims([]byte(tn.ClientSecret), &c); err != nil {
		t.Fatalf("HS256 ID token does not verify with the client secret: %v", err)
	}
	if c.Expiry.Time().Sub(c.IssuedAt.Time()).Seconds() != 600 || !c.Audience.Contains(tn.ClientID) {
		t.Fatalf("claims = %+v", c)
	}
}
