package scripts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// User is the user logging in, as rules see `user` and Actions `event.user`.
type User struct {
	UserID            string
	Email             string
	EmailVerified     bool
	Username          string
	PhoneNumber       string
	PhoneVerified     bool
	Name              string
	Nickname          string
	GivenName         string
	FamilyName        string
	Picture           string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastLogin         time.Time
	LastIP            string
	LastPasswordReset time.Time
	LoginsCount       int64
	Blocked           bool
	AppMetadata       map[string]any
	UserMetadata      map[string]any
	Identities        []Identity
	Multifactor       []string
	// Groups are the directory groups of an AD/LDAP user (user.groups).
	Groups []string
}

// Identity is one entry of user.identities.
type Identity struct {
	Provider   string
	UserID     string
	Connection string
	IsSocial   bool
}

// Client is the application asking for tokens.
type Client struct {
	ID       string
	Name     string
	Metadata map[string]string
}

// Connection is the directory that authenticated the user.
type Connection struct {
	ID       string
	Name     string
	Strategy string
	Metadata map[string]string
	// Options are the connection's options as rules see
	// context.connectionOptions (secrets already removed by the caller).
	Options map[string]any
}

// Request describes the token request, already sanitised by the caller
// (no password, client_secret or client_assertion in Body).
type Request struct {
	IP        string
	UserAgent string
	Hostname  string
	Language  string
	Method    string
	Query     map[string]string
	Body      map[string]string
}

// Protocols as rules see context.protocol and Actions
// event.transaction.protocol.
const (
	ProtocolPassword     = "oauth2-password"
	ProtocolRefreshToken = "oauth2-refresh-token"
)

// PostLoginInput is one login's post-login phase: the tenant's enabled
// rules in order, then the Actions bound to post-login in order.
type PostLoginInput struct {
	Rules []Script
	// RulesConfig is /api/v2/rules-configs, exposed to rules as
	// `configuration`.
	RulesConfig map[string]string
	Actions     []Action

	Tenant     string
	Domain     string
	User       User
	Client     Client
	Connection Connection
	Protocol   string
	Request    Request
	// TransactionID identifies the login (event.transaction.id).
	TransactionID string
	// Audience is the requested API identifier, if any.
	Audience string
	// Scope is the scope granted so far; RequestedScope what the client asked.
	Scope          []string
	RequestedScope []string
	Roles          []string
	// AuthTime is when the user proved their password (context.authentication).
	AuthTime time.Time
	// RestrictToNamespacedClaims: the audience is one of gatehouse's own APIs
	// (/api/v2/, /mfa/), whose access tokens take no non-namespaced claims.
	RestrictToNamespacedClaims bool
	// AllowedHosts bounds the scripts' outbound HTTP (see hostAllowed).
	AllowedHosts []string
}

// Action is one deployed Action version bound to post-login.
type Action struct {
	Script
	Secrets map[string]string
}

// Multifactor is what a script asked for: rules' context.multifactor or
// api.multifactor.enable.
type Multifactor struct {
	Provider             string
	AllowRememberBrowser bool
}

// PostLoginResult is what the scripts decided. It is returned with the
// error too: metadata updates requested before a denial or failure still
// happen, as in Auth0.
type PostLoginResult struct {
	// AccessTokenClaims and IDTokenClaims are the custom claims that passed
	// Auth0's restrictions.
	AccessTokenClaims map[string]any
	IDTokenClaims     map[string]any
	// DroppedClaims names the claims refused (restricted names, reserved
	// namespaces), for the log; Auth0 drops them silently.
	DroppedClaims []string
	// Scope is the granted scope after the scripts; ScopeChanged says a
	// script replaced or edited it.
	Scope        []string
	ScopeChanged bool
	// Multifactor is non-nil when a script demands MFA.
	Multifactor *Multifactor
	// AppMetadata and UserMetadata are top-level merge patches for the user
	// (a nil value removes the key); nil when no script asked.
	AppMetadata  map[string]any
	UserMetadata map[string]any
	// RulesExecuted lists the ids of the rules that ran to completion.
	RulesExecuted []string
	// Logs holds what the scripts wrote with console.log (bounded).
	Logs []string
}

