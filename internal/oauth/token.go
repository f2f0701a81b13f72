package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// Grant authorizes one grant_type. It supplies only what is its own; the
// Handler runs the shared phases (parsing, client authentication, the
// grant-type check, minting, storing) in a fixed order around it.
type Grant interface {
	// Type is the grant_type value this grant answers.
	Type() string
	// Authorize decides who gets what, or returns an *Error.
	Authorize(ctx context.Context, req *Request, client *store.Client) (*Authorization, error)
}

// Authorization is what a grant decided: the subject, the API and the
// scopes to mint tokens for, and what to do with refresh tokens.
type Authorization struct {
	GrantType string                // the token's gty claim
	Event     string                // log event code on success (sepft, sertft, ...)
	User      *store.User           // nil for client credentials
	API       *store.ResourceServer // nil: a /userinfo-only token
	Scopes    []string              // granted, in response order

	// NewFamily asks for a new refresh-token family (offline_access granted).
	NewFamily bool
	// Family and Presented (the hash of the token shown) carry a
	// refresh-token exchange.
	Family    *store.RefreshFamily
	Presented []byte
	// Login, when set, is the successful password login to record (login
	// count, time, IP, a rehashed password); it is saved together with the
	// new refresh family, in one write, before the response is sent.
	Login *store.Login
}

// TokenResponse is the token endpoint's success body.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// Handler serves POST /oauth/token and POST /oauth/revoke.
type Handler struct {
	Clients  *ClientAuthenticator
	Grants   map[string]Grant
	Minter   *tokens.Minter
	Families store.RefreshFamilies
	Users    store.Users
	Tenants  store.Tenants
	Now      func() time.Time
	Logger   *slog.Logger
}

// NewHandler wires a token endpoint with the given grants.
func NewHandler(ca *ClientAuthenticator, m *tokens.Minter, s store.Store, now func() time.Time, log *slog.Logger, grants ...Grant) *Handler {
	h := &Handler{Clients: ca, Grants: map[string]Grant{}, Minter: m, Families: s, Users: s, Tenants: s, Now: now, Logger: log}
	for _, g := range grants {
		h.Grants[g.Type()] = g
	}
	return h
}

