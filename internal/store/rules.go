package store

import "context"

// Rule is one of the tenant's rules (Auth0's /api/v2/rules): a JavaScript
// function run after a user logs in, in ascending Order.
type Rule struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Script  string `json:"script"`
	Order   int    `json:"order"`
	Enabled bool   `json:"enabled"`
	Stage   string `json:"stage"`
}

// RulesConfig is one /api/v2/rules-configs entry, exposed to rules as
// configuration[Key]. Value is a secret: sealed at rest.
type RulesConfig struct {
	Key   string
	Value string
}

// Rules stores rules and their configuration values.
type Rules interface {
	// CreateRule fails with ErrConflict for a duplicate id or name.
	CreateRule(ctx context.Context, r *Rule) error
	GetRule(ctx context.Context, id string) (*Rule, error)
	// ListRules returns every rule in ascending Order, ties by creation.
	ListRules(ctx context.Context) ([]*Rule, error)
	// UpdateRule loads, changes with fn and saves a rule in one
	// transaction; ErrConflict when the new name is taken.
	UpdateRule(ctx context.Context, id string, fn func(*Rule) error) (*Rule, error)
	DeleteRule(ctx context.Context, id string) error
	// SetRulesConfig creates or replaces the value of key.
	SetRulesConfig(ctx context.Context, key, value string) error
	// DeleteRulesConfig fails with ErrNotFound for an unknown key.
	DeleteRulesConfig(ctx context.Context, key string) error
	// ListRulesConfigs returns every entry with its value, by key.
	ListRulesConfigs(ctx context.Context) ([]*RulesConfig, error)
}
