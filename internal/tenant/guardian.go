package tenant

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

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

// The sms and phone factors' providers: auth0 is the server's own
// (--sms-*, or the log); twilio is the tenant's Twilio account.
const (
	ProviderAuth0  = "auth0"
	ProviderTwilio = "twilio"
)

// Auth0's default texts of the sms and phone factors' messages.
const (
	DefaultEnrollmentMessage   = "{{code}} is your verification code for {{tenant.friendly_name}}. Please enter this code to verify your enrollment."
	DefaultVerificationMessage = "{{code}} is your verification code for {{tenant.friendly_name}}"
)

// maxPhoneSetting bounds each provider setting and message template.
const maxPhoneSetting = 1000

// PhoneProvider returns the selected provider of the sms and phone factors.
func (s *Service) PhoneProvider(ctx context.Context) (string, error) {
	p, err := s.phoneDelivery(ctx)
	if err != nil || p.Provider == "" {
		return ProviderAuth0, err
	}
	return p.Provider, nil
}

// SetPhoneProvider selects auth0 (the server's provider) or twilio.
// Auth0's phone-message-hook (an Action sends the message) is refused:
// gatehouse has no send-phone-message trigger.
func (s *Service) SetPhoneProvider(ctx context.Context, provider string) (string, error) {
	switch provider {
	case ProviderAuth0, ProviderTwilio:
	case "phone-message-hook":
		return "", invalidProp("provider", "gatehouse has no send-phone-message Actions: choose auth0 or twilio")
	case "":
		return "", invalidBody("Payload validation error: 'Missing required property: provider'")
	default:
		return "", invalidProp("provider", "No enum match for: \"%s\"", truncate(provider))
	}
	err := s.updatePhone(ctx, func(p *store.PhoneDelivery) error { p.Provider = provider; return nil })
	return provider, err
}

// Twilio returns the tenant's Twilio settings (zero when none), auth
// token included: the caller shows it to no one.
func (s *Service) Twilio(ctx context.Context) (store.TwilioSettings, error) {
	p, err := s.phoneDelivery(ctx)
	if err != nil || p.Twilio == nil {
		return store.TwilioSettings{}, err
	}
	return *p.Twilio, nil
}

// TwilioInput is PUT .../providers/twilio; a nil field keeps its value,
// so the write-only auth token need not be sent again.
type TwilioInput struct {
	SID                 *string `json:"sid"`
	From                *string `json:"from"`
	MessagingServiceSID *string `json:"messaging_service_sid"`
	AuthToken           *string `json:"auth_token"`
}

// SetTwilio changes the tenant's Twilio settings.
func (s *Service) SetTwilio(ctx context.Context, in *TwilioInput) (store.TwilioSettings, error) {
	for name, v := range map[string]*string{"sid": in.SID, "from": in.From, "messaging_service_sid": in.MessagingServiceSID, "auth_token": in.AuthToken} {
		if v != nil && len(*v) > maxPhoneSetting {
			return store.TwilioSettings{}, invalidProp(name, "String is too long (%d chars), maximum %d", len(*v), maxPhoneSetting)
		}
	}
	if in.From != nil && *in.From != "" && !e164.MatchString(*in.From) {
		return store.TwilioSettings{}, invalidProp("from", "from must be a phone number in E.164 format")
	}
	var out store.TwilioSettings
	err := s.updatePhone(ctx, func(p *store.PhoneDelivery) error {
		if p.Twilio == nil {
			p.Twilio = &store.TwilioSettings{}
		}
		for _, f := range []struct{ dst, src *string }{{&p.Twilio.SID, in.SID}, {&p.Twilio.From, in.From},
			{&p.Twilio.MessagingServiceSID, in.MessagingServiceSID}, {&p.Twilio.AuthToken, in.AuthToken}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		out = *p.Twilio
		return nil
	})
	return out, err
}

// PhoneTemplates returns the enrolment and verification texts.
func (s *Service) PhoneTemplates(ctx context.Context) (enrollment, verification string, err error) {
	p, err := s.phoneDelivery(ctx)
	if err != nil {
		return "", "", err
	}
	enrollment, verification = p.EnrollmentMessage, p.VerificationMessage
	if enrollment == "" {
		enrollment = DefaultEnrollmentMessage
	}
	if verification == "" {
		verification = DefaultVerificationMessage
	}
	return enrollment, verification, nil
}

// SetPhoneTemplates sets both texts, as Auth0 requires.
func (s *Service) SetPhoneTemplates(ctx context.Context, enrollment, verification *string) error {
	for name, v := range map[string]*string{"enrollment_message": enrollment, "verification_message": verification} {
		switch {
		case v == nil:
			return invalidBody("Payload validation error: 'Missing required property: %s'", name)
		case *v == "":
			return invalidProp(name, "String is too short (0 chars), minimum 1")
		case len(*v) > maxPhoneSetting:
			return invalidProp(name, "String is too long (%d chars), maximum %d", len(*v), maxPhoneSetting)
		}
	}
	return s.updatePhone(ctx, func(p *store.PhoneDelivery) error {
		p.EnrollmentMessage, p.VerificationMessage = *enrollment, *verification
		return nil
	})
}

func (s *Service) phoneDelivery(ctx context.Context) (store.PhoneDelivery, error) {
	ts, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return store.PhoneDelivery{}, fmt.Errorf("get phone factor settings: %w", err)
	}
	if ts.Guardian == nil || ts.Guardian.Phone == nil {
		return store.PhoneDelivery{}, nil
	}
	return *ts.Guardian.Phone, nil
}

func (s *Service) updatePhone(ctx context.Context, fn func(*store.PhoneDelivery) error) error {
	_, err := s.Store.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error {
		g := guardianOf(ts)
		if g.Phone == nil {
			g.Phone = &store.PhoneDelivery{}
		}
		return fn(g.Phone)
	})
	if err != nil {
		return fmt.Errorf("set phone factor settings: %w", err)
	}
	return nil
}

// PhoneMessage fills a message template: {{code}}, {{tenant.friendly_name}}
// and {{tenant.name}}, with or without spaces inside the braces.
func PhoneMessage(template, code, tenantName string) string {
	return phonePlaceholder.ReplaceAllStringFunc(template, func(m string) string {
		switch strings.TrimSpace(m[2 : len(m)-2]) {
		case "code":
			return code
		case "tenant.friendly_name", "tenant.name":
			return tenantName
		}
		return m
	})
}

var (
	phonePlaceholder = regexp.MustCompile(`\{\{\s*[a-z_.]+\s*\}\}`)
	e164             = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100]
	}
	return s
}
