package scripts

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// seedRule is the "Customize tokens" rule exactly as Auth0's Resource
// Owner Password flow page gives it.
const seedRule = `function(user, context, callback) {
// add custom claims to Access Token and ID Token
context.accessToken['http://foo/bar'] = 'value';
context.idToken['http://fiz/baz'] = 'some other value';
// change scope
context.accessToken.scope = ['array', 'of', 'strings'];
callback(null, user, context);
}`

func newSandbox(t testing.TB, opts Options) *Sandbox {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func baseInput() PostLoginInput {
	return PostLoginInput{
		Tenant: "acme",
		Domain: "acme.example.com",
		User: User{
			UserID: "auth0|u1", Email: "ann@example.com", EmailVerified: true, Name: "Ann",
			LoginsCount: 3, AppMetadata: map[string]any{"plan": "gold"},
			Identities: []Identity{{Provider: "auth0", UserID: "u1", Connection: "Username-Password-Authentication"}},
		},
		Client:        Client{ID: "cid", Name: "My App", Metadata: map[string]string{"tier": "a"}},
		Connection:    Connection{ID: "con_1", Name: "Username-Password-Authentication", Strategy: "auth0"},
		Protocol:      ProtocolPassword,
		Request:       Request{IP: "203.0.113.9", UserAgent: "test", Query: map[string]string{}},
		Scope:         []string{"openid", "profile", "email"},
		TransactionID: "tx1",
		AuthTime:      time.Unix(1700000000, 0),
	}
}

func TestPostLoginRules(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, Options{})
	tests := []struct {
		name    string
		rules   []string
		config  map[string]string
		check   func(t *testing.T, res PostLoginResult)
		kind    Kind
		message string
	}{
		{
			name:  "the seed's Customize tokens rule adds its claims and replaces the scope",
			rules: []string{seedRule},
			check: func(t *testing.T, res PostLoginResult) {
				if res.AccessTokenClaims["http://foo/bar"] != "value" {
					t.Errorf("access token claims = %v", res.AccessTokenClaims)
				}
				if res.IDTokenClaims["http://fiz/baz"] != "some other value" {
					t.Errorf("ID token claims = %v", res.IDTokenClaims)
				}
				if !res.ScopeChanged || !slices.Equal(res.Scope, []string{"array", "of", "strings"}) {
					t.Errorf("scope = %v changed=%v", res.Scope, res.ScopeChanged)
				}
				if _, ok := res.AccessTokenClaims["scope"]; ok {
					t.Error("scope must not be a custom claim")
				}
			},
		},
		{
			name:    "UnauthorizedError denies with its message",
			rules:   []string{`function (user, context, callback) { return callback(new UnauthorizedError('Access denied.')); }`},
			kind:    KindDenied,
			message: "Access denied.",
		},
		{
			name:    "another error fails the login",
			rules:   []string{`function (user, context, callback) { callback(new Error('boom')); }`},
			kind:    KindError,
			message: "boom",
		},
		{
			name:  "a thrown TypeError fails the login",
			rules: []string{`function (user, context, callback) { null.x; }`},
			kind:  KindError,
		},
		{
			name: "rules run in order and pass user and context along",
			rules: []string{
				`function (user, context, callback) { context.idToken['https://x/order'] = ['first']; user.seen = 1; callback(null, user, context); }`,
				`function (user, context, callback) { context.idToken['https://x/order'].push('second:' + user.seen); callback(null, user, context); }`,
			},
			check: func(t *testing.T, res PostLoginResult) {
				got := res.IDTokenClaims["https://x/order"]
				if !slices.Equal(toStrings(got), []string{"first", "second:1"}) {
					t.Errorf("order claim = %v", got)
				}
			},
		},
		{
			name: "the context carries Auth0's fields and configuration",
			rules: []string{`function (user, context, callback) {
				context.accessToken['https://x/ctx'] = [context.clientID, context.clientName, context.clientMetadata.tier,
					context.connection, context.connectionStrategy, context.protocol, context.request.ip,
					context.stats.loginsCount, configuration.KEY, user.app_metadata.plan, user.email, context.tenant];
				callback(null, user, context);
			}`},
			config: map[string]string{"KEY": "secret-value"},
			check: func(t *testing.T, res PostLoginResult) {
				got := res.AccessTokenClaims["https://x/ctx"].([]any)
				want := []any{"cid", "My App", "a", "Username-Password-Authentication", "auth0", "oauth2-password", "203.0.113.9", int64(3), "secret-value", "gold", "ann@example.com", "acme"}
				if !slices.Equal(got, want) {
					t.Errorf("got %v\nwant %v", got, want)
				}
			},
		},
		{
			name: "updateAppMetadata is recorded and resolves",
			rules: []string{`function (user, context, callback) {
				user.app_metadata.roles = ['admin'];
				auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
					.then(function () { return auth0.users.updateUserMetadata(user.user_id, {theme: 'dark'}); })
					.then(function () { callback(null, user, context); })
					.catch(function (err) { callback(err); });
			}`},
			check: func(t *testing.T, res PostLoginResult) {
				if !slices.Equal(toStrings(res.AppMetadata["roles"]), []string{"admin"}) || res.AppMetadata["plan"] != "gold" {
					t.Errorf("app metadata = %v", res.AppMetadata)
				}
				if res.UserMetadata["theme"] != "dark" {
					t.Errorf("user metadata = %v", res.UserMetadata)
				}
			},
		},
		{
			name: "multifactor is requested",
			rules: []string{`function (user, context, callback) {
				context.multifactor = { provider: 'any', allowRememberBrowser: false };
				callback(null, user, context);
			}`},
			check: func(t *testing.T, res PostLoginResult) {
				if res.Multifactor == nil || res.Multifactor.Provider != "any" {
					t.Errorf("multifactor = %+v", res.Multifactor)
				}
			},
		},
		{
			name: "restricted and reserved claims are dropped, the rest kept",
			rules: []string{`function (user, context, callback) {
				context.accessToken.sub = 'evil';
				context.accessToken['https://auth0.com/x'] = 1;
				context.accessToken['https://tenant.webtask.run/x'] = 1;
				context.accessToken['urn:auth0:x'] = 1;
				context.accessToken.plain = 'ok';
				context.idToken.phone_number = '+1';
				context.idToken.name = 'Ann';
				callback(null, user, context);
			}`},
			check: func(t *testing.T, res PostLoginResult) {
				if len(res.AccessTokenClaims) != 1 || res.AccessTokenClaims["plain"] != "ok" {
					t.Errorf("access claims = %v", res.AccessTokenClaims)
				}
				if len(res.IDTokenClaims) != 1 || res.IDTokenClaims["name"] != "Ann" {
					t.Errorf("id claims = %v (phone scope not granted, profile granted)", res.IDTokenClaims)
				}
				if len(res.DroppedClaims) != 5 {
					t.Errorf("dropped = %v", res.DroppedClaims)
				}
			},
		},
		{
			name:  "a redirect fails the token request",
			rules: []string{`function (user, context, callback) { context.redirect = { url: 'https://x' }; callback(null, user, context); }`},
			kind:  KindRedirect,
		},
		{
			name:  "a rule that never calls back and waits on nothing has no result",
			rules: []string{`function (user, context, callback) { }`},
			kind:  KindNoResult,
		},
		{
			name:  "a syntax error is a compile failure",
			rules: []string{`function (user, context, callback) { callback(null, user, context) `},
			kind:  KindCompile,
		},
		{
			name: "callback from a timer works",
			rules: []string{`function (user, context, callback) {
				setTimeout(function () { context.accessToken['https://x/t'] = true; callback(null, user, context); }, 1);
			}`},
			check: func(t *testing.T, res PostLoginResult) {
				if res.AccessTokenClaims["https://x/t"] != true {
					t.Errorf("claims = %v", res.AccessTokenClaims)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := baseInput()
			in.RulesConfig = tc.config
			for i, src := range tc.rules {
				in.Rules = append(in.Rules, Script{ID: "rul_" + string(rune('a'+i)), Name: "r", Source: src})
			}
			res, err := s.PostLogin(context.Background(), in)
			if tc.kind != 0 {
				var f *Failure
				if !errors.As(err, &f) || f.Kind != tc.kind {
					t.Fatalf("err = %v, want kind %v", err, tc.kind)
				}
				if tc.message != "" && f.Message != tc.message {
					t.Fatalf("message = %q, want %q", f.Message, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, res)
		})
	}
}

func toStrings(v any) []string {
	var out []string
	for _, el := range v.([]any) {
		s, _ := el.(string)
		out = append(out, s)
	}
	return out
}
