package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// newTestStore returns the store the tests run against. It is the one
// place to switch the suite to another backend.
func newTestStore(t *testing.T) store.Store {
	t.Helper()
	s := newMemStore()
	t.Cleanup(func() { s.Close() })
	return s
}

// memStore is a test-only store.Store: maps behind one mutex, handing out
// copies so callers cannot change stored rows behind its back, and keeping
// the uniqueness rules the store contract documents. Refresh families,
// signing keys and nonces are not used by the Management API and are not
// implemented.
type memStore struct {
	mu          sync.Mutex
	clients     table[store.Client]
	grants      table[store.ClientGrant]
	apis        table[store.ResourceServer]
	connections table[store.Connection]
	users       table[store.User]
	tenant      store.TenantSettings
}

// table keeps rows by id in creation order.
type table[T any] struct {
	order []string
	rows  map[string]*T
}

func (t *table[T]) get(id string) (*T, bool) {
	r, ok := t.rows[id]
	return r, ok
}

func (t *table[T]) put(id string, v *T) {
	if t.rows == nil {
		t.rows = map[string]*T{}
	}
	if _, ok := t.rows[id]; !ok {
		t.order = append(t.order, id)
	}
	t.rows[id] = v
}

func (t *table[T]) del(id string) bool {
	if _, ok := t.rows[id]; !ok {
		return false
	}
	delete(t.rows, id)
	t.order = slices.DeleteFunc(t.order, func(s string) bool { return s == id })
	return true
}

func (t *table[T]) all() []*T {
	out := make([]*T, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, t.rows[id])
	}
	return out
}

func newMemStore() *memStore { return &memStore{} }

var errNotImplemented = errors.New("memstore: not implemented")

func notFound(what, id string) error { return fmt.Errorf("%s %q: %w", what, id, store.ErrNotFound) }

// pageOf slices rows and copies them.
func pageOf[T any](rows []*T, p store.Page, clone func(*T) *T) ([]*T, int) {
	start := min(p.Offset(), len(rows))
	end := min(start+p.Limit(), len(rows))
	out := make([]*T, 0, end-start)
	for _, r := range rows[start:end] {
		out = append(out, clone(r))
	}
	return out, len(rows)
}

func cloneClient(c *store.Client) *store.Client {
	cp := *c
	cp.Callbacks = slices.Clone(c.Callbacks)
	cp.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	cp.WebOrigins = slices.Clone(c.WebOrigins)
	cp.AllowedLogoutURLs = slices.Clone(c.AllowedLogoutURLs)
	cp.ClientAliases = slices.Clone(c.ClientAliases)
	cp.AllowedClients = slices.Clone(c.AllowedClients)
	cp.GrantTypes = slices.Clone(c.GrantTypes)
	cp.Credentials = slices.Clone(c.Credentials)
	cp.ClientMetadata = maps.Clone(c.ClientMetadata)
	cp.JWTConfiguration.Scopes = slices.Clone(c.JWTConfiguration.Scopes)
	if c.TokenEndpointAuthMethod != nil {
		m := *c.TokenEndpointAuthMethod
		cp.TokenEndpointAuthMethod = &m
	}
	if c.ClientAuthenticationMethods != nil && c.ClientAuthenticationMethods.PrivateKeyJWT != nil {
		cp.ClientAuthenticationMethods = &store.ClientAuthenticationMethods{PrivateKeyJWT: &store.PrivateKeyJWTMethod{
			Credentials: slices.Clone(c.ClientAuthenticationMethods.PrivateKeyJWT.Credentials),
		}}
	}
	return &cp
}

func cloneGrant(g *store.ClientGrant) *store.ClientGrant {
	cp := *g
	cp.Scope = slices.Clone(g.Scope)
	return &cp
}

func cloneAPI(rs *store.ResourceServer) *store.ResourceServer {
	cp := *rs
	cp.Scopes = slices.Clone(rs.Scopes)
	cp.SubjectTypeAuthorization = slices.Clone(rs.SubjectTypeAuthorization)
	return &cp
}

func cloneConnection(c *store.Connection) *store.Connection {
	cp := *c
	cp.Options = slices.Clone(c.Options)
	cp.Realms = slices.Clone(c.Realms)
	cp.EnabledClients = slices.Clone(c.EnabledClients)
	cp.Metadata = maps.Clone(c.Metadata)
	return &cp
}

func cloneUser(u *store.User) *store.User {
	cp := *u
	cp.Identities = slices.Clone(u.Identities)
	cp.AppMetadata = cloneJSONMap(u.AppMetadata)
	cp.UserMetadata = cloneJSONMap(u.UserMetadata)
	return &cp
}

// cloneJSONMap deep-copies metadata the way a database round trip would.
func cloneJSONMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // test helper: metadata always comes from JSON
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// Clients.

func (s *memStore) CreateClient(ctx context.Context, c *store.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients.get(c.ClientID); ok {
		return fmt.Errorf("client %q: %w", c.ClientID, store.ErrConflict)
	}
	s.clients.put(c.ClientID, cloneClient(c))
	return nil
}

