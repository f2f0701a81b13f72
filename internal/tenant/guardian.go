package tenant

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The MFA policies Auth0 accepts: "Never" is the empty list.
const (
	PolicyAllApplications = "all-applications"
	PolicyConfidenceScore = "confidence-score"
)

// Factors are the Guardian factor names, in Auth0's listing order.
var Factors = []string{"push-notification", "sms", "email", "duo", "otp", "webauthn-roaming", "webauthn-platform", "recovery-code"}

// Factor is one factor and whether it is on.
type Factor struct {
	Name    string
	Enabled bool
}

// MFAPolicies returns the tenant's MFA policy list.
func (s *Service) MFAPolicies(ctx context.Context) ([]string, error) {
	ts, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("get mfa policies: %w", err)
	}
	if ts.Guardian == nil || ts.Guardian.Policies == nil {
		return []string{}, nil
	}
	return slices.Clone(ts.Guardian.Policies), nil
}

// SetMFAPolicies replaces the policy list ([] or one of the policies).
func (s *Service) SetMFAPolicies(ctx context.Context, policies []string) ([]string, error) {
	if policies == nil {
		return nil, invalidBody("Expected type array but found type null")
	}
	for i, p := range policies {
		if p != PolicyAllApplications && p != PolicyConfidenceScore {
			return nil, invalidProp(fmt.Sprint(i), "No enum match for: \"%s\"", p)
		}
	}
	policies = uniq(policies)
	if len(policies) > 1 {
		return nil, invalidBody("Array is too long (%d), maximum 1", len(policies))
	}
	_, err := s.Store.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error {
		g := guardianOf(ts)
		g.Policies = policies
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set mfa policies: %w", err)
	}
	return policies, nil
}

// MFAFactors lists every factor with whether it is enabled.
func (s *Service) MFAFactors(ctx context.Context) ([]Factor, error) {
	ts, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("get mfa factors: %w", err)
	}
	out := make([]Factor, len(Factors))
	for i, name := range Factors {
		out[i] = Factor{Name: name, Enabled: ts.Guardian != nil && ts.Guardian.Factors[name]}
	}
	return out, nil
}

// errNoFactor answers an unknown factor name.
var errNoFactor = &Error{Kind: NotFound, Code: "inexistent_factor", Message: "Factor not found"}

// SetMFAFactor switches one factor on or off.
func (s *Service) SetMFAFactor(ctx context.Context, name string, enabled bool) error {
	if !slices.Contains(Factors, name) {
		return errNoFactor
	}
	_, err := s.Store.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error {
		g := guardianOf(ts)
		if g.Factors == nil {
			g.Factors = map[string]bool{}
		}
		g.Factors[name] = enabled
		return nil
	})
	if err != nil {
		return fmt.Errorf("set mfa factor %s: %w", name, err)
	}
	return nil
}

// PhoneMessageTypes returns the phone factor's channels (sms by default).
func (s *Service) PhoneMessageTypes(ctx context.Context) ([]string, error) {
	ts, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("get phone message types: %w", err)
	}
	if ts.Guardian == nil || len(ts.Guardian.MessageTypes) == 0 {
		return []string{"sms"}, nil
	}
	return slices.Clone(ts.Guardian.MessageTypes), nil
}

// SetPhoneMessageTypes sets the phone factor's channels: sms, voice or both.
func (s *Service) SetPhoneMessageTypes(ctx context.Context, types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, invalidProp("message_types", "Array is too short (0), minimum 1")
	}
	for _, t := range types {
		if t != "sms" && t != "voice" {
			return nil, invalidProp("message_types", "No enum match for: \"%s\"", t)
		}
	}
	types = uniq(types)
	_, err := s.Store.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error {
		guardianOf(ts).MessageTypes = types
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set phone message types: %w", err)
	}
	return types, nil
}

func guardianOf(ts *store.TenantSettings) *store.Guardian {
	if ts.Guardian == nil {
		ts.Guardian = &store.Guardian{}
	}
	return ts.Guardian
}