// PostLogin runs in's rules, then its Actions, within one run: one
// runtime, one time limit. Failures are *Failure: KindDenied carries the
// message for access_denied.
func (s *Sandbox) PostLogin(ctx context.Context, in PostLoginInput) (PostLoginResult, error) {
	res := PostLoginResult{Scope: slices.Clone(in.Scope)}
	if len(in.Rules) == 0 && len(in.Actions) == 0 {
		return res, nil
	}
	rules := make([]*compiled, len(in.Rules))
	for i, sc := range in.Rules {
		rules[i] = s.compile(shapeFunction, sc.Source)
	}
	actions := make([]*compiled, len(in.Actions))
	for i, a := range in.Actions {
		actions[i] = s.compile(shapeModule, a.Source)
	}

	r, err := s.begin(ctx, in.AllowedHosts)
	if err != nil {
		return res, err
	}
	defer r.end()
	err = r.postLogin(in, rules, actions, &res)
	res.Logs = r.logs
	if err != nil {
		s.logFailure(err)
	}
	return res, err
}

func (s *Sandbox) logFailure(err error) {
	if f, ok := err.(*Failure); ok && f.Kind != KindDenied {
		s.log.Warn("scripts: script failed", "script", f.Script, "kind", f.Kind.String(), "error_name", f.Name, "message", f.Message)
	}
}

func (r *run) postLogin(in PostLoginInput, rules, actions []*compiled, res *PostLoginResult) error {
	rt := r.v.rt
	newPostLogin := r.v.libFunc("newPostLogin")
	var pl *goja.Object
	var err error
	if err := r.guard(func() {
		v, e := newPostLogin(goja.Undefined(), rt.ToValue(in.User.UserID))
		if e != nil {
			panic(e)
		}
		pl = v.ToObject(rt)
	}); err != nil {
		return err
	}
	state := pl.Get("state")
	var ruleOut goja.Value

	// runErr is the denial or failure that stopped the scripts; what they
	// asked for until then is still collected.
	runErr := func() error {
		if len(rules) > 0 {
			user := toJS(rt, userForRules(in.User))
			ctxObj := toJS(rt, contextForRules(in))
			_ = rt.Set("configuration", toJS(rt, nonNilStrings(in.RulesConfig)))
			_ = rt.Set("auth0", toJS(rt, map[string]any{"domain": in.Domain}))
			auth0 := rt.Get("auth0").ToObject(rt)
			_ = auth0.Set("users", pl.Get("auth0").ToObject(rt).Get("users"))
			executed := state.ToObject(rt).Get("rulesExecuted").ToObject(rt)
			for i, c := range rules {
				r.script = in.Rules[i].label()
				if user, ctxObj, err = r.runRule(c, user, ctxObj); err != nil {
					return err
				}
				if err := r.guard(func() {
					push, _ := goja.AssertFunction(executed.Get("push"))
					if _, e := push(executed, rt.ToValue(in.Rules[i].ID)); e != nil {
						panic(e)
					}
				}); err != nil {
					return err
				}
				res.RulesExecuted = append(res.RulesExecuted, in.Rules[i].ID)
			}
			r.script = ""
			collect, _ := goja.AssertFunction(pl.Get("collectRules"))
			if err := r.guard(func() {
				v, e := collect(goja.Undefined(), ctxObj)
				if e != nil {
					panic(e)
				}
				ruleOut = v
			}); err != nil {
				return err
			}
		}
		if len(actions) > 0 {
			event := toJS(rt, eventForActions(in)).ToObject(rt)
			api := pl.Get("api")
			for i, c := range actions {
				r.script = in.Actions[i].label()
				_ = event.Set("secrets", toJS(rt, nonNilStrings(in.Actions[i].Secrets)))
				if err := r.runAction(c, event, api); err != nil {
					return err
				}
				var denied goja.Value
				if err := r.guard(func() { denied = state.ToObject(rt).Get("denied") }); err != nil {
					return err
				}
				if denied != nil && !goja.IsUndefined(denied) {
					return &Failure{Kind: KindDenied, Script: r.script, Message: truncate(denied.String(), maxMessageBytes)}
				}
			}
			r.script = ""
		}
		return nil
	}()
	if f, ok := runErr.(*Failure); ok && f.Kind != KindDenied && f.Kind != KindError {
		// Timeouts and limits leave nothing worth reading.
		return runErr
	}
	if err := r.collect(in, state, ruleOut, res); err != nil {
		return err
	}
	return runErr
}

