package store

import (
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/internal/protocol"
)

// JSON tags are the storage format (see the package doc); they keep the
// Auth0 field names the documents were first stored under. Fields tagged
// "-" are stored in columns of their own, or not at all.

// Client is an application (Auth0 "client").
type Client struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"` // sealed at rest
	Tenant       string `json:"tenant,omitempty"`

	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	LogoURI     string `json:"logo_uri,omitempty"`
	AppType     string `json:"app_type,omitempty"`

	Global         bool `json:"global"`
	IsFirstParty   bool `json:"is_first_party"`
	OIDCConformant bool `json:"oidc_conformant"`

	Callbacks         []string `json:"callbacks"`
	AllowedOrigins    []string `json:"allowed_origins"`
	WebOrigins        []string `json:"web_origins"`
	AllowedLogoutURLs []string `json:"allowed_logout_urls"`
	ClientAliases     []string `json:"client_aliases,omitempty"`
	AllowedClients    []string `json:"allowed_clients,omitempty"`
	GrantTypes        []string `json:"grant_types"`

	// TokenEndpointAuthMethod is none, client_secret_post or
	// client_secret_basic; nil when ClientAuthenticationMethods selects
	// private_key_jwt.
	TokenEndpointAuthMethod     *string                      `json:"token_endpoint_auth_method"`
	ClientAuthenticationMethods *ClientAuthenticationMethods `json:"client_authentication_methods,omitempty"`
	// Credentials are the public keys registered for private_key_jwt.
	Credentials []ClientCredential `json:"-"`

	IsTokenEndpointIPHeaderTrusted bool `json:"is_token_endpoint_ip_header_trusted"`

	JWTConfiguration JWTConfiguration     `json:"jwt_configuration"`
	RefreshToken     RefreshTokenSettings `json:"refresh_token"`
	ClientMetadata   map[string]string    `json:"client_metadata"`

	SSODisabled               bool `json:"sso_disabled"`
	CrossOriginAuthentication bool `json:"cross_origin_authentication"`
	CustomLoginPageOn         bool `json:"custom_login_page_on"`

	OrganizationUsage           string `json:"organization_usage,omitempty"`
	OrganizationRequireBehavior string `json:"organization_require_behavior,omitempty"`

	CreatedAt time.Time `json:"-"`
}

// ClientAuthenticationMethods mirrors Auth0's client_authentication_methods.
type ClientAuthenticationMethods struct {
	PrivateKeyJWT *PrivateKeyJWTMethod `json:"private_key_jwt,omitempty"`
}

// PrivateKeyJWTMethod lists the credentials accepted for private_key_jwt.
type PrivateKeyJWTMethod struct {
	Credentials []CredentialRef `json:"credentials"`
}

// CredentialRef points at a ClientCredential by id.
type CredentialRef struct {
	ID string `json:"id"`
}

