package grants

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// Refresh is the refresh_token grant.
type Refresh struct {
	Store  store.Store
	Now    func() time.Time
	Logger *slog.Logger
}

// Type implements oauth.Grant.
func (g *Refresh) Type() string { return TypeRefreshToken }

// Authorize implements oauth.Grant. The token is judged here to refuse
// early; the Handler judges it again under the family's row lock when it
// records the exchange.
func (g *Refresh) Authorize(ctx context.Context, req *oauth.Request, client *store.Client) (*oauth.Authorization, error) {
	if req.RefreshToken == "" {
		return nil, oauth.MissingParam("refresh_token")
	}
	familyID, hash, err := tokens.ParseRefreshToken(req.RefreshToken)
	if err != nil {
		return nil, oauth.ErrInvalidRefresh.WithCause(err)
	}
	f, err := g.Store.GetRefreshFamily(ctx, familyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.ErrInvalidRefresh.WithCause(errors.New("no such family"))
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if f.ClientID != client.ClientID {
		return nil, oauth.ErrInvalidRefresh.WithCause(errors.New("token of another client"))
	}
	switch tokens.Judge(f, hash, g.Now(), time.Duration(client.RefreshToken.Leeway)*time.Second) {
	case tokens.Refused:
		return nil, oauth.ErrInvalidRefresh.WithCause(errors.New("expired or unknown token"))
	case tokens.Reused:
		return nil, oauth.RevokeFamily(ctx, g.Store, g.Logger, f.ID)
	}

	user, err := g.Store.GetUser(ctx, f.UserID)
	if errors.Is(err, store.ErrNotFound) {
		// The family stays, so every later try gets this same answer.
		return nil, oauth.ErrRefreshUserDeleted
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if user.Blocked {
		return nil, oauth.ErrUserBlocked
	}
	var api *store.ResourceServer
	if f.Audience != "" {
		api, err = g.Store.ResourceServerByIdentifier(ctx, f.Audience)
		if errors.Is(err, store.ErrNotFound) {
			return nil, oauth.ErrInvalidRefresh.WithCause(errors.New("the API was deleted"))
		}
		if err != nil {
			return nil, oauth.ErrServer.WithCause(err)
		}
	}

	scopes := f.Scope
	if req.Scope != "" {
		asked := splitScope(req.Scope)
		if extra := missing(asked, f.Scope); len(extra) > 0 {
			return nil, oauth.Errorf(http.StatusForbidden, "invalid_scope",
				"Requested scopes exceed those originally granted: %s", truncate(strings.Join(extra, " ")))
		}
		// Keep the original order, narrowed to what was asked.
		scopes = nil
		for _, s := range f.Scope {
			if slices.Contains(asked, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return &oauth.Authorization{
		GrantType: "refresh_token",
		Event:     "sertft",
		User:      user,
		API:       api,
		Scopes:    scopes,
		Family:    f,
		Presented: hash,
	}, nil
}
