package server

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// guardianSMS sends the MFA API's text messages through the tenant's own
// Twilio account once the tenant selected it (PUT
// /api/v2/guardian/factors/{sms,phone}/selected-provider "twilio"), and
// through the server's provider (--sms-*, or the log) otherwise. The
// tenant's account is reached at --sms-url, Twilio's API unless changed.
type guardianSMS struct {
	store   store.Tenants
	server  notify.SMS
	baseURL string
}

// SendSMS implements notify.SMS. A tenant that selected Twilio without
// complete settings gets an error, not the server's provider: its
// messages must not leave through an account it did not choose.
func (g guardianSMS) SendSMS(ctx context.Context, to, text string) error {
	ts, err := g.store.GetTenantSettings(ctx)
	if err != nil {
		return fmt.Errorf("sms provider settings: %w", err)
	}
	gd := ts.Guardian
	if gd == nil || gd.Phone == nil || gd.Phone.Provider != tenant.ProviderTwilio {
		return g.server.SendSMS(ctx, to, text)
	}
	tw := gd.Phone.Twilio
	if tw == nil {
		tw = &store.TwilioSettings{}
	}
	from := tw.From
	if tw.MessagingServiceSID != "" {
		from = tw.MessagingServiceSID
	}
	return (&notify.Twilio{BaseURL: g.baseURL, AccountSID: tw.SID, AuthToken: tw.AuthToken, From: from}).SendSMS(ctx, to, text)
}
