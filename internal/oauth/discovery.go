package oauth

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/protocol"
)

// Discovery returns the /.well-known/openid-configuration handler for
// issuer (with trailing slash). It advertises only what gatehouse serves:
// no authorization endpoint (so no response types or modes, no PKCE), no
// MFA endpoints until they exist. The document never changes while the
// process runs, so it is encoded once.
func Discovery(issuer string) http.Handler {
	doc := map[string]any{
		"issuer":              issuer,
		"token_endpoint":      issuer + "oauth/token",
		"userinfo_endpoint":   issuer + "userinfo",
		"jwks_uri":            issuer + ".well-known/jwks.json",
		"revocation_endpoint": issuer + "oauth/revoke",
		"scopes_supported": []string{"openid", "profile", "offline_access", "name", "given_name", "family_name",
			"nickname", "email", "email_verified", "picture", "created_at", "identities", "phone", "address"},
		// Required by OpenID Connect Discovery; without an authorization
		// endpoint there is no response type to name.
		"response_types_supported":                         []string{},
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            []string{"HS256", "RS256"},
		"token_endpoint_auth_methods_supported":            []string{protocol.MethodSecretBasic, protocol.MethodSecretPost, protocol.MethodPrivateKeyJWT},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "RS384", "PS256"},
		"grant_types_supported": []string{protocol.GrantPassword, protocol.GrantPasswordRealm,
			protocol.GrantRefreshToken, protocol.GrantClientCredentials},
		"claims_supported": []string{"aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name",
			"given_name", "iat", "identities", "iss", "name", "nickname", "phone_number", "picture", "sub"},
		"request_uri_parameter_supported": false,
		"request_parameter_supported":     false,
	}
	body, _ := json.Marshal(doc)
	return staticJSON(body, "public, max-age=3600")
}

// staticJSON serves a fixed JSON body.
func staticJSON(body []byte, cacheControl string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", cacheControl)
		w.Write(body)
	})
}

// JWKS serves the key set jwks returns (it changes on rotation).
func JWKS(jwks func() []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Write(jwks())
	})
}
