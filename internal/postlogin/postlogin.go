// Package postlogin fills the token pipeline's post-login phase with the
// tenant's own JavaScript: its enabled rules in order, then the Actions
// bound to the post-login trigger in binding order (each at its deployed
// version), run in the scripts sandbox. What the scripts decide shapes the
// Authorization (custom claims for both tokens, the access token's scope,
// a demand for MFA) or ends the login with Auth0's answer; the metadata
// they set is saved to the user, even on a denial.
//
// Rules and bound Actions are read through the configuration cache, and
// each script version is compiled once per node (the sandbox keys its
// cache by the source): a deployment on any node reaches every node within
// one poll of the configuration version.
package postlogin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/scripts"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// Store is what the phase reads and writes.
type Store interface {
	store.Rules
	BoundActions(ctx context.Context, triggerID string) ([]*store.BoundAction, error)
	UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (*store.User, error)
	GetTenantSettings(ctx context.Context) (*store.TenantSettings, error)
}

// Phase implements oauth.PostLogin.
type Phase struct {
	Store   Store
	Sandbox *scripts.Sandbox
	// Tenant names the tenant (context.tenant); Domain is auth0.domain.
	Tenant string
	Domain string
	// AllowedHosts are the hosts rules and Actions may reach over HTTP
	// (--script-allowed-hosts), beside the tenant setting's.
	AllowedHosts []string
	Now          func() time.Time
	Logger       *slog.Logger
}

var _ oauth.PostLogin = (*Phase)(nil)

// Run implements oauth.PostLogin.
func (p *Phase) Run(ctx context.Context, a *oauth.Authorization) error {
	stored, err := p.Store.ListRules(ctx)
	if err != nil {
		return oauth.ErrServer.WithCause(fmt.Errorf("post-login: list rules: %w", err))
	}
	var rules []scripts.Script
	for _, r := range stored {
		if r.Enabled && (r.Stage == "" || r.Stage == "login_success") {
			rules = append(rules, scripts.Script{ID: r.ID, Name: r.Name, Source: r.Script})
		}
	}
	bound, err := p.Store.BoundActions(ctx, postLoginTrigger)
	if err != nil {
		return oauth.ErrServer.WithCause(fmt.Errorf("post-login: bound actions: %w", err))
	}
	if len(rules) == 0 && len(bound) == 0 {
		return nil
	}
	var actions []scripts.Action
	for _, b := range bound {
		secrets := make(map[string]string, len(b.Version.Secrets))
		for _, s := range b.Version.Secrets {
			secrets[s.Name] = s.Value
		}
		actions = append(actions, scripts.Action{Script: scripts.Script{ID: b.Binding.ActionID, Name: b.Name, Source: b.Version.Code}, Secrets: secrets})
	}
	config := map[string]string{}
	if len(rules) > 0 {
		configs, err := p.Store.ListRulesConfigs(ctx)
		if err != nil {
			return oauth.ErrServer.WithCause(fmt.Errorf("post-login: list rules configs: %w", err))
		}
		for _, c := range configs {
			config[c.Key] = c.Value
		}
	}

	settings, err := p.Store.GetTenantSettings(ctx)
	if err != nil {
		return oauth.ErrServer.WithCause(fmt.Errorf("post-login: tenant settings: %w", err))
	}
	hosts := append(slices.Clip(p.AllowedHosts), tenant.ScriptAllowedHosts(settings)...)

	req := oauth.RequestInfoFrom(ctx)
	u := user(a.User)
	if a.GrantType == protocol.GTYPassword {
		// Auth0 counts the login before the scripts run; the store counts
		// it when the login commits.
		u.LoginsCount++
	}
	in := scripts.PostLoginInput{
		Rules:       rules,
		RulesConfig: config,
		Actions:     actions,
		Tenant:      p.Tenant,
		Domain:      p.Domain,
		User:        u,
		Client:      scripts.Client{ID: a.Client.ClientID, Name: a.Client.Name, Metadata: a.Client.ClientMetadata},
		Protocol:    protocolOf(a.GrantType),
		Request: scripts.Request{IP: oauth.ClientIP(ctx), Method: http.MethodPost, UserAgent: req.UserAgent,
			Hostname: req.Hostname, Language: req.Language, Query: req.Query, Body: req.Body},
		TransactionID:  ids.Alnum(24),
		Scope:          a.Scopes,
		RequestedScope: a.Scopes,
		AuthTime:       p.now(),
		AllowedHosts:   hosts,
	}
	if a.Connection != nil {
		in.Connection = scripts.Connection{ID: a.Connection.ID, Name: a.Connection.Name, Strategy: a.Connection.Strategy, Metadata: a.Connection.Metadata}
	}
	if a.API != nil {
		in.Audience = a.API.Identifier
	}
	res, runErr := p.Sandbox.PostLogin(ctx, in)

	// Metadata the scripts set is saved whatever they decided after.
	if err := p.saveMetadata(ctx, a.User.UserID, res); err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	if runErr != nil {
		return p.answer(ctx, a, runErr)
	}
	if a.AccessClaims == nil {
		a.AccessClaims = map[string]any{}
	}
	if a.IDClaims == nil {
		a.IDClaims = map[string]any{}
	}
	maps.Copy(a.AccessClaims, res.AccessTokenClaims)
	maps.Copy(a.IDClaims, res.IDTokenClaims)
	if res.ScopeChanged {
		a.TokenScopes = res.Scope
	}
	if res.Multifactor != nil {
		// context.multifactor or api.multifactor.enable: the MFA gate asks
		// for a second factor whatever the tenant's policy.
		a.RequireMFA = true
	}
	if len(res.DroppedClaims) > 0 {
		p.log().InfoContext(ctx, "post-login: custom claims dropped", "claims", res.DroppedClaims)
	}
	return nil
}

