// Package cache keeps the tenant's configuration (applications, client
// grants, APIs, connections, tenant settings) in memory in front of a
// store.Store, so the token endpoint's hot paths read none of it from the
// database. The store's ConfigVersion, which every configuration write
// advances on whichever node it happens, is polled in the background: a
// change made through another node is seen within one poll interval, and a
// change made through this one at once.
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
// Records it returns are copies: callers may change their fields freely.
type Store struct {
	store.Store
	log *slog.Logger
	// OnChange, when set before Run, is called (on Run's goroutine) after a
	// poll finds that the configuration changed through some node: the
	// signing keys reload on it, so a rotation reaches every node within a
	// poll interval.
	OnChange func()

	mu      sync.RWMutex
	valid   bool   // false until the version is known, and after a failed poll
	version int64  // the configuration version the maps hold
	gen     uint64 // advanced by every flush, so a read racing one is not kept
	writes  uint64 // configuration writes through this node, so a poll racing one is not kept
	clients map[string]result[store.Client]
	grants  map[[2]string]result[store.ClientGrant]
	apis    map[string]result[store.ResourceServer]
	conns   map[string]result[store.Connection]
	tenant  *store.TenantSettings
}

// result is a cached lookup: a record, or the fact that there is none.
type result[T any] struct {
	v   *T
	err error // nil or a store.ErrNotFound
}

// New wraps inner. It reads the configuration version once; Run keeps it
// current.
func New(ctx context.Context, inner store.Store, log *slog.Logger) *Store {
	c := &Store{Store: inner, log: log}
	c.flush()
	if v, err := inner.ConfigVersion(ctx); err == nil {
		c.mu.Lock()
		c.version, c.valid = v, true
		c.mu.Unlock()
	}
	return c
}

// Run polls the configuration version every interval until ctx ends.
func (c *Store) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.poll(ctx) && c.OnChange != nil {
				c.OnChange()
			}
		}
	}
}

// poll checks the version and reports whether it changed.
func (c *Store) poll(ctx context.Context) (changed bool) {
	c.mu.RLock()
	writes := c.writes
	c.mu.RUnlock()
	v, err := c.Store.ConfigVersion(ctx)
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
		c.flushLocked()
	}
	return changed
}

func (c *Store) flush() {
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
}

func (c *Store) flushLocked() {
	c.gen++
	c.clients = map[string]result[store.Client]{}
	c.grants = map[[2]string]result[store.ClientGrant]{}
	c.apis = map[string]result[store.ResourceServer]{}
	c.conns = map[string]result[store.Connection]{}
	c.tenant = nil
}

// cached is the read-through path shared by every cached lookup: m picks the
// map, load reads the store.
func cached[K comparable, T any](c *Store, m func() map[K]result[T], key K, load func() (*T, error)) (*T, error) {
	c.mu.RLock()
	r, hit := m()[key]
	valid, gen := c.valid, c.gen
	c.mu.RUnlock()
	if hit && valid {
		return copyOf(r)
	}
	v, err := load()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if valid {
		c.mu.Lock()
		if c.gen == gen && c.valid {
			m()[key] = result[T]{v, err}
		}
		c.mu.Unlock()
	}
	return copyOf(result[T]{v, err})
}

func copyOf[T any](r result[T]) (*T, error) {
	if r.err != nil {
		return nil, r.err
	}
	v := *r.v
	return &v, nil
}

// GetClient implements store.Clients from memory.
func (c *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return cached(c, func() map[string]result[store.Client] { return c.clients }, id,
		func() (*store.Client, error) { return c.Store.GetClient(ctx, id) })
}

// FindClientGrant implements store.ClientGrants from memory.
func (c *Store) FindClientGrant(ctx context.Context, clientID, audience string) (*store.ClientGrant, error) {
	return cached(c, func() map[[2]string]result[store.ClientGrant] { return c.grants }, [2]string{clientID, audience},
		func() (*store.ClientGrant, error) { return c.Store.FindClientGrant(ctx, clientID, audience) })
}

