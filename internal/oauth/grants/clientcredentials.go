package grants

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ClientCredentials is the machine-to-machine grant: the application acts
// on its own behalf, within the scopes of its client grant for the API.
type ClientCredentials struct {
	Store  store.Store
	Issuer string
}

// Type implements oauth.Grant.
func (g *ClientCredentials) Type() string { return protocol.GrantClientCredentials }

// Events implements oauth.Grant.
func (g *ClientCredentials) Events() oauth.GrantEvents {
	return oauth.GrantEvents{Success: events.SuccessExchangeClientCred, Failure: events.FailedExchangeClientCred}
}

// Check implements oauth.Grant (spec §4): the client grant for the API
// decides the scopes.
func (g *ClientCredentials) Check(ctx context.Context, req *oauth.Request, client *store.Client) (oauth.Exchange, error) {
	if client.AuthMethod() == protocol.MethodNone {
		return nil, oauth.GrantNotAllowed(req.GrantType)
	}
	tenant, err := g.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	audience := req.Audience
	if audience == "" {
		audience = tenant.DefaultAudience
	}
	if audience == "" {
		return nil, oauth.Errorf(http.StatusForbidden, "access_denied", "No audience parameter was provided, and no default audience has been configured")
	}
	api, err := apis{store: g.Store}.resolve(ctx, audience, tenant)
	if err != nil {
		return nil, err
	}
	if api == nil {
		return nil, oauth.Errorf(http.StatusForbidden, "access_denied", "Service not found: %s", truncate(audience))
	}
	cg, err := g.Store.FindClientGrant(ctx, client.ClientID, api.Identifier)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if err != nil || (cg.SubjectType != "" && cg.SubjectType != "client") {
		return nil, oauth.Errorf(http.StatusForbidden, "access_denied",
			`Client is not authorized to access "%s". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
			truncate(api.Identifier))
	}
	scopes := cg.Scope
	if req.Scope != "" {
		asked := splitScope(req.Scope)
		if extra := missing(asked, cg.Scope); len(extra) > 0 {
			return nil, oauth.Errorf(http.StatusForbidden, "access_denied", "Client has not been granted scopes: %s", truncate(strings.Join(extra, " ")))
		}
		scopes = asked
	}
	return &clientExchange{auth: &oauth.Authorization{
		GrantType: protocol.GTYClientCredentials,
		Client:    client,
		API:       api,
		Scopes:    scopes,
	}}, nil
}

// clientExchange is a client-credentials request past its checks: the
// client authenticated itself, so the subject phase has nothing to prove,
// and nothing is stored.
type clientExchange struct{ auth *oauth.Authorization }

func (x *clientExchange) Attempt() *oauth.Attempt {
	return &oauth.Attempt{GrantType: protocol.GrantClientCredentials, Client: x.auth.Client}
}

func (x *clientExchange) Authenticate(context.Context) (*oauth.Authorization, error) {
	return x.auth, nil
}

func (x *clientExchange) Commit(context.Context, *oauth.Authorization) (string, error) {
	return "", nil
}
