package oauth

import (
	"encoding/json"
	"net/http"
)

// Discovery returns the /.well-known/openid-configuration handler for
// issuer (with trailing slash). The document never changes while the
// process runs, so it is encoded once.
func Discovery(issuer string) http.Handler {
	doc := map[string]any{
		"issuer":                 issuer,
		"authorization_endpoint": issuer + "authorize",
		"token_endpoint":         issuer + "oauth/token",
		"userinfo_endpoint":      issuer + "userinfo",
		"mfa_challenge_endpoint": issuer + "mfa/challenge",
		"jwks_uri":               issuer + ".well-known/jwks.json",
		"revocation_endpoint":    issuer + "oauth/revoke",
		"scopes_supported": []string{"openid", "profile", "offline_access", "name", "given_name", "family_name",
			"nickname", "email", "email_verified", "picture", "created_at", "identities", "phone", "address"},
		"response_types_supported":                         []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"},
		"code_challenge_methods_supported":                 []string{"S256", "plain"},
		"response_modes_supported":                         []string{"query", "fragment", "form_post"},
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            []string{"HS256", "RS256"},
		"token_endpoint_auth_methods_supported":            []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "RS384", "PS256"},
		"grant_types_supported": []string{"password", "http://auth0.com/oauth/grant-type/password-realm",
			"refresh_token", "client_credentials"},
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
