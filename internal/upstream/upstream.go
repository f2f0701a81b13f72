// Package upstream logs a user in at another identity provider with that
// provider's own Resource Owner Password grant: what an enterprise
// directory connection (Azure AD's "waad" strategy, or another OpenID
// provider, an old Auth0 tenant included) does when an application sends
// the user's typed credentials to gatehouse. The provider's ID token is
// verified against its discovery document and JWKS before any claim in it
// is believed.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/apiauth"
)

// Errors of Login.
var (
	// ErrWrongCredentials: the provider refused the username or password.
	ErrWrongCredentials = errors.New("upstream: wrong username or password")
	// ErrUnavailable: the provider could not be asked, or answered with
	// something other than tokens or a refusal of the credentials.
	ErrUnavailable = errors.New("upstream: identity provider unavailable")
	// ErrInteractionRequired: the provider needs a step the password
	// grant cannot carry (multifactor authentication, consent, a password
	// change). The password may well have been right.
	ErrInteractionRequired = errors.New("upstream: the identity provider needs a step the password grant cannot carry")
	// ErrTokenRefused: the provider answered with an ID token that failed
	// verification (signature, issuer, audience, expiry). It is also an
	// ErrUnavailable, since the provider cannot be used, but a caller may
	// log it louder: it is a misconfiguration or an attack, not an outage.
	ErrTokenRefused = fmt.Errorf("%w: id_token refused", ErrUnavailable)
	// ErrRefreshRefused: the provider refused a refresh token (the user was
	// disabled or deleted there, their password reset, the token revoked
	// or expired). Only a new login gets a new one.
	ErrRefreshRefused = errors.New("upstream: refresh token refused")
)

// Config is one upstream provider.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document names
	// the token endpoint and the JWKS, and its ID tokens must carry it.
	// It may be left out when DiscoveryURL is set.
	Issuer string
	// DiscoveryURL, when set, is where the discovery document is read
	// instead of Issuer + "/.well-known/openid-configuration", and the
	// issuer it names is the one ID tokens must carry (Azure AD's document
	// for a tenant's domain names the tenant's id in its issuer).
	DiscoveryURL string
	// TokenURL overrides the discovered token endpoint.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scope asked for; default "openid profile email offline_access" (a
	// provider that grants offline_access answers with a refresh token,
	// which the refresh-time check exchanges).
	Scope string
	// Audience, when set, is sent as the audience parameter (Auth0 wants
	// one for an access token; the ID token does not need it).
	Audience string
	// GroupsClaim names the ID token claim that lists the user's groups;
	// default "groups" (Azure AD's). An Auth0 or gatehouse provider can
	// only send them under a namespaced name (groups is a restricted
	// claim there), e.g. "https://example.com/groups".
	GroupsClaim string
	// Timeout bounds one login (token request and key fetch); default 10 s.
	Timeout time.Duration
	// HTTPClient, when set, makes the requests (tests trust a test CA).
	HTTPClient *http.Client
}

// Identity is the user the provider vouched for, from its ID token.
type Identity struct {
	Subject    string   // sub (Azure AD: also oid, which is preferred when present)
	Sub        string   // sub as the token says it
	OID        string   // Azure AD's oid (the user's object id), when present
	Email      string   // email, or Azure AD's preferred_username / upn
	Verified   bool     // email_verified
	Name       string   // name
	GivenName  string   // given_name
	FamilyName string   // family_name
	Nickname   string   // nickname
	Picture    string   // picture
	Groups     []string // groups
	// RefreshToken is the provider's refresh token, when it issued one: a
	// secret, for Refresh only.
	RefreshToken string
}

// Client is safe for concurrent use.
type Client struct {
	cfg       Config
	http      *http.Client
	validator *apiauth.Validator
	tokenURL  string
	discovery string // the discovery document's URL
}