// answer maps a script failure to Auth0's answer: a denial or a script's
// own error is 403 access_denied with its message; a redirect cannot
// happen here; anything else (time, memory, a broken script) is a server
// error, explained in the log only.
func (p *Phase) answer(ctx context.Context, a *oauth.Authorization, err error) error {
	var f *scripts.Failure
	if !errors.As(err, &f) {
		return oauth.ErrServer.WithCause(err)
	}
	switch f.Kind {
	case scripts.KindDenied, scripts.KindError:
		return a.Deny(f.Message)
	case scripts.KindRedirect:
		return a.Deny("You cannot use redirect rules with the Resource Owner Password grant")
	case scripts.KindCanceled:
		return ctx.Err()
	}
	p.log().WarnContext(ctx, "post-login: script failed", "script", f.Script, "kind", f.Kind.String(), "error_name", f.Name, "message", f.Message)
	return oauth.ErrServer.WithCause(err)
}

func (p *Phase) saveMetadata(ctx context.Context, userID string, res scripts.PostLoginResult) error {
	if res.AppMetadata == nil && res.UserMetadata == nil {
		return nil
	}
	_, err := p.Store.UpdateUser(ctx, userID, func(u *store.User) error {
		u.AppMetadata = merge(u.AppMetadata, res.AppMetadata)
		u.UserMetadata = merge(u.UserMetadata, res.UserMetadata)
		u.UpdatedAt = p.now()
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("post-login: save metadata: %w", err)
	}
	return nil
}

// merge applies a top-level patch as Auth0's PATCH does: null removes.
func merge(into, patch map[string]any) map[string]any {
	if patch == nil {
		return into
	}
	if into == nil {
		into = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(into, k)
		} else {
			into[k] = v
		}
	}
	return into
}

// postLoginTrigger is the trigger whose bound Actions run here.
const postLoginTrigger = "post-login"

func protocolOf(grantType string) string {
	if grantType == protocol.GrantRefreshToken {
		return scripts.ProtocolRefreshToken
	}
	return scripts.ProtocolPassword
}

func user(u *store.User) scripts.User {
	out := scripts.User{
		UserID: u.UserID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		PhoneNumber: u.PhoneNumber, PhoneVerified: u.PhoneVerified, Name: u.Name, Nickname: u.Nickname,
		GivenName: u.GivenName, FamilyName: u.FamilyName, Picture: u.Picture,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastIP: u.LastIP, LoginsCount: int64(u.LoginsCount),
		Blocked: u.Blocked, AppMetadata: maps.Clone(u.AppMetadata), UserMetadata: maps.Clone(u.UserMetadata),
		Groups: slices.Clone(u.Groups),
	}
	if u.LastLogin != nil {
		out.LastLogin = *u.LastLogin
	}
	if u.LastPasswordReset != nil {
		out.LastPasswordReset = *u.LastPasswordReset
	}
	for _, id := range u.Identities {
		out.Identities = append(out.Identities, scripts.Identity{Provider: id.Provider, UserID: id.UserID, Connection: id.Connection, IsSocial: id.IsSocial})
	}
	return out
}

func (p *Phase) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

func (p *Phase) log() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}
