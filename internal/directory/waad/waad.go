// Package waad is the "waad" connection strategy (Auth0's Azure AD
// enterprise connection) served over the password grant: gatehouse sends
// the typed credentials to the upstream provider's token endpoint with that
// provider's own Resource Owner Password grant (internal/upstream), verifies
// the ID token it answers with against the provider's discovery document and
// JWKS, and creates or updates the user in the store as "waad|<id>" (Azure
// AD's oid, else the token's sub; "waad|<connection>|<id>" when another
// connection holds that id already, see Keys) with the profile the token
// carries.
//
// The upstream is Azure AD by default, found from tenant_domain
// (https://login.microsoftonline.com/<tenant_domain>/v2.0); discovery_url and
// token_endpoint point the connection at any other OpenID provider that
// serves the password grant (another gatehouse, an Auth0 tenant).
//
// A refusal of the credentials upstream is a wrong password here; a provider
// that cannot be reached, answers 5xx or sends an ID token that fails
// verification is directory.ErrUnavailable, never a wrong password.
//
// The login asks for offline_access; when the provider answers with a
// refresh token, the refresh-token family the login starts keeps it (sealed
// at rest), and at refresh CheckSession exchanges it at the provider, as
// Dex's OIDC connector does: a refusal ends the family, an outage is 503
// and ends nothing. A family without one (the provider gave none) is not
// checked.
package waad

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// Name is the strategy value of Azure AD connections.
const Name = "waad"

// Identity APIs of Auth0's identity_api option; only the v2.0 endpoint's
// password grant is served.
const (
	IdentityAPIV2 = "microsoft-identity-platform-v2.0"
	identityAPIV1 = "azure-active-directory-v1.0"
)

// MicrosoftLogin is Azure AD's login host, where tenant_domain's discovery
// document is.
const MicrosoftLogin = "https://login.microsoftonline.com/"

// Options is a waad connection's options document, with Auth0's names for
// Azure AD's options. Keys gatehouse does not read (an Auth0 export has
// many: ext_groups, basic_profile, ...) are stored verbatim and ignored.
type Options struct {
	ClientID string `json:"client_id,omitempty"`
	// ClientSecret is sealed at rest and never shown by the Management API.
	ClientSecret string `json:"client_secret,omitempty"`
	// TenantDomain is the Azure AD tenant (contoso.onmicrosoft.com, or its
	// id): the discovery document is derived from it.
	TenantDomain string `json:"tenant_domain,omitempty"`
	// Domain and DomainAliases are the email domains of the tenant's
	// users (Auth0's home realm discovery); stored and checked only.
	Domain        string   `json:"domain,omitempty"`
	DomainAliases []string `json:"domain_aliases,omitempty"`
	// IdentityAPI must be microsoft-identity-platform-v2.0 when set.
	IdentityAPI string `json:"identity_api,omitempty"`
	// WAADCommonEndpoint (the multi-tenant "common" endpoint) is refused:
	// its tokens' issuer varies with the user's tenant, so it cannot be
	// pinned.
	WAADCommonEndpoint bool `json:"waad_common_endpoint,omitempty"`
	// UserIDAttribute is Auth0's userid_attribute: "oid" (the default;
	// the token's sub when it has no oid) or "sub".
	UserIDAttribute string `json:"userid_attribute,omitempty"`

	// DiscoveryURL (gatehouse's, Auth0's name in its OIDC connections)
	// replaces the discovery document derived from tenant_domain: the
	// provider's issuer, JWKS and token endpoint are read from it.
	DiscoveryURL string `json:"discovery_url,omitempty"`
	// TokenEndpoint (gatehouse's) replaces the discovered token endpoint.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// GroupsClaim (gatehouse's) names the ID token claim listing the
	// user's groups: "groups" (Azure AD's) by default; an Auth0 or
	// gatehouse provider sends them under a namespaced claim.
	GroupsClaim string `json:"groups_claim,omitempty"`
	// UserCheckIntervalS (gatehouse's, as ad's) is how long a refresh
	// token may be used before the provider is asked again, by exchanging
	// its refresh token, whether the user may still sign in; 0 asks at
	// every refresh.
	UserCheckIntervalS int `json:"user_check_interval_s,omitempty"`
}

