package grants

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// Refresh is the refresh_token grant, whole: it judges the token presented
// against its family (the client's leeway, computed here only), revokes
// the family on reuse, checks that the user may still get tokens, and
// commits the exchange (rotation, or an idle expiry that slides) by
// compare-and-swap, judging again whenever a concurrent exchange of the
// same family got in first.
type Refresh struct {
	Store store.Store
	Now   func() time.Time
	// Users, when set, asks the user's directory at refresh time whether
	// the user is still there and enabled (directory.Registry dispatches to
	// the connection's strategy when it implements directory.UserChecker).
	// When it is also a directory.SessionChecker, a family started with a
	// session (an upstream refresh token) has it checked instead, and
	// keeps the session the check hands back.
	Users directory.UserChecker
}

// Type implements oauth.Grant.
func (g *Refresh) Type() string { return protocol.GrantRefreshToken }

// Events implements oauth.Grant. A reuse is logged as ferrt instead.
func (g *Refresh) Events() oauth.GrantEvents {
	return oauth.GrantEvents{Success: events.SuccessExchangeRefresh, Failure: events.FailedExchangeRefresh}
}

// Check implements oauth.Grant: the token must be one its family still
// accepts, for this client.
func (g *Refresh) Check(ctx context.Context, req *oauth.Request, client *store.Client) (oauth.Exchange, error) {
	if req.RefreshToken == "" {
		return nil, oauth.MissingParam("refresh_token")
	}
	familyID, hash, err := tokens.ParseRefreshToken(req.RefreshToken)
	if err != nil {
		return nil, oauth.ErrInvalidRefresh.WithCause(err)
	}
	// The family's user is read with it, for the subject phase.
	f, user, err := g.Store.GetRefreshFamilyWithUser(ctx, familyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.ErrInvalidRefresh.WithCause(errors.New("no such family"))
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if f.ClientID != client.ClientID {
		return nil, oauth.ErrInvalidRefresh.WithCause(errors.New("token of another client"))
	}
	x := &refreshExchange{g: g, client: client, family: f, user: user, presented: hash, now: g.Now(), scope: req.Scope,
		leeway: time.Duration(client.RefreshToken.Leeway) * time.Second}
	if err := x.judge(ctx); err != nil {
		// A refused or reused token of a known family is logged under its user.
		return nil, oauth.AsError(err).WithUser(f.UserID)
	}
	x.attempt = &oauth.Attempt{GrantType: req.GrantType, Client: client, UserID: f.UserID, RefreshFamily: f.ID}
	return x, nil
}

// refreshExchange is one refresh-token exchange past the token's judgement.
type refreshExchange struct {
	g         *Refresh
	client    *store.Client
	family    *store.RefreshFamily // as read; Commit writes it back
	user      *store.User          // the family's user, read with it; nil when deleted
	presented []byte               // the hash of the token shown
	verdict   tokens.Verdict       // Accepted or Replayed
	now       time.Time
	leeway    time.Duration
	scope     string // the narrower scope asked for, if any
	attempt   *oauth.Attempt
	// session, when not nil, is the family's new connector data, as the
	// directory's check handed it back (a rotated upstream token, the time
	// of the check), written with the exchange; nil keeps what is stored.
	session []byte
}

func (x *refreshExchange) Attempt() *oauth.Attempt { return x.attempt }

// judge decides what the presented token means for the family as last
// read: refused, reuse (the family is revoked), or good for an exchange.
func (x *refreshExchange) judge(ctx context.Context) error {
	x.verdict = tokens.Judge(x.family, x.presented, x.now, x.leeway)
	switch x.verdict {
	case tokens.Refused:
		return oauth.ErrInvalidRefresh.WithCause(errors.New("expired or unknown token"))
	case tokens.Reused:
		return x.revoke(ctx)
	}
	return nil
}

// revoke deletes a family whose spent token was used again (RFC 9700
// §4.14.2: the whole family, newest token included) and returns the
// invalid_grant error to answer with, logged as ferrt.
func (x *refreshExchange) revoke(ctx context.Context) error {
	if err := x.g.Store.DeleteRefreshFamily(ctx, x.family.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return oauth.ErrServer.WithCause(err)
	}
	return oauth.ErrInvalidRefresh.WithCause(fmt.Errorf("reuse of a spent refresh token: family %s revoked", x.family.ID)).
		WithEvent(events.RefreshTokenReuse)
}

// Authenticate is the subject phase: the family's user must still exist,
// be unblocked, and (for a directory that can say so) still be there and
// enabled in the directory.
func (x *refreshExchange) Authenticate(ctx context.Context) (*oauth.Authorization, error) {
	st := x.g.Store
	user := x.user
	if user == nil {
		// The family stays, so every later try gets this same answer.
		return nil, oauth.ErrRefreshUserDeleted
	}
	if user.Blocked {
		return nil, oauth.ErrUserBlocked
	}
	conn, err := st.ConnectionByName(ctx, user.Connection)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.ErrRefreshUserDeleted.WithCause(errors.New("the user's connection is gone"))
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if err := x.checkUser(ctx, conn, user); err != nil {
		return nil, err
	}
	var api *store.ResourceServer
	if x.family.Audience != "" {
		api, err = st.ResourceServerByIdentifier(ctx, x.family.Audience)
		if errors.Is(err, store.ErrNotFound) {
			return nil, oauth.ErrInvalidRefresh.WithCause(errors.New("the API was deleted"))
		}
		if err != nil {
			return nil, oauth.ErrServer.WithCause(err)
		}
	}
	scopes := x.family.Scope
	if x.scope != "" {
		asked := splitScope(x.scope)
		if extra := missing(asked, x.family.Scope); len(extra) > 0 {
			return nil, oauth.Errorf(http.StatusForbidden, "invalid_scope",
				"Requested scopes exceed those originally granted: %s", truncate(strings.Join(extra, " ")))
		}
		// Keep the original order, narrowed to what was asked.
		scopes = nil
		for _, s := range x.family.Scope {
			if slices.Contains(asked, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return &oauth.Authorization{
		GrantType:  protocol.GTYRefreshToken,
		Client:     x.client,
		Connection: conn,
		User:       user,
		API:        api,
		Scopes:     scopes,
	}, nil
}

// checkUser asks the user's directory, when it can tell, whether the user
// may still get tokens.
func (x *refreshExchange) checkUser(ctx context.Context, conn *store.Connection, user *store.User) error {
	if x.g.Users == nil {
		return nil
	}
	var err error
	if sc, ok := x.g.Users.(directory.SessionChecker); ok && len(x.family.ConnectorData) > 0 {
		var session []byte
		if session, err = sc.CheckSession(ctx, conn, user, x.family.ConnectorData); err == nil && !bytes.Equal(session, x.family.ConnectorData) {
			x.session = session
		}
	} else {
		err = x.g.Users.CheckUser(ctx, conn, user)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrSessionRevoked):
		// The session the family was started with is dead upstream: so is
		// the family, as for a reuse (every later try is an unknown token).
		if derr := x.g.Store.DeleteRefreshFamily(ctx, x.family.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			return oauth.ErrServer.WithCause(derr)
		}
		return oauth.ErrInvalidRefresh.WithCause(fmt.Errorf("connection %s: %w: family %s revoked", conn.Name, err, x.family.ID))
	case errors.Is(err, directory.ErrUserGone):
		return oauth.ErrRefreshUserDeleted.WithCause(err)
	case errors.Is(err, directory.ErrUserBlocked):
		return oauth.ErrUserBlocked.WithCause(err)
	case errors.Is(err, directory.ErrUnavailable):
		return oauth.DirectoryUnavailable(conn.Name).WithCause(err)
	}
	return oauth.ErrServer.WithCause(fmt.Errorf("check user in connection %s: %w", conn.Name, err))
}

// Commit records the exchange: rotation hands out a new token of the
// family; a non-rotating family only slides its idle expiry. The family
// the grant read is written back by compare-and-swap (one write, no lock
// held); when another exchange of the same family got in first, the token
// is judged again against the newer family, so of concurrent exchanges of
// one token only those the rules allow succeed.
func (x *refreshExchange) Commit(ctx context.Context, _ *oauth.Authorization) (string, error) {
	rt := x.client.RefreshToken
	families := x.g.Store
	for {
		f := x.family
		var token string
		if rt.RotationType == "rotating" || f.Rotating {
			var next []byte
			token, next = tokens.NewRefreshToken(f.ID)
			if err := tokens.Rotate(f, x.verdict, x.presented, next, x.now, x.leeway); err != nil {
				return "", oauth.ErrInvalidRefresh.WithCause(err)
			}
			// Rotation switched off since this family began: its tokens
			// stop rotating from now on.
			f.Rotating = rt.RotationType == "rotating"
		}
		f.LastExchangedAt = x.now
		f.LastIP = oauth.ClientIP(ctx)
		if x.session != nil {
			f.ConnectorData = x.session
		}
		setIdle(f, rt, x.now)
		err := families.ReplaceRefreshFamily(ctx, f)
		switch {
		case err == nil:
			return token, nil
		case errors.Is(err, store.ErrNotFound):
			return "", oauth.ErrInvalidRefresh.WithCause(errors.New("family revoked meanwhile"))
		case !errors.Is(err, store.ErrConflict):
			return "", oauth.ErrServer.WithCause(err)
		}
		if x.family, err = families.GetRefreshFamily(ctx, f.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", oauth.ErrInvalidRefresh.WithCause(errors.New("family revoked meanwhile"))
			}
			return "", oauth.ErrServer.WithCause(err)
		}
		if err := x.judge(ctx); err != nil {
			return "", err
		}
	}
}

// newFamily starts a refresh-token family for a password login with the
// client's current refresh_token settings and returns it, unsaved, with its
// first token.
func newFamily(client *store.Client, auth *oauth.Authorization, ip, userAgent string, now time.Time) (*store.RefreshFamily, string) {
	rt := client.RefreshToken
	f := &store.RefreshFamily{
		ID:              tokens.NewFamilyID(),
		ClientID:        client.ClientID,
		UserID:          auth.User.UserID,
		Scope:           auth.Scopes,
		Rotating:        rt.RotationType == "rotating",
		CreatedAt:       now,
		LastExchangedAt: now,
		InitialIP:       ip,
		LastIP:          ip,
		UserAgent:       userAgent,
	}
	if auth.API != nil {
		f.Audience = auth.API.Identifier
	}
	if expiring(rt) && !rt.InfiniteTokenLifetime && rt.TokenLifetime > 0 {
		f.ExpiresAt = now.Add(time.Duration(rt.TokenLifetime) * time.Second)
	}
	setIdle(f, rt, now)
	token, hash := tokens.NewRefreshToken(f.ID)
	f.Current = [][]byte{hash}
	return f, token
}

func expiring(rt store.RefreshTokenSettings) bool {
	return rt.ExpirationType == "expiring" || rt.RotationType == "rotating"
}

func setIdle(f *store.RefreshFamily, rt store.RefreshTokenSettings, now time.Time) {
	if expiring(rt) && !rt.InfiniteIdleTokenLifetime && rt.IdleTokenLifetime > 0 {
		f.IdleExpiresAt = now.Add(time.Duration(rt.IdleTokenLifetime) * time.Second)
	} else {
		f.IdleExpiresAt = time.Time{}
	}
}
