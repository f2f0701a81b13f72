package server

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/directory/strategies"
	"github.com/gatehouse/gatehouse/internal/mgmt"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// domain is the tenant's rules over this app's store: the Management API
// and bootstrap both write through it.
func (a *App) domain() *tenant.Service {
	reg := strategies.New(strategies.Config{Users: a.Store, Hasher: a.Hasher, Limit: a.limit, Logger: a.Log, Sandbox: a.scripts()})
	return &tenant.Service{Store: a.Store, Strategies: reg, Hasher: a.Hasher, Now: a.now, Events: a.emitter(), Scripts: a.scripts(), ScriptAllowedHosts: a.Config.ScriptAllowedHosts, Issuer: a.Config.Issuer, Breached: a.breached,
		BreachedObserved: a.Metrics.BreachedPassword, Admins: a.admins()}
}

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
	if err := a.domain().EnsureSystemAPI(ctx, a.mgmtAudience(), "Auth0 Management API", mgmt.Scopes()); err != nil {
		return fmt.Errorf("management API: %w", err)
	}
	return nil
}

// EnsureManagementClient makes clientID a machine-to-machine application
// with exactly clientSecret and a client grant for the Management API with
// every scope.
func (a *App) EnsureManagementClient(ctx context.Context, clientID, clientSecret string) error {
	d := a.domain()
	if err := d.EnsureMachineClient(ctx, clientID, clientSecret, "gatehouse bootstrap (Management API)"); err != nil {
		return fmt.Errorf("management client: %w", err)
	}
	if err := d.EnsureClientGrant(ctx, clientID, a.mgmtAudience(), mgmt.Scopes()); err != nil {
		return fmt.Errorf("management client grant: %w", err)
	}
	return nil
}
