// Package oauth owns gatehouse's Authentication API: the token endpoint,
// revocation, /userinfo and discovery, with errors in Auth0's shape.
//
// # The token pipeline
//
// Every grant travels the same road. Handler.Token calls the phases in this
// fixed order; no grant can skip or reorder one:
//
//	parse        ParseRequest: the body once into a typed Request; text
//	             checked at the edge (input: UTF-8, no NUL, no duplicate keys)
//	client       ClientAuthenticator: secret, Basic, private_key_jwt or none;
//	             the grant type allowed for the client
//	grant        Grant.Check: the grant's own checks (parameters, connection,
//	             audience, the refresh token presented) → an Exchange
//	guards       Guard.Check on the Exchange's Attempt, BEFORE any password
//	             hash: a blocked attempt costs no hash and no limiter slot
//	subject      Exchange.Authenticate: who the tokens are for (the password
//	             through the connection's directory strategy; the refresh
//	             family's user, still there and not blocked) → Authorization
//	post-login   PostLogin.Run on the Authorization (user logins only): claims
//	             for both tokens, scopes, or a denial
//	MFA gate     MFAGate.Check (user logins only): may end the request with
//	             403 mfa_required and an mfa_token that resumes it later
//	mint         Handler: the access token and, with openid, the ID token:
//	             claims encoded and keys chosen first (every refusal a token
//	             can meet), then each signed on a goroutine of its own
//	commit       Exchange.Commit: the grant's own durable writes (the login
//	             record with a new refresh family; a refresh family rotated by
//	             compare-and-swap), in one write, while the tokens are signed;
//	             the response waits for the write and the signatures
//	events       events.Emitter: Auth0 log events (s, sepft, fp, fu, ferrt...)
//
// Each hook phase is a small interface with a no-op default (Hooks); the
// features after this one fill a phase in without editing the road:
// attack protection → Guard, directories (LDAP, custom scripts) → the
// subject phase through directory strategies, rules and Actions →
// PostLogin, MFA → MFAGate, the tenant's stored log → events.Emitter.
//
// A grant owns its whole decision and its commit (as fosite's handlers do):
// the dispatcher never looks inside an Exchange, it only calls its phases.
package oauth

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Grant is one grant_type. Check runs the grant's own checks and returns
// the Exchange the later phases drive; every failure is an *Error.
type Grant interface {
	// Type is the grant_type value this grant answers.
	Type() string
	// Events names the log events the grant's requests are logged as.
	Events() GrantEvents
	// Check is the grant phase.
	Check(ctx context.Context, req *Request, client *store.Client) (Exchange, error)
}

// GrantEvents are the Auth0 log event types of one grant.
type GrantEvents struct {
	Success string // sepft, sertft, seccft; "" for none beside s
	Failure string // fepft, fertft, feccft: any refusal after client authentication
	// Login marks grants whose success is also a completed login (s).
	Login bool
}

// Exchange is one token request of a grant past the grant's own checks.
type Exchange interface {
	// Attempt is what the guards judge, before any credential is checked.
	Attempt() *Attempt
	// Authenticate is the subject phase: it proves who the tokens are for
	// and returns what they will carry.
	Authenticate(ctx context.Context) (*Authorization, error)
	// Commit is the commit phase: the grant's durable writes once the
	// tokens are minted, and the refresh token to hand out ("" for none).
	Commit(ctx context.Context, auth *Authorization) (refreshToken string, err error)
}

// Attempt is a token request as the guards see it.
type Attempt struct {
	GrantType  string
	Client     *store.Client
	Connection *store.Connection // the connection a password is checked in; nil otherwise
	Username   string            // the identifier typed (password grants)
	UserID     string            // when known: the refresh family's user, or the user a wrong password was typed for
	IP         string            // the end user's address
	UserAgent  string
	// Password is the password typed (password grants), for the guards'
	// breached-password check once it is verified. Never logged or kept.
	Password string
	// RefreshFamily is the family of the refresh token shown (refresh
	// grants), which the refresh rate limit keys on.
	RefreshFamily string
	// ResetCounter is set by a guard: the counter the login's commit
	// clears in the same write as the login record (a success resets the
	// brute-force count without a statement of its own).
	ResetCounter *store.CounterKey
}