// maxCheckInterval bounds user_check_interval_s: a day.
const maxCheckInterval = 86400

// keys are the option keys this strategy reads; options holding none of
// the first five describe a connection not configured yet.
var keys = []string{"client_id", "client_secret", "tenant_domain", "discovery_url", "token_endpoint",
	"domain", "domain_aliases", "identity_api", "waad_common_endpoint", "userid_attribute", "groups_claim",
	"user_check_interval_s"}

// Configured reports whether the options say which provider to ask.
func (o Options) Configured() bool {
	return o.ClientID != "" || o.ClientSecret != "" || o.TenantDomain != "" || o.DiscoveryURL != "" || o.TokenEndpoint != ""
}

// Discovery is the URL of the provider's discovery document.
func (o Options) Discovery() string {
	if o.DiscoveryURL != "" {
		return o.DiscoveryURL
	}
	return MicrosoftLogin + o.TenantDomain + "/v2.0/.well-known/openid-configuration"
}

// ParseOptions reads and validates a waad connection's options. Empty or
// null options, or options without any of the provider's keys, are a
// connection not configured yet (Configured is false). Errors are
// *directory.OptionsError naming the field.
func ParseOptions(raw json.RawMessage) (Options, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return Options{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Options{}, &directory.OptionsError{Field: "options", Message: "options must be a JSON object"}
	}
	var o Options
	for _, k := range keys {
		v, ok := m[k]
		if !ok || bytes.Equal(v, []byte("null")) {
			continue
		}
		if err := json.Unmarshal(v, o.field(k)); err != nil {
			return Options{}, &directory.OptionsError{Field: "options." + k, Message: fmt.Sprintf("options.%s has the wrong type", k)}
		}
	}
	if !o.Configured() {
		return o, nil
	}
	return o, o.Validate()
}

// field is where option key k decodes to.
func (o *Options) field(k string) any {
	switch k {
	case "client_id":
		return &o.ClientID
	case "client_secret":
		return &o.ClientSecret
	case "tenant_domain":
		return &o.TenantDomain
	case "discovery_url":
		return &o.DiscoveryURL
	case "token_endpoint":
		return &o.TokenEndpoint
	case "domain":
		return &o.Domain
	case "domain_aliases":
		return &o.DomainAliases
	case "identity_api":
		return &o.IdentityAPI
	case "waad_common_endpoint":
		return &o.WAADCommonEndpoint
	case "userid_attribute":
		return &o.UserIDAttribute
	case "groups_claim":
		return &o.GroupsClaim
	case "user_check_interval_s":
		return &o.UserCheckIntervalS
	}
	panic("waad: unknown option " + k)
}

