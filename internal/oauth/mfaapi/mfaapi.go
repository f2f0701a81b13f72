// Package mfaapi serves Auth0's MFA API (/mfa/*): listing, enrolling and
// removing a user's authenticators and starting a challenge, for a login
// the MFA gate paused (an mfa_token) or for a user holding an access token
// for the MFA API ({issuer}mfa/). The grants that finish the login are in
// oauth/grants (mfa.go); the errors are the Authentication API's.
package mfaapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/oauth/grants"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// codeLifetime is how long an emailed or texted code is good for.
const codeLifetime = 5 * time.Minute

// Handler serves the MFA API.
type Handler struct {
	MFA     *grants.MFA
	Clients *oauth.ClientAuthenticator
	// Verify checks an access token for the MFA API.
	Verify func(bearer, audience string, now time.Time) (*tokens.Claims, error)
	Mailer notify.Mailer
	SMS    notify.SMS
	// Tenant names the tenant in otpauth URIs and messages.
	Tenant string
	Logger *slog.Logger
}

// Mux is where routes are registered: an *http.ServeMux, or the server's
// route table that also lists them.
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Routes registers the MFA API on mux.
func (h *Handler) Routes(mux Mux) {
	mux.HandleFunc("GET /mfa/authenticators", h.serve(h.list))
	mux.HandleFunc("POST /mfa/associate", h.serve(h.associate))
	mux.HandleFunc("POST /mfa/challenge", h.serve(h.challenge))
	mux.HandleFunc("DELETE /mfa/authenticators/{id}", h.serve(h.remove))
}

func (h *Handler) serve(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			e := oauth.AsError(err)
			level := slog.LevelInfo
			if e.Status >= 500 {
				level = slog.LevelError
			}
			h.Logger.LogAttrs(r.Context(), level, "mfa request refused", slog.String("path", r.URL.Path),
				slog.String("error", e.Code), slog.Int("status", e.Status), slog.Any("cause", errors.Unwrap(e)))
			oauth.WriteError(w, e)
		}
	}
}

// caller is who presented the bearer token.
type caller struct {
	userID string
	tx     *store.MFATransaction // set for an mfa_token
	scopes []string              // set for an MFA API access token
}

var (
	errInvalidToken = &oauth.Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "The access token is invalid or expired."}
	errNotEnrolled  = &oauth.Error{Status: http.StatusBadRequest, Code: "unsupported_challenge_type", Description: "User is not enrolled."}
	errEnrolled     = &oauth.Error{Status: http.StatusForbidden, Code: "access_denied", Description: "User is already enrolled."}
)

// authenticate reads the bearer: an MFA API access token (a JWT), or an
// mfa_token when allowMFAToken.
func (h *Handler) authenticate(r *http.Request, scope string, allowMFAToken bool) (*caller, error) {
	auth := r.Header.Get("Authorization")
	bearer, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || bearer == "" {
		return nil, errInvalidToken
	}
	if strings.Count(bearer, ".") == 2 {
		c, err := h.Verify(bearer, h.MFA.MFAAudience(), h.MFA.Now())
		if err != nil {
			return nil, errInvalidToken
		}
		scopes := strings.Fields(c.Scope)
		if !slices.Contains(scopes, scope) {
			return nil, oauth.Errorf(http.StatusForbidden, "insufficient_scope", "Insufficient scope, expected: %s", scope)
		}
		return &caller{userID: c.Subject, scopes: scopes}, nil
	}
	if !allowMFAToken {
		return nil, errInvalidToken
	}
	tx, err := h.MFA.Transaction(r.Context(), bearer, "")
	if err != nil {
		return nil, errInvalidToken.WithCause(err)
	}
	return &caller{userID: tx.UserID, tx: tx}, nil
}

// authenticatorView is one authenticator as GET /mfa/authenticators shows it.
type authenticatorView struct {
	ID                string `json:"id"`
	AuthenticatorType string `json:"authenticator_type"`
	OOBChannel        string `json:"oob_channel,omitempty"`
	Name              string `json:"name,omitempty"`
	Active            bool   `json:"active"`
	Type              string `json:"type,omitempty"`
}