// ClientCredential is a public key an application signs client assertions with.
type ClientCredential struct {
	ID             string     `json:"id"` // cred_...
	Name           string     `json:"name,omitempty"`
	CredentialType string     `json:"credential_type"` // public_key
	KID            string     `json:"kid"`
	Alg            string     `json:"alg"` // RS256, RS384 or PS256
	PEM            string     `json:"pem,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
}

// AuthMethod returns the client's effective token endpoint auth method:
// "private_key_jwt" when credentials are configured that way, else
// TokenEndpointAuthMethod, defaulting to client_secret_post.
func (c *Client) AuthMethod() string {
	if c.ClientAuthenticationMethods != nil && c.ClientAuthenticationMethods.PrivateKeyJWT != nil {
		return protocol.MethodPrivateKeyJWT
	}
	if c.TokenEndpointAuthMethod == nil || *c.TokenEndpointAuthMethod == "" {
		return protocol.MethodSecretPost
	}
	return *c.TokenEndpointAuthMethod
}

// AllowsGrant reports whether grantType is in the client's grant_types.
func (c *Client) AllowsGrant(grantType string) bool {
	for _, g := range c.GrantTypes {
		if g == grantType {
			return true
		}
	}
	return false
}

// JWTConfiguration controls the ID tokens minted for a client.
type JWTConfiguration struct {
	Alg               string          `json:"alg,omitempty"` // RS256 (default) or HS256
	LifetimeInSeconds int             `json:"lifetime_in_seconds"`
	SecretEncoded     bool            `json:"secret_encoded"`
	Scopes            json.RawMessage `json:"scopes,omitempty"`
}

// RefreshTokenSettings mirrors Auth0's client refresh_token object.
type RefreshTokenSettings struct {
	RotationType              string `json:"rotation_type"`   // rotating | non-rotating
	ExpirationType            string `json:"expiration_type"` // expiring | non-expiring
	Leeway                    int    `json:"leeway"`
	TokenLifetime             int    `json:"token_lifetime"`
	InfiniteTokenLifetime     bool   `json:"infinite_token_lifetime"`
	IdleTokenLifetime         int    `json:"idle_token_lifetime"`
	InfiniteIdleTokenLifetime bool   `json:"infinite_idle_token_lifetime"`
}

// DefaultRefreshTokenSettings is what Auth0 gives an API-created client.
func DefaultRefreshTokenSettings() RefreshTokenSettings {
	return RefreshTokenSettings{
		RotationType:              "non-rotating",
		ExpirationType:            "non-expiring",
		TokenLifetime:             31557600,
		InfiniteTokenLifetime:     true,
		IdleTokenLifetime:         2592000,
		InfiniteIdleTokenLifetime: true,
	}
}

// ClientGrant allows a client to obtain client_credentials tokens for an API.
type ClientGrant struct {
	ID                   string   `json:"id"` // cgr_...
	ClientID             string   `json:"client_id"`
	Audience             string   `json:"audience"`
	Scope                []string `json:"scope"`
	OrganizationUsage    string   `json:"organization_usage,omitempty"`
	AllowAnyOrganization *bool    `json:"allow_any_organization,omitempty"`
	SubjectType          string   `json:"subject_type,omitempty"` // client | user
}

// ResourceServer is an API that access tokens are minted for.
type ResourceServer struct {
	ID            string                `json:"id"` // 24 hex
	Name          string                `json:"name,omitempty"`
	Identifier    string                `json:"identifier"`
	IsSystem      bool                  `json:"is_system,omitempty"`
	Scopes        []ResourceServerScope `json:"scopes"`
	SigningAlg    string                `json:"signing_alg"`              // RS256 | HS256 | PS256
	SigningSecret string                `json:"signing_secret,omitempty"` // HS256 key; sealed at rest

	AllowOfflineAccess                        bool            `json:"allow_offline_access"`
	TokenLifetime                             int             `json:"token_lifetime"`
	TokenLifetimeForWeb                       int             `json:"token_lifetime_for_web"`
	SkipConsentForVerifiableFirstPartyClients bool            `json:"skip_consent_for_verifiable_first_party_clients"`
	EnforcePolicies                           bool            `json:"enforce_policies"`
	TokenDialect                              string          `json:"token_dialect,omitempty"`
	SubjectTypeAuthorization                  json.RawMessage `json:"subject_type_authorization,omitempty"`
}

// ScopeValues returns the values of the API's scopes, in order.
func (rs *ResourceServer) ScopeValues() []string {
	out := make([]string, len(rs.Scopes))
	for i, s := range rs.Scopes {
		out[i] = s.Value
	}
	return out
}

// ResourceServerScope is one permission an API defines.
type ResourceServerScope struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// Connection is a source of identities. Strategy "auth0" is a database
// connection whose users live in this store; "ad" is AD/LDAP.
type Connection struct {
	ID                 string            `json:"id"` // con_...
	Name               string            `json:"name"`
	DisplayName        string            `json:"display_name,omitempty"`
	Strategy           string            `json:"strategy"`
	Options            json.RawMessage   `json:"options,omitempty"` // strategy specific, replaced wholesale
	Realms             []string          `json:"realms"`
	EnabledClients     []string          `json:"enabled_clients"`
	IsDomainConnection bool              `json:"is_domain_connection"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	ShowAsButton       *bool             `json:"show_as_button,omitempty"`
}

