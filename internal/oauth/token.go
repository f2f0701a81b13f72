package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// TokenResponse is the token endpoint's success body.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
	// RecoveryCode replaces the recovery code an MFA login used.
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// Hooks are the phases a feature fills in. A nil field is the no-op
// default (events: one log line per event).
type Hooks struct {
	Guard     Guard
	PostLogin PostLogin
	MFA       MFAGate
	Events    events.Emitter
}

// Handler serves POST /oauth/token (the dispatcher of the pipeline the
// package doc draws) and POST /oauth/revoke.
type Handler struct {
	// Observe, when set, is told of every answered token request: the
	// grant type (one this handler serves, else "unsupported"), the
	// status and how long it took. Prometheus's per-grant series use it.
	Observe func(grantType string, status int, d time.Duration)

	Clients  *ClientAuthenticator
	Grants   map[string]Grant
	Minter   *tokens.Minter
	Families store.RefreshFamilies
	Tenants  store.Tenants
	Now      func() time.Time
	Logger   *slog.Logger
	Hooks    Hooks
}

// Stores is what the Handler itself reads and writes: revocation deletes
// refresh families under the tenant's revocation flag. Grants bring their
// own stores.
type Stores interface {
	store.RefreshFamilies
	store.Tenants
}

// NewHandler wires a token endpoint with the given hooks and grants.
func NewHandler(ca *ClientAuthenticator, m *tokens.Minter, s Stores, now func() time.Time, log *slog.Logger, hooks Hooks, grants ...Grant) *Handler {
	if hooks.Guard == nil {
		hooks.Guard = noHook{}
	}
	if hooks.PostLogin == nil {
		hooks.PostLogin = noHook{}
	}
	if hooks.MFA == nil {
		hooks.MFA = noGate{}
	}
	if hooks.Events == nil {
		hooks.Events = events.Log{Logger: log}
	}
	h := &Handler{Clients: ca, Grants: map[string]Grant{}, Minter: m, Families: s, Tenants: s, Now: now, Logger: log, Hooks: hooks}
	for _, g := range grants {
		h.Grants[g.Type()] = g
	}
	return h
}

