package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// counting counts the reads that reach the database.
type counting struct {
	store.Store
	reads atomic.Int64
}

func (c *counting) GetClient(ctx context.Context, id string) (*store.Client, error) {
	c.reads.Add(1)
	return c.Store.GetClient(ctx, id)
}

func (c *counting) GetTenantSettings(ctx context.Context) (*store.TenantSettings, error) {
	c.reads.Add(1)
	return c.Store.GetTenantSettings(ctx)
}

// twoNodes opens one SQLite file twice, as two gatehouse nodes would share
// one database.
func twoNodes(t *testing.T) (a, b *sqlstore.Store) {
	t.Helper()
	sealer, _ := seal.New(bytes.Repeat([]byte{5}, 32))
	path := filepath.Join(t.TempDir(), "c.db")
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(context.Background(), path, sealer)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}

func TestReadsComeFromMemoryUntilTheConfigurationChanges(t *testing.T) {
	ctx := context.Background()
	dbA, dbB := twoNodes(t)
	inner := &counting{Store: dbA}
	c := New(ctx, inner, slog.New(slog.DiscardHandler))
	if err := c.CreateClient(ctx, &store.Client{ClientID: "app", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if cl, err := c.GetClient(ctx, "app"); err != nil || cl.Name != "one" {
			t.Fatalf("GetClient = %+v, %v", cl, err)
		}
	}
	if n := inner.reads.Load(); n != 1 {
		t.Fatalf("%d database reads for 5 lookups, want 1", n)
	}
	// Unknown clients are remembered too, so a flood of made-up ids costs
	// one read each at most.
	for range 3 {
		if _, err := c.GetClient(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown client: %v", err)
		}
	}
	if n := inner.reads.Load(); n != 2 {
		t.Fatalf("%d database reads, want 2", n)
	}

	// A change through this node is visible at once.
	if _, err := c.UpdateClient(ctx, "app", func(cl *store.Client) error { cl.Name = "two"; return nil }); err != nil {
		t.Fatal(err)
	}
	if cl, _ := c.GetClient(ctx, "app"); cl.Name != "two" {
		t.Fatalf("after a local update: %q", cl.Name)
	}

	// A change through another node is visible after the next poll.
	if _, err := dbB.UpdateClient(ctx, "app", func(cl *store.Client) error { cl.Name = "three"; return nil }); err != nil {
		t.Fatal(err)
	}
	if cl, _ := c.GetClient(ctx, "app"); cl.Name != "two" {
		t.Fatalf("before the poll the cache should still serve its copy, got %q", cl.Name)
	}
	c.poll(ctx)
	if cl, _ := c.GetClient(ctx, "app"); cl.Name != "three" {
		t.Fatalf("after the poll: %q", cl.Name)
	}
	// Users are not configuration: they are never cached.
	if _, err := dbB.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error { ts.DefaultDirectory = "db"; return nil }); err != nil {
		t.Fatal(err)
	}
	c.poll(ctx)
	if ts, _ := c.GetTenantSettings(ctx); ts.DefaultDirectory != "db" {
		t.Fatalf("tenant after poll: %+v", ts)
	}
}

// A write through this node flushes once. The next poll must not take it
// for another node's change: that flushed a second time, reloaded the
// signing keys, and made the next request read its configuration again.
func TestALocalWriteIsNotAChangeAtTheNextPoll(t *testing.T) {
	ctx := context.Background()
	db, _ := twoNodes(t)
	inner := &counting{Store: db}
	c := New(ctx, inner, slog.New(slog.DiscardHandler))
	for _, write := range []struct {
		name string
		do   func() error
	}{
		{"create client", func() error { return c.CreateClient(ctx, &store.Client{ClientID: "app", Name: "one"}) }},
		{"update client", func() error {
			_, err := c.UpdateClient(ctx, "app", func(cl *store.Client) error { cl.Name = "two"; return nil })
			return err
		}},
		{"replace signing keys", func() error {
			return c.ReplaceSigningKeys(ctx, func(ks []*store.SigningKey) ([]*store.SigningKey, error) {
				return append(ks, &store.SigningKey{KID: "k1", Alg: "RS256", PrivateKeyDER: []byte{1}}), nil
			})
		}},
		{"update tenant settings", func() error {
			_, err := c.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error { ts.FriendlyName = "x"; return nil })
			return err
		}},
	} {
		if err := write.do(); err != nil {
			t.Fatalf("%s: %v", write.name, err)
		}
		c.GetClient(ctx, "app")
		before := inner.reads.Load()
		if c.poll(ctx) {
			t.Errorf("%s: the next poll reported this node's own write as a change", write.name)
		}
		c.GetClient(ctx, "app")
		if n := inner.reads.Load() - before; n != 0 {
			t.Errorf("%s: %d database reads after the poll, want 0 (the poll flushed again)", write.name, n)
		}
	}
}