func view(a *store.Authenticator) authenticatorView {
	v := authenticatorView{ID: a.ID, Active: a.Active, Type: grants.FactorType(a.Kind)}
	switch a.Kind {
	case "totp":
		v.AuthenticatorType, v.Type = "otp", "otp"
	case "recovery-code":
		v.AuthenticatorType = "recovery-code"
	default:
		v.AuthenticatorType, v.OOBChannel, v.Name = "oob", a.Kind, a.Name
		if a.Kind == "sms" || a.Kind == "voice" {
			v.Name = maskPhone(a.Name)
		}
	}
	return v
}

// maskPhone shows only the last four digits, as Auth0 does.
func maskPhone(p string) string {
	if len(p) <= 4 {
		return p
	}
	return strings.Repeat("X", len(p)-4) + p[len(p)-4:]
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r, grants.ScopeReadAuthenticators, true)
	if err != nil {
		return err
	}
	auths, err := h.MFA.Store.ListAuthenticators(r.Context(), c.userID)
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	out := make([]authenticatorView, 0, len(auths))
	for _, a := range auths {
		out = append(out, view(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r, grants.ScopeRemoveAuthenticators, false)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	auths, err := h.MFA.Store.ListAuthenticators(r.Context(), c.userID)
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	if !slices.ContainsFunc(auths, func(a *store.Authenticator) bool { return a.ID == id }) {
		return oauth.Errorf(http.StatusNotFound, "not_found", "Authenticator not found.")
	}
	if err := h.MFA.Store.DeleteAuthenticator(r.Context(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return oauth.ErrServer.WithCause(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// e164 is a phone number in E.164 form.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (h *Handler) associate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := h.authenticate(r, grants.ScopeEnroll, true)
	if err != nil {
		return err
	}
	req, perr := oauth.ParseRequest(r)
	if perr != nil {
		return perr
	}
	auths, err := h.MFA.Store.ListAuthenticators(ctx, c.userID)
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	if c.tx != nil && slices.ContainsFunc(auths, func(a *store.Authenticator) bool { return a.Active }) {
		return errEnrolled
	}
	ts, err := h.MFA.Store.GetTenantSettings(ctx)
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	enabled := func(f string) bool { return ts.Guardian != nil && ts.Guardian.Factors[f] }
	types := strings.Fields(req.Params["authenticator_types"])
	if len(types) == 0 {
		return oauth.MissingParam("authenticator_types")
	}
	now := h.MFA.Now()
	body := map[string]any{}
	switch types[0] {
	case "otp":
		if !enabled("otp") {
			return oauth.Errorf(http.StatusBadRequest, "unsupported_challenge_type", "The otp factor is not enabled.")
		}
		user, err := h.MFA.Store.GetUser(ctx, c.userID)
		if err != nil {
			return oauth.ErrServer.WithCause(err)
		}
		account := user.Email
		if account == "" {
			account = user.Name
		}
		secret, uri, err := mfa.NewTOTP(h.Tenant, account)
		if err != nil {
			return oauth.ErrServer.WithCause(err)
		}
		if err := h.replacePending(ctx, auths, "totp"); err != nil {
			return err
		}
		a := &store.Authenticator{ID: newID("totp"), UserID: c.userID, Kind: "totp", Secret: secret, CreatedAt: now}
		if err := h.MFA.Store.CreateAuthenticator(ctx, a); err != nil {
			return oauth.ErrServer.WithCause(err)
		}
		body["authenticator_type"], body["secret"], body["barcode_uri"] = "otp", secret, uri
	case "oob":
		channel := strings.Fields(req.Params["oob_channels"])
		if len(channel) == 0 {
			return oauth.MissingParam("oob_channels")
		}
		if c.tx == nil {
			return oauth.Errorf(http.StatusBadRequest, "invalid_request", "Enrolling an oob authenticator needs the mfa_token of a login.")
		}
		var a *store.Authenticator
		switch ch := channel[0]; ch {
		case "email":
			if !enabled("email") {
				return oauth.Errorf(http.StatusBadRequest, "unsupported_challenge_type", "The email factor is not enabled.")
			}
			addr := req.Params["email"]
			if !strings.Contains(addr, "@") || len(addr) > 254 {
				return oauth.Errorf(http.StatusBadRequest, "invalid_request", "A valid email is required.")
			}
			a = &store.Authenticator{ID: newID("email"), UserID: c.userID, Kind: "email", Name: addr, CreatedAt: now}
		case "sms", "voice":
			if !enabled("sms") {
				return oauth.Errorf(http.StatusBadRequest, "unsupported_challenge_type", "The sms factor is not enabled.")
			}
			phone := req.Params["phone_number"]
			if !e164.MatchString(phone) {
				return oauth.Errorf(http.StatusBadRequest, "invalid_request", "phone_number must be in E.164 format.")
			}
			a = &store.Authenticator{ID: newID(ch), UserID: c.userID, Kind: ch, Name: phone, CreatedAt: now}
		default:
			return oauth.Errorf(http.StatusBadRequest, "unsupported_challenge_type", "Unsupported oob channel: %s", truncate(ch))
		}
		if err := h.replacePending(ctx, auths, a.Kind); err != nil {
			return err
		}
		if err := h.MFA.Store.CreateAuthenticator(ctx, a); err != nil {
			return oauth.ErrServer.WithCause(err)
		}
		oob, err := h.sendCode(ctx, c.tx, a, true)
		if err != nil {
			return err
		}
		body["authenticator_type"], body["binding_method"], body["oob_channel"], body["oob_code"] = "oob", "prompt", a.Kind, oob
	default:
		return oauth.Errorf(http.StatusBadRequest, "unsupported_challenge_type", "Unsupported authenticator type: %s", truncate(types[0]))
	}
	if enabled("recovery-code") && !slices.ContainsFunc(auths, func(a *store.Authenticator) bool { return a.Kind == "recovery-code" }) {
		code, hash := mfa.NewRecoveryCode()
		rc := &store.Authenticator{ID: newID("recovery-code"), UserID: c.userID, Kind: "recovery-code", CodeHash: hash, CreatedAt: now}
		if err := h.MFA.Store.CreateAuthenticator(ctx, rc); err != nil {
			return oauth.ErrServer.WithCause(err)
		}
		body["recovery_codes"] = []string{code}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// replacePending deletes the user's unconfirmed authenticators of kind:
// enrolling again starts over.
func (h *Handler) replacePending(ctx context.Context, auths []*store.Authenticator, kind string) error {
	for _, a := range auths {
		if a.Kind == kind && !a.Active {
			if err := h.MFA.Store.DeleteAuthenticator(ctx, a.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return oauth.ErrServer.WithCause(err)
			}
		}
	}
	return nil
}

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	req, perr := oauth.ParseRequest(r)
	if perr != nil {
		return perr
	}
	if req.Params["mfa_token"] == "" {
		return oauth.MissingParam("mfa_token")
	}
	client, _, err := h.Clients.Authenticate(ctx, req)
	if err != nil {
		return err
	}
	tx, err := h.MFA.Transaction(ctx, req.Params["mfa_token"], client.ClientID)
	if err != nil {
		return err
	}
	auths, err := h.MFA.Store.ListAuthenticators(ctx, tx.UserID)
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	accepted := strings.Fields(req.Params["challenge_type"])
	wantID := req.Params["authenticator_id"]
	var chosen *store.Authenticator
	anyActive := false
	for _, a := range auths {
		if !a.Active || a.Kind == "recovery-code" {
			continue
		}
		anyActive = true
		typ := "oob"
		if a.Kind == "totp" {
			typ = "otp"
		}
		if (len(accepted) == 0 || slices.Contains(accepted, typ)) && (wantID == "" || wantID == a.ID) {
			chosen = a
			break
		}
	}
	switch {
	case !anyActive:
		return errNotEnrolled
	case chosen == nil:
		return oauth.Errorf(http.StatusBadRequest, "unsupported_challenge_type", "No authenticator matches the challenge type.")
	case chosen.Kind == "totp":
		writeJSON(w, http.StatusOK, map[string]string{"challenge_type": "otp"})
		return nil
	}
	oob, err := h.sendCode(ctx, tx, chosen, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"challenge_type": "oob", "oob_code": oob, "binding_method": "prompt"})
	return nil
}

// sendCode sends a new six-digit code to an email or phone authenticator
// and records it as the transaction's only valid challenge.
func (h *Handler) sendCode(ctx context.Context, tx *store.MFATransaction, a *store.Authenticator, enrolling bool) (string, error) {
	code := mfa.NewOneTimeCode()
	hash, err := mfa.HashOneTimeCode(h.MFA.CodeKey, tx.ID, code)
	if err != nil {
		return "", oauth.ErrServer.WithCause(err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	oob := base64.RawURLEncoding.EncodeToString(b)
	_, err = h.MFA.Store.UpdateMFATransaction(ctx, tx.ID, func(t *store.MFATransaction) error {
		t.Challenge = &store.OOBChallenge{OOBCode: oob, AuthenticatorID: a.ID, CodeHash: hash, ExpiresAt: h.MFA.Now().Add(codeLifetime)}
		return nil
	})
	if err != nil {
		return "", oauth.ErrServer.WithCause(err)
	}
	switch a.Kind {
	case "email":
		own, _ := tenant.EmailOverride(ctx, h.MFA.Store, notify.TemplateMFACode)
		msg, err := notify.Render(notify.TemplateMFACode, own, notify.Data{Tenant: h.Tenant, Email: a.Name, Code: code, TTL: int(codeLifetime / time.Minute)})
		if err == nil {
			msg.To = a.Name
			err = h.Mailer.SendMail(ctx, msg)
		}
		if err != nil {
			return "", oauth.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "The code could not be sent. Try again later.").WithCause(fmt.Errorf("send email code: %w", err))
		}
	default:
		text, err := h.phoneText(ctx, code, enrolling)
		if err == nil {
			err = h.SMS.SendSMS(ctx, a.Name, text)
		}
		if err != nil {
			return "", oauth.Errorf(http.StatusServiceUnavailable, "temporarily_unavailable", "The code could not be sent. Try again later.").WithCause(fmt.Errorf("send sms code: %w", err))
		}
	}
	return oob, nil
}

// phoneText is the tenant's enrolment or verification message (PUT
// /api/v2/guardian/factors/sms/templates, else Auth0's defaults) with the
// code and the tenant's name.
func (h *Handler) phoneText(ctx context.Context, code string, enrolling bool) (string, error) {
	ts, err := h.MFA.Store.GetTenantSettings(ctx)
	if err != nil {
		return "", err
	}
	name, tpl := h.Tenant, tenant.DefaultVerificationMessage
	if enrolling {
		tpl = tenant.DefaultEnrollmentMessage
	}
	if ts.FriendlyName != "" {
		name = ts.FriendlyName
	}
	if g := ts.Guardian; g != nil && g.Phone != nil {
		if enrolling && g.Phone.EnrollmentMessage != "" {
			tpl = g.Phone.EnrollmentMessage
		} else if !enrolling && g.Phone.VerificationMessage != "" {
			tpl = g.Phone.VerificationMessage
		}
	}
	return tenant.PhoneMessage(tpl, code, name), nil
}

// newID is Auth0's authenticator id: <kind>|dev_<16 base62>.
func newID(kind string) string { return kind + "|dev_" + ids.Alnum(16) }

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100]
	}
	return s
}

// writeJSON writes v with the Authentication API's headers; URIs keep
// their '&'.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		oauth.WriteError(w, oauth.ErrServer.WithCause(err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
