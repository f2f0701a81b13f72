package conformance

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func clientTests() []test {
	return []test{
		{"CreateThenGetRoundTripsEveryField", func(t *testing.T, s store.Store) {
			want := newClient("c1")
			must(t, s.CreateClient(ctx(t), newClient("c1")))
			wantEqual(t, "GetClient", ok[*store.Client](t)(s.GetClient(ctx(t), "c1")), want)
		}},
		{"ClientWithoutSecretOrCredentialsRoundTrips", func(t *testing.T, s store.Store) {
			want := &store.Client{ClientID: "bare", Name: "Bare", GrantTypes: []string{}}
			must(t, s.CreateClient(ctx(t), &store.Client{ClientID: "bare", Name: "Bare", GrantTypes: []string{}}))
			wantEqual(t, "GetClient", ok[*store.Client](t)(s.GetClient(ctx(t), "bare")), want)
		}},
		{"UpdateSavesWhatFnChanged", func(t *testing.T, s store.Store) {
			must(t, s.CreateClient(ctx(t), newClient("c1")))
			got := ok[*store.Client](t)(s.UpdateClient(ctx(t), "c1", func(c *store.Client) error {
				c.Name = "Renamed"
				c.ClientSecret = "rotated-secret"
				c.Credentials = append(c.Credentials, store.ClientCredential{ID: "cred_2", CredentialType: "public_key", KID: "kid-2", Alg: "PS256", CreatedAt: at(9), UpdatedAt: at(9)})
				c.CreatedAt = at(10)
				return nil
			}))
			want := newClient("c1")
			want.Name = "Renamed"
			want.ClientSecret = "rotated-secret"
			want.Credentials = append(want.Credentials, store.ClientCredential{ID: "cred_2", CredentialType: "public_key", KID: "kid-2", Alg: "PS256", CreatedAt: at(9), UpdatedAt: at(9)})
			want.CreatedAt = at(10)
			wantEqual(t, "UpdateClient result", got, want)
			wantEqual(t, "GetClient after update", ok[*store.Client](t)(s.GetClient(ctx(t), "c1")), want)
		}},
		{"UpdateCanClearSecret", func(t *testing.T, s store.Store) {
			must(t, s.CreateClient(ctx(t), newClient("c1")))
			ok[*store.Client](t)(s.UpdateClient(ctx(t), "c1", func(c *store.Client) error {
				c.ClientSecret = ""
				return nil
			}))
			if got := ok[*store.Client](t)(s.GetClient(ctx(t), "c1")); got.ClientSecret != "" {
				t.Fatalf("ClientSecret = %q after clearing it", got.ClientSecret)
			}
		}},
		{"DeleteRemovesOnlyThatClient", func(t *testing.T, s store.Store) {
			must(t, s.CreateClient(ctx(t), newClient("c1")))
			must(t, s.CreateClient(ctx(t), newClient("c2")))
			must(t, s.DeleteClient(ctx(t), "c1"))
			_, err := s.GetClient(ctx(t), "c1")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.DeleteClient(ctx(t), "c1"), store.ErrNotFound)
			ok[*store.Client](t)(s.GetClient(ctx(t), "c2"))
		}},
		{"DeleteTakesGrantsFamiliesAndEnabledClientsAlong", testDeleteClientCascades},
	}
}