// A caller that changes what it was handed, down to the slices, maps,
// pointers and raw JSON inside it, changes nothing for the next caller.
func TestCallersCannotChangeWhatTheCacheHolds(t *testing.T) {
	ctx := context.Background()
	db, _ := twoNodes(t)
	c := New(ctx, db, slog.New(slog.DiscardHandler))
	method := "client_secret_post"
	yes := true
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateClient(ctx, &store.Client{
		ClientID: "app", Name: "one", ClientSecret: "s3cret-s3cret-s3cret-s3cret-s3cret",
		GrantTypes: []string{"password", "refresh_token"}, Callbacks: []string{"https://a/cb"},
		TokenEndpointAuthMethod: &method, ClientMetadata: map[string]string{"k": "v"},
		JWTConfiguration: store.JWTConfiguration{Scopes: json.RawMessage(`{"a":1}`)},
	}))
	must(c.CreateClientGrant(ctx, &store.ClientGrant{ID: "cgr_1", ClientID: "app", Audience: "api", Scope: []string{"read"}, AllowAnyOrganization: &yes}))
	must(c.CreateResourceServer(ctx, &store.ResourceServer{ID: "rs1", Identifier: "api", Scopes: []store.ResourceServerScope{{Value: "read"}},
		SubjectTypeAuthorization: json.RawMessage(`{"user":{}}`)}))
	must(c.CreateConnection(ctx, &store.Connection{ID: "con_1", Name: "db", Strategy: "auth0", Options: json.RawMessage(`{"x":1}`),
		EnabledClients: []string{"app"}, Metadata: map[string]string{"k": "v"}, ShowAsButton: &yes}))
	_, err := c.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error {
		ts.Flags = map[string]bool{"f": true}
		ts.Other = map[string]json.RawMessage{"o": json.RawMessage(`"v"`)}
		return nil
	})
	must(err)

	for _, tc := range []struct {
		name   string
		get    func(store.Store) (any, error)
		mutate func(any)
	}{
		{"GetClient", func(s store.Store) (any, error) { return s.GetClient(ctx, "app") }, func(v any) {
			cl := v.(*store.Client)
			cl.Name, cl.ClientSecret = "changed", ""
			cl.GrantTypes[0] = "client_credentials"
			cl.GrantTypes = append(cl.GrantTypes, "implicit")
			cl.Callbacks[0] = "https://evil/cb"
			*cl.TokenEndpointAuthMethod = "none"
			cl.ClientMetadata["k"] = "changed"
			cl.JWTConfiguration.Scopes[2] = 'b'
		}},
		{"FindClientGrant", func(s store.Store) (any, error) { return s.FindClientGrant(ctx, "app", "api") }, func(v any) {
			g := v.(*store.ClientGrant)
			g.Scope[0] = "write"
			*g.AllowAnyOrganization = false
		}},
		{"ResourceServerByIdentifier", func(s store.Store) (any, error) { return s.ResourceServerByIdentifier(ctx, "api") }, func(v any) {
			rs := v.(*store.ResourceServer)
			rs.Scopes[0].Value = "write"
			rs.SubjectTypeAuthorization[2] = 'x'
		}},
		{"ConnectionByName", func(s store.Store) (any, error) { return s.ConnectionByName(ctx, "db") }, func(v any) {
			cn := v.(*store.Connection)
			cn.EnabledClients[0] = "other"
			cn.Options[2] = 'y'
			cn.Metadata["k"] = "changed"
			*cn.ShowAsButton = false
		}},
		{"GetTenantSettings", func(s store.Store) (any, error) { return s.GetTenantSettings(ctx) }, func(v any) {
			ts := v.(*store.TenantSettings)
			ts.Flags["f"] = false
			ts.Other["o"][1] = 'w'
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := tc.get(c)
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(first)
			again, err := tc.get(c)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tc.get(db) // the database's record, untouched
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, want) {
				t.Fatalf("a caller's change reached the cache:\n got  %+v\n want %+v", again, want)
			}
		})
	}
}

func TestFailedPollReadsThrough(t *testing.T) {
	ctx := context.Background()
	db, _ := twoNodes(t)
	inner := &counting{Store: db}
	c := New(ctx, inner, slog.New(slog.DiscardHandler))
	c.GetTenantSettings(ctx)
	db.Close() // the database goes away: version checks fail
	c.poll(ctx)
	if _, err := c.GetTenantSettings(ctx); err == nil {
		t.Fatal("served settings from a cache that can no longer be checked")
	}
}

// Every store method is written out in this package: one inherited through
// an embedded field would let a new configuration write skip the flush.
func TestNoMethodIsInherited(t *testing.T) {
	st := reflect.TypeFor[Store]()
	for i := range st.NumField() {
		if f := st.Field(i); f.Anonymous {
			t.Errorf("cache.Store embeds %s", f.Type)
		}
	}
}