// Validate checks a configured connection's options.
func (o Options) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &directory.OptionsError{Field: "options." + field, Message: fmt.Sprintf("options.%s: "+format, append([]any{field}, args...)...)}
	}
	switch {
	case o.ClientID == "":
		return bad("client_id", "required (the application's id at the provider)")
	case len(o.ClientID) > 255:
		return bad("client_id", "longer than 255 characters")
	case o.ClientSecret == "":
		return bad("client_secret", "required (the application's secret at the provider)")
	case len(o.ClientSecret) > 1024:
		return bad("client_secret", "longer than 1024 characters")
	case o.TenantDomain == "" && o.DiscoveryURL == "":
		return bad("tenant_domain", "required (the Azure AD tenant, e.g. contoso.onmicrosoft.com), unless discovery_url is set")
	case o.TenantDomain != "" && !validHost(o.TenantDomain):
		return bad("tenant_domain", "not a domain name or tenant id")
	case o.Domain != "" && !validHost(o.Domain):
		return bad("domain", "not a domain name")
	case o.WAADCommonEndpoint:
		return bad("waad_common_endpoint", "the common endpoint is not served (its tokens' issuer cannot be pinned): name the tenant in tenant_domain")
	case o.IdentityAPI != "" && o.IdentityAPI != IdentityAPIV2:
		if o.IdentityAPI == identityAPIV1 {
			return bad("identity_api", "only %s is served over the password grant", IdentityAPIV2)
		}
		return bad("identity_api", "must be %s", IdentityAPIV2)
	case o.UserIDAttribute != "" && o.UserIDAttribute != "oid" && o.UserIDAttribute != "sub":
		return bad("userid_attribute", `must be "oid" or "sub"`)
	case len(o.GroupsClaim) > 255:
		return bad("groups_claim", "longer than 255 characters")
	case o.UserCheckIntervalS < 0 || o.UserCheckIntervalS > maxCheckInterval:
		return bad("user_check_interval_s", "must be between 0 and %d", maxCheckInterval)
	}
	for i, d := range o.DomainAliases {
		if !validHost(d) {
			return bad(fmt.Sprintf("domain_aliases[%d]", i), "not a domain name")
		}
	}
	for _, u := range []struct{ name, v string }{{"discovery_url", o.DiscoveryURL}, {"token_endpoint", o.TokenEndpoint}} {
		if u.v != "" {
			if err := checkURL(u.v); err != nil {
				return bad(u.name, "%v", err)
			}
		}
	}
	return nil
}

// checkURL accepts an absolute https URL, or http to a loopback host (a
// provider on the same machine): the typed password travels to it.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
		return errors.New("must be an absolute https URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("must be https (http only to a loopback address)")
	}
	return errors.New("must be an absolute https URL")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHost accepts a DNS name (letters, digits, hyphens, dots between
// labels of up to 63 characters), which also covers a tenant's GUID.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// Strategy serves "waad" connections. Users is required.
type Strategy struct {
	Users store.Users
	// Logger receives a line for each provider that cannot be used.
	Logger *slog.Logger
	// Now is the clock of created_at and updated_at; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	clients map[string]*cachedClient // by connection id
}

// cachedClient is a connection's upstream client and the options it was
// built from.
type cachedClient struct {
	sum    [sha256.Size]byte
	client *upstream.Client
	opts   Options
}

var (
	_ directory.Strategy         = (*Strategy)(nil)
	_ directory.PasswordVerifier = (*Strategy)(nil)
	_ directory.StatusChecker    = (*Strategy)(nil)
	_ directory.SessionChecker   = (*Strategy)(nil)
)

// Name implements directory.Strategy.
func (*Strategy) Name() string { return Name }

// ValidateOptions implements directory.Strategy. The options are stored as
// given (the store seals client_secret); empty or null options become {}.
func (*Strategy) ValidateOptions(options json.RawMessage) (json.RawMessage, error) {
	return directory.ValidateObject(options, func(o json.RawMessage) error {
		_, err := ParseOptions(o)
		return err
	})
}

// client returns the connection's upstream client, building it (which
// reads the discovery document) when the connection is new or its options
// changed. A client is kept only once built, so a provider that was down
// is asked again at the next login.
func (s *Strategy) client(ctx context.Context, conn *store.Connection) (*upstream.Client, Options, error) {
	sum := sha256.Sum256(conn.Options)
	s.mu.Lock()
	c, ok := s.clients[conn.ID]
	s.mu.Unlock()
	if ok && c.sum == sum {
		return c.client, c.opts, nil
	}
	o, err := ParseOptions(conn.Options)
	if err != nil {
		return nil, o, fmt.Errorf("%w: connection %s: stored options: %v", directory.ErrUnavailable, conn.Name, err)
	}
	if !o.Configured() {
		return nil, o, fmt.Errorf("%w: connection %s has no provider configured", directory.ErrUnavailable, conn.Name)
	}
	// Built outside the lock: discovery may take up to the timeout, and
	// other connections' logins must not wait for it.
	cl, err := upstream.New(ctx, upstream.Config{DiscoveryURL: o.Discovery(), TokenURL: o.TokenEndpoint,
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, GroupsClaim: o.GroupsClaim})
	if err != nil {
		return nil, o, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients = map[string]*cachedClient{}
	}
	s.clients[conn.ID] = &cachedClient{sum: sum, client: cl, opts: o}
	return cl, o, nil
}

// unavailable logs a provider that cannot be used and returns the error
// the pipeline answers 503 for. The error text carries no password.
func (s *Strategy) unavailable(ctx context.Context, conn *store.Connection, what string, err error) error {
	level, msg := slog.LevelWarn, "upstream identity provider unavailable"
	if errors.Is(err, upstream.ErrTokenRefused) {
		level, msg = slog.LevelError, "upstream identity provider's ID token refused"
	}
	return directory.Unavailable(ctx, s.logger(), level, msg, conn, what, err)
}

func (s *Strategy) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Strategy) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// UpstreamID is what the provider calls the user: the oid (unless attr is
// "sub", or the token has none), else the sub.
func UpstreamID(attr string, id *upstream.Identity) string {
	if attr != "sub" && id.OID != "" {
		return id.OID
	}
	return id.Sub
}

