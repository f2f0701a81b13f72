package cache

import (
	"context"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Actions: BoundActions from memory (every login reads it); the rest
// passes through, writes flushing. A deployment or a change of bindings
// on another node advances the configuration version, so this node drops
// what it held within one poll.

func (c *Store) BoundActions(ctx context.Context, triggerID string) ([]*store.BoundAction, error) {
	v, err := cached(c, func() map[string]result[[]*store.BoundAction] { return c.bound }, triggerID,
		func() (*[]*store.BoundAction, error) {
			list, err := c.inner.BoundActions(ctx, triggerID)
			return &list, err
		}, cloneList(cloneBound))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func cloneBound(b *store.BoundAction) *store.BoundAction {
	cp := *b
	cp.Version.SupportedTriggers = slices.Clone(b.Version.SupportedTriggers)
	cp.Version.Dependencies = slices.Clone(b.Version.Dependencies)
	cp.Version.Secrets = slices.Clone(b.Version.Secrets)
	return &cp
}

func (c *Store) CreateAction(ctx context.Context, a *store.Action) error {
	return c.flushed(ctx, c.inner.CreateAction(ctx, a))
}

func (c *Store) GetAction(ctx context.Context, id string) (*store.Action, error) {
	return c.inner.GetAction(ctx, id)
}

func (c *Store) ListActions(ctx context.Context) ([]*store.Action, error) {
	return c.inner.ListActions(ctx)
}

func (c *Store) UpdateAction(ctx context.Context, id string, fn func(*store.Action) error) (*store.Action, error) {
	v, err := c.inner.UpdateAction(ctx, id, fn)
	return written(ctx, c, v, err)
}

func (c *Store) DeleteAction(ctx context.Context, id string) error {
	return c.flushed(ctx, c.inner.DeleteAction(ctx, id))
}

func (c *Store) DeployActionVersion(ctx context.Context, v *store.ActionVersion, draft bool) error {
	return c.flushed(ctx, c.inner.DeployActionVersion(ctx, v, draft))
}

func (c *Store) GetActionVersion(ctx context.Context, actionID, versionID string) (*store.ActionVersion, error) {
	return c.inner.GetActionVersion(ctx, actionID, versionID)
}

func (c *Store) ListActionVersions(ctx context.Context, actionID string) ([]*store.ActionVersion, error) {
	return c.inner.ListActionVersions(ctx, actionID)
}

func (c *Store) ListActionBindings(ctx context.Context, triggerID string) ([]*store.ActionBinding, error) {
	return c.inner.ListActionBindings(ctx, triggerID)
}

func (c *Store) SetActionBindings(ctx context.Context, triggerID string, bindings []*store.ActionBinding) error {
	return c.flushed(ctx, c.inner.SetActionBindings(ctx, triggerID, bindings))
}
