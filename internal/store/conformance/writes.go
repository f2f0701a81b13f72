package conformance

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// writeTests cover the writes the token endpoint's hot paths rely on:
// compare-and-swap of refresh families, the one-write login record, and the
// configuration version that tells caches to refresh.
func writeTests() []test {
	return []test{
		{"ReplaceRefreshFamilyIsCompareAndSwap", func(t *testing.T, s store.Store) {
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "")))
			a := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
			b := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
			a.Current = [][]byte{hash("from a")}
			must(t, s.ReplaceRefreshFamily(ctx(t), a))
			if a.Version != b.Version+1 {
				t.Fatalf("version after replace = %d, want %d", a.Version, b.Version+1)
			}
			b.Current = [][]byte{hash("from b")}
			wantErr(t, s.ReplaceRefreshFamily(ctx(t), b), store.ErrConflict)
			got := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
			wantEqual(t, "family after a lost race", got.Current, [][]byte{hash("from a")})
			// a can go on writing from where it is.
			a.LastIP = "192.0.2.1"
			must(t, s.ReplaceRefreshFamily(ctx(t), a))
			gone := newFamily("rf2", "auth0|1", "c1", "")
			wantErr(t, s.ReplaceRefreshFamily(ctx(t), gone), store.ErrNotFound)
		}},
		{"ReplaceRefreshFamilyKeepsWhoItBelongsTo", func(t *testing.T, s store.Store) {
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "https://api/")))
			f := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
			f.UserID, f.ClientID, f.Audience = "auth0|2", "c2", "https://other/"
			f.LastIP = "192.0.2.7"
			must(t, s.ReplaceRefreshFamily(ctx(t), f))
			got := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
			wantEqual(t, "owner after a replace", []string{got.UserID, got.ClientID, got.Audience, got.LastIP},
				[]string{"auth0|1", "c1", "https://api/", "192.0.2.7"})
			if n := ok[int](t)(s.DeleteRefreshFamilies(ctx(t), "auth0|1", "c1", "")); n != 1 {
				t.Errorf("families of the creating user and client: %d, want 1", n)
			}
		}},
		{"ConcurrentReplacesLetOneWin", func(t *testing.T, s store.Store) {
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "")))
			// Every writer reads the same version before any of them writes.
			read := make([]*store.RefreshFamily, 10)
			for i := range read {
				read[i] = ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
			}
			var wg sync.WaitGroup
			wins := make(chan int, 10)
			for i, f := range read {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f.Current = [][]byte{hash("writer")}
					if s.ReplaceRefreshFamily(ctx(t), f) == nil {
						wins <- i
					}
				}()
			}
			wg.Wait()
			close(wins)
			if n := len(wins); n != 1 {
				t.Fatalf("%d of 10 writers of the same version won, want 1", n)
			}
		}},
		{"RecordLoginWithFamily", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "ann@example.com", "")))
			f := newFamily("rf1", "auth0|1", "c1", "https://api.test")
			when := at(120).UTC()
			must(t, s.RecordLogin(ctx(t), store.Login{UserID: "auth0|1", At: when, IP: "192.0.2.7", NewPasswordHash: "$argon2id$new", Family: f}))
			must(t, s.RecordLogin(ctx(t), store.Login{UserID: "auth0|1", At: when.Add(time.Minute), IP: "192.0.2.8"}))
			u := ok[*store.User](t)(s.GetUser(ctx(t), "auth0|1"))
			before := newUser("auth0|1", "con_1", "db", "ann@example.com", "")
			wantEqual(t, "logins_count", u.LoginsCount, before.LoginsCount+2)
			wantEqual(t, "last_ip", u.LastIP, "192.0.2.8")
			if u.LastLogin == nil || !u.LastLogin.Equal(when.Add(time.Minute)) {
				t.Fatalf("last_login = %v", u.LastLogin)
			}
			wantEqual(t, "password hash", u.PasswordHash, "$argon2id$new")
			wantEqual(t, "email kept", u.Email, before.Email)
			wantEqual(t, "family", ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1")), f)
		}},
		{"RecordLoginOfAMissingUserWritesNothing", func(t *testing.T, s store.Store) {
			err := s.RecordLogin(ctx(t), store.Login{UserID: "auth0|ghost", At: at(1), Family: newFamily("rf1", "auth0|ghost", "c1", "")})
			wantErr(t, err, store.ErrNotFound)
			_, err = s.GetRefreshFamily(ctx(t), "rf1")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.RecordLogin(ctx(t), store.Login{UserID: "auth0|ghost", At: at(1)}), store.ErrNotFound)
		}},
		{"ConfigVersionFollowsConfigurationWrites", func(t *testing.T, s store.Store) {
			version := func() int64 { return ok[int64](t)(s.ConfigVersion(ctx(t))) }
			steps := []struct {
				name    string
				write   func() error
				changes bool
			}{
				{"create client", func() error { return s.CreateClient(ctx(t), newClient("c1")) }, true},
				{"update client", func() error {
					_, err := s.UpdateClient(ctx(t), "c1", func(c *store.Client) error { c.Name = "x"; return nil })
					return err
				}, true},
				{"create API", func() error { return s.CreateResourceServer(ctx(t), newResourceServer("rs1", "https://api.test")) }, true},
				{"create grant", func() error { return s.CreateClientGrant(ctx(t), newGrant("g1", "c1", "https://api.test")) }, true},
				{"create connection", func() error { return s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0")) }, true},
				{"tenant settings", func() error {
					_, err := s.UpdateTenantSettings(ctx(t), func(ts *store.TenantSettings) error { ts.DefaultDirectory = "db"; return nil })
					return err
				}, true},
				{"signing keys", func() error {
					return s.ReplaceSigningKeys(ctx(t), func([]*store.SigningKey) ([]*store.SigningKey, error) {
						return []*store.SigningKey{newKey("k1")}, nil
					})
				}, true},
				{"delete client", func() error { return s.DeleteClient(ctx(t), "c1") }, true},
				{"create user", func() error { return s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "a@b.c", "")) }, false},
				{"record login", func() error { return s.RecordLogin(ctx(t), store.Login{UserID: "auth0|1", At: at(5)}) }, false},
				{"create family", func() error { return s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "")) }, false},
				{"use nonce", func() error { return s.UseNonce(ctx(t), "n1", time.Now().Add(time.Minute)) }, false},
			}
			for _, st := range steps {
				before := version()
				must(t, st.write())
				if changed := version() != before; changed != st.changes {
					t.Errorf("%s: config version changed = %v, want %v", st.name, changed, st.changes)
				}
			}
		}},
	}
}
