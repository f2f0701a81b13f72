package cache

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

// SelfService: tickets, codes and rate buckets change per request and are
// shared by every node, so they go straight through.

func (c *Store) CreateTicket(ctx context.Context, t *store.Ticket) error {
	return c.inner.CreateTicket(ctx, t)
}

func (c *Store) GetTicket(ctx context.Context, id string) (*store.Ticket, error) {
	return c.inner.GetTicket(ctx, id)
}

func (c *Store) DeleteTicket(ctx context.Context, id string) error {
	return c.inner.DeleteTicket(ctx, id)
}

func (c *Store) UpdatePasswordlessCode(ctx context.Context, id string, fn func(*store.PasswordlessCode) error) (*store.PasswordlessCode, error) {
	return c.inner.UpdatePasswordlessCode(ctx, id, fn)
}

func (c *Store) DeletePasswordlessCode(ctx context.Context, id string) error {
	return c.inner.DeletePasswordlessCode(ctx, id)
}

func (c *Store) UpdateRateBucket(ctx context.Context, key string, fn func(*store.RateBucket) error) (*store.RateBucket, error) {
	return c.inner.UpdateRateBucket(ctx, key, fn)
}
