package cache

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

// EmailTemplates are read once per email sent: they pass through.

func (c *Store) CreateEmailTemplate(ctx context.Context, t *store.EmailTemplate) error {
	return c.inner.CreateEmailTemplate(ctx, t)
}

func (c *Store) GetEmailTemplate(ctx context.Context, name string) (*store.EmailTemplate, error) {
	return c.inner.GetEmailTemplate(ctx, name)
}

func (c *Store) UpdateEmailTemplate(ctx context.Context, name string, fn func(*store.EmailTemplate) error) (*store.EmailTemplate, error) {
	return c.inner.UpdateEmailTemplate(ctx, name, fn)
}
