package grants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Password is the Resource Owner Password grant, both as "password" (the
// tenant's default directory) and as password-realm (the connection named by
// realm).
type Password struct {
	Store     store.Store
	Directory directory.PasswordVerifier
	Issuer    string
	Now       func() time.Time
	Logger    *slog.Logger
	// Realm selects the password-realm variant.
	Realm bool
}

// Type implements oauth.Grant.
func (g *Password) Type() string {
	if g.Realm {
		return TypePasswordRealm
	}
	return TypePassword
}

// Authorize implements oauth.Grant, in the order of spec §3.3.
func (g *Password) Authorize(ctx context.Context, req *oauth.Request, client *store.Client) (*oauth.Authorization, error) {
	for _, p := range []struct{ name, val string }{{"username", req.Username}, {"password", req.Password}} {
		if p.val == "" {
			return nil, oauth.MissingParam(p.name)
		}
	}
	if g.Realm && req.Realm == "" {
		return nil, oauth.MissingParam("realm")
	}
	tenant, err := g.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	conn, err := g.connection(ctx, req, tenant)
	if err != nil {
		return nil, err
	}
	if !conn.EnabledFor(client.ClientID) {
		return nil, oauth.Errorf(http.StatusForbidden, "unauthorized_client", "the connection is not enabled")
	}
	api, err := apis{g.Store, g.Issuer + "userinfo"}.resolve(ctx, req.Audience, tenant)
	if err != nil {
		return nil, err
	}
	if api != nil && api.IsSystem {
		// A user token for the Management API would carry every management
		// scope under the "no API scope asked" rule.
		return nil, oauth.Errorf(http.StatusForbidden, "access_denied", "The Management API does not accept user tokens")
	}

	res, ok, err := g.Directory.Verify(ctx, conn, req.Username, req.Password)
	if errors.Is(err, passwords.ErrBusy) {
		return nil, oauth.ErrBusy
	}
	if errors.Is(err, directory.ErrUnavailable) {
		// The connection's directory could not be asked: not the user's
		// fault, so neither a wrong password nor a server error.
		return nil, oauth.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable",
			"The connection %s is not available. Try again later.", truncate(conn.Name)).WithCause(err)
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if !ok {
		event := "fu" // unknown user
		if res.User != nil {
			event = "fp" // wrong password
		}
		g.Logger.LogAttrs(ctx, slog.LevelInfo, "wrong email or password", slog.String("event", event),
			slog.String("client_id", client.ClientID), slog.String("connection", conn.Name), slog.String("ip", oauth.ClientIP(ctx)))
		return nil, oauth.ErrWrongCredentials
	}
	user := res.User
	if user.Blocked {
		return nil, oauth.ErrUserBlocked
	}

	var apiScopes []string
	if api != nil {
		apiScopes = api.ScopeValues()
	}
	scopes, offline := userScopes(splitScope(req.Scope), apiScopes)
	newFamily := offline && client.AllowsGrant(TypeRefreshToken) && (api == nil || api.AllowOfflineAccess)
	if newFamily {
		scopes = append(scopes, "offline_access")
	}
	return &oauth.Authorization{
		GrantType: "password",
		Event:     "sepft",
		User:      user,
		API:       api,
		Scopes:    scopes,
		NewFamily: newFamily,
		Login: &store.Login{
			UserID:          user.UserID,
			At:              g.Now(),
			IP:              oauth.ClientIP(ctx),
			NewPasswordHash: res.NewPasswordHash,
		},
	}, nil
}

// connection picks the connection to check the password in (spec §3.2).
func (g *Password) connection(ctx context.Context, req *oauth.Request, tenant *store.TenantSettings) (*store.Connection, error) {
	name := tenant.DefaultDirectory
	if g.Realm {
		name = req.Realm
	}
	if name == "" {
		return nil, oauth.ErrNoDefaultDirectory
	}
	conn, err := g.Store.ConnectionByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) && g.Realm {
		return nil, oauth.Errorf(http.StatusBadRequest, "invalid_request", "Unknown realm %s.", truncate(name))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.ErrNoDefaultDirectory.WithCause(fmt.Errorf("default_directory %q does not exist", name))
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if g.Realm && !slices.Contains(conn.Realms, name) && len(conn.Realms) > 0 {
		return nil, oauth.Errorf(http.StatusBadRequest, "invalid_request", "Unknown realm %s.", truncate(name))
	}
	return conn, nil
}