// runRule calls one rule and waits for its callback.
func (r *run) runRule(c *compiled, user, ctxObj goja.Value) (goja.Value, goja.Value, error) {
	fn, err := r.v.entry(r, c, shapeFunction)
	if err != nil {
		return nil, nil, err
	}
	called := false
	var cbErr, cbUser, cbCtx goja.Value
	callback := r.v.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		if !called {
			called = true
			cbErr, cbUser, cbCtx = call.Argument(0), call.Argument(1), call.Argument(2)
		}
		return goja.Undefined()
	})
	if _, err := r.call(fn, user, ctxObj, callback); err != nil {
		return nil, nil, err
	}
	if err := r.wait(func() bool { return called }); err != nil {
		return nil, nil, err
	}
	if !goja.IsUndefined(cbErr) && !goja.IsNull(cbErr) {
		return nil, nil, r.errorValue(cbErr)
	}
	if _, ok := cbUser.(*goja.Object); ok {
		user = cbUser
	}
	if _, ok := cbCtx.(*goja.Object); ok {
		ctxObj = cbCtx
	}
	return user, ctxObj, nil
}

// runAction calls one Action's onExecutePostLogin and waits for it.
func (r *run) runAction(c *compiled, event *goja.Object, api goja.Value) error {
	exports, err := r.v.entry(r, c, shapeModule)
	if err != nil {
		return err
	}
	var fn goja.Value
	if err := r.guard(func() { fn = exports.ToObject(r.v.rt).Get("onExecutePostLogin") }); err != nil {
		return err
	}
	if _, ok := goja.AssertFunction(fn); !ok {
		return &Failure{Kind: KindCompile, Script: r.script, Message: "the Action does not export onExecutePostLogin"}
	}
	ret, err := r.call(fn, event, api)
	if err != nil {
		return err
	}
	_, err = r.settle(ret)
	return err
}