func (s *memStore) GetClient(ctx context.Context, id string) (*store.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients.get(id)
	if !ok {
		return nil, notFound("client", id)
	}
	return cloneClient(c), nil
}

func (s *memStore) ListClients(ctx context.Context, p store.Page) ([]*store.Client, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, total := pageOf(s.clients.all(), p, cloneClient)
	return out, total, nil
}

func (s *memStore) UpdateClient(ctx context.Context, id string, fn func(*store.Client) error) (*store.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients.get(id)
	if !ok {
		return nil, notFound("client", id)
	}
	cp := cloneClient(c)
	if err := fn(cp); err != nil {
		return nil, err
	}
	s.clients.put(id, cloneClient(cp))
	return cp, nil
}

func (s *memStore) DeleteClient(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.clients.del(id) {
		return notFound("client", id)
	}
	return nil
}

// Client grants.

func (s *memStore) CreateClientGrant(ctx context.Context, g *store.ClientGrant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.grants.all() {
		if o.ID == g.ID || (o.ClientID == g.ClientID && o.Audience == g.Audience) {
			return fmt.Errorf("client grant: %w", store.ErrConflict)
		}
	}
	s.grants.put(g.ID, cloneGrant(g))
	return nil
}

func (s *memStore) GetClientGrant(ctx context.Context, id string) (*store.ClientGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants.get(id)
	if !ok {
		return nil, notFound("client grant", id)
	}
	return cloneGrant(g), nil
}

func (s *memStore) FindClientGrant(ctx context.Context, clientID, audience string) (*store.ClientGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants.all() {
		if g.ClientID == clientID && g.Audience == audience {
			return cloneGrant(g), nil
		}
	}
	return nil, notFound("client grant", clientID+" "+audience)
}

func (s *memStore) ListClientGrants(ctx context.Context, clientID, audience string, p store.Page) ([]*store.ClientGrant, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := slices.DeleteFunc(s.grants.all(), func(g *store.ClientGrant) bool {
		return (clientID != "" && g.ClientID != clientID) || (audience != "" && g.Audience != audience)
	})
	out, total := pageOf(rows, p, cloneGrant)
	return out, total, nil
}

func (s *memStore) UpdateClientGrant(ctx context.Context, id string, fn func(*store.ClientGrant) error) (*store.ClientGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants.get(id)
	if !ok {
		return nil, notFound("client grant", id)
	}
	cp := cloneGrant(g)
	if err := fn(cp); err != nil {
		return nil, err
	}
	s.grants.put(id, cloneGrant(cp))
	return cp, nil
}

func (s *memStore) DeleteClientGrant(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.grants.del(id) {
		return notFound("client grant", id)
	}
	return nil
}

// Resource servers.

func (s *memStore) CreateResourceServer(ctx context.Context, rs *store.ResourceServer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.apis.all() {
		if o.ID == rs.ID || o.Identifier == rs.Identifier {
			return fmt.Errorf("resource server %q: %w", rs.Identifier, store.ErrConflict)
		}
	}
	s.apis.put(rs.ID, cloneAPI(rs))
	return nil
}

func (s *memStore) GetResourceServer(ctx context.Context, id string) (*store.ResourceServer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.apis.get(id)
	if !ok {
		return nil, notFound("resource server", id)
	}
	return cloneAPI(rs), nil
}

func (s *memStore) ResourceServerByIdentifier(ctx context.Context, identifier string) (*store.ResourceServer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range s.apis.all() {
		if rs.Identifier == identifier {
			return cloneAPI(rs), nil
		}
	}
	return nil, notFound("resource server", identifier)
}

func (s *memStore) ListResourceServers(ctx context.Context, p store.Page) ([]*store.ResourceServer, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, total := pageOf(s.apis.all(), p, cloneAPI)
	return out, total, nil
}

func (s *memStore) UpdateResourceServer(ctx context.Context, id string, fn func(*store.ResourceServer) error) (*store.ResourceServer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.apis.get(id)
	if !ok {
		return nil, notFound("resource server", id)
	}
	cp := cloneAPI(rs)
	if err := fn(cp); err != nil {
		return nil, err
	}
	s.apis.put(id, cloneAPI(cp))
	return cp, nil
}

func (s *memStore) DeleteResourceServer(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.apis.del(id) {
		return notFound("resource server", id)
	}
	return nil
}

// Connections.

func (s *memStore) CreateConnection(ctx context.Context, c *store.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.connections.all() {
		if o.ID == c.ID || o.Name == c.Name {
			return fmt.Errorf("connection %q: %w", c.Name, store.ErrConflict)
		}
	}
	s.connections.put(c.ID, cloneConnection(c))
	return nil
}

func (s *memStore) GetConnection(ctx context.Context, id string) (*store.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.connections.get(id)
	if !ok {
		return nil, notFound("connection", id)
	}
	return cloneConnection(c), nil
}

func (s *memStore) ConnectionByName(ctx context.Context, name string) (*store.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.connections.all() {
		if c.Name == name {
			return cloneConnection(c), nil
		}
	}
	return nil, notFound("connection", name)
}