// Authorization is what the subject phase established and the later
// phases shape: who the tokens are for and what they carry.
type Authorization struct {
	// GrantType is the access token's gty claim.
	GrantType  string
	Client     *store.Client
	Connection *store.Connection // the user's connection; nil for client credentials
	// User is the subject of a login; nil when the client acts on its own
	// behalf (client credentials), which runs neither post-login nor MFA.
	User   *store.User
	API    *store.ResourceServer // nil: a token only /userinfo accepts
	Scopes []string              // granted, in response order
	// TokenScopes, when not nil, replaces Scopes in the access token and the
	// response (a rule set context.accessToken.scope); Scopes still decides
	// whether an ID token is issued and what it shows.
	TokenScopes []string
	// AccessClaims and IDClaims are custom claims for the two tokens
	// (rules and Actions set them); they never override registered claims.
	AccessClaims map[string]any
	IDClaims     map[string]any
	// RequireMFA asks the MFA gate for a second factor whatever the
	// tenant's policy: rules (context.multifactor) and post-login Actions
	// (api.multifactor.enable) set it.
	RequireMFA bool
	// AMR is how the user proved who they are beyond the password ("mfa"
	// once a second factor was checked); both tokens carry it as amr, and
	// the MFA gate lets a login that has "mfa" through.
	AMR []string
	// RecoveryCode is a new recovery code the response hands out beside
	// the tokens (the mfa-recovery-code grant replaces the one used).
	RecoveryCode string
	// Session is what the user's connection keeps for the refresh family
	// this login starts (directory.Result.Session: an upstream refresh
	// token), carried through an MFA step: a secret, never in a response.
	Session []byte
}

// Deny ends the login with Auth0's answer to a rule or Action that refuses
// it: 403 access_denied with the given description, logged as f.
func (a *Authorization) Deny(description string) error {
	return Errorf(http.StatusForbidden, "access_denied", "%s", description).WithEvent("f")
}

// Guard is the pre-authentication phase (attack protection: is this
// user and IP blocked, this IP throttled?). An error ends the request
// before the subject is authenticated, so no password hash is computed.
// The Pass it returns hears how the attempt went.
type Guard interface {
	Check(ctx context.Context, a *Attempt) (Pass, error)
}

// Pass is a guard's hold on an attempt it let through.
type Pass interface {
	// Authenticated is told the subject phase's outcome (auth nil when
	// err is not). An error it returns ends the request instead (a
	// verified but leaked password refused).
	Authenticated(ctx context.Context, a *Attempt, auth *Authorization, err error) error
	// Done is told how the request ended: nil when the tokens were
	// issued and the grant's commit written.
	Done(ctx context.Context, a *Attempt, err error)
}

// PostLogin is the post-authentication phase (rules, then Actions): it may
// add claims, narrow the scopes, or refuse with Authorization.Deny.
type PostLogin interface {
	Run(ctx context.Context, a *Authorization) error
}

// MFAGate decides whether a login needs a second factor. Answering
// MFARequired ends the request; the MFA grants resume it from the token.
type MFAGate interface {
	Check(ctx context.Context, a *Authorization) error
}

// GuardFunc, PostLoginFunc and MFAGateFunc adapt functions to the hooks.
type (
	GuardFunc     func(ctx context.Context, a *Attempt) error
	PostLoginFunc func(ctx context.Context, a *Authorization) error
	MFAGateFunc   func(ctx context.Context, a *Authorization) error
)

// Check implements Guard: the function's verdict, and a Pass that only
// listens.
func (f GuardFunc) Check(ctx context.Context, a *Attempt) (Pass, error) { return noPass{}, f(ctx, a) }

// Run implements PostLogin.
func (f PostLoginFunc) Run(ctx context.Context, a *Authorization) error { return f(ctx, a) }

// Check implements MFAGate.
func (f MFAGateFunc) Check(ctx context.Context, a *Authorization) error { return f(ctx, a) }

// noHook is every hook's default: it lets everything through.
type noHook struct{}

func (noHook) Check(context.Context, *Attempt) (Pass, error) { return noPass{}, nil }
func (noHook) Run(context.Context, *Authorization) error     { return nil }

// noPass is the Pass of a guard that only judges before the subject.
type noPass struct{}

func (noPass) Authenticated(_ context.Context, _ *Attempt, _ *Authorization, err error) error {
	return err
}
func (noPass) Done(context.Context, *Attempt, error) {}

type noGate struct{}

func (noGate) Check(context.Context, *Authorization) error { return nil }
