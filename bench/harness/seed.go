package harness

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gatehouse/gatehouse/internal/ids"
)

// Tenant is what Seed sets up: an API, one application allowed the
// password, refresh_token and client_credentials grants with rotating
// refresh tokens, a client grant for the API, a database connection
// enabled for the application (also the tenant's default directory) and a
// user in it.
type Tenant struct {
	API          string
	ClientID     string
	ClientSecret string
	Connection   string
	ConnectionID string
	UserID       string
	Username     string
	Password     string
}

// Scope is what the load's password grants ask for: an ID token and a
// refresh token, so a refresh mints two signatures and rotates once.
const Scope = "openid offline_access"

// Seed creates a fresh Tenant through the Management API. Every name
// carries a random suffix, so seeding a server twice does not collide; it
// does make the new connection the tenant's default directory. It puts
// every address on the attack protection allowlists: a load logs one user
// in from one address far past the same-user login limit, and fails
// passwords on purpose (BenchmarkRefusal). BenchmarkProtection measures
// the protection itself by clearing them (Protect).
func Seed(ctx context.Context, m *Management) (*Tenant, error) {
	suffix := ids.Hex(4)
	tn := &Tenant{
		API:        "https://bench-" + suffix + ".example.com/",
		Connection: "bench-" + suffix,
		Username:   "bench-" + suffix + "@example.com",
		Password:   "Bench password " + suffix + " 1A!",
	}
	err := m.Call(ctx, "POST", "/resource-servers", map[string]any{
		"name": "Bench API " + suffix, "identifier": tn.API, "signing_alg": "RS256",
		"scopes":               []map[string]string{{"value": "read:bench"}},
		"allow_offline_access": true,
	}, nil, 201)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	var client struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	err = m.Call(ctx, "POST", "/clients", map[string]any{
		"name": "Bench app " + suffix, "app_type": "regular_web",
		"grant_types":                []string{"password", "refresh_token", "client_credentials"},
		"token_endpoint_auth_method": "client_secret_post",
		"refresh_token": map[string]any{
			"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
		},
	}, &client, 201)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	tn.ClientID, tn.ClientSecret = client.ClientID, client.ClientSecret
	err = m.Call(ctx, "POST", "/client-grants", map[string]any{
		"client_id": tn.ClientID, "audience": tn.API, "scope": []string{"read:bench"},
	}, nil, 201)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	var conn struct {
		ID string `json:"id"`
	}
	err = m.Call(ctx, "POST", "/connections", map[string]any{
		"name": tn.Connection, "strategy": "auth0", "enabled_clients": []string{tn.ClientID},
	}, &conn, 201)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	tn.ConnectionID = conn.ID
	var user struct {
		UserID string `json:"user_id"`
	}
	err = m.Call(ctx, "POST", "/users", map[string]any{
		"connection": tn.Connection, "email": tn.Username, "password": tn.Password, "given_name": "Bench",
	}, &user, 201)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	tn.UserID = user.UserID
	if err := m.Call(ctx, "PATCH", "/tenants/settings", map[string]any{"default_directory": tn.Connection}, nil, 200); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if err := allowlist(ctx, m, []string{"0.0.0.0/0", "::/0"}); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return tn, nil
}

// Protect empties the attack protection allowlists Seed filled: every
// login is then counted, rate limited and throttled as Auth0 does.
func Protect(ctx context.Context, m *Management) error {
	return allowlist(ctx, m, []string{})
}

func allowlist(ctx context.Context, m *Management, list []string) error {
	for _, path := range []string{"/attack-protection/brute-force-protection", "/attack-protection/suspicious-ip-throttling"} {
		if err := m.Call(ctx, "PATCH", path, map[string]any{"allowlist": list}, nil, 200); err != nil {
			return err
		}
	}
	return nil
}

// PasswordForm is a password grant for the tenant's user with Scope.
func (tn *Tenant) PasswordForm() url.Values {
	return url.Values{
		"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password},
		"audience": {tn.API}, "scope": {Scope},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	}
}

// RefreshForm exchanges refreshToken.
func (tn *Tenant) RefreshForm(refreshToken string) url.Values {
	return url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	}
}

// ClientCredentialsForm is a machine-to-machine grant for the tenant's API.
func (tn *Tenant) ClientCredentialsForm() url.Values {
	return url.Values{
		"grant_type": {"client_credentials"}, "audience": {tn.API},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	}
}
