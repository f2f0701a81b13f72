// Package protocol names the OAuth 2.0 and Auth0 values gatehouse's
// packages share: grant types, the gty claim values tokens carry, and client
// authentication methods. It imports nothing, so every package (the store's
// types, the Management API's validation, the token endpoint, discovery)
// can use these names instead of repeating the strings.
package protocol

// Grant types: the grant_type parameter of the token endpoint and the
// members of a client's grant_types.
const (
	GrantPassword          = "password"
	GrantPasswordRealm     = "http://auth0.com/oauth/grant-type/password-realm"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantImplicit          = "implicit"
	// The MFA grants finish a login the MFA gate paused (mfa-api.md §7).
	GrantMFAOTP          = "http://auth0.com/oauth/grant-type/mfa-otp"
	GrantMFAOOB          = "http://auth0.com/oauth/grant-type/mfa-oob"
	GrantMFARecoveryCode = "http://auth0.com/oauth/grant-type/mfa-recovery-code"
	// GrantPasswordlessOTP logs in with a code /passwordless/start sent.
	GrantPasswordlessOTP = "http://auth0.com/oauth/grant-type/passwordless/otp"
)

// Values of an access token's gty claim. Auth0 writes the grant type, except
// for client credentials, which it spells with a hyphen.
const (
	GTYPassword          = "password"
	GTYRefreshToken      = "refresh_token"
	GTYClientCredentials = "client-credentials"
)

// Client authentication methods at the token endpoint, as Auth0 names them
// (token_endpoint_auth_method, or client_authentication_methods for
// private_key_jwt).
const (
	MethodNone          = "none"
	MethodSecretPost    = "client_secret_post"
	MethodSecretBasic   = "client_secret_basic"
	MethodPrivateKeyJWT = "private_key_jwt"
)

// AssertionType is the only client_assertion_type there is (RFC 7523).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
