package store

import (
	"context"
	"time"
)

// Action is one of the tenant's Actions (Auth0's /api/v2/actions/actions):
// a JavaScript module with a draft (Code, Secrets, ...) and, once deployed,
// a deployed version that is what runs.
type Action struct {
	ID                string             `json:"id"`
	Name              string             `json:"name"`
	Code              string             `json:"code"`
	Runtime           string             `json:"runtime"`
	SupportedTriggers []ActionTrigger    `json:"supported_triggers"`
	Dependencies      []ActionDependency `json:"dependencies"`
	// Secrets are the draft's secrets; their values are sealed at rest.
	Secrets   []ActionSecret `json:"-"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	// DeployedVersion is the id of the version that runs; empty until the
	// first deployment.
	DeployedVersion string `json:"deployed_version,omitempty"`
	// Deployed says the draft is what the deployed version holds
	// (Auth0's all_changes_deployed).
	Deployed bool `json:"deployed"`
}

// ActionTrigger names a trigger an Action supports, with its version.
type ActionTrigger struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// ActionDependency is an npm module the Action declares.
type ActionDependency struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	RegistryURL string `json:"registry_url,omitempty"`
}

// ActionSecret is one of event.secrets. Value is a secret: sealed at rest,
// never shown by the Management API.
type ActionSecret struct {
	Name      string    `json:"name"`
	Value     string    `json:"-"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ActionVersion is an immutable deployed copy of an Action's draft.
type ActionVersion struct {
	ID                string             `json:"id"`
	ActionID          string             `json:"action_id"`
	Number            int                `json:"number"`
	Code              string             `json:"code"`
	Runtime           string             `json:"runtime"`
	SupportedTriggers []ActionTrigger    `json:"supported_triggers"`
	Dependencies      []ActionDependency `json:"dependencies"`
	Secrets           []ActionSecret     `json:"-"`
	CreatedAt         time.Time          `json:"created_at"`
}

// ActionBinding places an Action in a trigger's flow.
type ActionBinding struct {
	ID          string    `json:"id"`
	TriggerID   string    `json:"trigger_id"`
	ActionID    string    `json:"action_id"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// BoundAction is what a trigger runs: a binding's Action at its deployed
// version.
type BoundAction struct {
	Binding ActionBinding
	Name    string
	Version ActionVersion
}

// Actions stores Actions, their versions and the triggers' bindings. Every
// write advances the configuration version.
type Actions interface {
	// CreateAction fails with ErrConflict for a duplicate id or name.
	CreateAction(ctx context.Context, a *Action) error
	GetAction(ctx context.Context, id string) (*Action, error)
	// ListActions returns every Action in creation order.
	ListActions(ctx context.Context) ([]*Action, error)
	// UpdateAction loads, changes with fn and saves an Action in one
	// transaction; ErrConflict when the new name is taken.
	UpdateAction(ctx context.Context, id string, fn func(*Action) error) (*Action, error)
	// DeleteAction deletes an Action with its versions and bindings.
	DeleteAction(ctx context.Context, id string) error
	// DeployActionVersion stores v as its Action's next version (setting
	// v.Number) and makes it the deployed one, in one transaction; draft
	// says whether the Action's draft is what v holds. ErrNotFound for an
	// unknown Action.
	DeployActionVersion(ctx context.Context, v *ActionVersion, draft bool) error
	GetActionVersion(ctx context.Context, actionID, versionID string) (*ActionVersion, error)
	// ListActionVersions returns an Action's versions, newest first.
	ListActionVersions(ctx context.Context, actionID string) ([]*ActionVersion, error)
	// ListActionBindings returns a trigger's bindings in execution order.
	ListActionBindings(ctx context.Context, triggerID string) ([]*ActionBinding, error)
	// SetActionBindings replaces a trigger's bindings, in order;
	// ErrNotFound when one names an unknown Action.
	SetActionBindings(ctx context.Context, triggerID string, bindings []*ActionBinding) error
	// BoundActions returns what a trigger runs, in binding order: each
	// bound Action's deployed version (bound Actions never deployed are
	// left out). Read on every login.
	BoundActions(ctx context.Context, triggerID string) ([]*BoundAction, error)
}
