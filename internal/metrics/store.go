package metrics

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TimeStore wraps inner so that the calls on the token endpoint's road
// (and the configuration cache's misses and version checks) are timed into
// gatehouse_store_duration_seconds by operation. Put it under the
// configuration cache, so that what it times is the database, not memory.
// Other calls pass through untimed: the embedding keeps this wrapper from
// having to follow every change to the storage contract.
func (m *Metrics) TimeStore(inner store.Store) store.Store {
	return &timedStore{Store: inner, m: m}
}

type timedStore struct {
	store.Store
	m *Metrics
}

func timed[T any](m *Metrics, op string, fn func() (T, error)) (T, error) {
	start := time.Now()
	v, err := fn()
	m.storeDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	return v, err
}

func timedErr(m *Metrics, op string, fn func() error) error {
	_, err := timed(m, op, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// NodeID and WatchConfig keep the store's change announcements visible
// to the configuration cache above (store.ConfigWatcher).
func (s *timedStore) NodeID() string {
	if w, ok := s.Store.(store.ConfigWatcher); ok {
		return w.NodeID()
	}
	return ""
}

func (s *timedStore) WatchConfig(ctx context.Context, changed func(store.ConfigChange), status func(error)) error {
	if w, ok := s.Store.(store.ConfigWatcher); ok {
		return w.WatchConfig(ctx, changed, status)
	}
	return nil
}

func (s *timedStore) ConfigVersion(ctx context.Context) (int64, error) {
	return timed(s.m, "config_version", func() (int64, error) { return s.Store.ConfigVersion(ctx) })
}

func (s *timedStore) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return timed(s.m, "get_client", func() (*store.Client, error) { return s.Store.GetClient(ctx, id) })
}

func (s *timedStore) FindClientGrant(ctx context.Context, clientID, audience string) (*store.ClientGrant, error) {
	return timed(s.m, "find_client_grant", func() (*store.ClientGrant, error) { return s.Store.FindClientGrant(ctx, clientID, audience) })
}

func (s *timedStore) ResourceServerByIdentifier(ctx context.Context, identifier string) (*store.ResourceServer, error) {
	return timed(s.m, "resource_server_by_identifier", func() (*store.ResourceServer, error) {
		return s.Store.ResourceServerByIdentifier(ctx, identifier)
	})
}

func (s *timedStore) ConnectionByName(ctx context.Context, name string) (*store.Connection, error) {
	return timed(s.m, "connection_by_name", func() (*store.Connection, error) { return s.Store.ConnectionByName(ctx, name) })
}

func (s *timedStore) GetTenantSettings(ctx context.Context) (*store.TenantSettings, error) {
	return timed(s.m, "get_tenant_settings", func() (*store.TenantSettings, error) { return s.Store.GetTenantSettings(ctx) })
}

func (s *timedStore) CreateUser(ctx context.Context, u *store.User) error {
	return timedErr(s.m, "create_user", func() error { return s.Store.CreateUser(ctx, u) })
}

func (s *timedStore) GetUser(ctx context.Context, userID string) (*store.User, error) {
	return timed(s.m, "get_user", func() (*store.User, error) { return s.Store.GetUser(ctx, userID) })
}

func (s *timedStore) UserByIdentifier(ctx context.Context, connectionID, identifier string) (*store.User, error) {
	return timed(s.m, "user_by_identifier", func() (*store.User, error) {
		return s.Store.UserByIdentifier(ctx, connectionID, identifier)
	})
}

func (s *timedStore) UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (*store.User, error) {
	return timed(s.m, "update_user", func() (*store.User, error) { return s.Store.UpdateUser(ctx, userID, fn) })
}

func (s *timedStore) RecordLogin(ctx context.Context, l store.Login) error {
	return timedErr(s.m, "record_login", func() error { return s.Store.RecordLogin(ctx, l) })
}

func (s *timedStore) CreateRefreshFamily(ctx context.Context, f *store.RefreshFamily) error {
	return timedErr(s.m, "create_refresh_family", func() error { return s.Store.CreateRefreshFamily(ctx, f) })
}

func (s *timedStore) GetRefreshFamily(ctx context.Context, id string) (*store.RefreshFamily, error) {
	return timed(s.m, "get_refresh_family", func() (*store.RefreshFamily, error) { return s.Store.GetRefreshFamily(ctx, id) })
}

func (s *timedStore) GetRefreshFamilyWithUser(ctx context.Context, id string) (*store.RefreshFamily, *store.User, error) {
	var u *store.User
	f, err := timed(s.m, "get_refresh_family_with_user", func() (f *store.RefreshFamily, err error) {
		f, u, err = s.Store.GetRefreshFamilyWithUser(ctx, id)
		return f, err
	})
	return f, u, err
}

func (s *timedStore) ReplaceRefreshFamily(ctx context.Context, f *store.RefreshFamily) error {
	return timedErr(s.m, "replace_refresh_family", func() error { return s.Store.ReplaceRefreshFamily(ctx, f) })
}

func (s *timedStore) UseNonce(ctx context.Context, key string, expiresAt time.Time) error {
	return timedErr(s.m, "use_nonce", func() error { return s.Store.UseNonce(ctx, key, expiresAt) })
}

func (s *timedStore) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	return timed(s.m, "list_signing_keys", func() ([]*store.SigningKey, error) { return s.Store.ListSigningKeys(ctx) })
}

func (s *timedStore) ListRules(ctx context.Context) ([]*store.Rule, error) {
	return timed(s.m, "list_rules", func() ([]*store.Rule, error) { return s.Store.ListRules(ctx) })
}