func grantTests() []test {
	return []test{
		{"CreateThenGetAndFindRoundTripEveryField", func(t *testing.T, s store.Store) {
			want := newGrant("cgr_1", "c1", "https://api.test")
			must(t, s.CreateClientGrant(ctx(t), newGrant("cgr_1", "c1", "https://api.test")))
			wantEqual(t, "GetClientGrant", ok[*store.ClientGrant](t)(s.GetClientGrant(ctx(t), "cgr_1")), want)
			wantEqual(t, "FindClientGrant", ok[*store.ClientGrant](t)(s.FindClientGrant(ctx(t), "c1", "https://api.test")), want)
		}},
		{"FindMatchesBothClientAndAudience", func(t *testing.T, s store.Store) {
			must(t, s.CreateClientGrant(ctx(t), newGrant("cgr_1", "c1", "a1")))
			must(t, s.CreateClientGrant(ctx(t), newGrant("cgr_2", "c2", "a2")))
			for _, q := range [][2]string{{"c1", "a2"}, {"c2", "a1"}, {"c1", ""}, {"", "a1"}} {
				_, err := s.FindClientGrant(ctx(t), q[0], q[1])
				if err == nil || !isNotFound(err) {
					t.Errorf("FindClientGrant(%q, %q) error = %v, want ErrNotFound", q[0], q[1], err)
				}
			}
		}},
		{"ListFiltersByClientAndAudience", func(t *testing.T, s store.Store) {
			must(t, s.CreateClientGrant(ctx(t), newGrant("g1", "c1", "a1")))
			must(t, s.CreateClientGrant(ctx(t), newGrant("g2", "c1", "a2")))
			must(t, s.CreateClientGrant(ctx(t), newGrant("g3", "c2", "a1")))
			for _, tc := range []struct {
				client, audience string
				want             []string
			}{
				{"", "", []string{"g1", "g2", "g3"}},
				{"c1", "", []string{"g1", "g2"}},
				{"", "a1", []string{"g1", "g3"}},
				{"c1", "a1", []string{"g1"}},
				{"c3", "", []string{}},
			} {
				got, total, err := s.ListClientGrants(ctx(t), tc.client, tc.audience, store.Page{})
				must(t, err)
				wantEqual(t, fmt.Sprintf("ListClientGrants(%q, %q)", tc.client, tc.audience), ids(got, grantID), tc.want)
				if total != len(tc.want) {
					t.Errorf("ListClientGrants(%q, %q) total = %d, want %d", tc.client, tc.audience, total, len(tc.want))
				}
			}
		}},
		{"UpdateCanMoveGrantToFreeAudience", func(t *testing.T, s store.Store) {
			must(t, s.CreateClientGrant(ctx(t), newGrant("g1", "c1", "a1")))
			ok[*store.ClientGrant](t)(s.UpdateClientGrant(ctx(t), "g1", func(g *store.ClientGrant) error {
				g.Audience = "a2"
				g.Scope = []string{"only"}
				return nil
			}))
			want := newGrant("g1", "c1", "a2")
			want.Scope = []string{"only"}
			wantEqual(t, "FindClientGrant", ok[*store.ClientGrant](t)(s.FindClientGrant(ctx(t), "c1", "a2")), want)
			_, err := s.FindClientGrant(ctx(t), "c1", "a1")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"DeleteRemovesGrant", func(t *testing.T, s store.Store) {
			must(t, s.CreateClientGrant(ctx(t), newGrant("g1", "c1", "a1")))
			must(t, s.DeleteClientGrant(ctx(t), "g1"))
			_, err := s.FindClientGrant(ctx(t), "c1", "a1")
			wantErr(t, err, store.ErrNotFound)
			// The pair is free again.
			must(t, s.CreateClientGrant(ctx(t), newGrant("g2", "c1", "a1")))
		}},
	}
}

func resourceServerTests() []test {
	return []test{
		{"CreateThenGetRoundTripsEveryField", func(t *testing.T, s store.Store) {
			want := newResourceServer("rs1", "https://api.test/")
			must(t, s.CreateResourceServer(ctx(t), newResourceServer("rs1", "https://api.test/")))
			wantEqual(t, "GetResourceServer", ok[*store.ResourceServer](t)(s.GetResourceServer(ctx(t), "rs1")), want)
			wantEqual(t, "ResourceServerByIdentifier", ok[*store.ResourceServer](t)(s.ResourceServerByIdentifier(ctx(t), "https://api.test/")), want)
		}},
		{"IdentifierLookupIsExact", func(t *testing.T, s store.Store) {
			must(t, s.CreateResourceServer(ctx(t), newResourceServer("rs1", "https://api.test/")))
			for _, id := range []string{"https://api.test", "HTTPS://API.TEST/", "rs1"} {
				_, err := s.ResourceServerByIdentifier(ctx(t), id)
				if !isNotFound(err) {
					t.Errorf("ResourceServerByIdentifier(%q) error = %v, want ErrNotFound", id, err)
				}
			}
		}},
		{"UpdateChangesIdentifierAndSecret", func(t *testing.T, s store.Store) {
			must(t, s.CreateResourceServer(ctx(t), newResourceServer("rs1", "old")))
			ok[*store.ResourceServer](t)(s.UpdateResourceServer(ctx(t), "rs1", func(rs *store.ResourceServer) error {
				rs.Identifier = "new"
				rs.SigningSecret = "new-secret"
				return nil
			}))
			want := newResourceServer("rs1", "new")
			want.SigningSecret = "new-secret"
			wantEqual(t, "by new identifier", ok[*store.ResourceServer](t)(s.ResourceServerByIdentifier(ctx(t), "new")), want)
			_, err := s.ResourceServerByIdentifier(ctx(t), "old")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"DeleteRemovesResourceServer", func(t *testing.T, s store.Store) {
			must(t, s.CreateResourceServer(ctx(t), newResourceServer("rs1", "api")))
			must(t, s.DeleteResourceServer(ctx(t), "rs1"))
			_, err := s.ResourceServerByIdentifier(ctx(t), "api")
			wantErr(t, err, store.ErrNotFound)
		}},
	}
}

func connectionTests() []test {
	return []test{
		{"CreateThenGetRoundTripsEveryField", func(t *testing.T, s store.Store) {
			want := newConnection("con_1", "Username-Password-Authentication", "auth0")
			must(t, s.CreateConnection(ctx(t), newConnection("con_1", "Username-Password-Authentication", "auth0")))
			wantEqual(t, "GetConnection", ok[*store.Connection](t)(s.GetConnection(ctx(t), "con_1")), want)
			wantEqual(t, "ConnectionByName", ok[*store.Connection](t)(s.ConnectionByName(ctx(t), "Username-Password-Authentication")), want)
		}},
		{"ListFiltersByStrategy", func(t *testing.T, s store.Store) {
			must(t, s.CreateConnection(ctx(t), newConnection("con_3", "db1", "auth0")))
			must(t, s.CreateConnection(ctx(t), newConnection("con_2", "corp", "ad")))
			must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db2", "auth0")))
			for _, tc := range []struct {
				strategy string
				want     []string
			}{
				{"", []string{"con_3", "con_2", "con_1"}},
				{"auth0", []string{"con_3", "con_1"}},
				{"ad", []string{"con_2"}},
				{"google-oauth2", []string{}},
			} {
				got, total, err := s.ListConnections(ctx(t), tc.strategy, store.Page{})
				must(t, err)
				wantEqual(t, fmt.Sprintf("ListConnections(%q)", tc.strategy), ids(got, connectionID), tc.want)
				if total != len(tc.want) {
					t.Errorf("ListConnections(%q) total = %d, want %d", tc.strategy, total, len(tc.want))
				}
			}
		}},
		{"UpdateReplacesOptionsWholesale", func(t *testing.T, s store.Store) {
			must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0")))
			got := ok[*store.Connection](t)(s.UpdateConnection(ctx(t), "con_1", func(c *store.Connection) error {
				c.Options = []byte(`{"only":1}`)
				c.EnabledClients = nil
				return nil
			}))
			want := newConnection("con_1", "db", "auth0")
			want.Options = []byte(`{"only":1}`)
			want.EnabledClients = nil
			wantEqual(t, "UpdateConnection result", got, want)
			wantEqual(t, "GetConnection", ok[*store.Connection](t)(s.GetConnection(ctx(t), "con_1")), want)
		}},
		{"RawJSONWithEscapedSurrogatesIsStored", func(t *testing.T, s store.Store) {
			// Valid JSON that PostgreSQL's JSONB refuses as it is: a lone
			// surrogate is kept as U+FFFD (as encoding/json reads it), a
			// pair as the character it encodes, the same on every backend.
			c := newConnection("con_1", "db", "auth0")
			c.Options = json.RawMessage(`{"lone":"a\ud800b","pair":"\ud83d\ude00","text":"\\ud800"}`)
			must(t, s.CreateConnection(ctx(t), c))
			want := newConnection("con_1", "db", "auth0")
			want.Options = json.RawMessage(`{"lone":"a\ufffdb","pair":"\ud83d\ude00","text":"\\ud800"}`)
			wantEqual(t, "GetConnection", ok[*store.Connection](t)(s.GetConnection(ctx(t), "con_1")), want)
		}},
		{"SecretOptionsRoundTrip", func(t *testing.T, s store.Store) {
			c := newConnection("con_1", "corp", "ad")
			c.Options = []byte(`{"url":"ldap://x","bind_password":"pw \u0026 <more>","client_secret":"s","n":{"a":[1]}}`)
			must(t, s.CreateConnection(ctx(t), c))
			for _, got := range []*store.Connection{
				ok[*store.Connection](t)(s.GetConnection(ctx(t), "con_1")),
				ok[*store.Connection](t)(s.UpdateConnection(ctx(t), "con_1", func(*store.Connection) error { return nil })),
				ok[*store.Connection](t)(s.ConnectionByName(ctx(t), "corp")),
			} {
				var gotM, wantM map[string]any
				must(t, json.Unmarshal(got.Options, &gotM))
				must(t, json.Unmarshal(c.Options, &wantM))
				wantEqual(t, "options", gotM, wantM)
			}
		}},
		{"DeleteDeletesTheConnectionsUsers", func(t *testing.T, s store.Store) {
			must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0")))
			must(t, s.CreateConnection(ctx(t), newConnection("con_2", "other", "auth0")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "a@x.test", "a")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|2", "con_1", "db", "b@x.test", "b")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|3", "con_2", "other", "a@x.test", "a")))

			must(t, s.DeleteConnection(ctx(t), "con_1"))

			_, err := s.GetConnection(ctx(t), "con_1")
			wantErr(t, err, store.ErrNotFound)
			for _, id := range []string{"auth0|1", "auth0|2"} {
				_, err := s.GetUser(ctx(t), id)
				wantErr(t, err, store.ErrNotFound)
			}
			ok[*store.User](t)(s.GetUser(ctx(t), "auth0|3"))
			_, total, err := s.ListUsers(ctx(t), store.UserQuery{}, store.Page{})
			must(t, err)
			if total != 1 {
				t.Fatalf("users left = %d, want 1", total)
			}
			// The name and the deleted users' emails are free again.
			must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "a@x.test", "a")))
		}},
	}
}
