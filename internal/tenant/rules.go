package tenant

import (
	"context"
	"regexp"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RuleInput is the body of POST and PATCH /rules.
type RuleInput struct {
	Name    Opt[string] `json:"name"`
	Script  Opt[string] `json:"script"`
	Order   Opt[int]    `json:"order"`
	Enabled Opt[bool]   `json:"enabled"`
	Stage   Opt[string] `json:"stage"`
}

// RulesConfigInput is the body of PUT /rules-configs/{key}.
type RulesConfigInput struct {
	Value Opt[string] `json:"value"`
}

var (
	errNoRule        = &Error{Kind: NotFound, Code: "inexistent_rule", Message: "The rule does not exist"}
	errNoRulesConfig = &Error{Kind: NotFound, Code: "inexistent_rules_config", Message: "The rules config does not exist"}
	ruleNamePattern  = regexp.MustCompile(`^[a-zA-Z0-9]([ \-a-zA-Z0-9]*[a-zA-Z0-9])?$`)
	configKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_\-@*+:]*$`)
)

// Rule stages; only login_success runs (the others are Auth0's legacy).
var ruleStages = []string{"login_success", "login_failure", "pre_authorize"}

const maxRuleScript = 100 << 10

// ListRules returns the rules in execution order.
func (s *Service) ListRules(ctx context.Context) ([]*store.Rule, error) {
	return s.Store.ListRules(ctx)
}

// GetRule returns a rule.
func (s *Service) GetRule(ctx context.Context, id string) (*store.Rule, error) {
	r, err := s.Store.GetRule(ctx, id)
	return r, notFound(err, errNoRule)
}

// CreateRule adds a rule: name and script are required; it is enabled,
// runs at login_success and, without an order, runs after every other.
func (s *Service) CreateRule(ctx context.Context, in *RuleInput) (_ *store.Rule, err error) {
	defer s.audit(ctx, "Create a rule", &err)
	for _, req := range []struct {
		set  bool
		name string
	}{{in.Name.Set, "name"}, {in.Script.Set, "script"}} {
		if !req.set {
			return nil, invalidBody("Missing required property: %s", req.name)
		}
	}
	r := &store.Rule{ID: ids.Prefixed("rul", 16), Enabled: true, Stage: "login_success"}
	if !in.Order.Set {
		rules, err := s.Store.ListRules(ctx)
		if err != nil {
			return nil, err
		}
		r.Order = 1
		for _, other := range rules {
			r.Order = max(r.Order, other.Order+1)
		}
	}
	if err := applyRule(r, in); err != nil {
		return nil, err
	}
	if err := s.Store.CreateRule(ctx, r); err != nil {
		return nil, conflict(err, "conflict", "A rule with the same name already exists")
	}
	return r, nil
}

// UpdateRule changes the properties present in in.
func (s *Service) UpdateRule(ctx context.Context, id string, in *RuleInput) (_ *store.Rule, err error) {
	defer s.audit(ctx, "Update a rule", &err)
	r, err := s.Store.UpdateRule(ctx, id, func(r *store.Rule) error { return applyRule(r, in) })
	if err != nil {
		return nil, conflict(notFound(err, errNoRule), "conflict", "A rule with the same name already exists")
	}
	return r, nil
}

// DeleteRule deletes a rule.
func (s *Service) DeleteRule(ctx context.Context, id string) (err error) {
	defer s.audit(ctx, "Delete a rule", &err)
	return notFound(s.Store.DeleteRule(ctx, id), errNoRule)
}

func applyRule(r *store.Rule, in *RuleInput) error {
	if in.Name.Set {
		if !ruleNamePattern.MatchString(in.Name.V) {
			return invalidProp("name", "String does not match pattern: %s", ruleNamePattern.String())
		}
		r.Name = in.Name.V
	}
	if in.Script.Set {
		if in.Script.V == "" {
			return invalidProp("script", "String is too short (0 chars), minimum 1")
		}
		if len(in.Script.V) > maxRuleScript {
			return invalidProp("script", "String is too long (%d chars), maximum %d", len(in.Script.V), maxRuleScript)
		}
		r.Script = in.Script.V
	}
	if in.Order.Set {
		if in.Order.V < 0 {
			return invalidProp("order", "Value %d is less than minimum 0", in.Order.V)
		}
		r.Order = in.Order.V
	}
	setIf(&r.Enabled, in.Enabled)
	if in.Stage.Set {
		ok := false
		for _, st := range ruleStages {
			ok = ok || st == in.Stage.V
		}
		if !ok {
			return invalidProp("stage", "No enum match for: %s", in.Stage.V)
		}
		r.Stage = in.Stage.V
	}
	return nil
}

// RulesConfigKeys lists the keys of the rules configs; values are never
// shown.
func (s *Service) RulesConfigKeys(ctx context.Context) ([]string, error) {
	list, err := s.Store.ListRulesConfigs(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(list))
	for i, c := range list {
		keys[i] = c.Key
	}
	return keys, nil
}

// SetRulesConfig creates or replaces a rules config value.
func (s *Service) SetRulesConfig(ctx context.Context, key string, in *RulesConfigInput) (err error) {
	defer s.audit(ctx, "Set a rules config", &err)
	if key == "" || len(key) > 127 || !configKeyPattern.MatchString(key) {
		return &Error{Kind: Invalid, Code: "invalid_uri", Property: "key", Message: "Path validation error: 'String does not match pattern: " + configKeyPattern.String() + "' on property key (Key for a rules config variable.)"}
	}
	if !in.Value.Set {
		return invalidBody("Missing required property: value")
	}
	return s.Store.SetRulesConfig(ctx, key, in.Value.V)
}

// DeleteRulesConfig deletes a rules config.
func (s *Service) DeleteRulesConfig(ctx context.Context, key string) (err error) {
	defer s.audit(ctx, "Delete a rules config", &err)
	return notFound(s.Store.DeleteRulesConfig(ctx, key), errNoRulesConfig)
}
