package tenant_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	builtin "github.com/gatehouse/gatehouse/internal/directory/strategies"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tenant"
	"golang.org/x/crypto/bcrypt"
)

var testNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// newService is the rules over a real SQLite store.
func newService(t *testing.T, strategies tenant.Strategies) *tenant.Service {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "tenant.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hasher, err := passwords.NewHasher(passwords.Bcrypt, passwords.Argon2Params{}, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if strategies == nil {
		strategies = builtin.New(builtin.Config{Users: st, Hasher: hasher})
	}
	return &tenant.Service{Store: st, Strategies: strategies, Hasher: hasher, Now: func() time.Time { return testNow }}
}

func must[T any](t *testing.T) func(v T, err error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantError checks that err is a tenant.Error of that kind, code, property
// and message ("" matches any message).
func wantError(t *testing.T, err error, kind tenant.Kind, code, prop, message string) {
	t.Helper()
	var e *tenant.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *tenant.Error", err, err)
	}
	if e.Kind != kind || e.Code != code || e.Property != prop || (message != "" && e.Message != message) {
		t.Fatalf("error %+v, want kind %d code %s property %q message %q", *e, kind, code, prop, message)
	}
}

func TestNewClientsGetAuth0sDefaults(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	ctx := t.Context()
	tests := []struct {
		name       string
		in         tenant.ClientInput
		method     string
		grantTypes []string
	}{
		{"confidential", tenant.ClientInput{Name: tenant.Some("web")}, "client_secret_post",
			[]string{"authorization_code", "implicit", "refresh_token", "client_credentials"}},
		{"spa is public", tenant.ClientInput{Name: tenant.Some("spa"), AppType: tenant.Some("spa")}, "none",
			[]string{"authorization_code", "implicit", "refresh_token"}},
		{"grant types given", tenant.ClientInput{Name: tenant.Some("m2m"), GrantTypes: tenant.Some([]string{"client_credentials", "client_credentials"})},
			"client_secret_post", []string{"client_credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := must[*store.Client](t)(s.CreateClient(ctx, &tt.in))
			if len(c.ClientID) != 32 || len(c.ClientSecret) != 64 || !c.IsFirstParty || !c.CustomLoginPageOn ||
				c.JWTConfiguration.LifetimeInSeconds != 36000 || c.RefreshToken != store.DefaultRefreshTokenSettings() {
				t.Errorf("defaults: %+v", c)
			}
			if c.AuthMethod() != tt.method || !slices.Equal(c.GrantTypes, tt.grantTypes) {
				t.Errorf("auth method %s, grant types %v; want %s, %v", c.AuthMethod(), c.GrantTypes, tt.method, tt.grantTypes)
			}
			got := must[*store.Client](t)(s.GetClient(ctx, c.ClientID))
			if got.ClientSecret != c.ClientSecret || !slices.Equal(got.GrantTypes, c.GrantTypes) {
				t.Errorf("stored %+v, created %+v", got, c)
			}
		})
	}
}

func TestRefusalsAreTypedWithAuth0sMessages(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	ctx := t.Context()
	must[*store.ResourceServer](t)(s.CreateResourceServer(ctx, &tenant.ResourceServerInput{Identifier: tenant.Some("https://api.test/")}))
	must[*store.Connection](t)(s.CreateConnection(ctx, &tenant.ConnectionInput{Name: tenant.Some("db"), Strategy: tenant.Some("auth0"),
		Options: tenant.Nullable[json.RawMessage]{Set: true, V: json.RawMessage(`{"passwordPolicy":"good"}`)}}))
	if err := s.EnsureSystemAPI(ctx, "https://tenant.test/api/v2/", "Auth0 Management API", []string{"read:clients"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		do                  func() error
		kind                tenant.Kind
		code, prop, message string
	}{
		{"name required", func() error { _, err := s.CreateClient(ctx, &tenant.ClientInput{}); return err },
			tenant.Invalid, "invalid_body", "", "Missing required property: name"},
		{"rotating must expire", func() error {
			_, err := s.CreateClient(ctx, &tenant.ClientInput{Name: tenant.Some("c"), RefreshToken: tenant.Nullable[tenant.RefreshTokenInput]{Set: true,
				V: tenant.RefreshTokenInput{RotationType: tenant.Some("rotating"), ExpirationType: tenant.Some("non-expiring")}}})
			return err
		}, tenant.Invalid, "invalid_body", "refresh_token.expiration_type", "Rotating refresh tokens must be expiring"},
		{"unknown client", func() error { _, err := s.GetClient(ctx, "nope"); return err },
			tenant.NotFound, "inexistent_client", "", "The client does not exist"},
		{"unknown user", func() error { return s.DeleteUser(ctx, "auth0|nope") },
			tenant.NotFound, "inexistent_user", "", "The user does not exist."},
		{"duplicate API", func() error {
			_, err := s.CreateResourceServer(ctx, &tenant.ResourceServerInput{Identifier: tenant.Some("https://api.test/")})
			return err
		}, tenant.Conflict, "resource_server_conflict", "", ""},
		{"system API is fixed", func() error { return s.DeleteResourceServer(ctx, "https://tenant.test/api/v2/") },
			tenant.Forbidden, "operation_not_supported", "", ""},
		{"grant for an unknown API", func() error {
			c := must[*store.Client](t)(s.CreateClient(ctx, &tenant.ClientInput{Name: tenant.Some("c")}))
			_, err := s.CreateClientGrant(ctx, &tenant.ClientGrantInput{ClientID: tenant.Some(c.ClientID),
				Audience: tenant.Some("https://nowhere.test/"), Scope: tenant.Some([]string{})})
			return err
		}, tenant.NotFound, "inexistent_resource_server", "", ""},
		{"weak password", func() error {
			_, err := s.CreateUser(ctx, &tenant.UserInput{Connection: tenant.Some("db"), Email: tenant.Some("a@example.com"), Password: tenant.Some("short")})
			return err
		}, tenant.Invalid, "invalid_password", "", "PasswordStrengthError: Password is too weak"},
		{"unknown strategy", func() error {
			_, err := s.CreateConnection(ctx, &tenant.ConnectionInput{Name: tenant.Some("x"), Strategy: tenant.Some("google-oauth2")})
			return err
		}, tenant.Invalid, "invalid_body", "strategy", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.do(), tt.kind, tt.code, tt.prop, tt.message)
		})
	}
}

