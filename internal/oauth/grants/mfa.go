package grants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// MFATokenLifetime is how long a paused login waits for its second
// factor; Auth0's is fixed at 10 minutes.
const MFATokenLifetime = 10 * time.Minute

// The failed-code bucket (mfa-api.md §8): 10 codes, one back every 6 minutes.
const (
	bucketCapacity = 10
	bucketRefill   = 6 * time.Minute
)

// Auth0 log event types of the MFA flow.
const (
	eventMFARequired = "mfar"
	eventOTPSuccess  = "seotpft"
	eventOTPFailure  = "feotpft"
	eventOOBSuccess  = "seoobft"
	eventOOBFailure  = "feoobft"
	eventRCSuccess   = "sercft"
	eventRCFailure   = "fercft"
	eventRateLimited = "gd_otp_rate_limit_exceed"
)

// MFA pauses logins at the MFA gate and finishes them with the three MFA
// grants. One value serves as the gate (Gate) and builds the grants.
type MFA struct {
	Store  store.Store
	Issuer string
	Now    func() time.Time
	// CodeKey keys the hashes of one-time codes sent by email or SMS.
	CodeKey []byte
}

// MFAAudience is the MFA API's identifier, {issuer}mfa/.
func (m *MFA) MFAAudience() string { return m.Issuer + "mfa/" }

// NewMFAToken returns an mfa_token and the id its transaction is stored
// under: only the hash is stored, like refresh tokens.
func NewMFAToken() (token, id string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, MFATokenID(token)
}

// MFATokenID is the id of the transaction an mfa_token names.
func MFATokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Gate is the MFA gate phase.
func (m *MFA) Gate() oauth.MFAGate { return oauth.MFAGateFunc(m.check) }

// check answers mfa_required when the login needs a second factor: a rule
// or Action asked, the tenant's policy is "all-applications" (password
// logins), or the login is for the MFA API itself.
func (m *MFA) check(ctx context.Context, a *oauth.Authorization) error {
	if slices.Contains(a.AMR, "mfa") {
		return nil
	}
	required := a.RequireMFA || a.API != nil && a.API.Identifier == m.MFAAudience()
	if !required && a.GrantType == protocol.GTYPassword {
		ts, err := m.Store.GetTenantSettings(ctx)
		if err != nil {
			return oauth.ErrServer.WithCause(err)
		}
		required = ts.Guardian != nil && slices.Contains(ts.Guardian.Policies, tenant.PolicyAllApplications)
	}
	if !required {
		return nil
	}
	now := m.Now()
	token, id := NewMFAToken()
	tx := &store.MFATransaction{
		ID: id, UserID: a.User.UserID, ClientID: a.Client.ClientID, Scopes: a.Scopes, GrantType: a.GrantType,
		IP: oauth.ClientIP(ctx), CreatedAt: now, ExpiresAt: now.Add(MFATokenLifetime), ConnectorData: a.Session,
	}
	if a.Connection != nil {
		tx.ConnectionID = a.Connection.ID
	}
	if a.API != nil {
		tx.Audience = a.API.Identifier
	}
	if err := m.Store.CreateMFATransaction(ctx, tx); err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	req, err := m.requirements(ctx, a.User.UserID)
	if err != nil {
		return err
	}
	return oauth.MFARequired(token, req).WithEvent(eventMFARequired)
}

// requirements is mfa_requirements: the factors the user can be challenged
// with, or, with none active, the enabled factors to enrol in.
func (m *MFA) requirements(ctx context.Context, userID string) (map[string]any, error) {
	auths, err := m.Store.ListAuthenticators(ctx, userID)
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	var challenge []map[string]string
	for _, a := range auths {
		if t := FactorType(a.Kind); a.Active && t != "" && !slices.ContainsFunc(challenge, func(c map[string]string) bool { return c["type"] == t }) {
			challenge = append(challenge, map[string]string{"type": t})
		}
	}
	if len(challenge) > 0 {
		return map[string]any{"challenge": challenge}, nil
	}
	ts, err := m.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	enroll := []map[string]string{}
	if ts.Guardian != nil {
		for _, f := range []struct{ factor, typ string }{{"otp", "otp"}, {"sms", "phone"}, {"email", "email"}} {
			if ts.Guardian.Factors[f.factor] {
				enroll = append(enroll, map[string]string{"type": f.typ})
			}
		}
	}
	return map[string]any{"enroll": enroll}, nil
}

