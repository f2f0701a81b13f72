package cache

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Jobs and imported users change per request and are shared by every
// node, so they go straight through.

func (c *Store) CreateJob(ctx context.Context, j *store.Job) error { return c.inner.CreateJob(ctx, j) }

func (c *Store) GetJob(ctx context.Context, id string) (*store.Job, error) {
	return c.inner.GetJob(ctx, id)
}

func (c *Store) UpdateJob(ctx context.Context, id string, fn func(*store.Job) error) (*store.Job, error) {
	return c.inner.UpdateJob(ctx, id, fn)
}

func (c *Store) FailAbandonedJobs(ctx context.Context, before time.Time, reason string) (int, error) {
	return c.inner.FailAbandonedJobs(ctx, before, reason)
}

func (c *Store) AddJobErrors(ctx context.Context, errs []*store.JobError) error {
	return c.inner.AddJobErrors(ctx, errs)
}

func (c *Store) ListJobErrors(ctx context.Context, jobID string, limit int) ([]*store.JobError, error) {
	return c.inner.ListJobErrors(ctx, jobID, limit)
}

func (c *Store) AppendJobFile(ctx context.Context, jobID string, chunk []byte) error {
	return c.inner.AppendJobFile(ctx, jobID, chunk)
}

func (c *Store) ReadJobFile(ctx context.Context, jobID string, fn func([]byte) error) error {
	return c.inner.ReadJobFile(ctx, jobID, fn)
}

func (c *Store) ImportUsers(ctx context.Context, connectionID string, batch []*store.User, merge func(stored, incoming *store.User) (*store.User, error)) ([]store.ImportResult, error) {
	return c.inner.ImportUsers(ctx, connectionID, batch, merge)
}

func (c *Store) EachUser(ctx context.Context, connectionID string, fn func(*store.User) error) error {
	return c.inner.EachUser(ctx, connectionID, fn)
}