// Keys are the user_ids an upstream identity may be stored under, in order
// of preference: Auth0's "waad|<id>", and, for a connection whose user's
// id another waad connection holds already (a second application of the
// same Azure AD tenant, two connections to one provider), the id
// namespaced by the connection's name as ad's are, "waad|<connection>|<id>".
// Either way the identity's user_id is the provider's id. Whoever stored
// an id first keeps it, so no stored user's id ever changes.
func Keys(conn *store.Connection, upstreamID string) []directory.Key {
	return []directory.Key{
		{UserID: Name + "|" + upstreamID, Provider: Name, ID: upstreamID},
		{UserID: Name + "|" + conn.Name + "|" + upstreamID, Provider: Name, ID: upstreamID},
	}
}

// Verify implements directory.PasswordVerifier: the provider's password
// grant, then the user created or updated in the store.
func (s *Strategy) Verify(ctx context.Context, conn *store.Connection, username, password string) (directory.Result, bool, error) {
	cl, o, err := s.client(ctx, conn)
	if err != nil {
		return directory.Result{}, false, s.unavailable(ctx, conn, "discovery", err)
	}
	id, err := cl.Login(ctx, username, password)
	switch {
	case errors.Is(err, upstream.ErrWrongCredentials):
		// Name the user for the log and brute-force protection when
		// gatehouse has seen them before under that address.
		if u, err := s.Users.UserByIdentifier(ctx, conn.ID, username); err == nil {
			return directory.Result{User: u}, false, nil
		}
		return directory.Result{}, false, nil
	case errors.Is(err, upstream.ErrInteractionRequired):
		s.logger().LogAttrs(ctx, slog.LevelInfo, "upstream identity provider needs a step the password grant cannot carry",
			slog.String("connection", conn.Name))
		return directory.Result{}, false, fmt.Errorf("%w: connection %s", directory.ErrInteractionRequired, conn.Name)
	case err != nil && ctx.Err() != nil:
		// The request's own context ended: not the provider's fault.
		return directory.Result{}, false, fmt.Errorf("directory: waad login: %w", ctx.Err())
	case err != nil:
		return directory.Result{}, false, s.unavailable(ctx, conn, "login", err)
	}
	u, err := s.save(ctx, conn, UpstreamID(o.UserIDAttribute, id), id)
	if err != nil {
		return directory.Result{}, false, err
	}
	res := directory.Result{User: u}
	if id.RefreshToken != "" {
		if res.Session, err = json.Marshal(session{RefreshToken: id.RefreshToken, CheckedAt: s.now().Unix()}); err != nil {
			return directory.Result{}, false, fmt.Errorf("directory: waad session: %w", err)
		}
	}
	return res, true, nil
}