// SecretOptionKeys are the connection option keys that hold secrets (an
// LDAP service account's password, an upstream provider's client secret, a
// custom database's configuration values):
// a backend seals them before the options reach disk, and the Management
// API never shows them.
var SecretOptionKeys = []string{"bind_password", "client_secret", "configuration"}

// EnabledFor reports whether clientID may log users in through c.
func (c *Connection) EnabledFor(clientID string) bool {
	for _, id := range c.EnabledClients {
		if id == clientID {
			return true
		}
	}
	return false
}

// Identity is one entry of a user's identities array.
type Identity struct {
	Connection string `json:"connection"`
	UserID     string `json:"user_id"`
	Provider   string `json:"provider"`
	IsSocial   bool   `json:"isSocial"`
}

// User is a user profile. UserID is "<provider>|<id>", for database users
// "auth0|<id>".
type User struct {
	UserID       string `json:"user_id"`
	ConnectionID string `json:"-"`
	Connection   string `json:"-"` // connection name, mirrored in Identities
	PasswordHash string `json:"-"`

	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified"`
	Username      string `json:"username,omitempty"`
	PhoneNumber   string `json:"phone_number,omitempty"`
	PhoneVerified bool   `json:"phone_verified,omitempty"`

	Name       string `json:"name,omitempty"`
	Nickname   string `json:"nickname,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	Picture    string `json:"picture,omitempty"`

	Blocked bool `json:"blocked,omitempty"`
	// Groups are the directory groups of a user who logs in through an
	// enterprise directory (AD/LDAP, Azure AD), refreshed at each login.
	Groups       []string       `json:"groups,omitempty"`
	AppMetadata  map[string]any `json:"app_metadata,omitempty"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
	Identities   []Identity     `json:"identities"`

	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	LastLogin         *time.Time `json:"last_login,omitempty"`
	LastIP            string     `json:"last_ip,omitempty"`
	LoginsCount       int        `json:"logins_count,omitempty"`
	LastPasswordReset *time.Time `json:"last_password_reset,omitempty"`
}

// RefreshFamily is every refresh token descended from one grant. Tokens are
// never stored: only SHA-256 hashes of their secret part. Current holds the
// tokens issued and not yet exchanged (more than one when a spent token was
// replayed inside the leeway); Previous is the token the last rotation
// spent, and Spent the others spent inside the leeway before it.
type RefreshFamily struct {
	ID       string   `json:"id"`
	ClientID string   `json:"client_id"`
	UserID   string   `json:"user_id"`
	Audience string   `json:"audience"`
	Scope    []string `json:"scope"`
	Rotating bool     `json:"rotating"`

	Current        [][]byte     `json:"current"`
	Previous       []byte       `json:"previous,omitempty"`
	PreviousUsedAt time.Time    `json:"previous_used_at"`
	Spent          []SpentToken `json:"spent,omitempty"`

	CreatedAt       time.Time `json:"created_at"`
	ExpiresAt       time.Time `json:"expires_at"`      // zero: no absolute expiry
	IdleExpiresAt   time.Time `json:"idle_expires_at"` // zero: no idle expiry
	LastExchangedAt time.Time `json:"last_exchanged_at"`

	InitialIP string `json:"initial_ip,omitempty"`
	LastIP    string `json:"last_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`

	// ConnectorData is what the user's connection keeps for this session
	// and asks at refresh (a waad connection's upstream refresh token), as
	// Dex keeps connector data: a secret, sealed at rest by the store and
	// never shown. Nil for most connections.
	ConnectorData []byte `json:"-"`

	// Version counts the writes to the family; see ReplaceRefreshFamily.
	Version int64 `json:"-"`
}

// SpentToken is a refresh token of a family that was exchanged, and when.
type SpentToken struct {
	Hash []byte    `json:"hash"`
	At   time.Time `json:"at"`
}

