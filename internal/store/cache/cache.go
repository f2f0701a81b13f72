// Package cache keeps the tenant's configuration (applications, client
// grants, APIs, connections, tenant settings, rules, bound Actions) in memory in front of a
// store.Store, so the token endpoint's hot paths read none of it from the
// database. A change made through this node is seen at once. One made
// through another node is seen when the database announces it (a store
// that is a store.ConfigWatcher: PostgreSQL's LISTEN/NOTIFY, within
// milliseconds of the commit), and otherwise at the next poll of the
// store's ConfigVersion, which every configuration write advances on
// whichever node it happens; the poll stays as the fallback.
//
// Every method of store.Store is written out here, none inherited by
// embedding: adding a method to the contract breaks this package's build
// until someone decides whether it reads configuration (cache it), writes
// it (end with afterWrite) or neither (pass it through).
package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultPoll is how often Run checks the configuration version.
const DefaultPoll = time.Second

// Store is a store.Store whose configuration reads come from memory.
// Records it returns are deep copies: callers may change anything in them.
type Store struct {
	inner store.Store
	log   *slog.Logger

	mu      sync.RWMutex
	valid   bool   // false until the version is known, and after a failed check
	version int64  // the configuration version the maps hold
	gen     uint64 // advanced by every flush, so a read racing one is not kept
	writes  uint64 // local writes and announcements recorded, so a poll racing one is not kept
	// handled is the newest version another node's change was acted on
	// for (flushed, onChange called): announcements up to it need nothing.
	handled int64
	// node is this node's id in the store's announcements ("" without).
	node string
	// changeMu runs one onChange at a time, whether a poll or an
	// announcement called it.
	changeMu sync.Mutex
	clients  map[string]result[store.Client]
	grants   map[[2]string]result[store.ClientGrant]
	apis     map[string]result[store.ResourceServer]
	conns    map[string]result[store.Connection]
	tenant   *store.TenantSettings
	// rules and rulesConfigs hold the whole lists (key: true), read on
	// every login by the post-login phase.
	rules        map[bool]result[[]*store.Rule]
	rulesConfigs map[bool]result[[]*store.RulesConfig]
	// bound holds each trigger's deployed, bound Actions.
	bound map[string]result[[]*store.BoundAction]
}

var _ store.Store = (*Store)(nil)

// result is a cached lookup: a record, or the fact that there is none.
// The record is never handed out, only copies of it.
type result[T any] struct {
	v   *T
	err error // nil or a store.ErrNotFound
}

// New wraps inner. It reads the configuration version once; Run keeps it
// current.
func New(ctx context.Context, inner store.Store, log *slog.Logger) *Store {
	c := &Store{inner: inner, log: log}
	c.flushLocked()
	if v, err := inner.ConfigVersion(ctx); err == nil {
		c.version, c.valid = v, true
	}
	return c
}

// Run keeps the cache current until ctx ends: it polls the configuration
// version every interval and, when the store announces configuration
// writes (store.ConfigWatcher), acts on each announcement from another
// node as it arrives. onChange, when not nil, is called after another
// node's change is seen: the signing keys reload on it, so a rotation
// reaches every node within milliseconds (announced) or a poll interval.
// Changes made through this node do not call it; their writer knows about
// them. Run returns when ctx ends and its watcher has stopped.
func (c *Store) Run(ctx context.Context, interval time.Duration, onChange func()) {
	changed := func() {
		if onChange != nil {
			c.changeMu.Lock()
			defer c.changeMu.Unlock()
			onChange()
		}
	}
	var watching sync.WaitGroup
	if w, ok := c.inner.(store.ConfigWatcher); ok && w.NodeID() != "" {
		c.mu.Lock()
		c.node = w.NodeID()
		c.mu.Unlock()
		watching.Add(1)
		go func() {
			defer watching.Done()
			c.watch(ctx, w, changed)
		}()
	}
	defer watching.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.poll(ctx) {
				changed()
			}
		}
	}
}

// watch acts on the store's announcements until ctx ends.
func (c *Store) watch(ctx context.Context, w store.ConfigWatcher, changed func()) {
	var lost error // the watch is down since this error
	connectedOnce := false
	status := func(err error) {
		switch {
		case err != nil:
			if lost == nil && ctx.Err() == nil {
				c.log.Warn("configuration cache: lost the change announcements; polling until they are back", slog.Any("err", err))
			}
			lost = err
		case !connectedOnce:
			// Changes made between New and now were not announced to us.
			connectedOnce = true
			if c.poll(ctx) {
				changed()
			}
		case lost != nil:
			// Announcements made while the watch was down are lost: drop
			// everything rather than trust the version alone.
			c.log.Info("configuration cache: change announcements are back")
			lost = nil
			c.resync(ctx)
			changed()
		}
	}
	err := w.WatchConfig(ctx, func(ch store.ConfigChange) {
		if c.announced(ch) {
			changed()
		}
	}, status)
	if err != nil && ctx.Err() == nil {
		c.log.Info("configuration cache: the store does not announce changes; polling only", slog.Any("err", err))
	}
}

