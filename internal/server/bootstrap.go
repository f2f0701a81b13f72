package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/mgmt"
	"github.com/gatehouse/gatehouse/internal/store"
)

// bootstrap makes sure the Management API exists and, when the bootstrap
// credentials are configured, that their application may call it with every
// scope. It is idempotent, so every start runs it.
func (a *App) bootstrap(ctx context.Context) error {
	if err := a.ensureManagementAPI(ctx); err != nil {
		return err
	}
	// Whether any application may call the Management API is the CLI's to
	// tell the operator (cmd/gatehouse), after start.
	if a.Config.BootstrapClientID == "" {
		return nil
	}
	return a.EnsureManagementClient(ctx, a.Config.BootstrapClientID, a.Config.BootstrapClientSecret)
}

// ensureManagementAPI creates the system resource server for the Management
// API, or brings its scope list up to date.
func (a *App) ensureManagementAPI(ctx context.Context) error {
	scopes := make([]store.ResourceServerScope, 0, len(mgmt.Scopes()))
	for _, s := range mgmt.Scopes() {
		scopes = append(scopes, store.ResourceServerScope{Value: s})
	}
	rs, err := a.Store.ResourceServerByIdentifier(ctx, a.mgmtAudience())
	if errors.Is(err, store.ErrNotFound) {
		err = a.Store.CreateResourceServer(ctx, &store.ResourceServer{
			ID:                  ids.Hex(12),
			Name:                "Auth0 Management API",
			Identifier:          a.mgmtAudience(),
			IsSystem:            true,
			Scopes:              scopes,
			SigningAlg:          "RS256",
			TokenLifetime:       86400,
			TokenLifetimeForWeb: 7200,
		})
		if errors.Is(err, store.ErrConflict) { // another node made it first
			return nil
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("find management API: %w", err)
	}
	_, err = a.Store.UpdateResourceServer(ctx, rs.ID, func(rs *store.ResourceServer) error {
		rs.Scopes, rs.IsSystem = scopes, true
		return nil
	})
	return err
}

// EnsureManagementClient makes clientID a machine-to-machine application
// with exactly clientSecret and a client grant for the Management API with
// every scope.
func (a *App) EnsureManagementClient(ctx context.Context, clientID, clientSecret string) error {
	method := "client_secret_post"
	_, err := a.Store.UpdateClient(ctx, clientID, func(c *store.Client) error {
		c.ClientSecret = clientSecret
		if !c.AllowsGrant("client_credentials") {
			c.GrantTypes = append(c.GrantTypes, "client_credentials")
		}
		if c.AuthMethod() == "none" || c.AuthMethod() == "private_key_jwt" {
			c.TokenEndpointAuthMethod, c.ClientAuthenticationMethods = &method, nil
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = a.Store.CreateClient(ctx, &store.Client{
			ClientID:                clientID,
			ClientSecret:            clientSecret,
			Name:                    "gatehouse bootstrap (Management API)",
			AppType:                 "non_interactive",
			IsFirstParty:            true,
			OIDCConformant:          true,
			GrantTypes:              []string{"client_credentials"},
			TokenEndpointAuthMethod: &method,
			JWTConfiguration:        store.JWTConfiguration{LifetimeInSeconds: 36000},
			RefreshToken:            store.DefaultRefreshTokenSettings(),
			Callbacks:               []string{},
			AllowedOrigins:          []string{},
			WebOrigins:              []string{},
			AllowedLogoutURLs:       []string{},
			ClientMetadata:          map[string]string{},
		})
		if errors.Is(err, store.ErrConflict) {
			return a.EnsureManagementClient(ctx, clientID, clientSecret)
		}
	}
	if err != nil {
		return fmt.Errorf("management client: %w", err)
	}
	grant, err := a.Store.FindClientGrant(ctx, clientID, a.mgmtAudience())
	if errors.Is(err, store.ErrNotFound) {
		err = a.Store.CreateClientGrant(ctx, &store.ClientGrant{
			ID: ids.Prefixed("cgr", 16), ClientID: clientID, Audience: a.mgmtAudience(), Scope: mgmt.Scopes(),
		})
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("management client grant: %w", err)
	}
	_, err = a.Store.UpdateClientGrant(ctx, grant.ID, func(g *store.ClientGrant) error {
		g.Scope = mgmt.Scopes()
		return nil
	})
	return err
}
