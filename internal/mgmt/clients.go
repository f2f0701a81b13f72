package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// clientBody is the body of POST and PATCH /clients. Properties Auth0
// tooling sends that gatehouse does not act on are accepted and dropped
// (the json.RawMessage fields), so that terraform and deploy-cli work.
type clientBody struct {
	Name                           opt[string]                `json:"name"`
	Description                    opt[string]                `json:"description"`
	LogoURI                        opt[string]                `json:"logo_uri"`
	AppType                        opt[string]                `json:"app_type"`
	IsFirstParty                   opt[bool]                  `json:"is_first_party"`
	OIDCConformant                 opt[bool]                  `json:"oidc_conformant"`
	Callbacks                      opt[[]string]              `json:"callbacks"`
	AllowedOrigins                 opt[[]string]              `json:"allowed_origins"`
	WebOrigins                     opt[[]string]              `json:"web_origins"`
	AllowedLogoutURLs              opt[[]string]              `json:"allowed_logout_urls"`
	ClientAliases                  opt[[]string]              `json:"client_aliases"`
	AllowedClients                 opt[[]string]              `json:"allowed_clients"`
	GrantTypes                     opt[[]string]              `json:"grant_types"`
	TokenEndpointAuthMethod        nullable[string]           `json:"token_endpoint_auth_method"`
	ClientAuthenticationMethods    nullable[authMethodsBody]  `json:"client_authentication_methods"`
	IsTokenEndpointIPHeaderTrusted opt[bool]                  `json:"is_token_endpoint_ip_header_trusted"`
	JWTConfiguration               opt[jwtConfigBody]         `json:"jwt_configuration"`
	RefreshToken                   nullable[refreshTokenBody] `json:"refresh_token"`
	ClientMetadata                 opt[map[string]string]     `json:"client_metadata"`
	SSODisabled                    opt[bool]                  `json:"sso_disabled"`
	CrossOriginAuthentication      opt[bool]                  `json:"cross_origin_authentication"`
	CustomLoginPageOn              opt[bool]                  `json:"custom_login_page_on"`
	OrganizationUsage              opt[string]                `json:"organization_usage"`
	OrganizationRequireBehavior    opt[string]                `json:"organization_require_behavior"`
	// ClientSecret sets a caller-chosen secret; it needs update:client_keys
	// on PATCH.
	ClientSecret opt[string] `json:"client_secret"`

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

type authMethodsBody struct {
	PrivateKeyJWT opt[privateKeyJWTBody] `json:"private_key_jwt"`
}

type privateKeyJWTBody struct {
	Credentials opt[[]credentialBody] `json:"credentials"`
}

type jwtConfigBody struct {
	Alg               opt[string]          `json:"alg"`
	LifetimeInSeconds opt[int]             `json:"lifetime_in_seconds"`
	SecretEncoded     opt[bool]            `json:"secret_encoded"`
	Scopes            opt[json.RawMessage] `json:"scopes"`
}

type refreshTokenBody struct {
	RotationType              opt[string]     `json:"rotation_type"`
	ExpirationType            opt[string]     `json:"expiration_type"`
	Leeway                    opt[int]        `json:"leeway"`
	TokenLifetime             opt[int]        `json:"token_lifetime"`
	InfiniteTokenLifetime     opt[bool]       `json:"infinite_token_lifetime"`
	IdleTokenLifetime         opt[int]        `json:"idle_token_lifetime"`
	InfiniteIdleTokenLifetime opt[bool]       `json:"infinite_idle_token_lifetime"`
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
		return []string{"authorization_code", "implicit", "refresh_token"}
	}
	return []string{"authorization_code", "implicit", "refresh_token", "client_credentials"}
}

func knownGrantType(g string) bool {
	switch g {
	case "authorization_code", "implicit", "refresh_token", "client_credentials", "password",
		"http://auth0.com/oauth/grant-type/password-realm",
		"http://auth0.com/oauth/grant-type/mfa-oob",
		"http://auth0.com/oauth/grant-type/mfa-otp",
		"http://auth0.com/oauth/grant-type/mfa-recovery-code",
		"http://auth0.com/oauth/grant-type/passwordless/otp",
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

// clientView is a client as the API shows it; the secret only when show.
func clientView(c *store.Client, show bool) any {
	out := *c
	if !show {
		out.ClientSecret = ""
	}
	return &out
}

func (h *handler) listClients(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, true)
	if err != nil {
		return err
	}
	match, err := clientFilter(q)
	if err != nil {
		return err
	}
	all, err := listAll(func(pg store.Page) ([]*store.Client, int, error) {
		return h.cfg.Store.ListClients(r.Context(), pg)
	})
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	all = slices.DeleteFunc(all, func(c *store.Client) bool { return !match(c) })
	show := p.HasAny("read:client_keys")
	return writeSlice(w, lq, "clients", all, func(c *store.Client) any { return clientView(c, show) })
}

// clientFilter reads the is_global, is_first_party and app_type filters.
func clientFilter(q url.Values) (func(*store.Client) bool, error) {
	var tests []func(*store.Client) bool
	for _, f := range []struct {
		name string
		get  func(*store.Client) bool
	}{
		{"is_global", func(c *store.Client) bool { return c.Global }},
		{"is_first_party", func(c *store.Client) bool { return c.IsFirstParty }},
	} {
		if len(q[f.name]) == 0 {
			continue
		}
		want, err := boolParam(q, f.name, false)
		if err != nil {
			return nil, err
		}
		get := f.get
		tests = append(tests, func(c *store.Client) bool { return get(c) == want })
	}
	if v := strings.Join(q["app_type"], ","); v != "" {
		types := strings.Split(v, ",")
		tests = append(tests, func(c *store.Client) bool { return slices.Contains(types, c.AppType) })
	}
	return func(c *store.Client) bool {
		for _, t := range tests {
			if !t(c) {
				return false
			}
		}
		return true
	}, nil
}

func (h *handler) getClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.cfg.Store.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	return writeOne(w, r, http.StatusOK, clientView(c, p.HasAny("read:client_keys")))
}

