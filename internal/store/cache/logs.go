package cache

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Logs: the tenant's log is not configuration; every call goes through.

func (c *Store) AppendLogs(ctx context.Context, events []*store.LogEvent) error {
	return c.inner.AppendLogs(ctx, events)
}

func (c *Store) GetLog(ctx context.Context, logID string) (*store.LogEvent, error) {
	return c.inner.GetLog(ctx, logID)
}

func (c *Store) ListLogs(ctx context.Context, q store.LogQuery, p store.Page) ([]*store.LogEvent, int, error) {
	return c.inner.ListLogs(ctx, q, p)
}

func (c *Store) LogsAfter(ctx context.Context, from string, take int) ([]*store.LogEvent, error) {
	return c.inner.LogsAfter(ctx, from, take)
}

func (c *Store) DeleteLogsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return c.inner.DeleteLogsBefore(ctx, cutoff, limit)
}
