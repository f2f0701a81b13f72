package tenant

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/scripts"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Triggers gatehouse runs Actions for, and the runtimes an Action may name
// (gatehouse runs every runtime in the same sandbox).
const (
	TriggerPostLogin      = "post-login"
	triggerVersion        = "v3"
	DefaultActionRuntime  = "node22"
	maxActionCode         = 100 << 10
	maxActionSecrets      = 50
	maxActionSecretLength = 4 << 10
)

// ActionRuntimes are the runtime values accepted on an Action.
var ActionRuntimes = []string{"node12", "node16", "node18", "node18-actions", "node22"}

// ScriptChecker compiles an Action's code, reporting a syntax error.
type ScriptChecker interface {
	CheckModule(source string) error
}

// ActionInput is the body of POST and PATCH /actions/actions. go-auth0
// sends absent properties as null: null means absent here.
type ActionInput struct {
	Name              Nullable[string]                   `json:"name"`
	Code              Nullable[string]                   `json:"code"`
	Runtime           Nullable[string]                   `json:"runtime"`
	SupportedTriggers Nullable[[]ActionTriggerInput]     `json:"supported_triggers"`
	Dependencies      Nullable[[]store.ActionDependency] `json:"dependencies"`
	Secrets           Nullable[[]ActionSecretInput]      `json:"secrets"`
	// Deploy deploys the Action once saved.
	Deploy Nullable[bool] `json:"deploy"`
}

// ActionTriggerInput is one of supported_triggers.
type ActionTriggerInput struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Status  string `json:"status,omitempty"`
}

// ActionSecretInput is one of secrets; a secret named again without a
// value keeps the value it had.
type ActionSecretInput struct {
	Name      string  `json:"name"`
	Value     *string `json:"value"`
	UpdatedAt string  `json:"updated_at,omitempty"`
}

// BindingsInput is the body of PATCH /actions/triggers/{trigger}/bindings.
type BindingsInput struct {
	Bindings []BindingInput `json:"bindings"`
}