// strategyFunc is a connection strategy whose option check is a function.
type strategyFunc func(json.RawMessage) (json.RawMessage, error)

func (strategyFunc) Name() string { return "test" }
func (f strategyFunc) ValidateOptions(raw json.RawMessage) (json.RawMessage, error) {
	return f(raw)
}

func TestConnectionOptionsAreTheStrategys(t *testing.T) {
	t.Parallel()
	s := newService(t, directory.Registry{"test": strategyFunc(func(raw json.RawMessage) (json.RawMessage, error) {
		if bytes.Contains(raw, []byte("bad")) {
			return nil, &directory.OptionsError{Field: "options.url", Message: "url must be ldaps://"}
		}
		return json.RawMessage(`{"filled":true}`), nil
	})})
	ctx := t.Context()
	opts := func(raw string) tenant.Nullable[json.RawMessage] {
		return tenant.Nullable[json.RawMessage]{Set: true, V: json.RawMessage(raw)}
	}
	_, err := s.CreateConnection(ctx, &tenant.ConnectionInput{Name: tenant.Some("corp"), Strategy: tenant.Some("test"), Options: opts(`{"url":"bad"}`)})
	wantError(t, err, tenant.Invalid, "invalid_body", "options.url", "url must be ldaps://")
	c := must[*store.Connection](t)(s.CreateConnection(ctx, &tenant.ConnectionInput{Name: tenant.Some("corp"), Strategy: tenant.Some("test"), Options: opts(`{}`)}))
	if got := must[*store.Connection](t)(s.GetConnection(ctx, c.ID)); string(got.Options) != `{"filled":true}` {
		t.Errorf("stored options %s, want the strategy's", got.Options)
	}
	_, err = s.UpdateConnection(ctx, c.ID, &tenant.ConnectionInput{Options: opts(`{"url":"bad"}`)})
	wantError(t, err, tenant.Invalid, "invalid_body", "options.url", "")
	_, err = s.CreateConnection(ctx, &tenant.ConnectionInput{Name: tenant.Some("db"), Strategy: tenant.Some("auth0")})
	wantError(t, err, tenant.Invalid, "invalid_body", "strategy", "Strategy auth0 is not supported")
}