// Token serves POST /oauth/token.
func (h *Handler) Token(w http.ResponseWriter, r *http.Request) {
	resp, err := h.token(r)
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

func (h *Handler) token(r *http.Request) (*TokenResponse, error) {
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
	client, method, err := h.Clients.Authenticate(ctx, req)
	if err != nil {
		return nil, err
	}
	ctx = trustForwardedFor(ctx, r, client, method)
	if !client.AllowsGrant(req.GrantType) {
		return nil, GrantNotAllowed(req.GrantType)
	}
	auth, err := grant.Authorize(ctx, req, client)
	if err != nil {
		return nil, err
	}
	resp, err := h.issue(ctx, r, client, auth)
	if err != nil {
		return nil, err
	}
	h.Logger.LogAttrs(ctx, slog.LevelInfo, "token issued", slog.String("event", auth.Event),
		slog.String("client_id", client.ClientID), slog.String("grant_type", req.GrantType))
	return resp, nil
}

// trustForwardedFor makes the auth0-forwarded-for address the user's IP,
// only for a client marked trusted that proved itself with its secret: a
// public client could otherwise pick the IP that attack protection sees.
func trustForwardedFor(ctx context.Context, r *http.Request, client *store.Client, method string) context.Context {
	fwd := r.Header.Get("Auth0-Forwarded-For")
	if fwd == "" || !client.IsTokenEndpointIPHeaderTrusted || (method != MethodSecretPost && method != MethodSecretBasic) {
		return ctx
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(fwd))
	if err != nil {
		return ctx
	}
	return WithClientIP(ctx, ip.String())
}

// issue mints the tokens of auth and commits what must survive (refresh
// families, the grant's own changes) before returning them.
func (h *Handler) issue(ctx context.Context, r *http.Request, client *store.Client, auth *Authorization) (*TokenResponse, error) {
	now := h.Now()
	subject := client.ClientID + "@clients"
	if auth.User != nil {
		subject = auth.User.UserID
	}
	// The ID token is signed on another core while this one signs the
	// access token: two RSA signatures are most of a grant's work, and a
	// lightly loaded server answers in one signature's time instead of two.
	var idToken string
	idErr := make(chan error, 1)
	if auth.User != nil && slices.Contains(auth.Scopes, "openid") {
		go func() {
			var err error
			idToken, err = h.Minter.IDToken(tokens.IDToken{Client: client, User: auth.User, Scopes: auth.Scopes, IssuedAt: now})
			idErr <- err
		}()
	} else {
		idErr <- nil
	}
	at, lifetime, err := h.Minter.AccessToken(tokens.AccessToken{
		Subject: subject, ClientID: client.ClientID, GrantType: auth.GrantType,
		API: auth.API, Scopes: auth.Scopes, IssuedAt: now,
	})
	if ierr := <-idErr; err == nil {
		err = ierr
	}
	if err != nil {
		return nil, ErrServer.WithCause(err)
	}
	resp := &TokenResponse{AccessToken: at, IDToken: idToken, ExpiresIn: lifetime, TokenType: "Bearer", Scope: strings.Join(auth.Scopes, " ")}
	var family *store.RefreshFamily
	if auth.NewFamily {
		family, resp.RefreshToken = h.newFamily(ctx, r, client, auth, now)
	}
	switch {
	case auth.Login != nil:
		auth.Login.Family = family
		if err := h.Users.RecordLogin(ctx, *auth.Login); err != nil {
			return nil, ErrServer.WithCause(fmt.Errorf("record login: %w", err))
		}
	case family != nil:
		if err := h.Families.CreateRefreshFamily(ctx, family); err != nil {
			return nil, ErrServer.WithCause(fmt.Errorf("create refresh family: %w", err))
		}
	case auth.Family != nil:
		if resp.RefreshToken, err = h.exchange(ctx, client, auth, now); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// newFamily starts a refresh-token family with the client's current
// refresh_token settings and returns it, unsaved, with its first token.
func (h *Handler) newFamily(ctx context.Context, r *http.Request, client *store.Client, auth *Authorization, now time.Time) (*store.RefreshFamily, string) {
	rt := client.RefreshToken
	f := &store.RefreshFamily{
		ID:              tokens.NewFamilyID(),
		ClientID:        client.ClientID,
		UserID:          auth.User.UserID,
		Scope:           auth.Scopes,
		Rotating:        rt.RotationType == "rotating",
		CreatedAt:       now,
		LastExchangedAt: now,
		InitialIP:       ClientIP(ctx),
		LastIP:          ClientIP(ctx),
		UserAgent:       truncate(r.UserAgent()),
	}
	if auth.API != nil {
		f.Audience = auth.API.Identifier
	}
	if expiring(rt) && !rt.InfiniteTokenLifetime && rt.TokenLifetime > 0 {
		f.ExpiresAt = now.Add(time.Duration(rt.TokenLifetime) * time.Second)
	}
	setIdle(f, rt, now)
	token, hash := tokens.NewRefreshToken(f.ID)
	f.Current = [][]byte{hash}
	return f, token
}

// exchange records a refresh-token exchange: rotation hands out a new token
// of the family; a non-rotating family only slides its idle expiry. The
// family the grant read is written back by compare-and-swap, so an exchange
// costs one write; when another exchange of the same family got in first,
// the token is judged again against the newer family, so of two concurrent
// exchanges of one token only those the rules allow succeed.
func (h *Handler) exchange(ctx context.Context, client *store.Client, auth *Authorization, now time.Time) (string, error) {
	rt := client.RefreshToken
	f := auth.Family
	for {
		v := tokens.Judge(f, auth.Presented, now, leeway(rt))
		switch v {
		case tokens.Refused:
			return "", ErrInvalidRefresh
		case tokens.Reused:
			return "", RevokeFamily(ctx, h.Families, h.Logger, f.ID)
		}
		var token string
		if rt.RotationType == "rotating" || f.Rotating {
			var next []byte
			token, next = tokens.NewRefreshToken(f.ID)
			tokens.Rotate(f, v, auth.Presented, next, now)
			// Rotation switched off since this family began: its tokens
			// stop rotating from now on.
			f.Rotating = rt.RotationType == "rotating"
		}
		f.LastExchangedAt = now
		f.LastIP = ClientIP(ctx)
		setIdle(f, rt, now)
		err := h.Families.ReplaceRefreshFamily(ctx, f)
		switch {
		case err == nil:
			return token, nil
		case errors.Is(err, store.ErrNotFound):
			return "", ErrInvalidRefresh.WithCause(errors.New("family revoked meanwhile"))
		case !errors.Is(err, store.ErrConflict):
			return "", ErrServer.WithCause(err)
		}
		if f, err = h.Families.GetRefreshFamily(ctx, f.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", ErrInvalidRefresh
			}
			return "", ErrServer.WithCause(err)
		}
	}
}

// RevokeFamily deletes a family whose rotated token was used again (RFC
// 9700 §4.14.2: the whole family, newest token included) and returns the
// invalid_grant error to answer with.
func RevokeFamily(ctx context.Context, families store.RefreshFamilies, log *slog.Logger, id string) error {
	if err := families.DeleteRefreshFamily(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return ErrServer.WithCause(err)
	}
	log.LogAttrs(ctx, slog.LevelWarn, "refresh token reuse: family revoked", slog.String("event", "ferrt"), slog.String("family", id))
	return ErrInvalidRefresh.WithCause(errors.New("reuse of a rotated refresh token"))
}

func expiring(rt store.RefreshTokenSettings) bool {
	return rt.ExpirationType == "expiring" || rt.RotationType == "rotating"
}

func setIdle(f *store.RefreshFamily, rt store.RefreshTokenSettings, now time.Time) {
	if expiring(rt) && !rt.InfiniteIdleTokenLifetime && rt.IdleTokenLifetime > 0 {
		f.IdleExpiresAt = now.Add(time.Duration(rt.IdleTokenLifetime) * time.Second)
	} else {
		f.IdleExpiresAt = time.Time{}
	}
}

func leeway(rt store.RefreshTokenSettings) time.Duration {
	return time.Duration(rt.Leeway) * time.Second
}

// truncate bounds attacker-controlled strings echoed in errors and logs.
func truncate(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
