package server_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// seedCustomizeTokens is the seed's "Customize tokens" rule, unchanged.
const seedCustomizeTokens = `function(user, context, callback) {
// add custom claims to Access Token and ID Token
context.accessToken['http://foo/bar'] = 'value';
context.idToken['http://fiz/baz'] = 'some other value';
// change scope
context.accessToken.scope = ['array', 'of', 'strings'];
callback(null, user, context);
}`

// TestSeedRuleCustomizesTokens creates the seed's rule through the
// Management API: the next password grant's tokens carry its claims and
// its scope, and so do tokens from a refresh.
func TestSeedRuleCustomizesTokens(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	rule := e.API("POST", "/rules", map[string]any{"name": "Customize tokens", "script": seedCustomizeTokens}, 201)
	if !strings.HasPrefix(rule["id"].(string), "rul_") || rule["enabled"] != true || rule["order"].(float64) != 1 || rule["stage"] != "login_success" {
		t.Fatalf("created rule = %v", rule)
	}

	status, body := e.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("password grant: %d %v", status, body)
	}
	if body["scope"] != "array of strings" {
		t.Errorf("response scope = %v", body["scope"])
	}
	at := claimsOf(t, body["access_token"].(string))
	if at["http://foo/bar"] != "value" || at["scope"] != "array of strings" {
		t.Errorf("access token claims = %v", at)
	}
	id := claimsOf(t, body["id_token"].(string))
	if id["http://fiz/baz"] != "some other value" {
		t.Errorf("ID token claims = %v", id)
	}

	status, body = e.PostForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	})
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	if at := claimsOf(t, body["access_token"].(string)); at["http://foo/bar"] != "value" || at["scope"] != "array of strings" {
		t.Errorf("refreshed access token claims = %v", at)
	}
}

// TestRulesDenyConfigureAndPersist covers a denying rule (the seed's
// access_denied), configuration values, metadata a rule saves, rule order,
// disabling, and the Management API's answers.
func TestRulesDenyConfigureAndPersist(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()

	e.API("PUT", "/rules-configs/GREETING", map[string]any{"value": "hello"}, 200)
	if got := e.API("GET", "/rules-configs", nil, 200); got == nil {
		t.Fatal("no rules configs")
	}
	first := e.API("POST", "/rules", map[string]any{"name": "first", "order": 5, "script": `function (user, context, callback) {
		context.accessToken['https://example.com/greeting'] = configuration.GREETING + ' ' + context.protocol;
		user.app_metadata = user.app_metadata || {};
		user.app_metadata.logins_seen = (user.app_metadata.logins_seen || 0) + 1;
		auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
			.then(function () { callback(null, user, context); })
			.catch(callback);
	}`}, 201)
	deny := e.API("POST", "/rules", map[string]any{"name": "deny", "script": `function (user, context, callback) {
		if (context.clientID === '` + tn.ClientID + `') return callback(new UnauthorizedError('Access denied.'));
		callback(null, user, context);
	}`}, 201)
	if deny["order"].(float64) != 6 {
		t.Errorf("a rule created without order runs last: order = %v", deny["order"])
	}

	status, body := e.PasswordGrant(tn, nil)
	if status != 403 || body["error"] != "access_denied" || body["error_description"] != "Access denied." {
		t.Fatalf("denied grant: %d %v", status, body)
	}
	// The first rule ran before the denial, and what it saved stays.
	user := e.API("GET", "/users/"+url.PathEscape(tn.UserID), nil, 200)
	if md, _ := user["app_metadata"].(map[string]any); md["logins_seen"] != float64(1) {
		t.Errorf("app_metadata after the denied login = %v", user["app_metadata"])
	}

	e.API("PATCH", "/rules/"+deny["id"].(string), map[string]any{"enabled": false}, 200)
	status, body = e.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("grant with the denying rule disabled: %d %v", status, body)
	}
	if at := claimsOf(t, body["access_token"].(string)); at["https://example.com/greeting"] != "hello oauth2-password" {
		t.Errorf("access token claims = %v", at)
	}

	list := e.API("GET", "/rules", nil, 200)
	_ = list
	e.API("DELETE", "/rules/"+first["id"].(string), nil, 204)
	e.API("GET", "/rules/"+first["id"].(string), nil, 404)
	e.API("DELETE", "/rules-configs/GREETING", nil, 204)
	e.API("DELETE", "/rules-configs/GREETING", nil, 404)
	e.API("POST", "/rules", map[string]any{"name": "deny", "script": "function (u, c, cb) { cb(null, u, c); }"}, 409)
	e.API("POST", "/rules", map[string]any{"name": "no script"}, 400)
	e.API("POST", "/rules", map[string]any{"name": "bad/name", "script": "x"}, 400)
	e.API("PUT", "/rules-configs/bad%20key", map[string]any{"value": "v"}, 400)
}

// TestRuleFailuresAnswerAsAuth0 shows a throwing rule denies with its
// message and a broken one is a server error, and neither is a panic.
func TestRuleFailuresAnswerAsAuth0(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	rule := e.API("POST", "/rules", map[string]any{"name": "throws", "script": `function (user, context, callback) { throw new Error('rule broke'); }`}, 201)
	status, body := e.PasswordGrant(tn, nil)
	if status != 403 || body["error"] != "access_denied" || body["error_description"] != "rule broke" {
		t.Fatalf("throwing rule: %d %v", status, body)
	}
	e.API("PATCH", "/rules/"+rule["id"].(string), map[string]any{"script": `function (user, context, callback) { callback(null, user, context) `}, 200)
	status, body = e.PasswordGrant(tn, nil)
	if status != 500 || body["error"] != "server_error" {
		t.Fatalf("rule that does not compile: %d %v", status, body)
	}
	e.API("DELETE", "/rules/"+rule["id"].(string), nil, 204)
	if status, body := e.PasswordGrant(tn, nil); status != 200 || !slices.Contains(strings.Fields(body["scope"].(string)), "openid") {
		t.Fatalf("without rules: %d %v", status, body)
	}
}
