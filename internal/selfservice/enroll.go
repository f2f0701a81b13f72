package selfservice

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// Enroller confirms the first code of an authenticator set up on the
// enrolment page (grants.MFA): under the MFA failed-code bucket, once per
// code, and returning a new recovery code when the user gets one.
type Enroller interface {
	ConfirmTOTP(ctx context.Context, userID, authenticatorID, code string) (recoveryCode string, err error)
}

const enrollCSRFCookie = "gh_enroll_csrf"

// eventEnrollmentComplete is Auth0's log event of a confirmed enrolment.
const eventEnrollmentComplete = "gd_enrollment_complete"

// errAlreadyEnrolled: the ticket does not allow a second authenticator.
var errAlreadyEnrolled = errors.New("selfservice: the user is already enrolled")

// enrollment is what the enrolment page shows of the ticket's authenticator.
type enrollment struct {
	Secret string
	URI    string
	QR     template.HTML // an inline SVG: the page loads nothing
}

// enrollPage is GET /lo/guardian_enroll?ticket=...: the ticket's
// authenticator app secret (as a QR code, the otpauth URI and the key to
// type) and the form for its first code.
func (h *Handler) enrollPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	secret := r.URL.Query().Get("ticket")
	t, err := h.Tenant.OpenTicket(ctx, store.TicketGuardianEnrollment, secret)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	a, err := h.ticketAuthenticator(ctx, t)
	if err != nil {
		h.enrollError(w, r, err)
		return
	}
	token := h.setCSRFCookie(w, t, enrollCSRFCookie, tenant.GuardianEnrollPath)
	p, err := h.enrollForm(ctx, t, a, secret, token)
	if err != nil {
		h.enrollError(w, r, err)
		return
	}
	h.render(w, http.StatusOK, p)
}

// enrollSubmit is POST /lo/guardian_enroll: the first code, the ticket
// and the CSRF token. A good code activates the authenticator and uses
// the ticket up; a wrong one shows the form again.
func (h *Handler) enrollSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, secret, token, ok := h.postedTicket(w, r, store.TicketGuardianEnrollment, enrollCSRFCookie)
	if !ok {
		return
	}
	a, err := h.ticketAuthenticator(ctx, t)
	if err != nil {
		h.enrollError(w, r, err)
		return
	}
	recovery, err := h.MFA.ConfirmTOTP(ctx, t.UserID, a.ID, strings.ReplaceAll(r.PostForm.Get("code"), " ", ""))
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.Status < 500 {
		again, perr := h.enrollForm(ctx, t, a, secret, token)
		if perr != nil {
			h.enrollError(w, r, perr)
			return
		}
		again.Message = "That code was not accepted. Enter the code your app shows now."
		status := http.StatusBadRequest
		if oe.Status == http.StatusTooManyRequests {
			again.Message, status = "Too many wrong codes. Wait a few minutes, then try again.", http.StatusTooManyRequests
		}
		h.render(w, status, again)
		return
	}
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	if err := h.Store.DeleteTicket(ctx, t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		// The authenticator is active; the ticket expires on its own.
		h.Logger.WarnContext(ctx, "consume enrolment ticket", slog.Any("err", err))
	}
	h.emit(ctx, events.Event{Type: eventEnrollmentComplete, UserID: t.UserID, UserAgent: r.UserAgent(),
		Description: "authenticator app enrolled through an enrolment ticket", Details: map[string]any{"authenticator_type": "otp"}})
	h.render(w, http.StatusOK, page{Title: "Your authenticator app is set up",
		Message: "From now on, signing in asks for a code from the app.", RecoveryCode: recovery})
}

// enrollForm is the enrolment page for authenticator a.
func (h *Handler) enrollForm(ctx context.Context, t *store.Ticket, a *store.Authenticator, secret, token string) (page, error) {
	u, err := h.Store.GetUser(ctx, t.UserID)
	if err != nil {
		return page{}, err
	}
	uri := mfa.TOTPURI(h.issuerHost(), accountName(u), a.Secret)
	svg, err := qrSVG(uri)
	if err != nil {
		return page{}, err
	}
	return page{Title: "Set up your authenticator app", Ticket: secret, CSRF: token,
		Enroll: &enrollment{Secret: a.Secret, URI: uri, QR: svg}}, nil
}

// ticketAuthenticator returns the pending TOTP authenticator of ticket t,
// creating it the first time the page opens. Its id is derived from the
// ticket, so reloading the page shows the same secret, and another ticket
// of the same user sets up another authenticator.
func (h *Handler) ticketAuthenticator(ctx context.Context, t *store.Ticket) (*store.Authenticator, error) {
	m := hmac.New(sha256.New, h.Key)
	m.Write([]byte("gatehouse enrolment ticket v1|" + t.ID))
	id := "totp|dev_" + hex.EncodeToString(m.Sum(nil))[:16]
	auths, err := h.Store.ListAuthenticators(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("list authenticators: %w", err)
	}
	for _, a := range auths {
		if a.ID == id {
			return a, nil
		}
		if !t.AllowMultipleEnrollments && a.Active && a.Kind != "recovery-code" {
			return nil, errAlreadyEnrolled
		}
	}
	u, err := h.Store.GetUser(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	secret, _, err := mfa.NewTOTP(h.issuerHost(), accountName(u))
	if err != nil {
		return nil, err
	}
	a := &store.Authenticator{ID: id, UserID: t.UserID, Kind: "totp", Secret: secret, CreatedAt: h.now()}
	if err := h.Store.CreateAuthenticator(ctx, a); errors.Is(err, store.ErrConflict) {
		// Another request of the same ticket made it first.
		return h.Store.GetAuthenticator(ctx, id)
	} else if err != nil {
		return nil, fmt.Errorf("create authenticator: %w", err)
	}
	return a, nil
}

// enrollError shows why the enrolment page cannot go on.
func (h *Handler) enrollError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errAlreadyEnrolled) {
		h.render(w, http.StatusConflict, page{Title: "Already set up",
			Message: "Your account already has a second factor. Ask your administrator to reset it first."})
		return
	}
	h.pageError(w, r, err)
}

// SendEnrollment mails an enrolment link to to, after the Management API
// answered, within a bounded time; a failure is logged.
func (h *Handler) SendEnrollment(ctx context.Context, to, link string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		if err := h.sendEmail(ctx, notify.TemplateEnrollmentEmail, notify.Data{Email: to, URL: link,
			TTL: int(tenant.DefaultTicketTTL / time.Minute)}, nil); err != nil {
			h.Logger.ErrorContext(ctx, "enrolment email not sent", slog.Any("err", err))
		}
	}()
}

// issuerHost names the tenant in authenticator apps: the issuer's host,
// as the MFA API's enrolments do.
func (h *Handler) issuerHost() string {
	u, err := url.Parse(h.Issuer)
	if err != nil {
		return h.Issuer
	}
	return u.Hostname()
}

// accountName labels the user in authenticator apps.
func accountName(u *store.User) string {
	if u.Email != "" {
		return u.Email
	}
	if u.Username != "" {
		return u.Username
	}
	return u.UserID
}

// qrSVG draws text as a QR code in an inline SVG: one path of unit
// squares on a white ground, with a four-module quiet zone.
func qrSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	const quiet = 4
	n := code.Bounds().Dx()
	var d strings.Builder
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(x, y).RGBA(); r < 0x8000 {
				fmt.Fprintf(&d, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	size := n + 2*quiet
	// Only numbers and path commands go in: nothing to escape.
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="QR code"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		size, size, size*6, size*6, size, size, d.String())), nil
}
