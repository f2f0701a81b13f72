package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// contractTests are the rules every aggregate shares, one table each.
func contractTests() []test {
	return []test{
		{"MissingRecordsAreNotFound", testMissing},
		{"DuplicatesConflict", testConflicts},
		{"UpdateFnErrorAbortsWithoutChanges", testUpdateAborts},
		{"ListsPageInCreationOrderWithTotal", testPaging},
	}
}

// calledFn is an update fn that records being called; it must not be for a
// missing record.
type calledFn struct{ called bool }

func (c *calledFn) client(*store.Client) error                 { c.called = true; return nil }
func (c *calledFn) grant(*store.ClientGrant) error             { c.called = true; return nil }
func (c *calledFn) resourceServer(*store.ResourceServer) error { c.called = true; return nil }
func (c *calledFn) connection(*store.Connection) error         { c.called = true; return nil }
func (c *calledFn) user(*store.User) error                     { c.called = true; return nil }

func testMissing(t *testing.T, s store.Store) {
	// Seed one of everything so "missing" is not just "empty table".
	c := ctx(t)
	must(t, s.CreateClient(c, newClient("c1")))
	must(t, s.CreateClientGrant(c, newGrant("g1", "c1", "a1")))
	must(t, s.CreateResourceServer(c, newResourceServer("rs1", "a1")))
	must(t, s.CreateConnection(c, newConnection("con_1", "db", "auth0")))
	must(t, s.CreateUser(c, newUser("auth0|1", "con_1", "db", "a@x.test", "a")))
	must(t, s.CreateRefreshFamily(c, newFamily("rf1", "auth0|1", "c1", "a1")))

	var fn calledFn
	discard := func(_ any, err error) error { return err }
	for _, tc := range []struct {
		name string
		call func(context.Context) error
	}{
		{"GetClient", func(c context.Context) error { return discard(s.GetClient(c, "nope")) }},
		{"UpdateClient", func(c context.Context) error { return discard(s.UpdateClient(c, "nope", fn.client)) }},
		{"DeleteClient", func(c context.Context) error { return s.DeleteClient(c, "nope") }},
		{"GetClientGrant", func(c context.Context) error { return discard(s.GetClientGrant(c, "nope")) }},
		{"FindClientGrant", func(c context.Context) error { return discard(s.FindClientGrant(c, "c1", "nope")) }},
		{"UpdateClientGrant", func(c context.Context) error { return discard(s.UpdateClientGrant(c, "nope", fn.grant)) }},
		{"DeleteClientGrant", func(c context.Context) error { return s.DeleteClientGrant(c, "nope") }},
		{"GetResourceServer", func(c context.Context) error { return discard(s.GetResourceServer(c, "nope")) }},
		{"ResourceServerByIdentifier", func(c context.Context) error { return discard(s.ResourceServerByIdentifier(c, "nope")) }},
		{"UpdateResourceServer", func(c context.Context) error {
			return discard(s.UpdateResourceServer(c, "nope", fn.resourceServer))
		}},
		{"DeleteResourceServer", func(c context.Context) error { return s.DeleteResourceServer(c, "nope") }},
		{"GetConnection", func(c context.Context) error { return discard(s.GetConnection(c, "nope")) }},
		{"ConnectionByName", func(c context.Context) error { return discard(s.ConnectionByName(c, "nope")) }},
		{"UpdateConnection", func(c context.Context) error { return discard(s.UpdateConnection(c, "nope", fn.connection)) }},
		{"DeleteConnection", func(c context.Context) error { return s.DeleteConnection(c, "nope") }},
		{"GetUser", func(c context.Context) error { return discard(s.GetUser(c, "nope")) }},
		{"UserByIdentifier", func(c context.Context) error { return discard(s.UserByIdentifier(c, "con_1", "nope")) }},
		{"UpdateUser", func(c context.Context) error { return discard(s.UpdateUser(c, "nope", fn.user)) }},
		{"DeleteUser", func(c context.Context) error { return s.DeleteUser(c, "nope") }},
		{"GetRefreshFamily", func(c context.Context) error { return discard(s.GetRefreshFamily(c, "nope")) }},
		{"GetRefreshFamilyWithUser", func(c context.Context) error {
			_, _, err := s.GetRefreshFamilyWithUser(c, "nope")
			return err
		}},
		{"ReplaceRefreshFamily", func(c context.Context) error {
			return s.ReplaceRefreshFamily(c, newFamily("nope", "auth0|1", "c1", ""))
		}},
		{"DeleteRefreshFamily", func(c context.Context) error { return s.DeleteRefreshFamily(c, "nope") }},
	} {
		if err := tc.call(c); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", tc.name, err)
		}
	}
	if fn.called {
		t.Error("an update fn was called for a missing record")
	}
}

