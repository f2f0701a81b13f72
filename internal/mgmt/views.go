package mgmt

import (
	"bytes"
	"encoding/json"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The Management API's response shapes. They are converted from the
// store's records field by field, so a stored document and what the API
// shows can change apart: renaming a field here changes the wire, not
// the storage.

// clientResponse is a client as the API shows it.
type clientResponse struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
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

	TokenEndpointAuthMethod     *string              `json:"token_endpoint_auth_method"`
	ClientAuthenticationMethods *authMethodsResponse `json:"client_authentication_methods,omitempty"`

	IsTokenEndpointIPHeaderTrusted bool `json:"is_token_endpoint_ip_header_trusted"`

	JWTConfiguration jwtConfigResponse    `json:"jwt_configuration"`
	RefreshToken     refreshTokenResponse `json:"refresh_token"`
	ClientMetadata   map[string]string    `json:"client_metadata"`

	SSODisabled               bool `json:"sso_disabled"`
	CrossOriginAuthentication bool `json:"cross_origin_authentication"`
	CustomLoginPageOn         bool `json:"custom_login_page_on"`

	OrganizationUsage           string `json:"organization_usage,omitempty"`
	OrganizationRequireBehavior string `json:"organization_require_behavior,omitempty"`
}

type authMethodsResponse struct {
	PrivateKeyJWT *privateKeyJWTResponse `json:"private_key_jwt,omitempty"`
}

type privateKeyJWTResponse struct {
	Credentials []credentialRef `json:"credentials"`
}

type credentialRef struct {
	ID string `json:"id"`
}

type jwtConfigResponse struct {
	Alg               string          `json:"alg,omitempty"`
	LifetimeInSeconds int             `json:"lifetime_in_seconds"`
	SecretEncoded     bool            `json:"secret_encoded"`
	Scopes            json.RawMessage `json:"scopes,omitempty"`
}

type refreshTokenResponse struct {
	RotationType              string `json:"rotation_type"`
	ExpirationType            string `json:"expiration_type"`
	Leeway                    int    `json:"leeway"`
	TokenLifetime             int    `json:"token_lifetime"`
	InfiniteTokenLifetime     bool   `json:"infinite_token_lifetime"`
	IdleTokenLifetime         int    `json:"idle_token_lifetime"`
	InfiniteIdleTokenLifetime bool   `json:"infinite_idle_token_lifetime"`
}

// clientView is a client as the API shows it; the secret only when show.
func clientView(c *store.Client, showSecret bool) *clientResponse {
	v := &clientResponse{
		ClientID: c.ClientID, Tenant: c.Tenant,
		Name: c.Name, Description: c.Description, LogoURI: c.LogoURI, AppType: c.AppType,
		Global: c.Global, IsFirstParty: c.IsFirstParty, OIDCConformant: c.OIDCConformant,
		Callbacks: c.Callbacks, AllowedOrigins: c.AllowedOrigins, WebOrigins: c.WebOrigins,
		AllowedLogoutURLs: c.AllowedLogoutURLs, ClientAliases: c.ClientAliases, AllowedClients: c.AllowedClients,
		GrantTypes:                     c.GrantTypes,
		TokenEndpointAuthMethod:        c.TokenEndpointAuthMethod,
		IsTokenEndpointIPHeaderTrusted: c.IsTokenEndpointIPHeaderTrusted,
		JWTConfiguration: jwtConfigResponse{
			Alg: c.JWTConfiguration.Alg, LifetimeInSeconds: c.JWTConfiguration.LifetimeInSeconds,
			SecretEncoded: c.JWTConfiguration.SecretEncoded, Scopes: c.JWTConfiguration.Scopes,
		},
		RefreshToken:                refreshTokenResponse(c.RefreshToken),
		ClientMetadata:              c.ClientMetadata,
		SSODisabled:                 c.SSODisabled,
		CrossOriginAuthentication:   c.CrossOriginAuthentication,
		CustomLoginPageOn:           c.CustomLoginPageOn,
		OrganizationUsage:           c.OrganizationUsage,
		OrganizationRequireBehavior: c.OrganizationRequireBehavior,
	}
	if showSecret {
		v.ClientSecret = c.ClientSecret
	}
	if m := c.ClientAuthenticationMethods; m != nil {
		v.ClientAuthenticationMethods = &authMethodsResponse{}
		if m.PrivateKeyJWT != nil {
			refs := make([]credentialRef, len(m.PrivateKeyJWT.Credentials))
			for i, r := range m.PrivateKeyJWT.Credentials {
				refs[i] = credentialRef{ID: r.ID}
			}
			if m.PrivateKeyJWT.Credentials == nil {
				refs = nil
			}
			v.ClientAuthenticationMethods.PrivateKeyJWT = &privateKeyJWTResponse{Credentials: refs}
		}
	}
	return v
}