// ResourceServerByIdentifier implements store.ResourceServers from memory.
func (c *Store) ResourceServerByIdentifier(ctx context.Context, identifier string) (*store.ResourceServer, error) {
	return cached(c, func() map[string]result[store.ResourceServer] { return c.apis }, identifier,
		func() (*store.ResourceServer, error) { return c.Store.ResourceServerByIdentifier(ctx, identifier) })
}

// ConnectionByName implements store.Connections from memory.
func (c *Store) ConnectionByName(ctx context.Context, name string) (*store.Connection, error) {
	return cached(c, func() map[string]result[store.Connection] { return c.conns }, name,
		func() (*store.Connection, error) { return c.Store.ConnectionByName(ctx, name) })
}

// GetTenantSettings implements store.Tenants from memory.
func (c *Store) GetTenantSettings(ctx context.Context) (*store.TenantSettings, error) {
	c.mu.RLock()
	t, valid, gen := c.tenant, c.valid, c.gen
	c.mu.RUnlock()
	if t != nil && valid {
		cp := *t
		return &cp, nil
	}
	t, err := c.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if valid && c.valid && c.gen == gen {
		c.tenant = t
	}
	c.mu.Unlock()
	cp := *t
	return &cp, nil
}

// afterWrite runs after every configuration write through this node: it
// flushes, so this node never serves what it has just changed, and records
// the version read after the write, so the next poll does not take this
// node's own change for another node's (which would flush a second time and
// reload the signing keys).
func (c *Store) afterWrite(ctx context.Context) {
	// The write is done: a caller leaving now must not cost the cache.
	v, err := c.Store.ConfigVersion(context.WithoutCancel(ctx))
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

// Configuration writes: pass through, then flush.

func (c *Store) CreateClient(ctx context.Context, v *store.Client) error {
	return c.flushed(ctx, c.Store.CreateClient(ctx, v))
}

func (c *Store) UpdateClient(ctx context.Context, id string, fn func(*store.Client) error) (*store.Client, error) {
	v, err := c.Store.UpdateClient(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteClient(ctx context.Context, id string) error {
	return c.flushed(ctx, c.Store.DeleteClient(ctx, id))
}

func (c *Store) CreateClientGrant(ctx context.Context, v *store.ClientGrant) error {
	return c.flushed(ctx, c.Store.CreateClientGrant(ctx, v))
}

func (c *Store) UpdateClientGrant(ctx context.Context, id string, fn func(*store.ClientGrant) error) (*store.ClientGrant, error) {
	v, err := c.Store.UpdateClientGrant(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteClientGrant(ctx context.Context, id string) error {
	return c.flushed(ctx, c.Store.DeleteClientGrant(ctx, id))
}

func (c *Store) CreateResourceServer(ctx context.Context, v *store.ResourceServer) error {
	return c.flushed(ctx, c.Store.CreateResourceServer(ctx, v))
}

func (c *Store) UpdateResourceServer(ctx context.Context, id string, fn func(*store.ResourceServer) error) (*store.ResourceServer, error) {
	v, err := c.Store.UpdateResourceServer(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteResourceServer(ctx context.Context, id string) error {
	return c.flushed(ctx, c.Store.DeleteResourceServer(ctx, id))
}

func (c *Store) CreateConnection(ctx context.Context, v *store.Connection) error {
	return c.flushed(ctx, c.Store.CreateConnection(ctx, v))
}

func (c *Store) UpdateConnection(ctx context.Context, id string, fn func(*store.Connection) error) (*store.Connection, error) {
	v, err := c.Store.UpdateConnection(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteConnection(ctx context.Context, id string) error {
	return c.flushed(ctx, c.Store.DeleteConnection(ctx, id))
}

func (c *Store) ReplaceSigningKeys(ctx context.Context, fn func([]*store.SigningKey) ([]*store.SigningKey, error)) error {
	return c.flushed(ctx, c.Store.ReplaceSigningKeys(ctx, fn))
}

func (c *Store) UpdateTenantSettings(ctx context.Context, fn func(*store.TenantSettings) error) (*store.TenantSettings, error) {
	v, err := c.Store.UpdateTenantSettings(ctx, fn)
	return written(ctx, c, v, err)
}