func (s *memStore) ListConnections(ctx context.Context, strategy string, p store.Page) ([]*store.Connection, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := slices.DeleteFunc(s.connections.all(), func(c *store.Connection) bool {
		return strategy != "" && c.Strategy != strategy
	})
	out, total := pageOf(rows, p, cloneConnection)
	return out, total, nil
}

func (s *memStore) UpdateConnection(ctx context.Context, id string, fn func(*store.Connection) error) (*store.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.connections.get(id)
	if !ok {
		return nil, notFound("connection", id)
	}
	cp := cloneConnection(c)
	if err := fn(cp); err != nil {
		return nil, err
	}
	s.connections.put(id, cloneConnection(cp))
	return cp, nil
}

func (s *memStore) DeleteConnection(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connections.del(id) {
		return notFound("connection", id)
	}
	for _, u := range s.users.all() {
		if u.ConnectionID == id {
			s.users.del(u.UserID)
		}
	}
	return nil
}

// Users.

// userConflict reports whether u would duplicate another user's id, or
// email or username within its connection.
func (s *memStore) userConflict(u *store.User, self string) bool {
	for _, o := range s.users.all() {
		if o.UserID == self {
			continue
		}
		if o.UserID == u.UserID {
			return true
		}
		if o.ConnectionID != u.ConnectionID {
			continue
		}
		if (u.Email != "" && strings.EqualFold(o.Email, u.Email)) ||
			(u.Username != "" && strings.EqualFold(o.Username, u.Username)) {
			return true
		}
	}
	return false
}

func (s *memStore) CreateUser(ctx context.Context, u *store.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userConflict(u, "") {
		return fmt.Errorf("user %q: %w", u.UserID, store.ErrConflict)
	}
	s.users.put(u.UserID, cloneUser(u))
	return nil
}

func (s *memStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users.get(id)
	if !ok {
		return nil, notFound("user", id)
	}
	return cloneUser(u), nil
}

func (s *memStore) UserByIdentifier(ctx context.Context, connectionID, identifier string) (*store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users.all() {
		if u.ConnectionID == connectionID &&
			(strings.EqualFold(u.Email, identifier) || (u.Username != "" && strings.EqualFold(u.Username, identifier))) {
			return cloneUser(u), nil
		}
	}
	return nil, notFound("user", identifier)
}

func (s *memStore) ListUsers(ctx context.Context, q store.UserQuery, p store.Page) ([]*store.User, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := slices.DeleteFunc(s.users.all(), func(u *store.User) bool {
		return (q.Connection != "" && u.Connection != q.Connection) ||
			(q.Email != "" && !strings.EqualFold(u.Email, q.Email))
	})
	out, total := pageOf(rows, p, cloneUser)
	return out, total, nil
}

func (s *memStore) UpdateUser(ctx context.Context, id string, fn func(*store.User) error) (*store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users.get(id)
	if !ok {
		return nil, notFound("user", id)
	}
	cp := cloneUser(u)
	if err := fn(cp); err != nil {
		return nil, err
	}
	if s.userConflict(cp, id) {
		return nil, fmt.Errorf("user %q: %w", id, store.ErrConflict)
	}
	s.users.put(id, cloneUser(cp))
	return cp, nil
}

func (s *memStore) DeleteUser(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.users.del(id) {
		return notFound("user", id)
	}
	return nil
}

// Tenant settings.

func cloneTenant(t store.TenantSettings) *store.TenantSettings {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	var out store.TenantSettings
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

func (s *memStore) GetTenantSettings(ctx context.Context) (*store.TenantSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneTenant(s.tenant), nil
}

func (s *memStore) UpdateTenantSettings(ctx context.Context, fn func(*store.TenantSettings) error) (*store.TenantSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := cloneTenant(s.tenant)
	if err := fn(cp); err != nil {
		return nil, err
	}
	s.tenant = *cloneTenant(*cp)
	return cp, nil
}

// Not used by the Management API.

func (s *memStore) CreateRefreshFamily(context.Context, *store.RefreshFamily) error {
	return errNotImplemented
}
func (s *memStore) GetRefreshFamily(context.Context, string) (*store.RefreshFamily, error) {
	return nil, errNotImplemented
}
func (s *memStore) UpdateRefreshFamily(context.Context, string, func(*store.RefreshFamily) error) (*store.RefreshFamily, error) {
	return nil, errNotImplemented
}
func (s *memStore) DeleteRefreshFamily(context.Context, string) error { return errNotImplemented }
func (s *memStore) DeleteRefreshFamilies(context.Context, string, string, string) (int, error) {
	return 0, errNotImplemented
}
func (s *memStore) ListRefreshFamilies(context.Context, string, string) ([]*store.RefreshFamily, error) {
	return nil, errNotImplemented
}
func (s *memStore) ListSigningKeys(context.Context) ([]*store.SigningKey, error) {
	return nil, errNotImplemented
}
func (s *memStore) ReplaceSigningKeys(context.Context, func([]*store.SigningKey) ([]*store.SigningKey, error)) error {
	return errNotImplemented
}
func (s *memStore) UseNonce(context.Context, string, time.Time) error { return errNotImplemented }
func (s *memStore) Close() error                                      { return nil }