// New checks cfg, reads the provider's discovery document and prepares
// ID-token verification; it fails with ErrUnavailable when the provider
// cannot be reached, so a caller may try again later.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if (cfg.Issuer == "" && cfg.DiscoveryURL == "") || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("upstream: issuer (or discovery URL), client_id and client_secret are required")
	}
	if cfg.Scope == "" {
		cfg.Scope = "openid profile email offline_access"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// No redirects: one could carry the typed password elsewhere.
		hc = &http.Client{Timeout: cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	c := &Client{cfg: cfg, http: hc, tokenURL: cfg.TokenURL, discovery: cfg.DiscoveryURL}
	if c.discovery == "" {
		c.discovery = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var jwksURI string
	if c.tokenURL == "" || cfg.DiscoveryURL != "" {
		var doc struct {
			Issuer        string `json:"issuer"`
			TokenEndpoint string `json:"token_endpoint"`
			JWKSURI       string `json:"jwks_uri"`
		}
		if err := c.getJSON(ctx, c.discovery, &doc); err != nil {
			return nil, err
		}
		if cfg.Issuer == "" {
			if u, err := url.Parse(doc.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, fmt.Errorf("%w: discovery names issuer %q, not an http(s) URL", ErrUnavailable, truncate(doc.Issuer))
			}
			c.cfg.Issuer = doc.Issuer
		}
		if doc.Issuer != c.cfg.Issuer {
			return nil, fmt.Errorf("upstream: discovery names issuer %q, want %q", doc.Issuer, c.cfg.Issuer)
		}
		if c.tokenURL == "" {
			c.tokenURL = doc.TokenEndpoint
		}
		jwksURI = doc.JWKSURI
	}
	if u, err := url.Parse(c.tokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("upstream: token endpoint %q is not an http(s) URL", c.tokenURL)
	}
	// A discovery document read over TLS must not send the password
	// over plain http.
	if strings.HasPrefix(c.tokenURL, "http:") && cfg.TokenURL == "" && strings.HasPrefix(c.discovery, "https:") {
		return nil, fmt.Errorf("upstream: discovery over https names a plain http token endpoint %q", c.tokenURL)
	}
	v, err := apiauth.New(ctx, apiauth.Config{Issuer: c.cfg.Issuer, Audience: cfg.ClientID, JWKSURI: jwksURI, HTTPClient: hc, FetchTimeout: cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	c.validator = v
	return c, nil
}

// Login sends username and password to the provider and returns the
// identity its verified ID token names.
func (c *Client) Login(ctx context.Context, username, password string) (*Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	form := url.Values{
		"grant_type": {"password"}, "username": {username}, "password": {password},
		"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}, "scope": {c.cfg.Scope},
	}
	if c.cfg.Audience != "" {
		form.Set("audience", c.cfg.Audience)
	}
	status, tr, err := c.token(ctx, form)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		if status < 500 && interactionRequired(tr.Error, tr.ErrorCodes) {
			return nil, ErrInteractionRequired
		}
		// invalid_grant is the RFC 6749 answer to wrong credentials (Auth0
		// and gatehouse send it with 403, Azure AD with 400).
		if tr.Error == "invalid_grant" && status < 500 {
			return nil, ErrWrongCredentials
		}
		return nil, fmt.Errorf("%w: token endpoint answered %d %s", ErrUnavailable, status, truncate(tr.Error))
	}
	if tr.IDToken == "" {
		return nil, fmt.Errorf("%w: no id_token in the response (is openid in the scope?)", ErrUnavailable)
	}
	claims, err := c.validator.Validate(ctx, tr.IDToken)
	if errors.Is(err, apiauth.ErrInvalidToken) {
		return nil, fmt.Errorf("%w: %v", ErrTokenRefused, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: id_token: %v", ErrUnavailable, err)
	}
	var raw struct {
		OID               string `json:"oid"`
		Email             string `json:"email"`
		EmailVerified     any    `json:"email_verified"`
		PreferredUsername string `json:"preferred_username"`
		UPN               string `json:"upn"`
		Name              string `json:"name"`
		GivenName         string `json:"given_name"`
		FamilyName        string `json:"family_name"`
		Nickname          string `json:"nickname"`
		Picture           string `json:"picture"`
	}
	var all map[string]json.RawMessage
	if err := claims.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrTokenRefused, err)
	}
	if err := claims.Decode(&all); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrTokenRefused, err)
	}
	id := &Identity{
		RefreshToken: tr.RefreshToken,
		Subject:      claims.Subject, Sub: claims.Subject, OID: raw.OID, Email: raw.Email, Name: raw.Name, GivenName: raw.GivenName,
		FamilyName: raw.FamilyName, Nickname: raw.Nickname, Picture: raw.Picture, Groups: groups(all[c.cfg.GroupsClaim]),
	}
	if raw.OID != "" {
		id.Subject = raw.OID
	}
	if id.Email == "" {
		id.Email = firstNonEmpty(raw.PreferredUsername, raw.UPN)
	}
	switch v := raw.EmailVerified.(type) {
	case bool:
		id.Verified = v
	case string:
		id.Verified = v == "true"
	}
	if id.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrTokenRefused)
	}
	return id, nil
}

