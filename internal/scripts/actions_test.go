package scripts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestPostLoginActions(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, Options{})
	tests := []struct {
		name    string
		rules   []string
		actions []string
		check   func(t *testing.T, res PostLoginResult)
		kind    Kind
		message string
	}{
		{
			name: "an Action sets claims, edits the scope, asks for MFA and sets metadata",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => {
				api.accessToken.setCustomClaim('https://x/roles', event.authorization.roles);
				api.idToken.setCustomClaim('https://x/email', event.user.email);
				api.accessToken.setCustomClaim('https://x/secret', event.secrets.API_KEY);
				api.accessToken.setCustomClaim('https://x/proto', event.transaction.protocol + ' ' + event.client.client_id + ' ' + event.connection.strategy + ' ' + event.request.ip);
				api.accessToken.addScope('read:things');
				api.accessToken.removeScope('email');
				api.user.setAppMetadata('seen', true);
				api.user.setUserMetadata('lang', 'fr');
				api.multifactor.enable('any', { allowRememberBrowser: true });
			};`},
			check: func(t *testing.T, res PostLoginResult) {
				if !slices.Equal(toStrings(res.AccessTokenClaims["https://x/roles"]), []string{"admin"}) {
					t.Errorf("roles claim = %v", res.AccessTokenClaims)
				}
				if res.IDTokenClaims["https://x/email"] != "ann@example.com" {
					t.Errorf("id claims = %v", res.IDTokenClaims)
				}
				if res.AccessTokenClaims["https://x/secret"] != "k-1" {
					t.Errorf("secret claim = %v", res.AccessTokenClaims["https://x/secret"])
				}
				if res.AccessTokenClaims["https://x/proto"] != "oauth2-password cid auth0 203.0.113.9" {
					t.Errorf("proto claim = %v", res.AccessTokenClaims["https://x/proto"])
				}
				if !slices.Equal(res.Scope, []string{"openid", "profile", "read:things"}) || !res.ScopeChanged {
					t.Errorf("scope = %v", res.Scope)
				}
				if res.AppMetadata["seen"] != true || res.UserMetadata["lang"] != "fr" {
					t.Errorf("metadata = %v %v", res.AppMetadata, res.UserMetadata)
				}
				if res.Multifactor == nil || !res.Multifactor.AllowRememberBrowser {
					t.Errorf("multifactor = %+v", res.Multifactor)
				}
			},
		},
		{
			name: "api.access.deny denies and stops later Actions, keeping metadata writes",
			actions: []string{
				`exports.onExecutePostLogin = async (event, api) => { api.user.setAppMetadata('tried', 1); api.access.deny('No entry for you'); };`,
				`exports.onExecutePostLogin = async (event, api) => { throw new Error('must not run'); };`,
			},
			kind:    KindDenied,
			message: "No entry for you",
		},
		{
			name:    "a rejected promise fails",
			actions: []string{`exports.onExecutePostLogin = async () => { await null; throw new Error('kaput'); };`},
			kind:    KindError,
			message: "kaput",
		},
		{
			name:    "an Action without the export fails to compile",
			actions: []string{`exports.somethingElse = () => {};`},
			kind:    KindCompile,
		},
		{
			name:    "an Action awaiting a promise nothing settles has no result",
			actions: []string{`exports.onExecutePostLogin = async () => { await new Promise(() => {}); };`},
			kind:    KindNoResult,
		},
		{
			name:    "api.redirect fails the token request",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => { api.redirect.sendUserTo('https://x'); };`},
			kind:    KindRedirect,
		},
		{
			name: "rules run before Actions, and Actions see which rules ran",
			rules: []string{`function (user, context, callback) {
				context.accessToken['https://x/order'] = 'rule';
				context.accessToken.scope = ['openid'];
				callback(null, user, context);
			}`},
			actions: []string{`exports.onExecutePostLogin = async (event, api) => {
				api.accessToken.setCustomClaim('https://x/order', 'rule then action:' + api.rules.wasExecuted('rul_a'));
				api.accessToken.addScope('extra');
			};`},
			check: func(t *testing.T, res PostLoginResult) {
				if res.AccessTokenClaims["https://x/order"] != "rule then action:true" {
					t.Errorf("order = %v", res.AccessTokenClaims["https://x/order"])
				}
				if !slices.Equal(res.Scope, []string{"openid", "extra"}) {
					t.Errorf("scope = %v", res.Scope)
				}
				if !slices.Equal(res.RulesExecuted, []string{"rul_a"}) {
					t.Errorf("rules executed = %v", res.RulesExecuted)
				}
			},
		},
		{
			name:    "a denying rule stops before the Actions",
			rules:   []string{`function (user, context, callback) { callback(new UnauthorizedError('rule says no')); }`},
			actions: []string{`exports.onExecutePostLogin = async (event, api) => { throw new Error('must not run'); };`},
			kind:    KindDenied,
			message: "rule says no",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := baseInput()
			in.Roles = []string{"admin"}
			for i, src := range tc.rules {
				in.Rules = append(in.Rules, Script{ID: "rul_" + string(rune('a'+i)), Name: "r", Source: src})
			}
			for i, src := range tc.actions {
				in.Actions = append(in.Actions, Action{Script: Script{ID: fmt.Sprint("act", i), Name: "a", Source: src}, Secrets: map[string]string{"API_KEY": "k-1"}})
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
				if tc.kind == KindDenied && len(tc.actions) > 1 && res.AppMetadata["tried"] != int64(1) {
					t.Errorf("metadata before the denial was lost: %v", res.AppMetadata)
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

// TestOutboundHTTP runs every HTTP helper against a local server on the
// allow-list, and against a host that is not on it.
func TestOutboundHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat("x", 4096)))
		case "/redirect-out":
			http.Redirect(w, r, "http://refused.example/", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"method":%q,"path":%q,"query":%q,"ctype":%q,"auth":%q,"body":%q}`,
				r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	s := newSandbox(t, Options{MaxResponseBytes: 1024})

	tests := []struct {
		name   string
		action string
		want   string
		kind   Kind
	}{
		{
			name: "fetch with async/await reaches an allowed host",
			action: `exports.onExecutePostLogin = async (event, api) => {
				const res = await fetch(BASE + '/hello?x=1', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
				const data = await res.json();
				api.accessToken.setCustomClaim('https://x/r', [res.status, res.ok, data.method, data.path, data.query, data.body, res.headers.get('Content-Type')].join('|'));
			};`,
			want: "200|true|POST|/hello|x=1|hi|application/json",
		},
		{
			name: "fetch to a host off the list is refused",
			action: `exports.onExecutePostLogin = async (event, api) => {
				try { await fetch('http://refused.example/'); api.accessToken.setCustomClaim('https://x/r', 'reached'); }
				catch (e) { api.accessToken.setCustomClaim('https://x/r', e.name + ':' + e.cause.message); }
			};`,
			want: "TypeError:host refused.example is not in this script's allowed hosts",
		},
		{
			name: "a redirect to a host off the list is refused",
			action: `exports.onExecutePostLogin = async (event, api) => {
				try { await fetch(BASE + '/redirect-out'); api.accessToken.setCustomClaim('https://x/r', 'reached'); }
				catch (e) { api.accessToken.setCustomClaim('https://x/r', String(e.cause.message.indexOf('not in this script') >= 0)); }
			};`,
			want: "true",
		},
		{
			name: "a response over the size limit is an error",
			action: `exports.onExecutePostLogin = async (event, api) => {
				try { await fetch(BASE + '/big'); api.accessToken.setCustomClaim('https://x/r', 'read'); }
				catch (e) { api.accessToken.setCustomClaim('https://x/r', e.cause.message); }
			};`,
			want: "response body exceeds 1024 bytes",
		},
		{
			name: "request in callback style posts JSON",
			action: `exports.onExecutePostLogin = async (event, api) => {
				const request = require('request');
				await new Promise((resolve, reject) => request.post({ url: BASE + '/p', json: { a: 1 }, qs: { q: 'v w' }, auth: { bearer: 't' } }, (err, res, body) => {
					if (err) return reject(err);
					api.accessToken.setCustomClaim('https://x/r', [res.statusCode, body.method, body.query, body.ctype, body.auth, body.body].join('|'));
					resolve();
				}));
			};`,
			want: "200|POST|q=v+w|application/json|Bearer t|{\"a\":1}",
		},
		{
			name: "axios posts a form and reads JSON",
			action: `exports.onExecutePostLogin = async (event, api) => {
				const axios = require('axios');
				const res = await axios.post(BASE + '/f', new URLSearchParams({ grant_type: 'password' }));
				api.accessToken.setCustomClaim('https://x/r', [res.status, res.data.ctype, res.data.body].join('|'));
			};`,
			want: "200|application/x-www-form-urlencoded;charset=UTF-8|grant_type=password",
		},
		{
			name: "an exception thrown in a request callback fails the run",
			action: `exports.onExecutePostLogin = (event, api) => new Promise(() => {
				request.get(BASE + '/x', function () { throw new Error('in callback'); });
			});`,
			kind: KindError,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := baseInput()
			in.AllowedHosts = []string{u.Host}
			in.Actions = []Action{{Script: Script{ID: "act", Name: "http", Source: "const BASE = " + fmt.Sprintf("%q", srv.URL) + ";\n" + tc.action}}}
			res, err := s.PostLogin(context.Background(), in)
			if tc.kind != 0 {
				if KindOf(err) != tc.kind {
					t.Fatalf("err = %v, want %v", err, tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.AccessTokenClaims["https://x/r"]; got != tc.want {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
