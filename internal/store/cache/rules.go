package cache

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Rules: ListRules and ListRulesConfigs from memory (every login reads
// both); the rest passes through, writes flushing.

func (c *Store) ListRules(ctx context.Context) ([]*store.Rule, error) {
	v, err := cached(c, func() map[bool]result[[]*store.Rule] { return c.rules }, true,
		func() (*[]*store.Rule, error) {
			rules, err := c.inner.ListRules(ctx)
			return &rules, err
		}, cloneList(func(r *store.Rule) *store.Rule { cp := *r; return &cp }))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Store) ListRulesConfigs(ctx context.Context) ([]*store.RulesConfig, error) {
	v, err := cached(c, func() map[bool]result[[]*store.RulesConfig] { return c.rulesConfigs }, true,
		func() (*[]*store.RulesConfig, error) {
			list, err := c.inner.ListRulesConfigs(ctx)
			return &list, err
		}, cloneList(func(r *store.RulesConfig) *store.RulesConfig { cp := *r; return &cp }))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

// cloneList copies a cached list and each of its records.
func cloneList[T any](clone func(*T) *T) func(*[]*T) *[]*T {
	return func(list *[]*T) *[]*T {
		out := make([]*T, len(*list))
		for i, v := range *list {
			out[i] = clone(v)
		}
		return &out
	}
}

func (c *Store) GetRule(ctx context.Context, id string) (*store.Rule, error) {
	return c.inner.GetRule(ctx, id)
}

func (c *Store) CreateRule(ctx context.Context, r *store.Rule) error {
	return c.flushed(ctx, c.inner.CreateRule(ctx, r))
}

func (c *Store) UpdateRule(ctx context.Context, id string, fn func(*store.Rule) error) (*store.Rule, error) {
	v, err := c.inner.UpdateRule(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteRule(ctx context.Context, id string) error {
	return c.flushed(ctx, c.inner.DeleteRule(ctx, id))
}

func (c *Store) SetRulesConfig(ctx context.Context, key, value string) error {
	return c.flushed(ctx, c.inner.SetRulesConfig(ctx, key, value))
}

func (c *Store) DeleteRulesConfig(ctx context.Context, key string) error {
	return c.flushed(ctx, c.inner.DeleteRulesConfig(ctx, key))
}
