package grants

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory/passwordless"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// PasswordlessUsers finds or creates the user who proved they hold an
// address or number (tenant.Service).
type PasswordlessUsers interface {
	PasswordlessLogin(ctx context.Context, conn *store.Connection, identifier, clientID string) (*store.User, error)
}

// Passwordless is the grant http://auth0.com/oauth/grant-type/passwordless/otp:
// the code /passwordless/start sent to an email address (realm email) or
// phone number (realm sms), as username and otp.
type Passwordless struct {
	Store store.Store
	Users PasswordlessUsers
	// CodeKey keys the hashes of the codes (the one /passwordless/start
	// hashes them with).
	CodeKey []byte
	Issuer  string
	Now     func() time.Time
}

// Type implements oauth.Grant.
func (g *Passwordless) Type() string { return protocol.GrantPasswordlessOTP }

// Events implements oauth.Grant: a success is a login (s), a refusal
// fepotpft.
func (g *Passwordless) Events() oauth.GrantEvents {
	return oauth.GrantEvents{Failure: events.FailedExchangePasswordlessOTP, Login: true}
}

// Check implements oauth.Grant: the parameters, the connection the realm
// names, and the API.
func (g *Passwordless) Check(ctx context.Context, req *oauth.Request, client *store.Client) (oauth.Exchange, error) {
	otp := req.Params["otp"]
	for _, p := range []struct{ name, val string }{{"username", req.Username}, {"otp", otp}, {"realm", req.Realm}} {
		if p.val == "" {
			return nil, oauth.MissingParam(p.name)
		}
	}
	if req.Realm != passwordless.Email && req.Realm != passwordless.SMS {
		return nil, oauth.Errorf(http.StatusBadRequest, "invalid_request", "Unknown realm %s.", truncate(req.Realm))
	}
	conn, err := g.Store.ConnectionByName(ctx, req.Realm)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && conn.Strategy != req.Realm:
		return nil, oauth.Errorf(http.StatusBadRequest, "invalid_request", "Unknown realm %s.", req.Realm)
	case err != nil:
		return nil, oauth.ErrServer.WithCause(err)
	}
	if !conn.EnabledFor(client.ClientID) {
		return nil, oauth.Errorf(http.StatusForbidden, "unauthorized_client", "the connection is not enabled")
	}
	ts, err := g.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	ls, err := userLogin(ctx, g.Store, g.Issuer, req, client, ts)
	if err != nil {
		return nil, err
	}
	x := &passwordlessExchange{g: g, login: ls, conn: conn, otp: otp,
		attempt: &oauth.Attempt{GrantType: req.GrantType, Client: client, Connection: conn, Username: req.Username}}
	return x, nil
}

// Auth0's answers to a code that does not log in.
var (
	errWrongEmailCode = oauth.Errorf(http.StatusForbidden, "invalid_grant", "Wrong email or verification code.")
	errWrongPhoneCode = oauth.Errorf(http.StatusForbidden, "invalid_grant", "Wrong phone number or verification code.")
	errCodeSpent      = oauth.Errorf(http.StatusForbidden, "invalid_grant", "You've reached the maximum number of attempts. Please try to login again.")
)

type passwordlessExchange struct {
	g *Passwordless
	login
	conn    *store.Connection
	otp     string
	attempt *oauth.Attempt
}

func (x *passwordlessExchange) Attempt() *oauth.Attempt { return x.attempt }

// errNoCode aborts the code record's update: there is nothing to count.
var errNoCode = errors.New("no live code")

// Authenticate is the subject phase: the code is checked against the
// record of the identifier in one atomic update, which spends it on
// success and counts a wrong one (the MaxAttempts-th spends it too); then
// the user is found or created.
func (x *passwordlessExchange) Authenticate(ctx context.Context) (*oauth.Authorization, error) {
	wrong := errWrongEmailCode
	if x.conn.Strategy == passwordless.SMS {
		wrong = errWrongPhoneCode
	}
	id, err := passwordless.Normalize(x.conn.Strategy, x.attempt.Username)
	if err != nil {
		return nil, wrong.WithCause(err)
	}
	rec := passwordless.RecordID(x.conn, id)
	now := x.g.Now()
	var match, spent bool
	_, err = x.g.Store.UpdatePasswordlessCode(ctx, rec, func(c *store.PasswordlessCode) error {
		if c.CodeHash == nil {
			spent = c.Attempts >= passwordless.MaxAttempts
			return errNoCode
		}
		if !now.Before(c.ExpiresAt) {
			return errNoCode
		}
		match = subtle.ConstantTimeCompare(c.CodeHash, passwordless.Hash(x.g.CodeKey, rec, x.otp)) == 1 &&
			c.ClientID == x.client.ClientID
		if !match {
			c.Attempts++
			if c.Attempts < passwordless.MaxAttempts {
				return nil
			}
		}
		c.CodeHash = nil
		return nil
	})
	switch {
	case errors.Is(err, errNoCode) && spent:
		return nil, errCodeSpent.WithCause(errors.New("code spent by wrong attempts"))
	case errors.Is(err, errNoCode):
		return nil, wrong.WithCause(errors.New("no code, a used one or an expired one"))
	case err != nil:
		return nil, oauth.ErrServer.WithCause(err)
	case !match:
		return nil, wrong.WithCause(errors.New("wrong code"))
	}
	user, err := x.g.Users.PasswordlessLogin(ctx, x.conn, id, x.client.ClientID)
	switch {
	case errors.Is(err, tenant.ErrPasswordlessNoSignup):
		return nil, wrong.WithCause(err)
	case err != nil:
		return nil, oauth.ErrServer.WithCause(err)
	}
	x.attempt.UserID = user.UserID
	if user.Blocked {
		return nil, oauth.ErrUserBlocked.WithEvent(events.FailedLogin)
	}
	return &oauth.Authorization{Client: x.client, Connection: x.conn, User: user, API: x.api, Scopes: x.scopes}, nil
}

// Commit records the login.
func (x *passwordlessExchange) Commit(ctx context.Context, auth *oauth.Authorization) (string, error) {
	return x.login.commit(ctx, x.g.Store, x.g.Now(), auth, x.attempt, "")
}
