package cache

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Counters: attack protection's counters change on every login attempt
// and are shared by every node, so they go straight through.

func (c *Store) TakeCounters(ctx context.Context, now time.Time, takes ...store.CounterTake) ([]store.CounterResult, error) {
	return c.inner.TakeCounters(ctx, now, takes...)
}

func (c *Store) ReturnCounter(ctx context.Context, k store.CounterKey, units int, interval time.Duration) error {
	return c.inner.ReturnCounter(ctx, k, units, interval)
}

func (c *Store) DeleteCounter(ctx context.Context, k store.CounterKey) error {
	return c.inner.DeleteCounter(ctx, k)
}

func (c *Store) ListCounters(ctx context.Context, kind, identifier, ip string) ([]*store.Counter, error) {
	return c.inner.ListCounters(ctx, kind, identifier, ip)
}

func (c *Store) DeleteCounters(ctx context.Context, kind, identifier, ip string) (int, error) {
	return c.inner.DeleteCounters(ctx, kind, identifier, ip)
}

func (c *Store) DeleteExpiredCounters(ctx context.Context, now time.Time, limit int) (int, error) {
	return c.inner.DeleteExpiredCounters(ctx, now, limit)
}
