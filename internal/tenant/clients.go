package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ClientInput is an application to create, or the changes to one (Auth0's
// client shape, as POST and PATCH /clients take it). Properties Auth0
// tooling sends that gatehouse does not act on are accepted and dropped
// (the json.RawMessage fields), so that terraform and deploy-cli work.
type ClientInput struct {
	Name                           Opt[string]                 `json:"name"`
	Description                    Opt[string]                 `json:"description"`
	LogoURI                        Opt[string]                 `json:"logo_uri"`
	AppType                        Opt[string]                 `json:"app_type"`
	IsFirstParty                   Opt[bool]                   `json:"is_first_party"`
	OIDCConformant                 Opt[bool]                   `json:"oidc_conformant"`
	Callbacks                      Opt[[]string]               `json:"callbacks"`
	AllowedOrigins                 Opt[[]string]               `json:"allowed_origins"`
	WebOrigins                     Opt[[]string]               `json:"web_origins"`
	AllowedLogoutURLs              Opt[[]string]               `json:"allowed_logout_urls"`
	ClientAliases                  Opt[[]string]               `json:"client_aliases"`
	AllowedClients                 Opt[[]string]               `json:"allowed_clients"`
	GrantTypes                     Opt[[]string]               `json:"grant_types"`
	TokenEndpointAuthMethod        Nullable[string]            `json:"token_endpoint_auth_method"`
	ClientAuthenticationMethods    Nullable[AuthMethodsInput]  `json:"client_authentication_methods"`
	IsTokenEndpointIPHeaderTrusted Opt[bool]                   `json:"is_token_endpoint_ip_header_trusted"`
	JWTConfiguration               Opt[JWTConfigInput]         `json:"jwt_configuration"`
	RefreshToken                   Nullable[RefreshTokenInput] `json:"refresh_token"`
	ClientMetadata                 Opt[map[string]string]      `json:"client_metadata"`
	SSODisabled                    Opt[bool]                   `json:"sso_disabled"`
	CrossOriginAuthentication      Opt[bool]                   `json:"cross_origin_authentication"`
	CustomLoginPageOn              Opt[bool]                   `json:"custom_login_page_on"`
	OrganizationUsage              Opt[string]                 `json:"organization_usage"`
	OrganizationRequireBehavior    Opt[string]                 `json:"organization_require_behavior"`
	// ClientSecret sets a caller-chosen secret; it needs update:client_keys
	// on PATCH.
	ClientSecret Opt[string] `json:"client_secret"`

	SSO                                json.RawMessage `json:"sso"`
	CrossOriginAuth                    json.RawMessage `json:"cross_origin_auth"`
	CrossOriginLoc                     json.RawMessage `json:"cross_origin_loc"`
	InitiateLoginURI                   json.RawMessage `json:"initiate_login_uri"`
	CustomLoginPage                    json.RawMessage `json:"custom_login_page"`
	CustomLoginPagePreview             json.RawMessage `json:"custom_login_page_preview"`
	FormTemplate                       json.RawMessage `json:"form_template"`
	NativeSocialLogin                  json.RawMessage `json:"native_social_login"`
	Mobile                             json.RawMessage `json:"mobile"`
	Addons                             json.RawMessage `json:"addons"`
	EncryptionKey                      json.RawMessage `json:"encryption_key"`
	ComplianceLevel                    json.RawMessage `json:"compliance_level"`
	RequirePushedAuthorizationRequests json.RawMessage `json:"require_pushed_authorization_requests"`
	RequireProofOfPossession           json.RawMessage `json:"require_proof_of_possession"`
	OIDCLogout                         json.RawMessage `json:"oidc_logout"`
	OIDCBackchannelLogout              json.RawMessage `json:"oidc_backchannel_logout"`
	DefaultOrganization                json.RawMessage `json:"default_organization"`
	SignedRequestObject                json.RawMessage `json:"signed_request_object"`
	TokenQuota                         json.RawMessage `json:"token_quota"`
	SessionTransfer                    json.RawMessage `json:"session_transfer"`
	SkipNonVerifiableCallbackPrompt    json.RawMessage `json:"skip_non_verifiable_callback_uri_confirmation_prompt"`
}

type AuthMethodsInput struct {
	PrivateKeyJWT Opt[PrivateKeyJWTInput] `json:"private_key_jwt"`
}

type PrivateKeyJWTInput struct {
	Credentials Opt[[]CredentialInput] `json:"credentials"`
}

type JWTConfigInput struct {
	Alg               Opt[string]          `json:"alg"`
	LifetimeInSeconds Opt[int]             `json:"lifetime_in_seconds"`
	SecretEncoded     Opt[bool]            `json:"secret_encoded"`
	Scopes            Opt[json.RawMessage] `json:"scopes"`
}

type RefreshTokenInput struct {
	RotationType              Opt[string]     `json:"rotation_type"`
	ExpirationType            Opt[string]     `json:"expiration_type"`
	Leeway                    Opt[int]        `json:"leeway"`
	TokenLifetime             Opt[int]        `json:"token_lifetime"`
	InfiniteTokenLifetime     Opt[bool]       `json:"infinite_token_lifetime"`
	IdleTokenLifetime         Opt[int]        `json:"idle_token_lifetime"`
	InfiniteIdleTokenLifetime Opt[bool]       `json:"infinite_idle_token_lifetime"`
	Policies                  json.RawMessage `json:"policies"`
}

// Client defaults and limits.
const (
	clientIDLength       = 32
	clientSecretLength   = 64
	minClientSecret      = 32
	defaultIDTokenTTL    = 36000
	maxIDTokenTTL        = 2592000
	maxRefreshLifetime   = 31557600
	maxClientMetadata    = 10
	maxClientMetaValue   = 255
	maxClientDescription = 140
	maxCredentialRefs    = 2
)

// Confidential and public default grant types (Auth0, API-created clients).
func defaultGrantTypes(public bool) []string {
	if public {
		return []string{protocol.GrantAuthorizationCode, protocol.GrantImplicit, protocol.GrantRefreshToken}
	}
	return []string{protocol.GrantAuthorizationCode, protocol.GrantImplicit, protocol.GrantRefreshToken, protocol.GrantClientCredentials}
}

func knownGrantType(g string) bool {
	switch g {
	case protocol.GrantAuthorizationCode, protocol.GrantImplicit, protocol.GrantRefreshToken,
		protocol.GrantClientCredentials, protocol.GrantPassword, protocol.GrantPasswordRealm,
		"http://auth0.com/oauth/grant-type/mfa-oob",
		"http://auth0.com/oauth/grant-type/mfa-otp",
		"http://auth0.com/oauth/grant-type/mfa-recovery-code",
		protocol.GrantPasswordlessOTP,
		"urn:ietf:params:oauth:grant-type:device_code",
		"urn:ietf:params:oauth:grant-type:token-exchange",
		"http://auth0.com/oauth/legacy/grant-type/ro",
		"http://auth0.com/oauth/legacy/grant-type/ro/jwt-bearer",
		"http://auth0.com/oauth/legacy/grant-type/delegation/refresh_token",
		"http://auth0.com/oauth/legacy/grant-type/delegation/id_token",
		"http://auth0.com/oauth/legacy/grant-type/access_token":
		return true
	}
	return false
}

func strPtr(s string) *string { return &s }

// newClient is what Auth0 gives an API-created client before the
// request's properties apply.
func newClient(now time.Time) *store.Client {
	return &store.Client{
		ClientID:          ids.Alnum(clientIDLength),
		ClientSecret:      ids.Alnum(clientSecretLength),
		IsFirstParty:      true,
		Callbacks:         []string{},
		AllowedOrigins:    []string{},
		WebOrigins:        []string{},
		AllowedLogoutURLs: []string{},
		JWTConfiguration:  store.JWTConfiguration{LifetimeInSeconds: defaultIDTokenTTL},
		RefreshToken:      store.DefaultRefreshTokenSettings(),
		ClientMetadata:    map[string]string{},
		CustomLoginPageOn: true,
		CreatedAt:         now,
	}
}

// completeClient fills what depends on the properties given: the auth
// method from the app type, the grant types from the auth method.
func completeClient(c *store.Client, in *ClientInput) {
	if c.TokenEndpointAuthMethod == nil && c.ClientAuthenticationMethods == nil {
		method := protocol.MethodSecretPost
		if c.AppType == "spa" || c.AppType == "native" {
			method = protocol.MethodNone
		}
		c.TokenEndpointAuthMethod = &method
	}
	if !in.GrantTypes.Set {
		c.GrantTypes = defaultGrantTypes(c.AuthMethod() == protocol.MethodNone)
	}
}

// GetClient returns a client.
func (s *Service) GetClient(ctx context.Context, id string) (*store.Client, error) {
	c, err := s.Store.GetClient(ctx, id)
	return c, notFound(err, errNoClient)
}

// CreateClient creates a client from in ("name" is required) with a new
// client_id and secret.
func (s *Service) CreateClient(ctx context.Context, in *ClientInput) (_ *store.Client, err error) {
	defer s.audit(ctx, "Create a client", &err)
	if !in.Name.Set {
		return nil, invalidBody("Missing required property: name")
	}
	now := s.now()
	c := newClient(now)
	if err := applyClient(c, in, now); err != nil {
		return nil, err
	}
	completeClient(c, in)
	if err := validateClient(c); err != nil {
		return nil, err
	}
	if err := s.Store.CreateClient(ctx, c); err != nil {
		return nil, conflict(err, "conflict", "A client with the same client_id already exists")
	}
	return c, nil
}

// UpdateClient applies the properties present in in.
func (s *Service) UpdateClient(ctx context.Context, id string, in *ClientInput) (_ *store.Client, err error) {
	defer s.audit(ctx, "Update a client", &err)
	c, err := s.Store.UpdateClient(ctx, id, func(c *store.Client) error {
		if err := applyClient(c, in, s.now()); err != nil {
			return err
		}
		return validateClient(c)
	})
	return c, notFound(err, errNoClient)
}

// RotateClientSecret gives the client a new random secret.
func (s *Service) RotateClientSecret(ctx context.Context, id string) (_ *store.Client, err error) {
	defer s.audit(ctx, "Rotate a client secret", &err)
	c, err := s.Store.UpdateClient(ctx, id, func(c *store.Client) error {
		c.ClientSecret = ids.Alnum(clientSecretLength)
		return nil
	})
	return c, notFound(err, errNoClient)
}

// DeleteClient deletes the client with its client grants, its refresh
// tokens and its place in every connection's enabled clients (the store
// does it in one transaction).
func (s *Service) DeleteClient(ctx context.Context, id string) (err error) {
	defer s.audit(ctx, "Delete a client", &err)
	return notFound(s.Store.DeleteClient(ctx, id), errNoClient)
}

// EnsureMachineClient makes id a machine-to-machine application that
// authenticates with exactly secret (client_secret_post) and may use
// client_credentials, creating it with name when it does not exist. Its
// other settings are left as they are. The secret is the operator's and
// is not held to the length rule of API-set secrets.
func (s *Service) EnsureMachineClient(ctx context.Context, id, secret, name string) error {
	method := protocol.MethodSecretPost
	_, err := s.Store.UpdateClient(ctx, id, func(c *store.Client) error {
		c.ClientSecret = secret
		if !c.AllowsGrant(protocol.GrantClientCredentials) {
			c.GrantTypes = append(c.GrantTypes, protocol.GrantClientCredentials)
		}
		if c.AuthMethod() == protocol.MethodNone || c.AuthMethod() == protocol.MethodPrivateKeyJWT {
			c.TokenEndpointAuthMethod, c.ClientAuthenticationMethods = &method, nil
		}
		return nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	in := &ClientInput{
		Name:                    Some(name),
		AppType:                 Some("non_interactive"),
		OIDCConformant:          Some(true),
		GrantTypes:              Some([]string{protocol.GrantClientCredentials}),
		TokenEndpointAuthMethod: Nullable[string]{Set: true, V: method},
	}
	now := s.now()
	c := newClient(now)
	if err := applyClient(c, in, now); err != nil {
		return err
	}
	completeClient(c, in)
	c.ClientID, c.ClientSecret = id, secret
	if err := validateClient(c); err != nil {
		return err
	}
	err = s.Store.CreateClient(ctx, c)
	if errors.Is(err, store.ErrConflict) { // another node made it first
		return s.EnsureMachineClient(ctx, id, secret, name)
	}
	return err
}

// applyClient copies every property present in b onto c.
func applyClient(c *store.Client, b *ClientInput, now time.Time) error {
	setIf(&c.Name, b.Name)
	setIf(&c.Description, b.Description)
	setIf(&c.LogoURI, b.LogoURI)
	setIf(&c.AppType, b.AppType)
	setIf(&c.IsFirstParty, b.IsFirstParty)
	setIf(&c.OIDCConformant, b.OIDCConformant)
	setIf(&c.Callbacks, b.Callbacks)
	setIf(&c.AllowedOrigins, b.AllowedOrigins)
	setIf(&c.WebOrigins, b.WebOrigins)
	setIf(&c.AllowedLogoutURLs, b.AllowedLogoutURLs)
	setIf(&c.ClientAliases, b.ClientAliases)
	setIf(&c.AllowedClients, b.AllowedClients)
	setIf(&c.IsTokenEndpointIPHeaderTrusted, b.IsTokenEndpointIPHeaderTrusted)
	setIf(&c.ClientMetadata, b.ClientMetadata)
	setIf(&c.SSODisabled, b.SSODisabled)
	setIf(&c.CrossOriginAuthentication, b.CrossOriginAuthentication)
	setIf(&c.CustomLoginPageOn, b.CustomLoginPageOn)
	setIf(&c.OrganizationUsage, b.OrganizationUsage)
	setIf(&c.OrganizationRequireBehavior, b.OrganizationRequireBehavior)
	setIf(&c.ClientSecret, b.ClientSecret)
	if b.ClientSecret.Set && utf8.RuneCountInString(b.ClientSecret.V) < minClientSecret {
		return invalidProp("client_secret", "String is too short (%d chars), minimum %d",
			utf8.RuneCountInString(b.ClientSecret.V), minClientSecret)
	}
	if b.GrantTypes.Set {
		c.GrantTypes = uniq(b.GrantTypes.V)
	}
	if b.JWTConfiguration.Set {
		j := b.JWTConfiguration.V
		c.JWTConfiguration = store.JWTConfiguration{
			Alg:               j.Alg.V,
			LifetimeInSeconds: defaultIDTokenTTL,
			SecretEncoded:     j.SecretEncoded.V,
			Scopes:            j.Scopes.V,
		}
		setIf(&c.JWTConfiguration.LifetimeInSeconds, j.LifetimeInSeconds)
	}
	if b.RefreshToken.Set {
		rt, err := refreshSettings(b.RefreshToken)
		if err != nil {
			return err
		}
		c.RefreshToken = rt
	}
	return applyAuthMethods(c, b, now)
}

// applyAuthMethods sets token_endpoint_auth_method and
// client_authentication_methods, which exclude each other: with
// private_key_jwt configured the former is null.
func applyAuthMethods(c *store.Client, b *ClientInput, now time.Time) error {
	team, cam := b.TokenEndpointAuthMethod, b.ClientAuthenticationMethods
	if team.Set && !team.Null && cam.Set && !cam.Null {
		return invalidBody("token_endpoint_auth_method must be null when client_authentication_methods is set")
	}
	if team.Set {
		if team.Null {
			c.TokenEndpointAuthMethod = nil
		} else {
			if c.ClientAuthenticationMethods != nil && !cam.Set {
				return invalidBody("client_authentication_methods must be set to null to use token_endpoint_auth_method")
			}
			c.TokenEndpointAuthMethod = strPtr(team.V)
		}
	}
	if !cam.Set {
		return nil
	}
	if cam.Null || !cam.V.PrivateKeyJWT.Set {
		c.ClientAuthenticationMethods = nil
		if c.TokenEndpointAuthMethod == nil {
			c.TokenEndpointAuthMethod = strPtr(protocol.MethodSecretPost)
		}
		return nil
	}
	creds := cam.V.PrivateKeyJWT.V.Credentials
	if !creds.Set {
		return invalidProp("client_authentication_methods.private_key_jwt", "Missing required property: credentials")
	}
	if len(creds.V) == 0 || len(creds.V) > maxCredentialRefs {
		return invalidProp("client_authentication_methods.private_key_jwt.credentials",
			"Array must hold between 1 and %d items", maxCredentialRefs)
	}
	var refs []store.CredentialRef
	for _, cb := range creds.V {
		if cb.ID.Set {
			if !cb.onlyID() {
				return invalidProp("client_authentication_methods.private_key_jwt.credentials",
					"A credential reference holds only its id")
			}
			if !slices.ContainsFunc(c.Credentials, func(k store.ClientCredential) bool { return k.ID == cb.ID.V }) {
				return invalidProp("client_authentication_methods.private_key_jwt.credentials",
					"Credential %s does not exist", cb.ID.V)
			}
			refs = append(refs, store.CredentialRef{ID: cb.ID.V})
			continue
		}
		cred, err := newCredential(cb, now)
		if err != nil {
			return err
		}
		c.Credentials = append(c.Credentials, cred)
		refs = append(refs, store.CredentialRef{ID: cred.ID})
	}
	c.ClientAuthenticationMethods = &store.ClientAuthenticationMethods{
		PrivateKeyJWT: &store.PrivateKeyJWTMethod{Credentials: uniq(refs)},
	}
	if !team.Set || team.Null {
		c.TokenEndpointAuthMethod = nil
	}
	return nil
}

// refreshSettings builds refresh_token settings. rotation_type and
// expiration_type are required; lifetimes left out take the values of
// Auth0's preset for the expiration type.
func refreshSettings(nb Nullable[RefreshTokenInput]) (store.RefreshTokenSettings, error) {
	if nb.Null {
		return store.DefaultRefreshTokenSettings(), nil
	}
	b := nb.V
	for _, req := range []struct {
		set  bool
		name string
	}{{b.RotationType.Set, "rotation_type"}, {b.ExpirationType.Set, "expiration_type"}} {
		if !req.set {
			return store.RefreshTokenSettings{}, invalidProp("refresh_token", "Missing required property: %s", req.name)
		}
	}
	rt := store.DefaultRefreshTokenSettings()
	if b.ExpirationType.V == "expiring" {
		rt = store.RefreshTokenSettings{TokenLifetime: 2592000, IdleTokenLifetime: 1296000}
	}
	rt.RotationType, rt.ExpirationType = b.RotationType.V, b.ExpirationType.V
	setIf(&rt.Leeway, b.Leeway)
	setIf(&rt.TokenLifetime, b.TokenLifetime)
	setIf(&rt.InfiniteTokenLifetime, b.InfiniteTokenLifetime)
	setIf(&rt.IdleTokenLifetime, b.IdleTokenLifetime)
	setIf(&rt.InfiniteIdleTokenLifetime, b.InfiniteIdleTokenLifetime)
	return rt, nil
}

// validateClient checks a client as it would be stored.
func validateClient(c *store.Client) error {
	if strings.TrimSpace(c.Name) == "" || strings.ContainsAny(c.Name, "<>") {
		return invalidProp("name", "String must be non-empty and must not contain < or >")
	}
	if utf8.RuneCountInString(c.Description) > maxClientDescription {
		return invalidProp("description", "String is too long (max %d chars)", maxClientDescription)
	}
	for _, g := range c.GrantTypes {
		if !knownGrantType(g) {
			return invalidProp("grant_types", "Unknown grant type: %s", g)
		}
	}
	if c.TokenEndpointAuthMethod != nil {
		switch *c.TokenEndpointAuthMethod {
		case protocol.MethodNone, protocol.MethodSecretPost, protocol.MethodSecretBasic:
		default:
			return invalidProp("token_endpoint_auth_method", "No enum match for: %s", *c.TokenEndpointAuthMethod)
		}
	}
	public := c.AuthMethod() == protocol.MethodNone
	if public && c.IsTokenEndpointIPHeaderTrusted {
		return invalidProp("is_token_endpoint_ip_header_trusted",
			"Only clients authenticating with a secret or private key can trust the auth0-forwarded-for header")
	}
	if public && c.AllowsGrant(protocol.GrantClientCredentials) {
		return invalidProp("grant_types", "Public clients (token_endpoint_auth_method none) cannot use client_credentials")
	}
	switch c.JWTConfiguration.Alg {
	case "", "HS256", "RS256", "RS512", "PS256":
	default:
		return invalidProp("jwt_configuration.alg", "No enum match for: %s", c.JWTConfiguration.Alg)
	}
	if l := c.JWTConfiguration.LifetimeInSeconds; l < 1 || l > maxIDTokenTTL {
		return invalidProp("jwt_configuration.lifetime_in_seconds", "Value must be between 1 and %d", maxIDTokenTTL)
	}
	if err := validateRefreshToken(c.RefreshToken); err != nil {
		return err
	}
	if len(c.ClientMetadata) > maxClientMetadata {
		return invalidProp("client_metadata", "Too many properties (max %d)", maxClientMetadata)
	}
	for k, v := range c.ClientMetadata {
		if utf8.RuneCountInString(v) > maxClientMetaValue || utf8.RuneCountInString(k) > maxClientMetaValue {
			return invalidProp("client_metadata."+k, "String is too long (max %d chars)", maxClientMetaValue)
		}
	}
	if u := c.OrganizationUsage; u != "" && u != "deny" && u != "allow" && u != "require" {
		return invalidProp("organization_usage", "No enum match for: %s", u)
	}
	switch c.OrganizationRequireBehavior {
	case "", "no_prompt", "pre_login_prompt", "post_login_prompt":
	default:
		return invalidProp("organization_require_behavior", "No enum match for: %s", c.OrganizationRequireBehavior)
	}
	return nil
}

func validateRefreshToken(rt store.RefreshTokenSettings) error {
	switch {
	case rt.RotationType != "rotating" && rt.RotationType != "non-rotating":
		return invalidProp("refresh_token.rotation_type", "No enum match for: %s", rt.RotationType)
	case rt.ExpirationType != "expiring" && rt.ExpirationType != "non-expiring":
		return invalidProp("refresh_token.expiration_type", "No enum match for: %s", rt.ExpirationType)
	case rt.RotationType == "rotating" && rt.ExpirationType != "expiring":
		return invalidProp("refresh_token.expiration_type", "Rotating refresh tokens must be expiring")
	case rt.Leeway < 0 || rt.Leeway > maxRefreshLifetime:
		return invalidProp("refresh_token.leeway", "Value must be between 0 and %d", maxRefreshLifetime)
	case rt.TokenLifetime < 1 || rt.TokenLifetime > maxRefreshLifetime:
		return invalidProp("refresh_token.token_lifetime", "Value must be between 1 and %d", maxRefreshLifetime)
	case rt.IdleTokenLifetime < 1 || rt.IdleTokenLifetime > maxRefreshLifetime:
		return invalidProp("refresh_token.idle_token_lifetime", "Value must be between 1 and %d", maxRefreshLifetime)
	case !rt.InfiniteTokenLifetime && !rt.InfiniteIdleTokenLifetime && rt.IdleTokenLifetime > rt.TokenLifetime:
		return invalidProp("refresh_token.idle_token_lifetime", "Idle token lifetime must not exceed token_lifetime")
	}
	return nil
}