func testConflicts(t *testing.T, s store.Store) {
	set := func(f func(*store.User)) func(*store.User) error {
		return func(u *store.User) error { f(u); return nil }
	}
	for i, tc := range []struct {
		name string
		seed func(c context.Context, p string) error
		dup  func(c context.Context, p string) error
		// check, when set, verifies that a conflicting update changed nothing.
		check func(c context.Context, p string) error
	}{
		{
			name: "client id",
			seed: func(c context.Context, p string) error { return s.CreateClient(c, newClient(p+"c")) },
			dup:  func(c context.Context, p string) error { return s.CreateClient(c, newClient(p+"c")) },
		},
		{
			name: "client grant id",
			seed: func(c context.Context, p string) error { return s.CreateClientGrant(c, newGrant(p+"g", "c", p+"a")) },
			dup:  func(c context.Context, p string) error { return s.CreateClientGrant(c, newGrant(p+"g", "c", p+"b")) },
		},
		{
			name: "client grant client and audience",
			seed: func(c context.Context, p string) error { return s.CreateClientGrant(c, newGrant(p+"g1", "c", p+"a")) },
			dup:  func(c context.Context, p string) error { return s.CreateClientGrant(c, newGrant(p+"g2", "c", p+"a")) },
		},
		{
			name: "client grant moved onto a taken audience",
			seed: func(c context.Context, p string) error {
				return errors.Join(
					s.CreateClientGrant(c, newGrant(p+"g1", "c", p+"a")),
					s.CreateClientGrant(c, newGrant(p+"g2", "c", p+"b")))
			},
			dup: func(c context.Context, p string) error {
				_, err := s.UpdateClientGrant(c, p+"g2", func(g *store.ClientGrant) error { g.Audience = p + "a"; return nil })
				return err
			},
			check: func(c context.Context, p string) error {
				g, err := s.GetClientGrant(c, p+"g2")
				if err == nil && g.Audience != p+"b" {
					err = fmt.Errorf("audience = %q after failed update", g.Audience)
				}
				return err
			},
		},
		{
			name: "resource server id",
			seed: func(c context.Context, p string) error {
				return s.CreateResourceServer(c, newResourceServer(p+"rs", p+"api1"))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateResourceServer(c, newResourceServer(p+"rs", p+"api2"))
			},
		},
		{
			name: "resource server identifier",
			seed: func(c context.Context, p string) error {
				return s.CreateResourceServer(c, newResourceServer(p+"rs1", p+"api"))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateResourceServer(c, newResourceServer(p+"rs2", p+"api"))
			},
		},
		{
			name: "resource server identifier by update",
			seed: func(c context.Context, p string) error {
				return errors.Join(
					s.CreateResourceServer(c, newResourceServer(p+"rs1", p+"api1")),
					s.CreateResourceServer(c, newResourceServer(p+"rs2", p+"api2")))
			},
			dup: func(c context.Context, p string) error {
				_, err := s.UpdateResourceServer(c, p+"rs2", func(rs *store.ResourceServer) error { rs.Identifier = p + "api1"; return nil })
				return err
			},
			check: func(c context.Context, p string) error {
				_, err := s.ResourceServerByIdentifier(c, p+"api2")
				return err
			},
		},
		{
			name: "connection id",
			seed: func(c context.Context, p string) error {
				return s.CreateConnection(c, newConnection(p+"con", p+"db1", "auth0"))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateConnection(c, newConnection(p+"con", p+"db2", "auth0"))
			},
		},
		{
			name: "connection name",
			seed: func(c context.Context, p string) error {
				return s.CreateConnection(c, newConnection(p+"con1", p+"db", "auth0"))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateConnection(c, newConnection(p+"con2", p+"db", "ad"))
			},
		},
		{
			name: "connection name by update",
			seed: func(c context.Context, p string) error {
				return errors.Join(
					s.CreateConnection(c, newConnection(p+"con1", p+"db1", "auth0")),
					s.CreateConnection(c, newConnection(p+"con2", p+"db2", "auth0")))
			},
			dup: func(c context.Context, p string) error {
				_, err := s.UpdateConnection(c, p+"con2", func(x *store.Connection) error { x.Name = p + "db1"; return nil })
				return err
			},
			check: func(c context.Context, p string) error {
				_, err := s.ConnectionByName(c, p+"db2")
				return err
			},
		},
		{
			name: "user id",
			seed: func(c context.Context, p string) error {
				return s.CreateUser(c, newUser(p+"u", "con", "db", p+"a@x.test", p+"a"))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateUser(c, newUser(p+"u", "con", "db", p+"b@x.test", p+"b"))
			},
		},
		{
			name: "user email in connection, any case",
			seed: func(c context.Context, p string) error {
				return s.CreateUser(c, newUser(p+"u1", "con", "db", p+"a@x.test", p+"a"))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateUser(c, newUser(p+"u2", "con", "db", p+"A@X.TEST", p+"b"))
			},
		},
		{
			name: "username in connection, any case",
			seed: func(c context.Context, p string) error {
				return s.CreateUser(c, newUser(p+"u1", "con", "db", p+"a@x.test", p+"ann"))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateUser(c, newUser(p+"u2", "con", "db", p+"b@x.test", p+"ANN"))
			},
		},
		{
			name: "user email by update",
			seed: func(c context.Context, p string) error {
				return errors.Join(
					s.CreateUser(c, newUser(p+"u1", "con", "db", p+"a@x.test", p+"a")),
					s.CreateUser(c, newUser(p+"u2", "con", "db", p+"b@x.test", p+"b")))
			},
			dup: func(c context.Context, p string) error {
				_, err := s.UpdateUser(c, p+"u2", set(func(u *store.User) { u.Email = p + "A@x.test" }))
				return err
			},
			check: func(c context.Context, p string) error {
				u, err := s.UserByIdentifier(c, "con", p+"b@x.test")
				if err == nil && u.UserID != p+"u2" {
					err = fmt.Errorf("b@x.test is %s", u.UserID)
				}
				return err
			},
		},
		{
			name: "username by update",
			seed: func(c context.Context, p string) error {
				return errors.Join(
					s.CreateUser(c, newUser(p+"u1", "con", "db", p+"a@x.test", p+"a")),
					s.CreateUser(c, newUser(p+"u2", "con", "db", p+"b@x.test", p+"b")))
			},
			dup: func(c context.Context, p string) error {
				_, err := s.UpdateUser(c, p+"u2", set(func(u *store.User) { u.Username = p + "A" }))
				return err
			},
		},
		{
			name: "refresh family id",
			seed: func(c context.Context, p string) error {
				return s.CreateRefreshFamily(c, newFamily(p+"rf", "u", "c", ""))
			},
			dup: func(c context.Context, p string) error {
				return s.CreateRefreshFamily(c, newFamily(p+"rf", "u2", "c2", ""))
			},
		},
		{
			name: "signing key kid within a set",
			seed: func(c context.Context, p string) error {
				return s.ReplaceSigningKeys(c, func([]*store.SigningKey) ([]*store.SigningKey, error) {
					return []*store.SigningKey{newKey(p + "k")}, nil
				})
			},
			dup: func(c context.Context, p string) error {
				return s.ReplaceSigningKeys(c, func([]*store.SigningKey) ([]*store.SigningKey, error) {
					return []*store.SigningKey{newKey(p + "k2"), newKey(p + "k2")}, nil
				})
			},
			check: func(c context.Context, p string) error {
				keys, err := s.ListSigningKeys(c)
				if err == nil && (len(keys) != 1 || keys[0].KID != p+"k") {
					err = fmt.Errorf("keys = %v after failed replace", ids(keys, keyID))
				}
				return err
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fmt.Sprintf("c%02d-", i)
			must(t, tc.seed(ctx(t), p))
			wantErr(t, tc.dup(ctx(t), p), store.ErrConflict)
			if tc.check != nil {
				must(t, tc.check(ctx(t), p))
			}
		})
	}
}