// announced records a configuration write the store announced and reports
// whether it is another node's change not yet acted on. This node's own
// writes are skipped: afterWrite has flushed for them. Another node's is
// acted on even when the version it carries is no newer than the cache's:
// afterWrite records the version it reads after a local write, and a write
// from another node committed in between is inside that version though
// nothing here reloaded for it (the keys, say). Polling alone cannot tell
// the two apart; the announcement's node id can.
func (c *Store) announced(ch store.ConfigChange) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.Node != "" && ch.Node == c.node {
		return false
	}
	if ch.Version <= c.handled {
		return false // a poll or an earlier announcement reloaded after it
	}
	c.handled = ch.Version
	c.writes++
	if c.valid && ch.Version > c.version {
		c.version = ch.Version
	}
	c.flushLocked()
	return true
}

// resync drops everything and reads the version again.
func (c *Store) resync(ctx context.Context) {
	v, err := c.inner.ConfigVersion(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	c.flushLocked()
	if err != nil {
		c.valid = false
		return
	}
	c.version, c.valid = v, true
	c.handled = max(c.handled, v)
}

// poll checks the version and reports whether it changed.
func (c *Store) poll(ctx context.Context) (changed bool) {
	c.mu.RLock()
	writes := c.writes
	c.mu.RUnlock()
	v, err := c.inner.ConfigVersion(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.writes != writes:
		// A write through this node ended meanwhile and recorded a version
		// read after it: newer than v, or as new.
	case err != nil:
		// Serve from the database until it answers again, rather than from
		// a cache nobody can vouch for.
		if c.valid && ctx.Err() == nil {
			c.log.Warn("configuration cache: version check failed; reading through", slog.Any("err", err))
		}
		c.valid = false
		c.flushLocked()
	case !c.valid || v != c.version:
		changed = c.valid && v != c.version
		c.version, c.valid = v, true
		if changed {
			c.handled = max(c.handled, v)
		}
		c.flushLocked()
	}
	return changed
}

func (c *Store) flushLocked() {
	c.gen++
	c.clients = map[string]result[store.Client]{}
	c.grants = map[[2]string]result[store.ClientGrant]{}
	c.apis = map[string]result[store.ResourceServer]{}
	c.conns = map[string]result[store.Connection]{}
	c.tenant = nil
	c.rules = map[bool]result[[]*store.Rule]{}
	c.rulesConfigs = map[bool]result[[]*store.RulesConfig]{}
	c.bound = map[string]result[[]*store.BoundAction]{}
}

// afterWrite ends every configuration write through this node, whether it
// succeeded or not (a failed commit may still have landed): it flushes, so
// this node never serves what it has just changed, and records the version
// read after the write, so the next poll does not take this node's own
// change for another node's (which would flush a second time and reload the
// signing keys).
func (c *Store) afterWrite(ctx context.Context) {
	// The write is done: a caller leaving now must not cost the cache.
	v, err := c.inner.ConfigVersion(context.WithoutCancel(ctx))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	c.flushLocked()
	if err != nil {
		// Read through until a poll vouches for the cache again.
		c.valid = false
		return
	}
	if !c.valid || v > c.version {
		c.version, c.valid = v, true
	}
}

// written is afterWrite for writes that return a record.
func written[T any](ctx context.Context, c *Store, v T, err error) (T, error) {
	c.afterWrite(ctx)
	return v, err
}

// flushed is afterWrite for writes that return only an error.
func (c *Store) flushed(ctx context.Context, err error) error {
	c.afterWrite(ctx)
	return err
}

// cached is the read-through path shared by every cached lookup: m picks
// the map, load reads the store, clone copies what is handed out.
func cached[K comparable, T any](c *Store, m func() map[K]result[T], key K, load func() (*T, error), clone func(*T) *T) (*T, error) {
	c.mu.RLock()
	r, hit := m()[key]
	valid, gen := c.valid, c.gen
	c.mu.RUnlock()
	if hit && valid {
		return handOut(r, clone)
	}
	v, err := load()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	r = result[T]{v, err}
	if valid {
		c.mu.Lock()
		if c.gen == gen && c.valid {
			m()[key] = r
		}
		c.mu.Unlock()
	}
	return handOut(r, clone)
}

func handOut[T any](r result[T], clone func(*T) *T) (*T, error) {
	if r.err != nil {
		return nil, r.err
	}
	return clone(r.v), nil
}

// Clients: GetClient from memory.

func (c *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return cached(c, func() map[string]result[store.Client] { return c.clients }, id,
		func() (*store.Client, error) { return c.inner.GetClient(ctx, id) }, (*store.Client).Clone)
}

func (c *Store) CreateClient(ctx context.Context, v *store.Client) error {
	return c.flushed(ctx, c.inner.CreateClient(ctx, v))
}

func (c *Store) ListClients(ctx context.Context, p store.Page) ([]*store.Client, int, error) {
	return c.inner.ListClients(ctx, p)
}

func (c *Store) UpdateClient(ctx context.Context, id string, fn func(*store.Client) error) (*store.Client, error) {
	v, err := c.inner.UpdateClient(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteClient(ctx context.Context, id string) error {
	return c.flushed(ctx, c.inner.DeleteClient(ctx, id))
}

// ClientGrants: FindClientGrant from memory.

func (c *Store) FindClientGrant(ctx context.Context, clientID, audience string) (*store.ClientGrant, error) {
	return cached(c, func() map[[2]string]result[store.ClientGrant] { return c.grants }, [2]string{clientID, audience},
		func() (*store.ClientGrant, error) { return c.inner.FindClientGrant(ctx, clientID, audience) }, (*store.ClientGrant).Clone)
}

func (c *Store) CreateClientGrant(ctx context.Context, v *store.ClientGrant) error {
	return c.flushed(ctx, c.inner.CreateClientGrant(ctx, v))
}

func (c *Store) GetClientGrant(ctx context.Context, id string) (*store.ClientGrant, error) {
	return c.inner.GetClientGrant(ctx, id)
}

func (c *Store) ListClientGrants(ctx context.Context, clientID, audience string, p store.Page) ([]*store.ClientGrant, int, error) {
	return c.inner.ListClientGrants(ctx, clientID, audience, p)
}

func (c *Store) UpdateClientGrant(ctx context.Context, id string, fn func(*store.ClientGrant) error) (*store.ClientGrant, error) {
	v, err := c.inner.UpdateClientGrant(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteClientGrant(ctx context.Context, id string) error {
	return c.flushed(ctx, c.inner.DeleteClientGrant(ctx, id))
}

// ResourceServers: ResourceServerByIdentifier from memory.

func (c *Store) ResourceServerByIdentifier(ctx context.Context, identifier string) (*store.ResourceServer, error) {
	return cached(c, func() map[string]result[store.ResourceServer] { return c.apis }, identifier,
		func() (*store.ResourceServer, error) { return c.inner.ResourceServerByIdentifier(ctx, identifier) }, (*store.ResourceServer).Clone)
}

func (c *Store) CreateResourceServer(ctx context.Context, v *store.ResourceServer) error {
	return c.flushed(ctx, c.inner.CreateResourceServer(ctx, v))
}

func (c *Store) GetResourceServer(ctx context.Context, id string) (*store.ResourceServer, error) {
	return c.inner.GetResourceServer(ctx, id)
}

func (c *Store) ListResourceServers(ctx context.Context, p store.Page) ([]*store.ResourceServer, int, error) {
	return c.inner.ListResourceServers(ctx, p)
}

func (c *Store) UpdateResourceServer(ctx context.Context, id string, fn func(*store.ResourceServer) error) (*store.ResourceServer, error) {
	v, err := c.inner.UpdateResourceServer(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteResourceServer(ctx context.Context, id string) error {
	return c.flushed(ctx, c.inner.DeleteResourceServer(ctx, id))
}

// Connections: ConnectionByName from memory.

func (c *Store) ConnectionByName(ctx context.Context, name string) (*store.Connection, error) {
	return cached(c, func() map[string]result[store.Connection] { return c.conns }, name,
		func() (*store.Connection, error) { return c.inner.ConnectionByName(ctx, name) }, (*store.Connection).Clone)
}

func (c *Store) CreateConnection(ctx context.Context, v *store.Connection) error {
	return c.flushed(ctx, c.inner.CreateConnection(ctx, v))
}

func (c *Store) GetConnection(ctx context.Context, id string) (*store.Connection, error) {
	return c.inner.GetConnection(ctx, id)
}

func (c *Store) ListConnections(ctx context.Context, strategy string, p store.Page) ([]*store.Connection, int, error) {
	return c.inner.ListConnections(ctx, strategy, p)
}

func (c *Store) UpdateConnection(ctx context.Context, id string, fn func(*store.Connection) error) (*store.Connection, error) {
	v, err := c.inner.UpdateConnection(ctx, id, fn)
	return written(ctx, c, v, err)
}

// DeleteConnection is a configuration write (its users go with it).
func (c *Store) DeleteConnection(ctx context.Context, id string) error {
	return c.flushed(ctx, c.inner.DeleteConnection(ctx, id))
}

// Tenants: GetTenantSettings from memory.

func (c *Store) GetTenantSettings(ctx context.Context) (*store.TenantSettings, error) {
	c.mu.RLock()
	t, valid, gen := c.tenant, c.valid, c.gen
	c.mu.RUnlock()
	if t != nil && valid {
		return t.Clone(), nil
	}
	t, err := c.inner.GetTenantSettings(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if valid && c.valid && c.gen == gen {
		c.tenant = t
	}
	c.mu.Unlock()
	return t.Clone(), nil
}

func (c *Store) UpdateTenantSettings(ctx context.Context, fn func(*store.TenantSettings) error) (*store.TenantSettings, error) {
	v, err := c.inner.UpdateTenantSettings(ctx, fn)
	return written(ctx, c, v, err)
}

// SigningKeys are configuration (they advance the version) but not cached
// here: keys.Manager holds them parsed.

func (c *Store) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	return c.inner.ListSigningKeys(ctx)
}

func (c *Store) ReplaceSigningKeys(ctx context.Context, fn func([]*store.SigningKey) ([]*store.SigningKey, error)) error {
	return c.flushed(ctx, c.inner.ReplaceSigningKeys(ctx, fn))
}

// ConfigVersion reads the store's version, not the cache's.
func (c *Store) ConfigVersion(ctx context.Context) (int64, error) {
	return c.inner.ConfigVersion(ctx)
}

// Users, refresh families, nonces and their clean-up are not
// configuration: every call passes through.

func (c *Store) CreateUser(ctx context.Context, u *store.User) error {
	return c.inner.CreateUser(ctx, u)
}

func (c *Store) GetUser(ctx context.Context, userID string) (*store.User, error) {
	return c.inner.GetUser(ctx, userID)
}

func (c *Store) UserByIdentifier(ctx context.Context, connectionID, identifier string) (*store.User, error) {
	return c.inner.UserByIdentifier(ctx, connectionID, identifier)
}

func (c *Store) ListUsers(ctx context.Context, q store.UserQuery, p store.Page) ([]*store.User, int, error) {
	return c.inner.ListUsers(ctx, q, p)
}

func (c *Store) UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (*store.User, error) {
	return c.inner.UpdateUser(ctx, userID, fn)
}

func (c *Store) DeleteUser(ctx context.Context, userID string) error {
	return c.inner.DeleteUser(ctx, userID)
}

func (c *Store) RecordLogin(ctx context.Context, l store.Login) error {
	return c.inner.RecordLogin(ctx, l)
}

func (c *Store) CreateRefreshFamily(ctx context.Context, f *store.RefreshFamily) error {
	return c.inner.CreateRefreshFamily(ctx, f)
}

func (c *Store) GetRefreshFamily(ctx context.Context, id string) (*store.RefreshFamily, error) {
	return c.inner.GetRefreshFamily(ctx, id)
}

func (c *Store) GetRefreshFamilyWithUser(ctx context.Context, id string) (*store.RefreshFamily, *store.User, error) {
	return c.inner.GetRefreshFamilyWithUser(ctx, id)
}

func (c *Store) ReplaceRefreshFamily(ctx context.Context, f *store.RefreshFamily) error {
	return c.inner.ReplaceRefreshFamily(ctx, f)
}

func (c *Store) DeleteRefreshFamily(ctx context.Context, id string) error {
	return c.inner.DeleteRefreshFamily(ctx, id)
}

func (c *Store) DeleteRefreshFamilies(ctx context.Context, userID, clientID, audience string) (int, error) {
	return c.inner.DeleteRefreshFamilies(ctx, userID, clientID, audience)
}

func (c *Store) ListRefreshFamilies(ctx context.Context, userID, clientID string) ([]*store.RefreshFamily, error) {
	return c.inner.ListRefreshFamilies(ctx, userID, clientID)
}

func (c *Store) UseNonce(ctx context.Context, key string, expiresAt time.Time) error {
	return c.inner.UseNonce(ctx, key, expiresAt)
}

func (c *Store) DeleteExpiredRefreshFamilies(ctx context.Context, now time.Time, limit int) (int, error) {
	return c.inner.DeleteExpiredRefreshFamilies(ctx, now, limit)
}

func (c *Store) DeleteExpiredNonces(ctx context.Context, now time.Time, limit int) (int, error) {
	return c.inner.DeleteExpiredNonces(ctx, now, limit)
}

func (c *Store) Exclusive(ctx context.Context, fn func(context.Context) error) (bool, error) {
	return c.inner.Exclusive(ctx, fn)
}

// Close closes the store underneath.
func (c *Store) Close() error { return c.inner.Close() }