// collect exports what the scripts asked for and applies Auth0's rules.
func (r *run) collect(in PostLoginInput, state, ruleOut goja.Value, res *PostLoginResult) error {
	budget := r.sb.opts.MaxOutputBytes
	st, err := r.export(state, budget)
	if err != nil {
		return err
	}
	var rulesMap map[string]any
	if ruleOut != nil {
		v, err := r.export(ruleOut, budget)
		if err != nil {
			return err
		}
		rulesMap, _ = v.(map[string]any)
	}
	stMap, _ := st.(map[string]any)

	at, id := map[string]any{}, map[string]any{}
	for k, v := range asMap(rulesMap["accessToken"]) {
		at[k] = v
	}
	for k, v := range asMap(rulesMap["idToken"]) {
		id[k] = v
	}
	for k, v := range asMap(stMap["accessToken"]) {
		at[k] = v
	}
	for k, v := range asMap(stMap["idToken"]) {
		id[k] = v
	}

	scope := slices.Clone(in.Scope)
	if sc, ok := rulesMap["scope"]; ok {
		scope = scopeList(sc)
		res.ScopeChanged = true
	}
	for _, op := range asSlice(stMap["scopeOps"]) {
		pair := asSlice(op)
		if len(pair) != 2 {
			continue
		}
		name, _ := pair[1].(string)
		if name == "" {
			continue
		}
		res.ScopeChanged = true
		switch pair[0] {
		case "add":
			if !slices.Contains(scope, name) {
				scope = append(scope, name)
			}
		case "remove":
			scope = slices.DeleteFunc(scope, func(s string) bool { return s == name })
		}
	}
	res.Scope = scope

	if rulesMap["redirect"] == true || stMap["redirect"] == true {
		return &Failure{Kind: KindRedirect, Message: "redirects are not possible in this flow"}
	}
	for _, mf := range []any{rulesMap["multifactor"], stMap["multifactor"]} {
		m := asMap(mf)
		if m == nil {
			continue
		}
		p, _ := m["provider"].(string)
		arb, _ := m["allowRememberBrowser"].(bool)
		if p == "none" {
			res.Multifactor = nil
		} else {
			res.Multifactor = &Multifactor{Provider: p, AllowRememberBrowser: arb}
		}
	}
	if m := asMap(stMap["appMetadata"]); len(m) > 0 {
		res.AppMetadata = m
	}
	if m := asMap(stMap["userMetadata"]); len(m) > 0 {
		res.UserMetadata = m
	}

	res.AccessTokenClaims, res.DroppedClaims = filterClaims(at, scope, in.RestrictToNamespacedClaims, res.DroppedClaims)
	res.IDTokenClaims, res.DroppedClaims = filterClaims(id, scope, false, res.DroppedClaims)

	size, err := json.Marshal([]any{res.AccessTokenClaims, res.IDTokenClaims, res.AppMetadata, res.UserMetadata, res.Scope})
	if err != nil {
		return &Failure{Kind: KindInternal, Message: fmt.Sprintf("encode result: %v", err)}
	}
	if len(size) > budget {
		return &Failure{Kind: KindOutputTooLarge, Message: fmt.Sprintf("claims and metadata are larger than %d bytes", budget)}
	}
	return nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// scopeList reads context.accessToken.scope: an array of strings, or a
// space-separated string.
func scopeList(v any) []string {
	out := []string{}
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch x := v.(type) {
	case string:
		for _, s := range strings.Fields(x) {
			add(s)
		}
	case []any:
		for _, el := range x {
			if s, ok := el.(string); ok {
				add(strings.TrimSpace(s))
			}
		}
	}
	return out
}

func nonNilStrings(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func iso(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func metadataOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func identities(user User) []any {
	out := make([]any, len(user.Identities))
	for i, id := range user.Identities {
		out[i] = map[string]any{"provider": id.Provider, "user_id": id.UserID, "connection": id.Connection, "isSocial": id.IsSocial}
	}
	return out
}

// userForRules is Auth0's rule `user` object. Absent fields stay absent.
func userForRules(u User) map[string]any {
	m := map[string]any{
		"user_id":        u.UserID,
		"email_verified": u.EmailVerified,
		"logins_count":   u.LoginsCount,
		"app_metadata":   metadataOrEmpty(u.AppMetadata),
		"user_metadata":  metadataOrEmpty(u.UserMetadata),
		"identities":     identities(u),
		"created_at":     iso(u.CreatedAt),
		"updated_at":     iso(u.UpdatedAt),
	}
	for k, v := range map[string]string{
		"email": u.Email, "username": u.Username, "phone_number": u.PhoneNumber, "name": u.Name,
		"nickname": u.Nickname, "given_name": u.GivenName, "family_name": u.FamilyName, "picture": u.Picture,
		"last_ip": u.LastIP,
	} {
		if v != "" {
			m[k] = v
		}
	}
	if !u.LastLogin.IsZero() {
		m["last_login"] = iso(u.LastLogin)
	}
	if u.Blocked {
		m["blocked"] = true
	}
	if u.PhoneNumber != "" {
		m["phone_verified"] = u.PhoneVerified
	}
	if len(u.Multifactor) > 0 {
		m["multifactor"] = u.Multifactor
	}
	if len(u.Groups) > 0 {
		m["groups"] = u.Groups
	}
	return m
}

// contextForRules is Auth0's rule `context` for a token request.
func contextForRules(in PostLoginInput) map[string]any {
	return map[string]any{
		"tenant":             in.Tenant,
		"clientID":           in.Client.ID,
		"clientName":         in.Client.Name,
		"clientMetadata":     nonNilStrings(in.Client.Metadata),
		"connection":         in.Connection.Name,
		"connectionID":       in.Connection.ID,
		"connectionStrategy": in.Connection.Strategy,
		"connectionOptions":  metadataOrEmpty(in.Connection.Options),
		"connectionMetadata": nonNilStrings(in.Connection.Metadata),
		"protocol":           in.Protocol,
		"request": map[string]any{
			"userAgent": in.Request.UserAgent,
			"ip":        in.Request.IP,
			"hostname":  in.Request.Hostname,
			"query":     nonNilStrings(in.Request.Query),
			"body":      nonNilStrings(in.Request.Body),
		},
		"stats":          map[string]any{"loginsCount": in.User.LoginsCount},
		"accessToken":    map[string]any{},
		"idToken":        map[string]any{},
		"authentication": map[string]any{"methods": []any{map[string]any{"name": "pwd", "timestamp": millis(in.AuthTime)}}},
		"authorization":  map[string]any{"roles": nonNilList(in.Roles)},
		"sso":            map[string]any{"with_auth0": false, "with_dbconn": false},
	}
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// eventForActions is Auth0's post-login `event` for a token request;
// event.secrets is set per Action.
func eventForActions(in PostLoginInput) map[string]any {
	u := in.User
	user := map[string]any{
		"user_id":        u.UserID,
		"email_verified": u.EmailVerified,
		"phone_verified": u.PhoneVerified,
		"app_metadata":   metadataOrEmpty(u.AppMetadata),
		"user_metadata":  metadataOrEmpty(u.UserMetadata),
		"identities":     identities(u),
		"multifactor":    nonNilList(u.Multifactor),
		"enrolledFactors": func() []any {
			out := []any{}
			for _, f := range u.Multifactor {
				out = append(out, map[string]any{"type": f})
			}
			return out
		}(),
		"created_at": iso(u.CreatedAt),
		"updated_at": iso(u.UpdatedAt),
	}
	for k, v := range map[string]string{
		"email": u.Email, "username": u.Username, "phone_number": u.PhoneNumber, "name": u.Name,
		"nickname": u.Nickname, "given_name": u.GivenName, "family_name": u.FamilyName, "picture": u.Picture,
	} {
		if v != "" {
			user[k] = v
		}
	}
	if !u.LastPasswordReset.IsZero() {
		user["last_password_reset"] = iso(u.LastPasswordReset)
	}
	if len(u.Groups) > 0 {
		user["groups"] = u.Groups
	}
	method := in.Request.Method
	if method == "" {
		method = "POST"
	}
	event := map[string]any{
		"user":   user,
		"client": map[string]any{"client_id": in.Client.ID, "name": in.Client.Name, "metadata": nonNilStrings(in.Client.Metadata)},
		"connection": map[string]any{
			"id": in.Connection.ID, "name": in.Connection.Name, "strategy": in.Connection.Strategy,
			"metadata": nonNilStrings(in.Connection.Metadata),
		},
		"request": map[string]any{
			"ip": in.Request.IP, "method": method, "hostname": in.Request.Hostname,
			"user_agent": in.Request.UserAgent, "language": in.Request.Language,
			"query": nonNilStrings(in.Request.Query), "body": nonNilStrings(in.Request.Body),
		},
		"transaction": map[string]any{
			"id": in.TransactionID, "protocol": in.Protocol,
			"requested_scopes": nonNilList(in.RequestedScope), "locale": optionalOr(in.Request.Language, "en"),
		},
		"authentication": map[string]any{"methods": []any{map[string]any{"name": "pwd", "timestamp": iso(in.AuthTime)}}},
		"authorization":  map[string]any{"roles": nonNilList(in.Roles)},
		"stats":          map[string]any{"logins_count": u.LoginsCount},
		"tenant":         map[string]any{"id": in.Tenant},
	}
	if in.Audience != "" {
		event["resource_server"] = map[string]any{"identifier": in.Audience}
	}
	return event
}

func optionalOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