// tokenResponse is what a token endpoint answers, success or error.
type tokenResponse struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
	ErrorCodes   []int  `json:"error_codes"` // Azure AD's AADSTS numbers
}

// token posts form to the token endpoint and reads its answer; err is
// ErrUnavailable when there is none.
func (c *Client) token(ctx context.Context, form url.Values) (int, *tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: token request: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: token response: %v", ErrUnavailable, err)
	}
	var tr tokenResponse
	_ = json.Unmarshal(body, &tr)
	return resp.StatusCode, &tr, nil
}

// Refresh exchanges the provider's refresh token, which tells whether the
// user may still sign in there, and returns the one to keep: the rotated
// token when the provider rotates, else the same. A refusal (invalid_grant,
// or Auth0's and gatehouse's unauthorized "user is blocked", with a 4xx)
// is ErrRefreshRefused; a provider that cannot be asked, answers 5xx or
// refuses this client (invalid_client: the connection's own mistake, not
// the user's) is ErrUnavailable. The ID token a refresh may carry is not
// read: the login's was.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	status, tr, err := c.token(ctx, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret},
	})
	switch {
	case err != nil:
		return "", err
	case status == http.StatusOK && tr.RefreshToken != "":
		return tr.RefreshToken, nil
	case status == http.StatusOK:
		return refreshToken, nil
	case status >= 400 && status < 500 && slices.Contains([]string{"invalid_grant", "unauthorized", "access_denied",
		"interaction_required", "consent_required", "mfa_required"}, tr.Error):
		return "", fmt.Errorf("%w: %d %s", ErrRefreshRefused, status, tr.Error)
	}
	return "", fmt.Errorf("%w: token endpoint answered %d %s to a refresh", ErrUnavailable, status, truncate(tr.Error))
}

// Ping reads the discovery document again: the connection's status.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var doc map[string]any
	return c.getJSON(ctx, c.discovery, &doc)
}

func (c *Client) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s answered %d", ErrUnavailable, u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrUnavailable, u, err)
	}
	return nil
}

// azureInteraction are the AADSTS codes Azure AD sends with invalid_grant
// when the credentials were accepted but the user must do something first:
// multifactor authentication (50072, 50074, 50076, 50079, 50158), consent
// (65001) or a password change (50055).
var azureInteraction = []int{50055, 50072, 50074, 50076, 50079, 50158, 65001}

// interactionRequired reads a token endpoint's refusal: Auth0's and
// gatehouse's mfa_required, OpenID's interaction_required and
// consent_required, or Azure AD's invalid_grant with one of its codes.
func interactionRequired(code string, azureCodes []int) bool {
	switch code {
	case "mfa_required", "interaction_required", "consent_required":
		return true
	case "invalid_grant":
		return slices.ContainsFunc(azureCodes, func(c int) bool { return slices.Contains(azureInteraction, c) })
	}
	return false
}

// groups reads a groups claim: a list of strings, or one string; anything
// else is no groups.
func groups(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return slices.DeleteFunc(list, func(g string) bool { return g == "" })
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100]
	}
	return s
}
