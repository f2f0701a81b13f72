package selfservice

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// SendVerification mails user a link that marks their email verified (the
// verify_email template; an enabled one of the tenant's also sets the
// link's lifetime and where the page sends the user). The ticket is made
// before it returns, so a user without an email or a stale id is an
// error; the message goes out afterwards.
func (h *Handler) SendVerification(ctx context.Context, user *store.User, clientID string) error {
	override, t := tenant.EmailOverride(ctx, h.Store, notify.TemplateVerifyEmail)
	return h.sendVerification(ctx, user, clientID, override, t)
}

// sendVerification is SendVerification with the tenant's verify_email
// template already read (t nil when it has none enabled).
func (h *Handler) sendVerification(ctx context.Context, user *store.User, clientID string, override notify.Template, t *store.EmailTemplate) error {
	in := &tenant.TicketInput{UserID: user.UserID, ClientID: clientID}
	ttl := tenant.DefaultTicketTTL
	if t != nil {
		in.ResultURL, in.IncludeEmailInRedirect, in.TTLSec = t.ResultURL, t.IncludeEmailInRedirect, t.URLLifetimeInSeconds
		if t.URLLifetimeInSeconds > 0 {
			ttl = time.Duration(t.URLLifetimeInSeconds) * time.Second
		}
	}
	link, u, err := h.Tenant.CreateTicket(ctx, store.TicketEmailVerification, in)
	if err != nil {
		return err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		if err := h.sendEmail(ctx, notify.TemplateVerifyEmail, notify.Data{Email: u.Email, URL: link,
			TTL: int((ttl + time.Minute - 1) / time.Minute)}, &override); err != nil {
			h.Logger.ErrorContext(ctx, "verification email not sent", slog.String("user_id", u.UserID), slog.Any("err", err))
		}
	}()
	return nil
}

// verifyAfterSignup sends a new user the verification email when the
// tenant enabled its verify_email template. gatehouse has no mail
// provider of its own, so unlike Auth0 it sends none until the operator
// turns the template on (as the Deploy CLI and Terraform do).
func (h *Handler) verifyAfterSignup(ctx context.Context, u *store.User, clientID string) {
	if u.Email == "" || u.EmailVerified {
		return
	}
	override, t := tenant.EmailOverride(ctx, h.Store, notify.TemplateVerifyEmail)
	if t == nil {
		return
	}
	if err := h.sendVerification(context.WithoutCancel(ctx), u, clientID, override, t); err != nil {
		h.Logger.ErrorContext(ctx, "verification email after signup", slog.String("user_id", u.UserID), slog.Any("err", err))
	}
}