// Token serves POST /oauth/token.
func (h *Handler) Token(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	grantType := "unsupported"
	resp, err := h.token(r, &grantType)
	if h.Observe != nil {
		status := http.StatusOK
		if err != nil {
			status = AsError(err).Status
		}
		defer func() { h.Observe(grantType, status, time.Since(start)) }()
	}
	if err != nil {
		e := AsError(err)
		level := slog.LevelInfo
		if e.Status >= 500 {
			level = slog.LevelError
		}
		h.Logger.LogAttrs(r.Context(), level, "token request refused",
			slog.String("error", e.Code), slog.Int("status", e.Status), slog.Any("cause", e.cause))
		WriteError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// token runs the parse and client phases, then the grant's road, and
// logs the outcome as the grant's events.
func (h *Handler) token(r *http.Request, grantType *string) (*TokenResponse, error) {
	ctx := r.Context()
	req, perr := ParseRequest(r)
	if perr != nil {
		return nil, perr
	}
	if req.GrantType == "" {
		return nil, MissingParam("grant_type")
	}
	grant, ok := h.Grants[req.GrantType]
	if !ok {
		return nil, Errorf(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: %s", truncate(req.GrantType))
	}
	*grantType = req.GrantType // bounded: only the grants served get through
	client, method, err := h.Clients.Authenticate(ctx, req)
	if err != nil {
		// Logged under the client id the caller claimed (as Auth0 does),
		// never with what it presented as proof.
		claimed := req.ClientID
		if claimed == "" && req.Basic != nil {
			claimed = req.Basic.ClientID
		}
		h.emit(ctx, &trip{grant: grant, req: req, client: &store.Client{ClientID: truncate(claimed)}, userAgent: truncate(r.UserAgent())}, err)
		return nil, err
	}
	ctx = trustForwardedFor(ctx, r, client, method)
	ctx = WithRequestInfo(ctx, requestInfo(r, req))
	t := &trip{grant: grant, req: req, client: client, userAgent: truncate(r.UserAgent())}
	resp, err := h.run(ctx, t)
	h.emit(ctx, t, err)
	return resp, err
}

// trip is one token request on its way through the phases: what the
// events phase reports, whichever phase it ended in.
type trip struct {
	grant     Grant
	req       *Request
	client    *store.Client
	userAgent string
	attempt   *Attempt       // set once the grant's checks pass
	auth      *Authorization // set once the subject is authenticated
}

// run calls the phases after client authentication, in their fixed order.
func (h *Handler) run(ctx context.Context, t *trip) (*TokenResponse, error) {
	if !t.client.AllowsGrant(t.req.GrantType) {
		return nil, GrantNotAllowed(t.req.GrantType)
	}
	x, err := t.grant.Check(ctx, t.req, t.client)
	if err != nil {
		return nil, err
	}
	t.attempt = x.Attempt()
	t.attempt.IP, t.attempt.UserAgent = ClientIP(ctx), t.userAgent
	pass, err := h.Hooks.Guard.Check(ctx, t.attempt)
	if err != nil {
		return nil, err
	}
	resp, err := h.authenticated(ctx, t, x, pass)
	pass.Done(ctx, t.attempt, err)
	return resp, err
}

// authenticated runs the phases from the subject on, for an attempt the
// guards let through; the guard's pass hears the subject's outcome.
func (h *Handler) authenticated(ctx context.Context, t *trip, x Exchange, pass Pass) (*TokenResponse, error) {
	auth, err := x.Authenticate(ctx)
	if err = pass.Authenticated(ctx, t.attempt, auth, err); err != nil {
		return nil, err
	}
	t.auth = auth
	if t.auth.User != nil {
		// Only a user's login runs rules and Actions and may need MFA;
		// Auth0 runs neither for client credentials.
		t.auth.AccessClaims, t.auth.IDClaims = map[string]any{}, map[string]any{}
		if err := h.Hooks.PostLogin.Run(ctx, t.auth); err != nil {
			return nil, err
		}
		if err := h.Hooks.MFA.Check(ctx, t.auth); err != nil {
			return nil, err
		}
	}
	if len(t.auth.AMR) > 0 && t.auth.User != nil {
		t.auth.AccessClaims["amr"], t.auth.IDClaims["amr"] = t.auth.AMR, t.auth.AMR
	}
	resp, d, err := h.prepare(t.auth)
	if err != nil {
		return nil, err
	}
	// The signatures are made while the commit waits on the disk (an fsync
	// on SQLite, a round trip on PostgreSQL), so a grant takes the longer of
	// the two, not their sum, and a core has signing to do while the writes
	// of every request in flight wait together. Everything that can refuse
	// a token was settled in prepare: after a durable commit only a broken
	// random source could stop its signature.
	access, id := startSigning(&d.access), startSigning(d.id)
	if resp.RefreshToken, err = x.Commit(ctx, t.auth); err != nil {
		return nil, err
	}
	if err := errors.Join(access.wait(&resp.AccessToken), id.wait(&resp.IDToken)); err != nil {
		return nil, ErrServer.WithCause(err)
	}
	resp.RecoveryCode = t.auth.RecoveryCode
	return resp, nil
}

// drafts are the tokens of one response, ready to sign.
type drafts struct {
	access tokens.Unsigned
	id     *tokens.Unsigned // nil: no ID token
}

// signing is one token's signature in progress; nil signs nothing.
type signing chan signature

type signature struct {
	token string
	err   error
}

// startSigning signs u on a goroutine of its own.
func startSigning(u *tokens.Unsigned) signing {
	if u == nil {
		return nil
	}
	s := make(signing, 1)
	go func() {
		tok, err := u.Sign()
		s <- signature{tok, err}
	}()
	return s
}

// wait stores the signed token in dst once it is made.
func (s signing) wait(dst *string) error {
	if s == nil {
		return nil
	}
	sig := <-s
	*dst = sig.token
	return sig.err
}

// trustForwardedFor makes the auth0-forwarded-for address the user's IP,
// only for a client marked trusted that proved itself with its secret: a
// public client could otherwise pick the IP that attack protection sees.
func trustForwardedFor(ctx context.Context, r *http.Request, client *store.Client, method string) context.Context {
	fwd := r.Header.Get("Auth0-Forwarded-For")
	if fwd == "" || !client.IsTokenEndpointIPHeaderTrusted || (method != protocol.MethodSecretPost && method != protocol.MethodSecretBasic) {
		return ctx
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(fwd))
	if err != nil {
		return ctx
	}
	return WithClientIP(ctx, ip.String())
}

// prepare builds the response and drafts its tokens: the access token and,
// for a user who was granted openid, the ID token. The refresh token is the
// grant's: its commit draws it.
func (h *Handler) prepare(auth *Authorization) (*TokenResponse, drafts, error) {
	now := h.Now()
	subject := auth.Client.ClientID + "@clients"
	if auth.User != nil {
		subject = auth.User.UserID
	}
	tokenScopes := auth.Scopes
	if auth.TokenScopes != nil {
		tokenScopes = auth.TokenScopes
	}
	var d drafts
	var lifetime int
	var err error
	d.access, lifetime, err = h.Minter.PrepareAccessToken(tokens.AccessToken{
		Subject: subject, ClientID: auth.Client.ClientID, GrantType: auth.GrantType,
		API: auth.API, Scopes: tokenScopes, Extra: auth.AccessClaims, IssuedAt: now,
	})
	if err != nil {
		return nil, d, ErrServer.WithCause(err)
	}
	if auth.User != nil && slices.Contains(auth.Scopes, "openid") {
		id, err := h.Minter.PrepareIDToken(tokens.IDToken{Client: auth.Client, User: auth.User, Scopes: auth.Scopes, Extra: auth.IDClaims, IssuedAt: now})
		if err != nil {
			return nil, d, ErrServer.WithCause(err)
		}
		d.id = &id
	}
	return &TokenResponse{ExpiresIn: lifetime, TokenType: "Bearer", Scope: strings.Join(tokenScopes, " ")}, d, nil
}

// emit is the events phase: the grant's success event (after s for a
// completed login), or its failure event, with what the request got to.
func (h *Handler) emit(ctx context.Context, t *trip, err error) {
	types := t.grant.Events()
	e := events.Event{
		Date: h.Now(), ClientID: t.client.ClientID, ClientName: t.client.Name,
		IP: ClientIP(ctx), UserAgent: t.userAgent,
		Details: map[string]any{"grant_type": t.req.GrantType},
	}
	if a := t.attempt; a != nil {
		e.UserName, e.UserID = a.Username, a.UserID
		setConnection(&e, a.Connection)
	}
	if a := t.auth; a != nil {
		if a.User != nil {
			e.UserID = a.User.UserID
		}
		if a.API != nil {
			e.Audience = a.API.Identifier
		}
		e.Scope = strings.Join(a.Scopes, " ")
		setConnection(&e, a.Connection)
	}
	if err == nil {
		if types.Login {
			e.Type = events.SuccessLogin
			h.Hooks.Events.Emit(ctx, e)
		}
		if types.Success != "" { // a grant Auth0 logs only as s
			e.Type = types.Success
			h.Hooks.Events.Emit(ctx, e)
		}
		return
	}
	oe := AsError(err)
	e.Type = types.Failure
	if oe.event != "" {
		e.Type = oe.event
	}
	e.Description = oe.Description
	e.Details["error"] = oe.Code
	if e.UserID == "" {
		e.UserID = oe.user
	}
	h.Hooks.Events.Emit(ctx, e)
}

func setConnection(e *events.Event, c *store.Connection) {
	if c != nil {
		e.Connection, e.ConnectionID, e.Strategy = c.Name, c.ID, c.Strategy
	}
}

// truncate bounds attacker-controlled strings echoed in errors and logs.
func truncate(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// requestInfo is the request as scripts see it: no credentials in the
// body, text already bounded by the parser.
func requestInfo(r *http.Request, req *Request) *RequestInfo {
	info := &RequestInfo{UserAgent: truncate(r.UserAgent()), Hostname: r.Host, Query: map[string]string{}, Body: map[string]string{}}
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		info.Hostname = h
	}
	if lang := r.Header.Get("Accept-Language"); lang != "" {
		info.Language = truncate(strings.TrimSpace(strings.SplitN(strings.SplitN(lang, ",", 2)[0], ";", 2)[0]))
	}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			info.Query[k] = truncate(v[0])
		}
	}
	for k, v := range req.Params {
		if !hiddenParams[k] {
			info.Body[k] = v
		}
	}
	return info
}
