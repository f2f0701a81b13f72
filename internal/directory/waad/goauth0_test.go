package waad_test

import (
	"context"
	"strings"
	"testing"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// go-auth0's management package (v1.49, unchanged) creates waad
// connections: one with its typed Azure AD options (the client secret is
// never read back), and one pointed at the upstream gatehouse through
// gatehouse's own discovery_url (as a map: go-auth0's Azure AD options have
// no such field), which then logs users in, also after an update that
// leaves the secret out. A bad option is a 400 naming it.
func TestGoAuth0CreatesWaadConnection(t *testing.T) {
	t.Parallel()
	s := startWaad(t)
	m, err := management.New(strings.TrimPrefix(s.down.URL, "http://"), management.WithInsecure(), management.WithStaticToken(s.down.Mgmt)) // WithInsecure sets a token of its own: the real one goes after
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	azure := &management.Connection{Name: auth0.String("contoso"), Strategy: auth0.String("waad"),
		Options: &management.ConnectionOptionsAzureAD{
			ClientID: auth0.String("0c5c6d8e-app"), ClientSecret: auth0.String("azure-secret-value"),
			TenantDomain: auth0.String("contoso.onmicrosoft.com"), Domain: auth0.String("contoso.com"),
			DomainAliases: &[]string{"contoso.org"}, IdentityAPI: auth0.String("microsoft-identity-platform-v2.0"),
			WAADProtocol: auth0.String("openid-connect"), BasicProfile: auth0.Bool(true), Groups: auth0.Bool(true),
			UserIDAttribute: auth0.String("oid"),
		}}
	if err := m.Connection.Create(ctx, azure); err != nil {
		t.Fatalf("create the Azure AD connection: %v", err)
	}
	read, err := m.Connection.Read(ctx, azure.GetID())
	if err != nil {
		t.Fatal(err)
	}
	o, ok := read.Options.(*management.ConnectionOptionsAzureAD)
	if !ok || o.GetClientID() != "0c5c6d8e-app" || o.GetTenantDomain() != "contoso.onmicrosoft.com" || !o.GetGroups() || o.ClientSecret != nil {
		t.Errorf("read back: %#v", read.Options)
	}
	if shown := toJSON(s.down.API("GET", "/connections/"+azure.GetID(), nil, 200)); strings.Contains(shown, "azure-secret-value") {
		t.Errorf("the client secret is shown: %s", shown)
	}

	upstream := &management.Connection{Name: auth0.String("upstream"), Strategy: auth0.String("waad"),
		Options: map[string]any{"client_id": s.utn.ClientID, "client_secret": s.utn.ClientSecret,
			"discovery_url": s.gate.URL() + ".well-known/openid-configuration"}}
	if err := m.Connection.Create(ctx, upstream); err != nil {
		t.Fatalf("create the upstream connection: %v", err)
	}
	err = m.Connection.UpdateEnabledClients(ctx, upstream.GetID(), []management.ConnectionEnabledClient{{ClientID: auth0.String(s.dtn.ClientID), Status: auth0.Bool(true)}})
	if err != nil {
		t.Fatalf("enable the application: %v", err)
	}
	if status, body := s.login("upstream", s.utn.Username, s.utn.Password); status != 200 {
		t.Fatalf("login through the connection go-auth0 made: %d %v", status, body)
	}
	// An update without the secret keeps it.
	err = m.Connection.Update(ctx, upstream.GetID(), &management.Connection{Options: map[string]any{
		"client_id": s.utn.ClientID, "discovery_url": s.gate.URL() + ".well-known/openid-configuration", "domain": "example.com"}})
	if err != nil {
		t.Fatalf("update without the secret: %v", err)
	}
	if status, body := s.login("upstream", s.utn.Username, s.utn.Password); status != 200 {
		t.Fatalf("login after the update: %d %v", status, body)
	}

	for _, tc := range []struct {
		field string
		opts  map[string]any
	}{
		{"options.tenant_domain", map[string]any{"client_id": "a", "client_secret": "b", "tenant_domain": "contoso/../common"}},
		{"options.client_secret", map[string]any{"client_id": "a", "tenant_domain": "contoso.onmicrosoft.com"}},
		{"options.discovery_url", map[string]any{"client_id": "a", "client_secret": "b", "discovery_url": "http://idp.example.com/"}},
	} {
		bad := &management.Connection{Name: auth0.String("bad"), Strategy: auth0.String("waad"), Options: tc.opts}
		if err := m.Connection.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("create: %v, want a 400 naming %s", err, tc.field)
		}
		if tc.field == "options.client_secret" {
			continue // an update keeps the stored secret
		}
		if err := m.Connection.Update(ctx, upstream.GetID(), &management.Connection{Options: tc.opts}); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("update: %v, want a 400 naming %s", err, tc.field)
		}
	}
}