// clientGrantResponse is a client grant as the API shows it.
type clientGrantResponse struct {
	ID                   string   `json:"id"`
	ClientID             string   `json:"client_id"`
	Audience             string   `json:"audience"`
	Scope                []string `json:"scope"`
	OrganizationUsage    string   `json:"organization_usage,omitempty"`
	AllowAnyOrganization *bool    `json:"allow_any_organization,omitempty"`
	SubjectType          string   `json:"subject_type,omitempty"`
}

func clientGrantView(g *store.ClientGrant) *clientGrantResponse {
	return &clientGrantResponse{
		ID: g.ID, ClientID: g.ClientID, Audience: g.Audience, Scope: g.Scope,
		OrganizationUsage: g.OrganizationUsage, AllowAnyOrganization: g.AllowAnyOrganization, SubjectType: g.SubjectType,
	}
}

// resourceServerResponse is an API as the API shows it.
type resourceServerResponse struct {
	ID            string          `json:"id"`
	Name          string          `json:"name,omitempty"`
	Identifier    string          `json:"identifier"`
	IsSystem      bool            `json:"is_system,omitempty"`
	Scopes        []scopeResponse `json:"scopes"`
	SigningAlg    string          `json:"signing_alg"`
	SigningSecret string          `json:"signing_secret,omitempty"`

	AllowOfflineAccess                        bool            `json:"allow_offline_access"`
	TokenLifetime                             int             `json:"token_lifetime"`
	TokenLifetimeForWeb                       int             `json:"token_lifetime_for_web"`
	SkipConsentForVerifiableFirstPartyClients bool            `json:"skip_consent_for_verifiable_first_party_clients"`
	EnforcePolicies                           bool            `json:"enforce_policies"`
	TokenDialect                              string          `json:"token_dialect,omitempty"`
	SubjectTypeAuthorization                  json.RawMessage `json:"subject_type_authorization,omitempty"`
}

type scopeResponse struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// resourceServerView hides the HS256 secret of APIs that do not sign with
// it, so RS256 APIs look exactly like Auth0's.
func resourceServerView(rs *store.ResourceServer) *resourceServerResponse {
	v := &resourceServerResponse{
		ID: rs.ID, Name: rs.Name, Identifier: rs.Identifier, IsSystem: rs.IsSystem,
		SigningAlg:          rs.SigningAlg,
		AllowOfflineAccess:  rs.AllowOfflineAccess,
		TokenLifetime:       rs.TokenLifetime,
		TokenLifetimeForWeb: rs.TokenLifetimeForWeb,
		SkipConsentForVerifiableFirstPartyClients: rs.SkipConsentForVerifiableFirstPartyClients,
		EnforcePolicies:          rs.EnforcePolicies,
		TokenDialect:             rs.TokenDialect,
		SubjectTypeAuthorization: rs.SubjectTypeAuthorization,
	}
	if rs.SigningAlg == "HS256" {
		v.SigningSecret = rs.SigningSecret
	}
	if rs.Scopes != nil {
		v.Scopes = make([]scopeResponse, len(rs.Scopes))
		for i, s := range rs.Scopes {
			v.Scopes[i] = scopeResponse(s)
		}
	}
	return v
}

// connectionResponse is a connection as the API shows it.
type connectionResponse struct {
	ID                 string            `json:"id"`
	Name               string            `json:"name"`
	DisplayName        string            `json:"display_name,omitempty"`
	Strategy           string            `json:"strategy"`
	Options            json.RawMessage   `json:"options,omitempty"`
	Realms             []string          `json:"realms"`
	EnabledClients     []string          `json:"enabled_clients"`
	IsDomainConnection bool              `json:"is_domain_connection"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	ShowAsButton       *bool             `json:"show_as_button,omitempty"`
}

func connectionView(c *store.Connection) *connectionResponse {
	return &connectionResponse{
		ID: c.ID, Name: c.Name, DisplayName: c.DisplayName, Strategy: c.Strategy, Options: withoutSecrets(c.Options),
		Realms: c.Realms, EnabledClients: c.EnabledClients, IsDomainConnection: c.IsDomainConnection,
		Metadata: c.Metadata, ShowAsButton: c.ShowAsButton,
	}
}

// identityResponse is one entry of a user's identities.
type identityResponse struct {
	Connection string `json:"connection"`
	UserID     string `json:"user_id"`
	Provider   string `json:"provider"`
	IsSocial   bool   `json:"isSocial"`
}

// withoutSecrets drops the secret options (store.SecretOptionKeys): they
// are written, never read back.
func withoutSecrets(options json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(options, &m) != nil {
		return options
	}
	found := false
	for _, k := range store.SecretOptionKeys {
		if _, ok := m[k]; ok {
			delete(m, k)
			found = true
		}
	}
	if !found {
		return options
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(m) != nil {
		return json.RawMessage(`{}`)
	}
	return bytes.TrimSpace(b.Bytes())
}
