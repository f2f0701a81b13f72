package grants

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/protocol"
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
	// Realm selects the password-realm variant.
	Realm bool
}

// Type implements oauth.Grant.
func (g *Password) Type() string {
	if g.Realm {
		return protocol.GrantPasswordRealm
	}
	return protocol.GrantPassword
}

// Events implements oauth.Grant: a success is also a login (s).
func (g *Password) Events() oauth.GrantEvents {
	return oauth.GrantEvents{Success: events.SuccessExchangePassword, Failure: events.FailedExchangePassword, Login: true}
}

// Check implements oauth.Grant, in the order of spec §3.3: the parameters,
// the connection and the API, before any password is looked at.
func (g *Password) Check(ctx context.Context, req *oauth.Request, client *store.Client) (oauth.Exchange, error) {
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
	ls, err := userLogin(ctx, g.Store, g.Issuer, req, client, tenant)
	if err != nil {
		return nil, err
	}
	return &passwordExchange{
		g: g, login: ls, conn: conn, password: req.Password,
		attempt: &oauth.Attempt{GrantType: req.GrantType, Client: client, Connection: conn, Username: req.Username, Password: req.Password},
	}, nil
}

// login is what a user's login grants: the API and scopes, and whether a
// refresh token may be issued.
type login struct {
	client  *store.Client
	api     *store.ResourceServer
	scopes  []string
	offline bool
}

// userLogin resolves the audience and the scopes of a user's login.
func userLogin(ctx context.Context, st store.Store, issuer string, req *oauth.Request, client *store.Client, tenant *store.TenantSettings) (login, error) {
	api, err := apis{st, issuer + "userinfo", issuer + "mfa/"}.resolve(ctx, req.Audience, tenant)
	if err != nil {
		return login{}, err
	}
	if api != nil && api.IsSystem {
		// A user token for the Management API would carry every management
		// scope under the "no API scope asked" rule.
		return login{}, oauth.Errorf(http.StatusForbidden, "access_denied", "The Management API does not accept user tokens")
	}
	var apiScopes []string
	if api != nil {
		apiScopes = api.ScopeValues()
	}
	scopes, offline := userScopes(splitScope(req.Scope), apiScopes)
	offline = offline && client.AllowsGrant(protocol.GrantRefreshToken) && (api == nil || api.AllowOfflineAccess)
	if offline {
		scopes = append(scopes, "offline_access")
	}
	return login{client: client, api: api, scopes: scopes, offline: offline}, nil
}

// commit records a completed login, with the new refresh family when
// offline access was granted (and post-login left it in the scopes), in
// one write.
func (l login) commit(ctx context.Context, st store.Store, now time.Time, auth *oauth.Authorization, a *oauth.Attempt, rehash string) (string, error) {
	var family *store.RefreshFamily
	var token string
	if l.offline && slices.Contains(auth.Scopes, "offline_access") {
		family, token = newFamily(l.client, auth, oauth.ClientIP(ctx), a.UserAgent, now)
		family.ConnectorData = auth.Session
	}
	err := st.RecordLogin(ctx, store.Login{
		UserID: auth.User.UserID, At: now, IP: oauth.ClientIP(ctx), NewPasswordHash: rehash, Family: family,
		ResetCounter: a.ResetCounter,
	})
	if err != nil {
		return "", oauth.ErrServer.WithCause(fmt.Errorf("record login: %w", err))
	}
	return token, nil
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

// passwordExchange is a password login past the grant's checks.
// Authenticate only verifies the password ("password verified"); Commit
// records the login ("login completed": count, time, IP, a rehashed
// password, the new refresh family) in one write.
type passwordExchange struct {
	g *Password
	login
	conn     *store.Connection
	password string
	attempt  *oauth.Attempt

	rehash string // the verified password's new hash, to save with the login
}

func (x *passwordExchange) Attempt() *oauth.Attempt { return x.attempt }

// Authenticate is the subject phase: the connection's directory strategy
// checks the password.
func (x *passwordExchange) Authenticate(ctx context.Context) (*oauth.Authorization, error) {
	res, ok, err := x.g.Directory.Verify(ctx, x.conn, x.attempt.Username, x.password)
	switch {
	case errors.Is(err, passwords.ErrBusy):
		return nil, oauth.ErrBusy
	case errors.Is(err, directory.ErrUnavailable):
		return nil, oauth.DirectoryUnavailable(x.conn.Name).WithCause(err)
	case errors.Is(err, directory.ErrInteractionRequired):
		// Not a wrong password (nothing is counted), and nothing a retry
		// of the same grant can fix.
		return nil, oauth.Errorf(http.StatusForbidden, "invalid_grant",
			"The connection %s requires a step the password grant cannot carry, such as multifactor authentication.", x.conn.Name).
			WithEvent(events.FailedLogin).WithCause(err)
	case errors.Is(err, directory.ErrUserConflict):
		// The directory vouched for the user, but the store holds another
		// user in their place (their email, or their id): not a wrong
		// password, and nothing the client can fix by retrying.
		return nil, oauth.Errorf(http.StatusForbidden, "access_denied",
			"The user of connection %s conflicts with another user (same email, username or id); an administrator must resolve it.", x.conn.Name).
			WithEvent(events.FailedLogin).WithCause(err)
	case err != nil:
		return nil, oauth.ErrServer.WithCause(err)
	case !ok && res.User != nil:
		x.attempt.UserID = res.User.UserID
		return nil, oauth.ErrWrongCredentials.WithEvent(events.FailedLoginWrongPassword)
	case !ok:
		return nil, oauth.ErrWrongCredentials.WithEvent(events.FailedLoginUnknownUser)
	}
	user := res.User
	x.attempt.UserID = user.UserID
	if user.Blocked {
		return nil, oauth.ErrUserBlocked.WithEvent(events.FailedLogin)
	}
	x.rehash = res.NewPasswordHash
	return &oauth.Authorization{
		GrantType:  protocol.GTYPassword,
		Client:     x.client,
		Connection: x.conn,
		User:       user,
		API:        x.api,
		Scopes:     x.scopes,
		Session:    res.Session,
	}, nil
}

// Commit records the login.
func (x *passwordExchange) Commit(ctx context.Context, auth *oauth.Authorization) (string, error) {
	return x.login.commit(ctx, x.g.Store, x.g.Now(), auth, x.attempt, x.rehash)
}
