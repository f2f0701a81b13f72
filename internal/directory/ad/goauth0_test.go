package ad_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/ldaptest"
)

// go-auth0's management package (v1.49, unchanged) creates the connections
// of the directories issue: an ad connection whose LDAP options go as a map
// (go-auth0's ConnectionOptionsAD has no LDAP fields, gatehouse's ad
// strategy runs without a connector) and a database connection with
// requires_username and username limits. Logins go through both.
func TestGoAuth0CreatesDirectoryConnections(t *testing.T) {
	t.Parallel()
	dir := ldaptest.Start(t, people...)
	e := testenv.Start(t)
	tn := e.SeedTenant()
	m, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt)) // WithInsecure sets a token of its own: the real one goes after
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	realm := func(connection, username, password string) (int, map[string]any) {
		return e.PostForm("/oauth/token", url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {connection},
			"username": {username}, "password": {password}, "scope": {"openid"},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
		})
	}

	enable := func(id string) {
		t.Helper()
		err := m.Connection.UpdateEnabledClients(ctx, id, []management.ConnectionEnabledClient{{ClientID: auth0.String(tn.ClientID), Status: auth0.Bool(true)}})
		if err != nil {
			t.Fatalf("enable the application on %s: %v", id, err)
		}
	}

	ad := &management.Connection{
		Name: auth0.String("corp-ldap"), Strategy: auth0.String("ad"),
		Options: map[string]any{
			"url": dir.URL(), "start_tls": true, "ca_bundle": string(dir.CAPEM), "server_name": "127.0.0.1",
			"bind_dn": ldaptest.ServiceDN, "bind_password": ldaptest.ServicePass,
			"base_dn": ldaptest.PeopleDN, "group_base_dn": ldaptest.GroupsDN,
		},
	}
	if err := m.Connection.Create(ctx, ad); err != nil {
		t.Fatalf("create ad connection: %v", err)
	}
	if ad.GetID() == "" || ad.GetStrategy() != "ad" {
		t.Fatalf("created: %+v", ad)
	}
	enable(ad.GetID())
	read, err := m.Connection.Read(ctx, ad.GetID())
	if err != nil || read.GetName() != "corp-ldap" {
		t.Fatalf("read back: %+v %v", read, err)
	}
	if shown := toJSON(e.API("GET", "/connections/"+ad.GetID(), nil, 200)); strings.Contains(shown, ldaptest.ServicePass) {
		t.Errorf("the bind password is shown: %s", shown)
	}
	if status, body := realm("corp-ldap", "ann", "ann-pass"); status != 200 || body["id_token"] == nil {
		t.Errorf("login through the ad connection made by go-auth0: %d %v", status, body)
	}
	// A bad option is a 400 naming the field, which go-auth0 surfaces.
	bad := &management.Connection{Name: auth0.String("bad-ldap"), Strategy: auth0.String("ad"),
		Options: map[string]any{"url": "http://x", "base_dn": "dc=x"}}
	if err := m.Connection.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "options.url") {
		t.Errorf("bad url: %v, want a 400 naming options.url", err)
	}

	db := &management.Connection{
		Name: auth0.String("usernames"), Strategy: auth0.String("auth0"),
		Options: &management.ConnectionOptions{
			RequiresUsername: auth0.Bool(true),
			Validation:       map[string]any{"username": map[string]any{"min": 3, "max": 20}},
		},
	}
	if err := m.Connection.Create(ctx, db); err != nil {
		t.Fatalf("create database connection: %v", err)
	}
	enable(db.GetID())
	if o, ok := db.Options.(*management.ConnectionOptions); !ok || !o.GetRequiresUsername() {
		t.Fatalf("database options read back: %#v", db.Options)
	}
	u := &management.User{Connection: auth0.String("usernames"), Username: auth0.String("carol"),
		Email: auth0.String("carol@example.com"), Password: auth0.String(tn.Password)}
	if err := m.User.Create(ctx, u); err != nil {
		t.Fatalf("create user with a username: %v", err)
	}
	tooShort := &management.User{Connection: auth0.String("usernames"), Username: auth0.String("cc"),
		Email: auth0.String("cc@example.com"), Password: auth0.String(tn.Password)}
	if err := m.User.Create(ctx, tooShort); err == nil {
		t.Errorf("a username under validation.username.min was accepted")
	}
	for _, name := range []string{"carol", "carol@example.com"} {
		if status, body := realm("usernames", name, tn.Password); status != 200 {
			t.Errorf("login as %s: %d %v", name, status, body)
		}
	}
}