// BindingInput names one Action to bind, by id or by name.
type BindingInput struct {
	Ref struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"ref"`
	DisplayName string              `json:"display_name,omitempty"`
	Secrets     []ActionSecretInput `json:"secrets,omitempty"`
}

var (
	errNoAction        = &Error{Kind: NotFound, Code: "inexistent_action", Message: "The action does not exist."}
	errNoActionVersion = &Error{Kind: NotFound, Code: "inexistent_action_version", Message: "The action version does not exist."}
	errNoTrigger       = &Error{Kind: NotFound, Code: "inexistent_trigger", Message: "The trigger does not exist."}
)

// ListActions returns every Action in creation order.
func (s *Service) ListActions(ctx context.Context) ([]*store.Action, error) {
	return s.Store.ListActions(ctx)
}

// GetAction returns an Action.
func (s *Service) GetAction(ctx context.Context, id string) (*store.Action, error) {
	a, err := s.Store.GetAction(ctx, id)
	return a, notFound(err, errNoAction)
}

// CreateAction adds an Action (name and supported_triggers required); with
// deploy it is deployed at once, and the version is returned too.
func (s *Service) CreateAction(ctx context.Context, in *ActionInput) (_ *store.Action, err error) {
	defer s.audit(ctx, "Create an action", &err)
	if !in.Name.Set || in.Name.Null {
		return nil, invalidBody("Missing required property: name")
	}
	if !in.SupportedTriggers.Set || in.SupportedTriggers.Null {
		return nil, invalidBody("Missing required property: supported_triggers")
	}
	now := s.now()
	a := &store.Action{ID: ids.UUID(), Runtime: DefaultActionRuntime, CreatedAt: now, UpdatedAt: now}
	if err := applyAction(a, in, now); err != nil {
		return nil, err
	}
	if err := s.Store.CreateAction(ctx, a); err != nil {
		return nil, conflict(err, "conflict", "An action with the same name already exists.")
	}
	if in.Deploy.Set && in.Deploy.V {
		if _, err := s.deploy(ctx, a, nil); err != nil {
			return nil, err
		}
		return s.GetAction(ctx, a.ID)
	}
	return a, nil
}

// UpdateAction changes the draft; the deployed version is untouched until
// the next deployment (unless deploy is set).
func (s *Service) UpdateAction(ctx context.Context, id string, in *ActionInput) (_ *store.Action, err error) {
	defer s.audit(ctx, "Update an action", &err)
	now := s.now()
	a, err := s.Store.UpdateAction(ctx, id, func(a *store.Action) error {
		if err := applyAction(a, in, now); err != nil {
			return err
		}
		a.UpdatedAt, a.Deployed = now, false
		return nil
	})
	if err != nil {
		return nil, conflict(notFound(err, errNoAction), "conflict", "An action with the same name already exists.")
	}
	if in.Deploy.Set && in.Deploy.V {
		if _, err := s.deploy(ctx, a, nil); err != nil {
			return nil, err
		}
		return s.GetAction(ctx, a.ID)
	}
	return a, nil
}

// DeleteAction deletes an Action and its versions. A bound Action is kept
// unless force, which unbinds it.
func (s *Service) DeleteAction(ctx context.Context, id string, force bool) (err error) {
	defer s.audit(ctx, "Delete an action", &err)
	if _, err := s.GetAction(ctx, id); err != nil {
		return err
	}
	if !force {
		bindings, err := s.Store.ListActionBindings(ctx, TriggerPostLogin)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(bindings, func(b *store.ActionBinding) bool { return b.ActionID == id }) {
			return &Error{Kind: Invalid, Code: "action_bound", Message: "The action is bound to a trigger; remove the binding or delete with force=true."}
		}
	}
	return notFound(s.Store.DeleteAction(ctx, id), errNoAction)
}

// DeployAction makes the current draft the running version.
func (s *Service) DeployAction(ctx context.Context, id string) (_ *store.ActionVersion, err error) {
	defer s.audit(ctx, "Deploy an action", &err)
	a, err := s.GetAction(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.deploy(ctx, a, nil)
}

// DeployActionVersion rolls an Action back to an earlier version: a new
// version identical to it is created and deployed, as Auth0 does.
func (s *Service) DeployActionVersion(ctx context.Context, actionID, versionID string) (_ *store.ActionVersion, err error) {
	defer s.audit(ctx, "Deploy an action version", &err)
	a, err := s.GetAction(ctx, actionID)
	if err != nil {
		return nil, err
	}
	old, err := s.GetActionVersion(ctx, actionID, versionID)
	if err != nil {
		return nil, err
	}
	return s.deploy(ctx, a, old)
}

func (s *Service) deploy(ctx context.Context, a *store.Action, from *store.ActionVersion) (*store.ActionVersion, error) {
	v := &store.ActionVersion{
		ID: ids.UUID(), ActionID: a.ID, Code: a.Code, Runtime: a.Runtime,
		SupportedTriggers: a.SupportedTriggers, Dependencies: a.Dependencies, Secrets: a.Secrets, CreatedAt: s.now(),
	}
	draft := true
	if from != nil {
		v.Code, v.Runtime, v.Dependencies = from.Code, from.Runtime, from.Dependencies
		v.SupportedTriggers, v.Secrets = from.SupportedTriggers, from.Secrets
		draft = from.Code == a.Code && from.Runtime == a.Runtime
	}
	if s.Scripts != nil {
		if err := s.Scripts.CheckModule(v.Code); err != nil {
			return nil, invalidProp("code", "The action does not compile: %v", err)
		}
	}
	if err := s.Store.DeployActionVersion(ctx, v, draft); err != nil {
		return nil, notFound(err, errNoAction)
	}
	return v, nil
}

// GetActionVersion returns one version of an Action.
func (s *Service) GetActionVersion(ctx context.Context, actionID, versionID string) (*store.ActionVersion, error) {
	if _, err := s.GetAction(ctx, actionID); err != nil {
		return nil, err
	}
	v, err := s.Store.GetActionVersion(ctx, actionID, versionID)
	return v, notFound(err, errNoActionVersion)
}

// ListActionVersions returns an Action's versions, newest first.
func (s *Service) ListActionVersions(ctx context.Context, actionID string) ([]*store.ActionVersion, error) {
	if _, err := s.GetAction(ctx, actionID); err != nil {
		return nil, err
	}
	return s.Store.ListActionVersions(ctx, actionID)
}

// ActionTriggers lists the triggers gatehouse runs.
func (s *Service) ActionTriggers() []store.ActionTrigger {
	return []store.ActionTrigger{{ID: TriggerPostLogin, Version: triggerVersion}}
}

// ListActionBindings returns a trigger's bindings in order.
func (s *Service) ListActionBindings(ctx context.Context, trigger string) ([]*store.ActionBinding, error) {
	if trigger != TriggerPostLogin {
		return nil, errNoTrigger
	}
	return s.Store.ListActionBindings(ctx, trigger)
}

// SetActionBindings replaces a trigger's bindings. Each names a deployed
// Action that supports the trigger; an Action bound again keeps its
// binding's id.
func (s *Service) SetActionBindings(ctx context.Context, trigger string, in *BindingsInput) (_ []*store.ActionBinding, err error) {
	defer s.audit(ctx, "Update trigger bindings", &err)
	if trigger != TriggerPostLogin {
		return nil, errNoTrigger
	}
	actions, err := s.Store.ListActions(ctx)
	if err != nil {
		return nil, err
	}
	old, err := s.Store.ListActionBindings(ctx, trigger)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []*store.ActionBinding
	for i, b := range in.Bindings {
		var a *store.Action
		switch b.Ref.Type {
		case "action_id", "action_name":
			for _, x := range actions {
				if b.Ref.Type == "action_id" && x.ID == b.Ref.Value || b.Ref.Type == "action_name" && x.Name == b.Ref.Value {
					a = x
				}
			}
		default:
			return nil, invalidProp("bindings", "bindings[%d].ref.type: No enum match for: %s", i, b.Ref.Type)
		}
		if a == nil {
			return nil, &Error{Kind: NotFound, Code: "inexistent_action", Message: "The action " + b.Ref.Value + " does not exist."}
		}
		if a.DeployedVersion == "" {
			return nil, invalidBody("The action %s has not been deployed.", a.Name)
		}
		if !slices.ContainsFunc(a.SupportedTriggers, func(t store.ActionTrigger) bool { return t.ID == trigger }) {
			return nil, invalidBody("The action %s does not support the trigger %s.", a.Name, trigger)
		}
		nb := &store.ActionBinding{ID: ids.UUID(), TriggerID: trigger, ActionID: a.ID, DisplayName: b.DisplayName, CreatedAt: now, UpdatedAt: now}
		if nb.DisplayName == "" {
			nb.DisplayName = a.Name
		}
		for _, o := range old {
			if o.ActionID == a.ID && !slices.ContainsFunc(out, func(x *store.ActionBinding) bool { return x.ID == o.ID }) {
				nb.ID, nb.CreatedAt = o.ID, o.CreatedAt
				break
			}
		}
		out = append(out, nb)
	}
	if err := s.Store.SetActionBindings(ctx, trigger, out); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNoAction
		}
		return nil, err
	}
	return out, nil
}

func applyAction(a *store.Action, in *ActionInput, now time.Time) error {
	if in.Name.Set && !in.Name.Null {
		if in.Name.V == "" || len(in.Name.V) > 255 {
			return invalidProp("name", "String length must be between 1 and 255")
		}
		a.Name = in.Name.V
	}
	if in.Code.Set && !in.Code.Null {
		if len(in.Code.V) > maxActionCode {
			return invalidProp("code", "String is too long (%d chars), maximum %d", len(in.Code.V), maxActionCode)
		}
		a.Code = in.Code.V
	}
	if in.Runtime.Set && !in.Runtime.Null {
		if !slices.Contains(ActionRuntimes, in.Runtime.V) {
			return invalidProp("runtime", "No enum match for: %s", in.Runtime.V)
		}
		a.Runtime = in.Runtime.V
	}
	if in.SupportedTriggers.Set && !in.SupportedTriggers.Null {
		if len(in.SupportedTriggers.V) == 0 {
			return invalidProp("supported_triggers", "Array is too short (0), minimum 1")
		}
		var triggers []store.ActionTrigger
		for _, t := range in.SupportedTriggers.V {
			if t.ID != TriggerPostLogin {
				return invalidProp("supported_triggers", "No enum match for: %s (gatehouse runs post-login Actions only)", t.ID)
			}
			if t.Version == "" {
				t.Version = triggerVersion
			}
			triggers = append(triggers, store.ActionTrigger{ID: t.ID, Version: t.Version})
		}
		a.SupportedTriggers = triggers
	}
	if in.Dependencies.Set && !in.Dependencies.Null {
		for _, d := range in.Dependencies.V {
			if d.Name == "" {
				return invalidProp("dependencies", "Missing required property: name")
			}
		}
		a.Dependencies = slices.Clone(in.Dependencies.V)
	}
	if in.Secrets.Set && !in.Secrets.Null {
		secrets, err := mergeSecrets(a.Secrets, in.Secrets.V, now)
		if err != nil {
			return err
		}
		a.Secrets = secrets
	}
	return nil
}

// mergeSecrets replaces the secret list; a name given without a value
// keeps its old value.
func mergeSecrets(old []store.ActionSecret, in []ActionSecretInput, now time.Time) ([]store.ActionSecret, error) {
	if len(in) > maxActionSecrets {
		return nil, invalidProp("secrets", "Array is too long (%d), maximum %d", len(in), maxActionSecrets)
	}
	out := make([]store.ActionSecret, 0, len(in))
	for _, sec := range in {
		if !secretNamePattern.MatchString(sec.Name) {
			return nil, invalidProp("secrets", "String does not match pattern: %s", secretNamePattern.String())
		}
		if slices.ContainsFunc(out, func(x store.ActionSecret) bool { return x.Name == sec.Name }) {
			return nil, invalidProp("secrets", "Duplicate secret name: %s", sec.Name)
		}
		i := slices.IndexFunc(old, func(x store.ActionSecret) bool { return x.Name == sec.Name })
		switch {
		case sec.Value != nil:
			if len(*sec.Value) > maxActionSecretLength {
				return nil, invalidProp("secrets", "The value of %s is too long (maximum %d)", sec.Name, maxActionSecretLength)
			}
			out = append(out, store.ActionSecret{Name: sec.Name, Value: *sec.Value, UpdatedAt: now})
		case i >= 0:
			out = append(out, old[i])
		default:
			return nil, invalidProp("secrets", "Missing required property: value (secret %s)", sec.Name)
		}
	}
	return out, nil
}

var secretNamePattern = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,255}$`)

