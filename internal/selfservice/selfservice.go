// Package selfservice serves what users do on their own through the
// Authentication API: sign up in a database connection
// (/dbconnections/signup), ask for a password-reset link
// (/dbconnections/change_password) and set the new password on a small
// server-rendered page reached through a single-use ticket, verify their
// email address, and log in without a password (/passwordless/start, with
// the passwordless grant in oauth/grants). The rules (policy, defaults,
// user creation) are tenant.Service's; this package is HTTP, tickets,
// codes and messages.
package selfservice

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// Protection is attack protection's part in self-service. Each method has
// one call site here; a nil Protection does nothing.
type Protection interface {
	// CheckSignup runs before a signup is judged: the signup throttle per
	// IP and the breached-password check. An error refuses the signup and
	// is shown as it is (an *oauth.Error for Auth0's shapes).
	CheckSignup(ctx context.Context, ip string, conn *store.Connection, email, password string) error
	// PasswordReset runs after a user set a new password through a ticket:
	// it ends the brute-force blocks on that user.
	PasswordReset(ctx context.Context, user *store.User)
}

// Handler serves the self-service endpoints and pages.
type Handler struct {
	Tenant  *tenant.Service
	Store   store.Store
	Clients *oauth.ClientAuthenticator
	Mailer  notify.Mailer
	SMS     notify.SMS
	// Issuer is the tenant's public base URL with its trailing slash; links
	// in messages start with it.
	Issuer string
	// Key keys the hashes of passwordless codes and the CSRF tokens of
	// the reset page; nodes sharing a database share it.
	Key        []byte
	Now        func() time.Time
	Logger     *slog.Logger
	Events     events.Emitter
	Protection Protection
	// MFA confirms the enrolment page's first code.
	MFA Enroller
}

// Mux is where routes are registered: an *http.ServeMux, or the server's
// route table that also lists them.
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Routes registers the endpoints on mux.
func (h *Handler) Routes(mux Mux) {
	mux.HandleFunc("POST /dbconnections/signup", h.signup)
	mux.HandleFunc("POST /dbconnections/change_password", h.changePassword)
	mux.HandleFunc("GET /"+tenant.ResetPath, h.resetPage)
	mux.HandleFunc("POST /"+tenant.ResetPath, h.resetSubmit)
	mux.HandleFunc("GET /"+tenant.VerifyPath, h.verifyEmail)
	mux.HandleFunc("GET /"+tenant.GuardianEnrollPath, h.enrollPage)
	mux.HandleFunc("POST /"+tenant.GuardianEnrollPath, h.enrollSubmit)
	mux.HandleFunc("POST /passwordless/start", h.passwordlessStart)
}

// dbError is the error shape of the /dbconnections endpoints:
// {name, code, description, statusCode} (and, for a password, message
// and policy).
type dbError struct {
	Name        string `json:"name"`
	Message     string `json:"message,omitempty"`
	Code        string `json:"code"`
	Description any    `json:"description"`
	Policy      string `json:"policy,omitempty"`
	StatusCode  int    `json:"statusCode"`
}

// writeDBError renders err in the /dbconnections shape and logs why.
func (h *Handler) writeDBError(w http.ResponseWriter, r *http.Request, err error) {
	body := dbErrorBody(err)
	level := slog.LevelInfo
	if body.StatusCode >= 500 {
		level = slog.LevelError
	}
	h.Logger.LogAttrs(r.Context(), level, "self-service request refused", slog.String("path", r.URL.Path),
		slog.String("error", body.Code), slog.Int("status", body.StatusCode), slog.Any("cause", err))
	if oe := (*oauth.Error)(nil); errors.As(err, &oe) && oe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(oe.RetryAfter))
	}
	writeJSON(w, body.StatusCode, body)
}

func dbErrorBody(err error) dbError {
	var pe *tenant.PasswordError
	var te *tenant.Error
	var oe *oauth.Error
	switch {
	case errors.As(err, &pe):
		name, msg, _ := cutName(pe.Kind.Error())
		body := dbError{Name: name, Message: msg, Code: "invalid_password", Description: msg, StatusCode: http.StatusBadRequest}
		if name == "PasswordStrengthError" {
			body.Description, body.Policy = pe.Report, pe.Report.Policy
		}
		return body
	case errors.As(err, &te):
		status := http.StatusBadRequest
		switch te.Kind {
		case tenant.Forbidden:
			status = http.StatusForbidden
		case tenant.NotFound:
			status = http.StatusNotFound
		case tenant.Conflict:
			status = http.StatusConflict
		case tenant.Unavailable:
			status = http.StatusServiceUnavailable
		}
		if te == tenant.ErrSignupDisabled {
			status = http.StatusBadRequest // Auth0 answers 400
		}
		name := "BadRequestError"
		switch status {
		case http.StatusForbidden:
			name = "ForbiddenError"
		case http.StatusServiceUnavailable:
			name = "ServiceUnavailableError"
		}
		return dbError{Name: name, Code: te.Code, Description: te.Message, StatusCode: status}
	case errors.As(err, &oe):
		name := "BadRequestError"
		switch {
		case oe.Status == http.StatusTooManyRequests:
			name = "TooManyRequestsError"
		case oe.Status >= 500:
			name = "InternalServerError"
		}
		return dbError{Name: name, Code: oe.Code, Description: oe.Description, StatusCode: oe.Status}
	}
	return dbError{Name: "InternalServerError", Code: "server_error", Description: "Internal error", StatusCode: http.StatusInternalServerError}
}

// cutName splits "PasswordStrengthError: Password is too weak".
func cutName(s string) (name, msg string, ok bool) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == ':' && s[i+1] == ' ' {
			return s[:i], s[i+2:], true
		}
	}
	return "BadRequestError", s, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"Internal error"}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
func (h *Handler) now() time.Time { return h.Now().UTC() }

// tenantName is how messages name the tenant: its friendly name, else the
// issuer's host.
func (h *Handler) tenantName(ts *store.TenantSettings) string {
	if ts != nil && ts.FriendlyName != "" {
		return ts.FriendlyName
	}
	u, err := url.Parse(h.Issuer)
	if err != nil {
		return h.Issuer
	}
	return u.Hostname()
}

// emit sends e with the request's context facts filled in.
func (h *Handler) emit(ctx context.Context, e events.Event) {
	if h.Events == nil {
		return
	}
	if e.Date.IsZero() {
		e.Date = h.now()
	}
	if e.IP == "" {
		e.IP = oauth.ClientIP(ctx)
	}
	h.Events.Emit(ctx, e)
}
