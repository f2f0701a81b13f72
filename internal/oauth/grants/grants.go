// Package grants holds one file per grant_type. Each grant owns its whole
// decision and its commit: Check is its own checks, the Exchange it returns
// authenticates the subject (the password through the connection's
// directory strategy; the refresh family's user) and commits what the
// grant changes. The oauth.Handler calls these phases in the order the
// oauth package doc draws, with the hooks (guards, post-login, MFA gate,
// events) between them.
package grants

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// apis resolves the audience of a request to an API.
type apis struct {
	store    store.Store
	userinfo string // {issuer}userinfo: asks for no API
	mfa      string // {issuer}mfa/: the MFA API; "" where it cannot be asked for
}

// resolve returns the API named by audience, falling back to the tenant's
// default_audience. A nil API with a nil error means "no API": the token is
// only good at /userinfo.
func (a apis) resolve(ctx context.Context, audience string, tenant *store.TenantSettings) (*store.ResourceServer, error) {
	if audience == "" {
		audience = tenant.DefaultAudience
	}
	if audience == "" || audience == a.userinfo {
		return nil, nil
	}
	if a.mfa != "" && (audience == a.mfa || audience+"/" == a.mfa) {
		return MFAAPI(a.mfa), nil
	}
	rs, err := a.store.ResourceServerByIdentifier(ctx, audience)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.Errorf(http.StatusForbidden, "access_denied", "Service not found: %s", truncate(audience))
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	return rs, nil
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// MFA API scopes (mfa-api.md §3).
const (
	ScopeEnroll               = "enroll"
	ScopeReadAuthenticators   = "read:authenticators"
	ScopeRemoveAuthenticators = "remove:authenticators"
)

// MFAAPILifetime is the lifetime of tokens for the MFA API, in seconds.
const MFAAPILifetime = int(10 * time.Minute / time.Second)

// MFAAPI is the built-in API {issuer}mfa/: a login for it always needs a
// second factor, and its tokens manage the user's own authenticators.
func MFAAPI(identifier string) *store.ResourceServer {
	return &store.ResourceServer{
		ID: "mfa", Name: "MFA API", Identifier: identifier, SigningAlg: "RS256",
		Scopes: []store.ResourceServerScope{
			{Value: ScopeEnroll}, {Value: ScopeReadAuthenticators}, {Value: ScopeRemoveAuthenticators},
		},
		AllowOfflineAccess: true, TokenLifetime: MFAAPILifetime, TokenLifetimeForWeb: MFAAPILifetime,
	}
}
