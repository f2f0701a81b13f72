package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Ticket paths under the issuer: the pages a ticket link opens.
const (
	ResetPath          = "lo/reset"
	VerifyPath         = "lo/verify_email"
	GuardianEnrollPath = "lo/guardian_enroll"
)

// Ticket lifetimes: Auth0's defaults (5 days) and ceiling (30 days).
const (
	DefaultTicketTTL = 5 * 24 * time.Hour
	maxTicketTTL     = 30 * 24 * time.Hour
)

// TicketInput asks for a password-change or email-verification ticket
// (POST /api/v2/tickets/password-change and /email-verification, or a
// user's own reset request).
type TicketInput struct {
	UserID string `json:"user_id"`
	// Email and ConnectionID name the user instead of UserID (password
	// change only).
	Email                  string `json:"email"`
	ConnectionID           string `json:"connection_id"`
	ClientID               string `json:"client_id"`
	ResultURL              string `json:"result_url"`
	TTLSec                 int    `json:"ttl_sec"`
	MarkEmailAsVerified    bool   `json:"mark_email_as_verified"`
	IncludeEmailInRedirect bool   `json:"includeEmailInRedirect"`
}

var errTicketTarget = invalidBody("Payload validation error: 'user_id' or 'email' and 'connection_id' are required")

// TicketHash is the stored id of a ticket secret.
func TicketHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateTicket stores a single-use ticket of kind for the user in and
// returns the link that opens it and the user.
func (s *Service) CreateTicket(ctx context.Context, kind string, in *TicketInput) (link string, u *store.User, err error) {
	var user *store.User
	switch {
	case in.UserID != "":
		user, err = s.GetUser(ctx, in.UserID)
	case in.Email != "" && in.ConnectionID != "" && kind == store.TicketPasswordChange:
		var conn *store.Connection
		if conn, err = s.GetConnection(ctx, in.ConnectionID); err == nil {
			user, err = s.FindConnectionUser(ctx, conn, in.Email)
			err = notFound(err, errNoUser)
		}
	default:
		return "", nil, errTicketTarget
	}
	if err != nil {
		return "", nil, err
	}
	if kind == store.TicketPasswordChange && user.PasswordHash == "" && !strings.HasPrefix(user.UserID, database.Name+"|") {
		return "", nil, invalidBody("The user's connection does not keep passwords")
	}
	if kind == store.TicketEmailVerification && user.Email == "" {
		return "", nil, invalidBody("The user has no email address")
	}
	if in.ResultURL != "" {
		if u, perr := url.Parse(in.ResultURL); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", nil, invalidProp("result_url", "Object didn't pass validation for format uri: %s", in.ResultURL)
		}
	}
	ttl := DefaultTicketTTL
	if in.TTLSec < 0 || time.Duration(in.TTLSec)*time.Second > maxTicketTTL {
		return "", nil, invalidProp("ttl_sec", "ttl_sec must be between 0 and %d", int(maxTicketTTL/time.Second))
	}
	if in.TTLSec > 0 {
		ttl = time.Duration(in.TTLSec) * time.Second
	}
	t := &store.Ticket{Kind: kind, UserID: user.UserID, ClientID: in.ClientID, ResultURL: in.ResultURL,
		MarkEmailVerified: in.MarkEmailAsVerified, IncludeEmailInRedirect: in.IncludeEmailInRedirect}
	secret, err := s.storeTicket(ctx, t, ttl)
	if err != nil {
		return "", nil, err
	}
	path := ResetPath
	if kind == store.TicketEmailVerification {
		path = VerifyPath
	}
	return s.Issuer + path + "?ticket=" + secret + "#", user, nil
}

// storeTicket gives t a fresh secret, stores it under the secret's hash
// with its lifetime, and returns the secret.
func (s *Service) storeTicket(ctx context.Context, t *store.Ticket, ttl time.Duration) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("ticket secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	t.ID, t.CreatedAt = TicketHash(secret), s.now()
	t.ExpiresAt = t.CreatedAt.Add(ttl)
	if err := s.Store.CreateTicket(ctx, t); err != nil {
		return "", fmt.Errorf("store ticket: %w", err)
	}
	return secret, nil
}

// EnrollmentTicketInput is POST /api/v2/guardian/enrollments/ticket.
type EnrollmentTicketInput struct {
	UserID string `json:"user_id"`
	// Email receives the link instead of the user's address (with SendMail).
	Email       string `json:"email"`
	SendMail    bool   `json:"send_mail"`
	EmailLocale string `json:"email_locale"`
	// Factor is the factor to enrol; gatehouse's page enrols otp (the
	// default).
	Factor                   string `json:"factor"`
	AllowMultipleEnrollments bool   `json:"allow_multiple_enrollments"`
}

// EnrollmentTicket is a created enrolment ticket.
type EnrollmentTicket struct {
	ID   string // the stored id (the secret's hash): names the ticket, opens nothing
	URL  string
	User *store.User
	// MailTo is where the link goes when send_mail asked for it ("" otherwise).
	MailTo string
}

// enrollmentFactors are the factors Auth0's ticket names; gatehouse's page
// enrols an authenticator app (otp) only.
var enrollmentFactors = []string{"push-notification", "phone", "email", "otp", "webauthn-roaming", "webauthn-platform"}

