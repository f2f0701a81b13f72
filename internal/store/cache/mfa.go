package cache

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

// MFA: users' factors, paused logins and failed-code buckets change per
// request and are shared by every node, so they go straight through.

func (c *Store) CreateAuthenticator(ctx context.Context, a *store.Authenticator) error {
	return c.inner.CreateAuthenticator(ctx, a)
}

func (c *Store) ListAuthenticators(ctx context.Context, userID string) ([]*store.Authenticator, error) {
	return c.inner.ListAuthenticators(ctx, userID)
}

func (c *Store) GetAuthenticator(ctx context.Context, id string) (*store.Authenticator, error) {
	return c.inner.GetAuthenticator(ctx, id)
}

func (c *Store) UpdateAuthenticator(ctx context.Context, id string, fn func(*store.Authenticator) error) (*store.Authenticator, error) {
	return c.inner.UpdateAuthenticator(ctx, id, fn)
}

func (c *Store) DeleteAuthenticator(ctx context.Context, id string) error {
	return c.inner.DeleteAuthenticator(ctx, id)
}

func (c *Store) DeleteAuthenticators(ctx context.Context, userID string) (int, error) {
	return c.inner.DeleteAuthenticators(ctx, userID)
}

func (c *Store) CreateMFATransaction(ctx context.Context, tx *store.MFATransaction) error {
	return c.inner.CreateMFATransaction(ctx, tx)
}

func (c *Store) GetMFATransaction(ctx context.Context, id string) (*store.MFATransaction, error) {
	return c.inner.GetMFATransaction(ctx, id)
}

func (c *Store) UpdateMFATransaction(ctx context.Context, id string, fn func(*store.MFATransaction) error) (*store.MFATransaction, error) {
	return c.inner.UpdateMFATransaction(ctx, id, fn)
}

func (c *Store) DeleteMFATransaction(ctx context.Context, id string) error {
	return c.inner.DeleteMFATransaction(ctx, id)
}

func (c *Store) UpdateMFABucket(ctx context.Context, userID string, fn func(*store.MFABucket) error) (*store.MFABucket, error) {
	return c.inner.UpdateMFABucket(ctx, userID, fn)
}