// Deleting an application or an API leaves nothing that names it: a new
// one with the same id or identifier starts clean.
func TestDeletesTakeWhatNamesTheDeletedAlong(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	ctx := t.Context()
	api := must[*store.ResourceServer](t)(s.CreateResourceServer(ctx, &tenant.ResourceServerInput{Identifier: tenant.Some("https://api.test/")}))
	other := must[*store.ResourceServer](t)(s.CreateResourceServer(ctx, &tenant.ResourceServerInput{Identifier: tenant.Some("https://other.test/")}))
	c := must[*store.Client](t)(s.CreateClient(ctx, &tenant.ClientInput{Name: tenant.Some("m2m")}))
	keep := must[*store.Client](t)(s.CreateClient(ctx, &tenant.ClientInput{Name: tenant.Some("keep")}))
	for _, aud := range []string{api.Identifier, other.Identifier} {
		for _, id := range []string{c.ClientID, keep.ClientID} {
			must[*store.ClientGrant](t)(s.CreateClientGrant(ctx, &tenant.ClientGrantInput{ClientID: tenant.Some(id),
				Audience: tenant.Some(aud), Scope: tenant.Some([]string{})}))
		}
	}
	conn := must[*store.Connection](t)(s.CreateConnection(ctx, &tenant.ConnectionInput{Name: tenant.Some("db"), Strategy: tenant.Some("auth0"),
		EnabledClients: tenant.Some([]string{c.ClientID, keep.ClientID})}))

	if err := s.DeleteResourceServer(ctx, api.Identifier); err != nil {
		t.Fatal(err)
	}
	must[*store.ResourceServer](t)(s.CreateResourceServer(ctx, &tenant.ResourceServerInput{Identifier: tenant.Some(api.Identifier)}))
	for _, id := range []string{c.ClientID, keep.ClientID} {
		if _, err := s.Store.FindClientGrant(ctx, id, api.Identifier); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("grant of %s for the re-created API: %v", id, err)
		}
	}

	if err := s.DeleteClient(ctx, c.ClientID); err != nil {
		t.Fatal(err)
	}
	wantError(t, s.DeleteClient(ctx, c.ClientID), tenant.NotFound, "inexistent_client", "", "")
	grants, _, err := s.Store.ListClientGrants(ctx, "", "", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].ClientID != keep.ClientID || grants[0].Audience != other.Identifier {
		t.Errorf("grants left: %+v", grants)
	}
	if got := must[*store.Connection](t)(s.GetConnection(ctx, conn.ID)); !slices.Equal(got.EnabledClients, []string{keep.ClientID}) {
		t.Errorf("enabled_clients %v", got.EnabledClients)
	}
}

// Bootstrap's objects get the same defaults as API-created ones, and a
// second start changes only what bootstrap owns.
func TestEnsureMakesWhatTheAPIWouldMake(t *testing.T) {
	t.Parallel()
	s := newService(t, nil)
	ctx := t.Context()
	const aud = "https://tenant.test/api/v2/"
	for range 2 {
		if err := s.EnsureSystemAPI(ctx, aud, "Auth0 Management API", []string{"read:users", "read:clients"}); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureMachineClient(ctx, "bootstrap-id", "short", "bootstrap"); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureClientGrant(ctx, "bootstrap-id", aud, []string{"read:users"}); err != nil {
			t.Fatal(err)
		}
	}
	api := must[*store.ResourceServer](t)(s.FindResourceServer(ctx, aud))
	made := must[*store.ResourceServer](t)(s.CreateResourceServer(ctx, &tenant.ResourceServerInput{Identifier: tenant.Some("https://x.test/")}))
	if !api.IsSystem || api.Name != "Auth0 Management API" || len(api.Scopes) != 2 || api.TokenDialect != made.TokenDialect ||
		string(api.SubjectTypeAuthorization) != string(made.SubjectTypeAuthorization) || api.TokenLifetime != made.TokenLifetime ||
		api.TokenLifetimeForWeb != made.TokenLifetimeForWeb || api.SigningAlg != made.SigningAlg || len(api.SigningSecret) < 16 {
		t.Errorf("system API %+v, an API-created one %+v", api, made)
	}
	c := must[*store.Client](t)(s.GetClient(ctx, "bootstrap-id"))
	if c.ClientSecret != "short" || !slices.Equal(c.GrantTypes, []string{"client_credentials"}) || c.AuthMethod() != "client_secret_post" ||
		c.AppType != "non_interactive" || !c.OIDCConformant || c.RefreshToken != store.DefaultRefreshTokenSettings() ||
		c.JWTConfiguration.LifetimeInSeconds != 36000 {
		t.Errorf("bootstrap client %+v", c)
	}
	// An operator's later changes survive a restart, the secret and the
	// client_credentials grant type excepted.
	must[*store.Client](t)(s.UpdateClient(ctx, "bootstrap-id", &tenant.ClientInput{Name: tenant.Some("ops"), GrantTypes: tenant.Some([]string{"password"})}))
	if err := s.EnsureMachineClient(ctx, "bootstrap-id", "rotated", "bootstrap"); err != nil {
		t.Fatal(err)
	}
	c = must[*store.Client](t)(s.GetClient(ctx, "bootstrap-id"))
	if c.Name != "ops" || c.ClientSecret != "rotated" || !slices.Equal(c.GrantTypes, []string{"password", "client_credentials"}) {
		t.Errorf("after restart: %+v", c)
	}
	g := must[*store.ClientGrant](t)(s.Store.FindClientGrant(ctx, "bootstrap-id", aud))
	if !slices.Equal(g.Scope, []string{"read:users"}) {
		t.Errorf("grant scope %v", g.Scope)
	}
}
