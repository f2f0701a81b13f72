// Package grants holds one file per grant_type. A grant only decides who
// gets which scopes for which API; the oauth.Handler authenticates the
// client before and mints and stores tokens after.
package grants

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Grant type values.
const (
	TypePassword          = "password"
	TypePasswordRealm     = "http://auth0.com/oauth/grant-type/password-realm"
	TypeRefreshToken      = "refresh_token"
	TypeClientCredentials = "client_credentials"
)

// apis resolves the audience of a request to an API.
type apis struct {
	store    store.Store
	userinfo string // {issuer}userinfo: asks for no API
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
