// Package events is where gatehouse says what happened to the tenant, in
// Auth0's log-event vocabulary (type codes such as s, fp, fu, sepft,
// sertft, ferrt, seccft, sapi). The login pipeline and the domain layer
// emit into an Emitter; what an Emitter does with an event (a log line,
// the tenant's stored log in internal/tenantlog, a JSON-lines stream) is
// its own business.
package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
)

// Auth0 log event type codes emitted today. The attack-protection and MFA
// work adds its own beside them.
const (
	SuccessLogin              = "s"      // a login completed
	FailedLoginWrongPassword  = "fp"     // a known user, a wrong password
	FailedLoginUnknownUser    = "fu"     // no such user in the connection
	FailedLogin               = "f"      // any other failed login
	SuccessExchangePassword   = "sepft"  // password grant exchanged for tokens
	FailedExchangePassword    = "fepft"  // password grant refused
	SuccessExchangeRefresh    = "sertft" // refresh token exchanged
	FailedExchangeRefresh     = "fertft" // refresh token refused
	RefreshTokenReuse         = "ferrt"  // a rotated refresh token used again: family revoked
	SuccessExchangeClientCred = "seccft" // client credentials exchanged
	FailedExchangeClientCred  = "feccft" // client credentials refused
	SuccessRevocation         = "srrt"   // a refresh token revoked
	SuccessAPIOperation       = "sapi"   // a Management API change
	FailedAPIOperation        = "fapi"   // a Management API change refused
	SuccessSignup             = "ss"     // a user signed up
	FailedSignup              = "fs"     // a signup refused
	SuccessChangePassword     = "scp"    // a user's password changed
	FailedChangePassword      = "fcp"    // a password change refused
	// Passwordless logins: a code sent by email (cls: code or link) or
	// text message (cs), and a refused passwordless/otp grant.
	CodeLinkSent                  = "cls"
	CodeSent                      = "cs"
	FailedExchangePasswordlessOTP = "fepotpft"
)

// Attack protection's event type codes (attack-protection.md §6).
const (
	BlockedAccount       = "limit_wc"        // brute force: an identifier (and IP) blocked
	BlockedIP            = "limit_mu"        // suspicious IP throttling: an IP blocked
	SameUserLoginLimit   = "limit_sul"       // too many logins of one user from one IP
	PasswordLeaked       = "pwd_leak"        // a login with a leaked password
	SignupPasswordLeaked = "signup_pwd_leak" // a new user's password is leaked
	ResetPasswordLeaked  = "reset_pwd_leak"  // a changed password is leaked
	BlockReleased        = "ublkdu"          // a brute-force block released
)

// Event is one entry of the tenant's log. It never carries a secret, a
// password, a token or a hash.
type Event struct {
	Type         string
	Date         time.Time
	Description  string
	ClientID     string
	ClientName   string
	IP           string
	UserAgent    string
	UserID       string
	UserName     string // the identifier the user typed, or their email
	Connection   string // connection name
	ConnectionID string
	Audience     string
	Scope        string
	Strategy     string
	// Details holds event-specific facts (error codes, the grant type...).
	Details map[string]any
	// RequestID ties the event to the request's log lines; Emit fills it
	// from the context when empty.
	RequestID string
}

// Emitter receives events. Emit must not block the request on slow I/O:
// an implementation that stores events buffers them.
type Emitter interface {
	Emit(ctx context.Context, e Event)
}

// Nop drops every event.
type Nop struct{}

// Emit implements Emitter.
func (Nop) Emit(context.Context, Event) {}

// Log writes each event as one structured log line.
type Log struct{ Logger *slog.Logger }

// Emit implements Emitter: one info line per event (warn for a detected
// refresh-token reuse, which an operator should look at).
func (l Log) Emit(ctx context.Context, e Event) {
	if e.RequestID == "" {
		e.RequestID = logging.RequestID(ctx)
	}
	attrs := []slog.Attr{slog.String("event", e.Type)}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("description", e.Description)
	add("client_id", e.ClientID)
	add("client_name", e.ClientName)
	add("ip", e.IP)
	add("user_id", e.UserID)
	add("user_name", e.UserName)
	add("connection", e.Connection)
	add("audience", e.Audience)
	add("scope", e.Scope)
	if len(e.Details) > 0 {
		attrs = append(attrs, slog.Any("details", e.Details))
	}
	level := slog.LevelInfo
	if e.Type == RefreshTokenReuse {
		level = slog.LevelWarn
	}
	l.Logger.LogAttrs(ctx, level, "event", attrs...)
}

type actorKey struct{}

// WithActor records who acts in ctx: the client id of a Management API
// caller, so the events of the changes it makes name it.
func WithActor(ctx context.Context, clientID string) context.Context {
	return context.WithValue(ctx, actorKey{}, clientID)
}

// Actor returns the client id WithActor recorded, or "".
func Actor(ctx context.Context) string {
	id, _ := ctx.Value(actorKey{}).(string)
	return id
}

// Multi sends every event to each emitter in turn.
type Multi []Emitter

// Emit implements Emitter.
func (m Multi) Emit(ctx context.Context, e Event) {
	for _, x := range m {
		x.Emit(ctx, e)
	}
}