// FactorType is the mfa_requirements type of an authenticator kind.
func FactorType(kind string) string {
	switch kind {
	case "totp":
		return "otp"
	case "sms", "voice":
		return "phone"
	case "email", "recovery-code":
		return kind
	case "push":
		return "push-notification"
	}
	return ""
}

// Errors of the MFA grants whose text SDKs compare (mfa-api.md §6, §7).
var (
	errMalformedMFAToken = oauth.Errorf(http.StatusForbidden, "invalid_grant", "Malformed mfa_token")
	errExpiredMFAToken   = oauth.Errorf(http.StatusForbidden, "expired_token", "mfa_token is expired")
	errInvalidOTP        = oauth.Errorf(http.StatusForbidden, "invalid_grant", "Invalid otp_code.")
	errInvalidBinding    = oauth.Errorf(http.StatusForbidden, "invalid_grant", "Invalid binding_code.")
	errInvalidRecovery   = oauth.Errorf(http.StatusForbidden, "invalid_grant", "Invalid recovery_code.")
	errTooManyCodes      = oauth.Errorf(http.StatusTooManyRequests, "too_many_attempts", "Too many failed codes. Wait for some minutes before retrying.").WithEvent(eventRateLimited)
)

// Transaction finds the live transaction an mfa_token names, for a client.
func (m *MFA) Transaction(ctx context.Context, token, clientID string) (*store.MFATransaction, error) {
	if token == "" {
		return nil, oauth.MissingParam("mfa_token")
	}
	tx, err := m.Store.GetMFATransaction(ctx, MFATokenID(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errMalformedMFAToken
	case err != nil:
		return nil, oauth.ErrServer.WithCause(err)
	case !m.Now().Before(tx.ExpiresAt):
		return nil, errExpiredMFAToken
	case clientID != "" && subtle.ConstantTimeCompare([]byte(tx.ClientID), []byte(clientID)) != 1:
		return nil, errMalformedMFAToken
	}
	return tx, nil
}

// checkBucket refuses when the user's failed-code bucket is empty; spend
// takes one code from it after a wrong one.
func (m *MFA) checkBucket(ctx context.Context, userID string, spend bool) error {
	now := m.Now()
	empty := false
	_, err := m.Store.UpdateMFABucket(ctx, userID, func(b *store.MFABucket) error {
		if b.At.IsZero() {
			b.Tokens, b.At = bucketCapacity, now
		}
		if elapsed := now.Sub(b.At); elapsed > 0 {
			b.Tokens = math.Min(bucketCapacity, b.Tokens+float64(elapsed)/float64(bucketRefill))
			b.At = now
		}
		if b.Tokens < 1 {
			empty = true
			return nil
		}
		if spend {
			b.Tokens--
		}
		return nil
	})
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	if empty {
		return errTooManyCodes
	}
	return nil
}

// MFAGrant is one of the three MFA grants.
type MFAGrant struct {
	MFA  *MFA
	Kind string // protocol.GrantMFAOTP, GrantMFAOOB or GrantMFARecoveryCode
}

// Type implements oauth.Grant.
func (g *MFAGrant) Type() string { return g.Kind }

// Events implements oauth.Grant: success completes the login (s).
func (g *MFAGrant) Events() oauth.GrantEvents {
	switch g.Kind {
	case protocol.GrantMFAOOB:
		return oauth.GrantEvents{Success: eventOOBSuccess, Failure: eventOOBFailure, Login: true}
	case protocol.GrantMFARecoveryCode:
		return oauth.GrantEvents{Success: eventRCSuccess, Failure: eventRCFailure, Login: true}
	}
	return oauth.GrantEvents{Success: eventOTPSuccess, Failure: eventOTPFailure, Login: true}
}

// Check implements oauth.Grant: the parameters and the transaction.
func (g *MFAGrant) Check(ctx context.Context, req *oauth.Request, client *store.Client) (oauth.Exchange, error) {
	param := map[string]string{protocol.GrantMFAOTP: "otp", protocol.GrantMFAOOB: "oob_code", protocol.GrantMFARecoveryCode: "recovery_code"}[g.Kind]
	if req.Params["mfa_token"] == "" {
		return nil, oauth.MissingParam("mfa_token")
	}
	if req.Params[param] == "" {
		return nil, oauth.MissingParam(param)
	}
	tx, err := g.MFA.Transaction(ctx, req.Params["mfa_token"], client.ClientID)
	if err != nil {
		return nil, err
	}
	return &mfaExchange{g: g, req: req, client: client, tx: tx,
		attempt: &oauth.Attempt{GrantType: req.GrantType, Client: client, UserID: tx.UserID}}, nil
}

type mfaExchange struct {
	g       *MFAGrant
	req     *oauth.Request
	client  *store.Client
	tx      *store.MFATransaction
	attempt *oauth.Attempt
}

func (x *mfaExchange) Attempt() *oauth.Attempt { return x.attempt }

// Authenticate checks the second factor, ends the transaction (so its
// mfa_token works once), and resumes the login the gate paused.
func (x *mfaExchange) Authenticate(ctx context.Context) (*oauth.Authorization, error) {
	m := x.g.MFA
	if err := m.checkBucket(ctx, x.tx.UserID, false); err != nil {
		return nil, err
	}
	var recoveryCode string
	var err error
	switch x.g.Kind {
	case protocol.GrantMFAOTP:
		err = m.verifyOTP(ctx, x.tx.UserID, x.req.Params["otp"])
	case protocol.GrantMFAOOB:
		err = m.verifyOOB(ctx, x.tx, x.req.Params["oob_code"], x.req.Params["binding_code"])
	case protocol.GrantMFARecoveryCode:
		recoveryCode, err = m.useRecoveryCode(ctx, x.tx.UserID, x.req.Params["recovery_code"])
	}
	if err != nil {
		var oe *oauth.Error
		if errors.As(err, &oe) && oe.Status == http.StatusForbidden {
			if berr := m.checkBucket(ctx, x.tx.UserID, true); berr != nil {
				return nil, berr
			}
		}
		return nil, err
	}
	if err := m.Store.DeleteMFATransaction(ctx, x.tx.ID); errors.Is(err, store.ErrNotFound) {
		return nil, errMalformedMFAToken
	} else if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	auth, err := m.resume(ctx, x.tx, x.client)
	if err != nil {
		return nil, err
	}
	auth.RecoveryCode = recoveryCode
	return auth, nil
}

// resume rebuilds the paused login's Authorization, marked as MFA-proven.
func (m *MFA) resume(ctx context.Context, tx *store.MFATransaction, client *store.Client) (*oauth.Authorization, error) {
	user, err := m.Store.GetUser(ctx, tx.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.ErrWrongCredentials
	}
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if user.Blocked {
		return nil, oauth.ErrUserBlocked
	}
	auth := &oauth.Authorization{GrantType: tx.GrantType, Client: client, User: user, Scopes: tx.Scopes, AMR: []string{"mfa"},
		Session: tx.ConnectorData}
	if tx.ConnectionID != "" {
		if auth.Connection, err = m.Store.GetConnection(ctx, tx.ConnectionID); err != nil {
			return nil, oauth.ErrServer.WithCause(fmt.Errorf("connection of the paused login: %w", err))
		}
	}
	switch {
	case tx.Audience == m.MFAAudience():
		auth.API = MFAAPI(tx.Audience)
	case tx.Audience != "":
		if auth.API, err = m.Store.ResourceServerByIdentifier(ctx, tx.Audience); err != nil {
			return nil, oauth.Errorf(http.StatusForbidden, "access_denied", "Service not found: %s", truncate(tx.Audience)).WithCause(err)
		}
	}
	return auth, nil
}

var errReplay = errors.New("code already used")

// verifyOTP accepts a TOTP code of one of the user's OTP authenticators
// once: its time step is recorded in the same locked write, so the same
// code (or an earlier one) fails afterwards, on any node. A first good
// code confirms a pending enrolment.
func (m *MFA) verifyOTP(ctx context.Context, userID, code string) error {
	auths, err := m.Store.ListAuthenticators(ctx, userID)
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	now := m.Now()
	for _, a := range auths {
		if a.Kind != "totp" {
			continue
		}
		step, ok := mfa.VerifyTOTP(a.Secret, code, now)
		if !ok {
			continue
		}
		if err := m.acceptStep(ctx, a.ID, step, now); err != nil {
			return err
		}
		return m.confirmRecovery(ctx, auths, now)
	}
	return errInvalidOTP
}

// acceptStep records the time step of a good code of TOTP authenticator
// id in one locked write (a step not after the last accepted one is a
// replay: errInvalidOTP) and confirms a pending enrolment.
func (m *MFA) acceptStep(ctx context.Context, id string, step int64, now time.Time) error {
	_, err := m.Store.UpdateAuthenticator(ctx, id, func(a *store.Authenticator) error {
		if step <= a.LastStep {
			return errReplay
		}
		a.LastStep = step
		confirm(a, now)
		return nil
	})
	switch {
	case errors.Is(err, errReplay):
		return errInvalidOTP
	case err != nil:
		return oauth.ErrServer.WithCause(err)
	}
	return nil
}

// ConfirmTOTP is an enrolment page's check of the first code of the
// user's TOTP authenticator id, under the same failed-code bucket as the
// MFA grants (a wrong code spends from it; an empty one answers
// too_many_attempts). A good code works once and confirms the
// authenticator. Then, when the recovery-code factor is on and the user
// has no recovery code, it creates one, active, and returns it to be
// shown once.
func (m *MFA) ConfirmTOTP(ctx context.Context, userID, id, code string) (recoveryCode string, err error) {
	if err := m.checkBucket(ctx, userID, false); err != nil {
		return "", err
	}
	a, err := m.Store.GetAuthenticator(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", errInvalidOTP
	case err != nil:
		return "", oauth.ErrServer.WithCause(err)
	case a.UserID != userID || a.Kind != "totp":
		return "", errInvalidOTP
	}
	now := m.Now()
	step, ok := mfa.VerifyTOTP(a.Secret, code, now)
	if ok {
		err = m.acceptStep(ctx, id, step, now)
	} else {
		err = errInvalidOTP
	}
	if errors.Is(err, errInvalidOTP) {
		if berr := m.checkBucket(ctx, userID, true); berr != nil {
			return "", berr
		}
		return "", err
	}
	if err != nil {
		return "", err
	}
	auths, err := m.Store.ListAuthenticators(ctx, userID)
	if err != nil {
		return "", oauth.ErrServer.WithCause(err)
	}
	if slices.ContainsFunc(auths, func(a *store.Authenticator) bool { return a.Kind == "recovery-code" }) {
		return "", m.confirmRecovery(ctx, auths, now)
	}
	ts, err := m.Store.GetTenantSettings(ctx)
	if err != nil {
		return "", oauth.ErrServer.WithCause(err)
	}
	if ts.Guardian == nil || !ts.Guardian.Factors["recovery-code"] {
		return "", nil
	}
	code, hash := mfa.NewRecoveryCode()
	rc := &store.Authenticator{ID: "recovery-code|dev_" + ids.Alnum(16), UserID: userID, Kind: "recovery-code", CodeHash: hash,
		Active: true, CreatedAt: now, ConfirmedAt: now}
	if err := m.Store.CreateAuthenticator(ctx, rc); err != nil {
		return "", oauth.ErrServer.WithCause(err)
	}
	return code, nil
}

// confirm activates a pending enrolment.
func confirm(a *store.Authenticator, now time.Time) {
	if !a.Active {
		a.Active, a.ConfirmedAt = true, now
	}
}

// confirmRecovery activates the recovery code shown with a first
// enrolment once that enrolment is confirmed.
func (m *MFA) confirmRecovery(ctx context.Context, auths []*store.Authenticator, now time.Time) error {
	for _, a := range auths {
		if a.Kind == "recovery-code" && !a.Active {
			if _, err := m.Store.UpdateAuthenticator(ctx, a.ID, func(a *store.Authenticator) error { confirm(a, now); return nil }); err != nil {
				return oauth.ErrServer.WithCause(err)
			}
		}
	}
	return nil
}

// verifyOOB checks the binding code of the transaction's latest challenge.
func (m *MFA) verifyOOB(ctx context.Context, tx *store.MFATransaction, oobCode, binding string) error {
	c := tx.Challenge
	if c == nil || subtle.ConstantTimeCompare([]byte(c.OOBCode), []byte(oobCode)) != 1 {
		return oauth.Errorf(http.StatusForbidden, "invalid_grant", "Invalid oob_code.")
	}
	if !m.Now().Before(c.ExpiresAt) {
		return oauth.Errorf(http.StatusForbidden, "expired_token", "The oob_code is expired.")
	}
	if binding == "" {
		return oauth.MissingParam("binding_code")
	}
	hash, err := mfa.HashOneTimeCode(m.CodeKey, tx.ID, binding)
	if err != nil || !mfa.SameHash(hash, c.CodeHash) {
		return errInvalidBinding
	}
	now := m.Now()
	if _, err := m.Store.UpdateAuthenticator(ctx, c.AuthenticatorID, func(a *store.Authenticator) error { confirm(a, now); return nil }); err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	auths, err := m.Store.ListAuthenticators(ctx, tx.UserID)
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	return m.confirmRecovery(ctx, auths, now)
}

// useRecoveryCode consumes the user's recovery code and returns the new
// one that replaces it.
func (m *MFA) useRecoveryCode(ctx context.Context, userID, code string) (string, error) {
	auths, err := m.Store.ListAuthenticators(ctx, userID)
	if err != nil {
		return "", oauth.ErrServer.WithCause(err)
	}
	hash := mfa.HashRecoveryCode(code)
	for _, a := range auths {
		if a.Kind != "recovery-code" || !a.Active {
			continue
		}
		var next string
		_, err := m.Store.UpdateAuthenticator(ctx, a.ID, func(a *store.Authenticator) error {
			if !mfa.SameHash(a.CodeHash, hash) {
				return errReplay
			}
			var h []byte
			next, h = mfa.NewRecoveryCode()
			a.CodeHash = h
			return nil
		})
		switch {
		case errors.Is(err, errReplay):
			continue
		case err != nil:
			return "", oauth.ErrServer.WithCause(err)
		}
		return next, nil
	}
	return "", errInvalidRecovery
}

// Commit records the completed login, with a refresh family when offline
// access was granted, as the password grant would have.
func (x *mfaExchange) Commit(ctx context.Context, auth *oauth.Authorization) (string, error) {
	now := x.g.MFA.Now()
	var family *store.RefreshFamily
	var token string
	if slices.Contains(auth.Scopes, "offline_access") && x.client.AllowsGrant(protocol.GrantRefreshToken) {
		family, token = newFamily(x.client, auth, oauth.ClientIP(ctx), x.attempt.UserAgent, now)
		family.ConnectorData = auth.Session
	}
	if err := x.g.MFA.Store.RecordLogin(ctx, store.Login{UserID: auth.User.UserID, At: now, IP: oauth.ClientIP(ctx), Family: family}); err != nil {
		return "", oauth.ErrServer.WithCause(fmt.Errorf("record login: %w", err))
	}
	return token, nil
}