// ActionTester runs an Action's draft against a test event (the scripts
// sandbox implements it).
type ActionTester interface {
	TestPostLogin(ctx context.Context, in scripts.ActionTest) (scripts.ActionTestResult, error)
}

// TestAction runs the Action's current draft (deployed or not) with the
// payload's event, as POST /actions/actions/{id}/test does, and answers the
// resulting payload: the commands the Action issued, what it logged, how
// long it ran and, when it threw or passed a limit, the error. Nothing it
// asks for is applied; its outbound HTTP reaches the hosts rules and
// Actions may reach at login.
func (s *Service) TestAction(ctx context.Context, id string, payload map[string]any) (map[string]any, error) {
	a, err := s.GetAction(ctx, id)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(a.SupportedTriggers, func(t store.ActionTrigger) bool { return t.ID == TriggerPostLogin }) {
		return nil, invalidBody("gatehouse tests only post-login Actions")
	}
	tester, ok := s.Scripts.(ActionTester)
	if !ok {
		return nil, errors.New("tenant: no script sandbox to test Actions in")
	}
	event := map[string]any{}
	if v, ok := payload["event"]; ok && v != nil {
		if event, ok = v.(map[string]any); !ok {
			return nil, invalidProp("payload.event", "Expected type object")
		}
	}
	settings, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("get tenant settings: %w", err)
	}
	secrets := make(map[string]string, len(a.Secrets))
	for _, sec := range a.Secrets {
		secrets[sec.Name] = sec.Value
	}
	res, runErr := tester.TestPostLogin(ctx, scripts.ActionTest{
		Action:       scripts.Action{Script: scripts.Script{ID: a.ID, Name: a.Name, Source: a.Code}, Secrets: secrets},
		Event:        event,
		AllowedHosts: append(slices.Clip(s.ScriptAllowedHosts), ScriptAllowedHosts(settings)...),
	})
	out := map[string]any{
		"commands": res.Commands,
		"logs":     strings.Join(res.Logs, "\n"),
		"stats":    map[string]any{"total_ms": res.Duration.Milliseconds()},
	}
	if out["commands"] == nil {
		out["commands"] = []any{}
	}
	var f *scripts.Failure
	switch {
	case runErr == nil:
	case errors.As(runErr, &f) && f.Kind == scripts.KindCanceled:
		return nil, ctx.Err()
	case errors.As(runErr, &f) && f.Kind != scripts.KindInternal:
		name := f.Name
		if name == "" {
			name = f.Kind.String()
		}
		out["error"] = map[string]any{"name": name, "message": f.Message}
	default:
		return nil, fmt.Errorf("test action %s: %w", a.ID, runErr)
	}
	return out, nil
}