// SigningKey is one of the tenant's token-signing key pairs.
type SigningKey struct {
	KID           string     `json:"kid"`
	Alg           string     `json:"alg"`  // RS256
	PrivateKeyDER []byte     `json:"-"`    // PKCS#8; sealed at rest
	CertPEM       string     `json:"cert"` // self-signed certificate of the public key
	Current       bool       `json:"current"`
	Next          bool       `json:"next"`
	Previous      bool       `json:"previous"`
	Revoked       bool       `json:"revoked"`
	CreatedAt     time.Time  `json:"-"`
	CurrentSince  *time.Time `json:"current_since,omitempty"`
	CurrentUntil  *time.Time `json:"current_until,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

// TenantSettings is the subset of Auth0 tenant settings gatehouse acts on,
// plus Other, which holds every other field verbatim.
type TenantSettings struct {
	DefaultDirectory string          `json:"default_directory,omitempty"`
	DefaultAudience  string          `json:"default_audience,omitempty"`
	FriendlyName     string          `json:"friendly_name,omitempty"`
	Flags            map[string]bool `json:"flags,omitempty"`
	// Guardian is the MFA policy and factors (the /guardian endpoints).
	Guardian *Guardian `json:"guardian,omitempty"`
	// AttackProtection is brute-force protection, suspicious IP throttling
	// and breached password detection (the /attack-protection endpoints);
	// nil parts keep Auth0's defaults.
	AttackProtection *AttackProtection `json:"attack_protection,omitempty"`
	// Other keeps the remaining top-level fields of the settings document.
	Other map[string]json.RawMessage `json:"-"`
}

// Guardian is the tenant's multi-factor configuration (Auth0's Guardian):
// the policy and which factors are enabled.
type Guardian struct {
	// Policies is [] (never), ["all-applications"] or ["confidence-score"].
	Policies []string `json:"policies,omitempty"`
	// Factors holds the factors switched on or off by name (otp, sms,
	// email, recovery-code, ...); a factor never set is off.
	Factors map[string]bool `json:"factors,omitempty"`
	// MessageTypes are the phone factor's channels: sms and/or voice.
	MessageTypes []string `json:"message_types,omitempty"`
	// Phone is how the sms and phone factors' text messages go out.
	Phone *PhoneDelivery `json:"phone,omitempty"`
}

// PhoneDelivery is the sms and phone factors' provider and message
// templates (the /guardian/factors/{sms,phone}/... endpoints share it).
type PhoneDelivery struct {
	// Provider is "auth0" (the server's own provider, --sms-*) or "twilio"
	// (Twilio below); empty means auth0.
	Provider string          `json:"provider,omitempty"`
	Twilio   *TwilioSettings `json:"twilio,omitempty"`
	// The texts of the enrolment and verification messages ("" for the
	// defaults), with {{code}} and {{tenant.friendly_name}} placeholders.
	EnrollmentMessage   string `json:"enrollment_message,omitempty"`
	VerificationMessage string `json:"verification_message,omitempty"`
}

// TwilioSettings is a tenant's own Twilio account for MFA text messages.
type TwilioSettings struct {
	SID                 string `json:"sid,omitempty"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	// AuthToken is plaintext in memory only: a backend seals it into
	// SealedAuthToken before the settings reach disk and opens it when
	// reading them, so callers never see SealedAuthToken set.
	AuthToken       string `json:"-"`
	SealedAuthToken []byte `json:"sealed_auth_token,omitempty"`
}

// AttackProtection is the tenant's attack protection, part by part.
type AttackProtection struct {
	BruteForce   *BruteForceProtection      `json:"brute_force,omitempty"`
	SuspiciousIP *SuspiciousIPThrottling    `json:"suspicious_ip,omitempty"`
	Breached     *BreachedPasswordDetection `json:"breached,omitempty"`
}