func (h *handler) createClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b clientBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	if !b.Name.Set {
		return invalidBody("Missing required property: name")
	}
	now := h.now()
	c := &store.Client{
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
	if err := applyClient(c, &b, now); err != nil {
		return err
	}
	if c.TokenEndpointAuthMethod == nil && c.ClientAuthenticationMethods == nil {
		method := "client_secret_post"
		if c.AppType == "spa" || c.AppType == "native" {
			method = "none"
		}
		c.TokenEndpointAuthMethod = &method
	}
	if !b.GrantTypes.Set {
		c.GrantTypes = defaultGrantTypes(c.AuthMethod() == "none")
	}
	if err := validateClient(c); err != nil {
		return err
	}
	if err := h.cfg.Store.CreateClient(r.Context(), c); err != nil {
		return conflictErr(err, "conflict", "A client with the same client_id already exists")
	}
	writeJSON(w, http.StatusCreated, clientView(c, true))
	return nil
}

func (h *handler) updateClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b clientBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	// client_secret needs update:client_keys; every other property update:clients.
	if b.ClientSecret.Set {
		if err := requireScope(p, "update:client_keys"); err != nil {
			return err
		}
	}
	if others := slices.DeleteFunc(setProperties(&b), func(s string) bool { return s == "client_secret" }); len(others) > 0 {
		if err := requireScope(p, "update:clients"); err != nil {
			return err
		}
	}
	c, err := h.cfg.Store.UpdateClient(r.Context(), r.PathValue("id"), func(c *store.Client) error {
		if err := applyClient(c, &b, h.now()); err != nil {
			return err
		}
		return validateClient(c)
	})
	if err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	writeJSON(w, http.StatusOK, clientView(c, p.HasAny("read:client_keys", "update:client_keys")))
	return nil
}

func (h *handler) deleteClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if err := h.cfg.Store.DeleteClient(r.Context(), id); err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	// A deleted client's grants would otherwise linger in listings.
	if err := h.deleteGrants(r.Context(), id, ""); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (h *handler) rotateSecret(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.cfg.Store.UpdateClient(r.Context(), r.PathValue("id"), func(c *store.Client) error {
		c.ClientSecret = ids.Alnum(clientSecretLength)
		return nil
	})
	if err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	writeJSON(w, http.StatusOK, clientView(c, true))
	return nil
}

// deleteGrants deletes the client grants of a client or an audience.
func (h *handler) deleteGrants(ctx context.Context, clientID, audience string) error {
	grants, err := listAll(func(pg store.Page) ([]*store.ClientGrant, int, error) {
		return h.cfg.Store.ListClientGrants(ctx, clientID, audience, pg)
	})
	if err != nil {
		return fmt.Errorf("list client grants: %w", err)
	}
	for _, g := range grants {
		if err := h.cfg.Store.DeleteClientGrant(ctx, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete client grant %s: %w", g.ID, err)
		}
	}
	return nil
}

// applyClient copies every property present in b onto c.
func applyClient(c *store.Client, b *clientBody, now time.Time) error {
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
func applyAuthMethods(c *store.Client, b *clientBody, now time.Time) error {
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
			c.TokenEndpointAuthMethod = strPtr("client_secret_post")
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
func refreshSettings(nb nullable[refreshTokenBody]) (store.RefreshTokenSettings, error) {
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
		case "none", "client_secret_post", "client_secret_basic":
		default:
			return invalidProp("token_endpoint_auth_method", "No enum match for: %s", *c.TokenEndpointAuthMethod)
		}
	}
	public := c.AuthMethod() == "none"
	if public && c.IsTokenEndpointIPHeaderTrusted {
		return invalidProp("is_token_endpoint_ip_header_trusted",
			"Only clients authenticating with a secret or private key can trust the auth0-forwarded-for header")
	}
	if public && c.AllowsGrant("client_credentials") {
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
