package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// hostOf is the host:port of a test server's URL.
func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestRulesAndActionsReachOnlyAllowedHosts: a rule and an Action call two
// local HTTP servers. Until a host is allowed (by the tenant setting or
// --script-allowed-hosts) the script's call fails inside the script, the
// rule calls back with that Error and the login answers access_denied;
// once allowed, the servers are reached and what they answer lands in the
// tokens. The server never allowed is never reached.
func TestRulesAndActionsReachOnlyAllowedHosts(t *testing.T) {
	t.Parallel()
	var hitAllowed, hitFlag, hitOther atomic.Int64
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitAllowed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"role":"admin"}`))
	}))
	defer allowed.Close()
	byFlag := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitFlag.Add(1)
		_, _ = w.Write([]byte(`flag-ok`))
	}))
	defer byFlag.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hitOther.Add(1) }))
	defer other.Close()

	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) {
		c.ScriptAllowedHosts = []string{hostOf(t, byFlag.URL)}
	}))
	tn := e.SeedTenant()
	rule := e.API("POST", "/rules", map[string]any{"name": "fetch role", "script": `function (user, context, callback) {
		request.get({ url: '` + allowed.URL + `/role', json: true }, function (err, response, body) {
			if (err) return callback(new Error('role lookup failed: ' + err.message));
			context.accessToken['https://example.com/role'] = body.role;
			callback(null, user, context);
		});
	}`}, 201)

	status, body := e.PasswordGrant(tn, nil)
	if status != 403 || body["error"] != "access_denied" ||
		body["error_description"] != "role lookup failed: host "+hostOf(t, allowed.URL)+" is not in this script's allowed hosts" {
		t.Fatalf("rule calling a host not allowed: %d %v", status, body)
	}
	if hitAllowed.Load() != 0 {
		t.Fatal("a host not yet allowed was reached")
	}

	// A malformed allowlist is refused with the settings' error shape.
	e.API("PATCH", "/tenants/settings", map[string]any{"gatehouse_script_allowed_hosts": "not a list"}, 400)
	e.API("PATCH", "/tenants/settings", map[string]any{"gatehouse_script_allowed_hosts": []string{"http://x/"}}, 400)
	got := e.API("PATCH", "/tenants/settings", map[string]any{"gatehouse_script_allowed_hosts": []string{hostOf(t, allowed.URL)}}, 200)
	if hosts, _ := got["gatehouse_script_allowed_hosts"].([]any); len(hosts) != 1 {
		t.Fatalf("settings after the PATCH = %v", got)
	}

	// An Action after the rule: the flag's host is reached, the other not.
	action := e.API("POST", "/actions/actions", map[string]any{
		"name": "fetch", "supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}},
		"code": `exports.onExecutePostLogin = async (event, api) => {
			const res = await fetch('` + byFlag.URL + `/x');
			api.accessToken.setCustomClaim('https://example.com/flag', await res.text());
			try {
				await fetch('` + other.URL + `/x');
				api.accessToken.setCustomClaim('https://example.com/other', 'reached');
			} catch (e) {
				api.accessToken.setCustomClaim('https://example.com/other', e.cause.message);
			}
		};`,
	}, 201)
	id := action["id"].(string)
	e.API("POST", "/actions/actions/"+id+"/deploy", nil, 200)
	e.API("PATCH", "/actions/triggers/post-login/bindings", map[string]any{"bindings": []any{
		map[string]any{"ref": map[string]string{"type": "action_id", "value": id}}}}, 200)

	status, body = e.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("grant with the host allowed: %d %v", status, body)
	}
	at := claimsOf(t, body["access_token"].(string))
	if at["https://example.com/role"] != "admin" || at["https://example.com/flag"] != "flag-ok" ||
		at["https://example.com/other"] != "host "+hostOf(t, other.URL)+" is not in this script's allowed hosts" {
		t.Errorf("access token claims = %v", at)
	}
	if hitAllowed.Load() != 1 || hitFlag.Load() != 1 || hitOther.Load() != 0 {
		t.Errorf("hits: allowed %d, flag %d, other %d", hitAllowed.Load(), hitFlag.Load(), hitOther.Load())
	}

	// Clearing the setting takes the host away again.
	e.API("PATCH", "/tenants/settings", map[string]any{"gatehouse_script_allowed_hosts": nil}, 200)
	if status, body := e.PasswordGrant(tn, nil); status != 403 || body["error"] != "access_denied" {
		t.Fatalf("grant after clearing the allowlist: %d %v", status, body)
	}
	e.API("DELETE", "/rules/"+rule["id"].(string), nil, 204)
}

// TestScriptTimeoutSetting: --script-timeout 200ms cuts a spinning rule at
// about 200 ms with Auth0's server_error, where the default would wait 20 s.
func TestScriptTimeoutSetting(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]string{"--script-timeout", "200ms", "--script-output-limit", "2048"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ScriptTimeout != 200*time.Millisecond || cfg.ScriptOutputLimit != 2048 {
		t.Fatalf("parsed %v %v", cfg.ScriptTimeout, cfg.ScriptOutputLimit)
	}
	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) {
		c.ScriptTimeout, c.ScriptOutputLimit = cfg.ScriptTimeout, cfg.ScriptOutputLimit
	}))
	tn := e.SeedTenant()
	rule := e.API("POST", "/rules", map[string]any{"name": "spin", "script": `function (user, context, callback) {
		if (context.request.query.mode === 'spin') for (;;) {}
		if (context.request.query.mode === 'big') context.accessToken['https://example.com/big'] = 'x'.repeat(4096);
		callback(null, user, context);
	}`}, 201)
	_ = rule

	grant := func(mode string) (int, map[string]any, time.Duration) {
		v := url.Values{
			"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password}, "scope": {"openid"},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
		}
		start := time.Now()
		status, body := e.PostForm("/oauth/token?mode="+mode, v)
		return status, body, time.Since(start)
	}
	if status, body, _ := grant("normal"); status != 200 {
		t.Fatalf("normal login: %d %v", status, body)
	}
	status, body, took := grant("spin")
	t.Logf("spinning rule answered after %v", took)
	if status != 500 || body["error"] != "server_error" {
		t.Fatalf("spinning rule: %d %v", status, body)
	}
	// The password hash (bcrypt in tests) comes on top of the limit.
	if took < 200*time.Millisecond || took > 2*time.Second {
		t.Errorf("spinning rule cut after %v, want about 200ms", took)
	}
	// 4 KiB of claims passes a 2 KiB output limit: server_error too.
	if status, body, _ := grant("big"); status != 500 || body["error"] != "server_error" {
		t.Fatalf("rule over the output limit: %d %v", status, body)
	}
}

// TestScriptHTTPTimeoutSetting: with --script-http-timeout 300ms, a rule's
// request to an allowed host that answers late fails inside the rule with
// ETIMEDOUT at about 300 ms; the rule calls back with it and the login is
// denied with the message.
func TestScriptHTTPTimeoutSetting(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) {
		c.ScriptHTTPTimeout = 300 * time.Millisecond
		c.ScriptAllowedHosts = []string{hostOf(t, slow.URL)}
	}))
	tn := e.SeedTenant()
	e.API("POST", "/rules", map[string]any{"name": "slow lookup", "script": `function (user, context, callback) {
		request.get('` + slow.URL + `/x', function (err) {
			if (err) return callback(new Error('lookup failed: ' + err.code));
			callback(null, user, context);
		});
	}`}, 201)
	start := time.Now()
	status, body := e.PasswordGrant(tn, nil)
	took := time.Since(start)
	t.Logf("answered after %v", took)
	if status != 403 || body["error"] != "access_denied" || body["error_description"] != "lookup failed: ETIMEDOUT" {
		t.Fatalf("slow host: %d %v", status, body)
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("the request was cut after %v, want about 300ms", took)
	}
}