// BruteForceProtection limits failed logins per identifier (and IP).
type BruteForceProtection struct {
	Enabled     bool     `json:"enabled"`
	Shields     []string `json:"shields"`   // block, user_notification
	Allowlist   []string `json:"allowlist"` // addresses and CIDR networks
	Mode        string   `json:"mode"`      // count_per_identifier_and_ip or count_per_identifier
	MaxAttempts int      `json:"max_attempts"`
}

// SuspiciousIPThrottling limits failed logins and signups per IP.
type SuspiciousIPThrottling struct {
	Enabled   bool     `json:"enabled"`
	Shields   []string `json:"shields"` // block, admin_notification
	Allowlist []string `json:"allowlist"`
	// Stages are pre-login, pre-user-registration and
	// pre-custom-token-exchange.
	Stages map[string]ThrottleStage `json:"stages"`
}

// ThrottleStage is one bucket of suspicious IP throttling: MaxAttempts
// attempts, one more every Rate milliseconds.
type ThrottleStage struct {
	MaxAttempts int   `json:"max_attempts"`
	Rate        int64 `json:"rate"`
}

// BreachedPasswordDetection refuses or reports passwords known leaked.
type BreachedPasswordDetection struct {
	Enabled                    bool     `json:"enabled"`
	Shields                    []string `json:"shields"` // block, user_notification, admin_notification
	AdminNotificationFrequency []string `json:"admin_notification_frequency"`
	Method                     string   `json:"method"` // standard or enhanced
	// StageShields are the shields of pre-user-registration and
	// pre-change-password.
	StageShields map[string][]string `json:"stage_shields"`
}

// Authenticator is a user's enrolled second factor.
type Authenticator struct {
	ID     string `json:"id"` // <kind>|dev_<16 base62>
	UserID string `json:"user_id"`
	// Kind is totp, sms, voice, email or recovery-code.
	Kind string `json:"kind"`
	// Active is false until the enrolment is confirmed by a code.
	Active bool `json:"active"`
	// Name is the phone number or email address of an oob authenticator.
	Name string `json:"name,omitempty"`
	// Secret is a TOTP secret (base32); sealed at rest, never in doc.
	Secret string `json:"-"`
	// LastStep is the TOTP time step of the last accepted code: a code of
	// the same or an earlier step is a replay.
	LastStep int64 `json:"last_step,omitempty"`
	// CodeHash is the hash of a recovery code (mfa.HashRecoveryCode).
	CodeHash  []byte    `json:"code_hash,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ConfirmedAt is when the enrolment was confirmed; zero while pending.
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
}

// MFATransaction is a login paused at the MFA gate, found by the hash of
// its mfa_token: what the login asked for, so the MFA grants can finish it.
type MFATransaction struct {
	ID           string    `json:"id"` // hex SHA-256 of the mfa_token
	UserID       string    `json:"user_id"`
	ClientID     string    `json:"client_id"`
	ConnectionID string    `json:"connection_id"`
	Audience     string    `json:"audience,omitempty"` // the API's identifier; "" for none
	Scopes       []string  `json:"scopes"`
	GrantType    string    `json:"grant_type"` // gty of the tokens it ends in
	IP           string    `json:"ip,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	// Challenge is the latest one-time code sent (email, sms): only it is
	// valid.
	Challenge *OOBChallenge `json:"challenge,omitempty"`
	// ConnectorData is the paused login's RefreshFamily.ConnectorData, for
	// the family the transaction ends in: sealed at rest, never shown.
	ConnectorData []byte `json:"-"`
}

// OOBChallenge is a one-time code sent out of band for a transaction.
type OOBChallenge struct {
	OOBCode         string    `json:"oob_code"`
	AuthenticatorID string    `json:"authenticator_id"`
	CodeHash        []byte    `json:"code_hash"` // mfa.HashOneTimeCode
	ExpiresAt       time.Time `json:"expires_at"`
}

// MFABucket is a user's bucket of failed second-factor codes.
type MFABucket struct {
	UserID string    `json:"user_id"`
	Tokens float64   `json:"tokens"`
	At     time.Time `json:"at"` // when Tokens was computed
}