func testUpdateAborts(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateClient(c, newClient("c1")))
	must(t, s.CreateClientGrant(c, newGrant("g1", "c1", "a1")))
	must(t, s.CreateResourceServer(c, newResourceServer("rs1", "a1")))
	must(t, s.CreateConnection(c, newConnection("con_1", "db", "auth0")))
	must(t, s.CreateUser(c, newUser("auth0|1", "con_1", "db", "a@x.test", "a")))
	must(t, s.CreateRefreshFamily(c, newFamily("rf1", "auth0|1", "c1", "a1")))
	must(t, s.ReplaceSigningKeys(c, func([]*store.SigningKey) ([]*store.SigningKey, error) {
		return []*store.SigningKey{newKey("k1")}, nil
	}))
	_, err := s.UpdateTenantSettings(c, func(ts *store.TenantSettings) error { *ts = *newTenant(); return nil })
	must(t, err)

	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		load   func(context.Context) (any, error)
		update func(context.Context) error // mutates, then fails with boom
	}{
		{"client",
			func(c context.Context) (any, error) { return s.GetClient(c, "c1") },
			func(c context.Context) error {
				_, err := s.UpdateClient(c, "c1", func(x *store.Client) error { x.Name, x.ClientSecret = "x", "x"; return boom })
				return err
			}},
		{"client grant",
			func(c context.Context) (any, error) { return s.GetClientGrant(c, "g1") },
			func(c context.Context) error {
				_, err := s.UpdateClientGrant(c, "g1", func(x *store.ClientGrant) error { x.Audience = "x"; return boom })
				return err
			}},
		{"resource server",
			func(c context.Context) (any, error) { return s.GetResourceServer(c, "rs1") },
			func(c context.Context) error {
				_, err := s.UpdateResourceServer(c, "rs1", func(x *store.ResourceServer) error { x.SigningSecret = "x"; return boom })
				return err
			}},
		{"connection",
			func(c context.Context) (any, error) { return s.GetConnection(c, "con_1") },
			func(c context.Context) error {
				_, err := s.UpdateConnection(c, "con_1", func(x *store.Connection) error { x.Name = "x"; return boom })
				return err
			}},
		{"user",
			func(c context.Context) (any, error) { return s.GetUser(c, "auth0|1") },
			func(c context.Context) error {
				_, err := s.UpdateUser(c, "auth0|1", func(x *store.User) error { x.Email, x.PasswordHash = "x@x.test", "x"; return boom })
				return err
			}},
		{"signing keys",
			func(c context.Context) (any, error) { return s.ListSigningKeys(c) },
			func(c context.Context) error {
				return s.ReplaceSigningKeys(c, func(old []*store.SigningKey) ([]*store.SigningKey, error) {
					return []*store.SigningKey{newKey("k2")}, boom
				})
			}},
		{"tenant settings",
			func(c context.Context) (any, error) { return s.GetTenantSettings(c) },
			func(c context.Context) error {
				_, err := s.UpdateTenantSettings(c, func(x *store.TenantSettings) error { x.FriendlyName = "x"; return boom })
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := tc.load(ctx(t))
			must(t, err)
			wantErr(t, tc.update(ctx(t)), boom)
			after, err := tc.load(ctx(t))
			must(t, err)
			wantEqual(t, "after failed update", after, before)
		})
	}
}