// CreateEnrollmentTicket stores a single-use ticket that opens the page
// where the user sets up an authenticator app. The otp factor must be on.
func (s *Service) CreateEnrollmentTicket(ctx context.Context, in *EnrollmentTicketInput) (*EnrollmentTicket, error) {
	if in.UserID == "" {
		return nil, invalidBody("Payload validation error: 'Missing required property: user_id'")
	}
	switch {
	case in.Factor == "" || in.Factor == "otp":
	case slices.Contains(enrollmentFactors, in.Factor):
		return nil, invalidProp("factor", "gatehouse's enrollment page enrolls otp only, not %s", in.Factor)
	default:
		return nil, invalidProp("factor", "No enum match for: \"%s\"", in.Factor)
	}
	if in.Email != "" && (!strings.Contains(in.Email, "@") || len(in.Email) > 254) {
		return nil, invalidProp("email", "Object didn't pass validation for format email: %s", in.Email)
	}
	user, err := s.GetUser(ctx, in.UserID)
	if err != nil {
		return nil, err
	}
	ts, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("get mfa factors: %w", err)
	}
	if ts.Guardian == nil || !ts.Guardian.Factors["otp"] {
		return nil, invalidBody("The otp factor is not enabled")
	}
	out := &EnrollmentTicket{User: user}
	if in.SendMail {
		if out.MailTo = in.Email; out.MailTo == "" {
			out.MailTo = user.Email
		}
		if out.MailTo == "" {
			return nil, invalidBody("The user has no email address: give one in email")
		}
	}
	t := &store.Ticket{Kind: store.TicketGuardianEnrollment, UserID: user.UserID, AllowMultipleEnrollments: in.AllowMultipleEnrollments}
	secret, err := s.storeTicket(ctx, t, DefaultTicketTTL)
	if err != nil {
		return nil, err
	}
	out.ID, out.URL = t.ID, s.Issuer+GuardianEnrollPath+"?ticket="+secret
	return out, nil
}

// ErrTicketInvalid is a ticket that does not exist, was used, or expired.
var ErrTicketInvalid = errors.New("tenant: the ticket is invalid, used or expired")

// OpenTicket returns the live ticket of kind whose secret is given,
// without consuming it.
func (s *Service) OpenTicket(ctx context.Context, kind, secret string) (*store.Ticket, error) {
	if secret == "" || len(secret) > 128 {
		return nil, ErrTicketInvalid
	}
	t, err := s.Store.GetTicket(ctx, TicketHash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrTicketInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket: %w", err)
	}
	if t.Kind != kind || !s.now().Before(t.ExpiresAt) {
		return nil, ErrTicketInvalid
	}
	return t, nil
}

// ResetPassword sets a new password through a password-change ticket:
// the connection's policy first (a refusal keeps the ticket), then the
// ticket is consumed (exactly once, whatever other requests do), then the
// password is stored. It returns the user.
func (s *Service) ResetPassword(ctx context.Context, t *store.Ticket, password string) (*store.User, error) {
	user, err := s.GetUser(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	conn, err := s.Store.GetConnection(ctx, user.ConnectionID)
	if err != nil {
		return nil, fmt.Errorf("load connection: %w", err)
	}
	if err := CheckNewPassword(conn, password, user); err != nil {
		return nil, err
	}
	// Breached password detection's pre-change-password stage, as for a
	// change through the Management API.
	if err := s.CheckNewPassword(ctx, StagePreChangePassword, user, password); err != nil {
		return nil, err
	}
	// Without import mode the tenant's store keeps the password: its
	// change_password script sets it, before the ticket is consumed so
	// that a store that could not answer leaves the link usable.
	var hash string
	if us, mode := s.userScripts(conn); mode == directory.ScriptsLegacy {
		if err := us.ChangePassword(ctx, conn, user, password); err != nil {
			return nil, scriptError(err, "change_password")
		}
	} else if hash, err = s.hashPassword(password); err != nil {
		return nil, err
	}
	if err := s.Store.DeleteTicket(ctx, t.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrTicketInvalid
		}
		return nil, fmt.Errorf("consume ticket: %w", err)
	}
	now := s.now()
	u, err := s.Store.UpdateUser(ctx, user.UserID, func(u *store.User) error {
		if hash != "" {
			u.PasswordHash = hash
		}
		u.LastPasswordReset, u.UpdatedAt = &now, now
		if t.MarkEmailVerified {
			u.EmailVerified = true
		}
		return nil
	})
	return u, notFound(err, errNoUser)
}

// VerifyEmail consumes an email-verification ticket and marks the user's
// email verified (first in the tenant's store, through the verify script,
// for a custom database connection without import mode).
func (s *Service) VerifyEmail(ctx context.Context, t *store.Ticket) (*store.User, error) {
	if err := s.Store.DeleteTicket(ctx, t.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrTicketInvalid
		}
		return nil, fmt.Errorf("consume ticket: %w", err)
	}
	if user, err := s.GetUser(ctx, t.UserID); err == nil {
		conn, err := s.userConnection(ctx, user)
		if err != nil {
			return nil, err
		}
		if us, mode := s.userScripts(conn); mode == directory.ScriptsLegacy {
			if err := optionalScript(us.VerifyEmail(ctx, conn, user)); err != nil {
				return nil, scriptError(err, "verify")
			}
		}
	}
	now := s.now()
	u, err := s.Store.UpdateUser(ctx, t.UserID, func(u *store.User) error {
		u.EmailVerified, u.UpdatedAt = true, now
		return nil
	})
	return u, notFound(err, errNoUser)
}