// session is what a refresh-token family of a waad user keeps (sealed at
// rest with the family): the provider's refresh token from the login, or
// the latest one it rotated to, and when the provider last vouched for the
// user (Unix seconds).
type session struct {
	RefreshToken string `json:"refresh_token"`
	CheckedAt    int64  `json:"checked_at"`
}

// CheckSession implements directory.SessionChecker, as Dex's OIDC
// connector refreshes: once user_check_interval_s has passed since the
// provider last vouched for the user, the family's upstream refresh token
// is exchanged at the provider's token endpoint. A refusal is
// directory.ErrSessionRevoked (the user was disabled, deleted or had their
// password reset there); a provider that cannot be asked is
// directory.ErrUnavailable, and the session is kept for the next try, as
// ad keeps its users while the directory is down. The session returned
// carries the rotated token, if the provider rotated it.
func (s *Strategy) CheckSession(ctx context.Context, conn *store.Connection, user *store.User, data []byte) ([]byte, error) {
	var ss session
	if err := json.Unmarshal(data, &ss); err != nil || ss.RefreshToken == "" {
		return nil, fmt.Errorf("directory: waad session of %s is unreadable", user.UserID)
	}
	// Within the interval nothing is asked, not even discovery.
	now := s.now()
	if o, err := ParseOptions(conn.Options); err == nil && o.UserCheckIntervalS > 0 &&
		now.Sub(time.Unix(ss.CheckedAt, 0)) < time.Duration(o.UserCheckIntervalS)*time.Second {
		return data, nil
	}
	cl, _, err := s.client(ctx, conn)
	if err != nil {
		return nil, s.unavailable(ctx, conn, "refresh check", err)
	}
	next, err := cl.Refresh(ctx, ss.RefreshToken)
	switch {
	case errors.Is(err, upstream.ErrRefreshRefused):
		s.logger().LogAttrs(ctx, slog.LevelInfo, "upstream identity provider refused the user's refresh token",
			slog.String("connection", conn.Name), slog.String("user_id", user.UserID), slog.String("error", err.Error()))
		return nil, fmt.Errorf("%w: connection %s: %w", directory.ErrSessionRevoked, conn.Name, err)
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("directory: waad refresh check: %w", ctx.Err())
	case err != nil:
		return nil, s.unavailable(ctx, conn, "refresh check", err)
	}
	out, err := json.Marshal(session{RefreshToken: next, CheckedAt: now.Unix()})
	if err != nil {
		return nil, fmt.Errorf("directory: waad session: %w", err)
	}
	return out, nil
}

// save creates the identity's user, or updates the profile of the one
// stored when the provider changed it. Two waad connections whose
// providers name the same id never share a user (see Keys).
func (s *Strategy) save(ctx context.Context, conn *store.Connection, upstreamID string, id *upstream.Identity) (*store.User, error) {
	return directory.SaveUser(ctx, s.Users, conn, Keys(conn, upstreamID), s.now(), func(u *store.User) {
		u.Email = id.Email
		u.EmailVerified = id.Verified
		u.Name = id.Name
		u.GivenName = id.GivenName
		u.FamilyName = id.FamilyName
		u.Nickname = nickname(id)
		u.Picture = id.Picture
		u.Groups = slices.Clone(id.Groups)
	})
}

// nickname is the token's, else the email's local part (as Auth0 derives
// it).
func nickname(id *upstream.Identity) string {
	if id.Nickname != "" {
		return id.Nickname
	}
	local, _, _ := strings.Cut(id.Email, "@")
	return local
}

// Status implements directory.StatusChecker: the provider's discovery
// document can be read.
func (s *Strategy) Status(ctx context.Context, conn *store.Connection) error {
	cl, _, err := s.client(ctx, conn)
	if err != nil {
		if errors.Is(err, directory.ErrUnavailable) || errors.Is(err, upstream.ErrUnavailable) {
			return fmt.Errorf("%w: connection %s: %v", directory.ErrUnavailable, conn.Name, err)
		}
		return err
	}
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("%w: connection %s: %v", directory.ErrUnavailable, conn.Name, err)
	}
	return nil
}