func testPaging(t *testing.T, s store.Store) {
	// ids are created in descending order, so creation order differs from id order.
	const n = 7
	id := func(i int) string { return fmt.Sprintf("id%02d", n-1-i) }
	for _, tc := range []struct {
		name   string
		create func(c context.Context, i int) error
		list   func(c context.Context, p store.Page) ([]string, int, error)
	}{
		{"clients",
			func(c context.Context, i int) error { return s.CreateClient(c, newClient(id(i))) },
			func(c context.Context, p store.Page) ([]string, int, error) {
				items, total, err := s.ListClients(c, p)
				return ids(items, clientID), total, err
			}},
		{"client grants",
			func(c context.Context, i int) error { return s.CreateClientGrant(c, newGrant(id(i), "c", id(i))) },
			func(c context.Context, p store.Page) ([]string, int, error) {
				items, total, err := s.ListClientGrants(c, "", "", p)
				return ids(items, grantID), total, err
			}},
		{"resource servers",
			func(c context.Context, i int) error {
				return s.CreateResourceServer(c, newResourceServer(id(i), id(i)))
			},
			func(c context.Context, p store.Page) ([]string, int, error) {
				items, total, err := s.ListResourceServers(c, p)
				return ids(items, resourceServerID), total, err
			}},
		{"connections",
			func(c context.Context, i int) error {
				return s.CreateConnection(c, newConnection(id(i), id(i), "auth0"))
			},
			func(c context.Context, p store.Page) ([]string, int, error) {
				items, total, err := s.ListConnections(c, "", p)
				return ids(items, connectionID), total, err
			}},
		{"users",
			func(c context.Context, i int) error {
				return s.CreateUser(c, newUser(id(i), "con", "db", id(i)+"@x.test", id(i)))
			},
			func(c context.Context, p store.Page) ([]string, int, error) {
				items, total, err := s.ListUsers(c, store.UserQuery{}, p)
				return ids(items, userID), total, err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := make([]string, n)
			for i := range n {
				all[i] = id(i)
				must(t, tc.create(ctx(t), i))
			}
			for _, pc := range []struct {
				page store.Page
				want []string
			}{
				{store.Page{}, all},
				{store.Page{Page: 0, PerPage: 3}, all[0:3]},
				{store.Page{Page: 1, PerPage: 3}, all[3:6]},
				{store.Page{Page: 2, PerPage: 3}, all[6:]},
				{store.Page{Page: 3, PerPage: 3}, []string{}},
				{store.Page{Page: 0, PerPage: 1000}, all},
			} {
				got, total, err := tc.list(ctx(t), pc.page)
				must(t, err)
				wantEqual(t, fmt.Sprintf("page %+v", pc.page), got, pc.want)
				if total != n {
					t.Errorf("page %+v: total = %d, want %d", pc.page, total, n)
				}
			}
		})
	}
}
