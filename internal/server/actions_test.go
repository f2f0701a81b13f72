package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// actionCode reads the event, uses a secret, edits both tokens, the scope
// and the metadata, and records whether the rule ran before it.
const actionCode = `exports.onExecutePostLogin = async (event, api) => {
  const ns = 'https://example.com/';
  await new Promise((resolve) => setTimeout(resolve, 1));
  api.accessToken.setCustomClaim(ns + 'secret', event.secrets.API_KEY);
  api.accessToken.setCustomClaim(ns + 'rule_ran_first', api.rules.wasExecuted(event.secrets.RULE_ID));
  api.accessToken.setCustomClaim(ns + 'event', {
    client: event.client.client_id, connection: event.connection.name, strategy: event.connection.strategy,
    email: event.user.email, protocol: event.transaction.protocol, ua: event.request.user_agent,
    hostname: event.request.hostname, body_username: event.request.body.username,
    body_password: event.request.body.password === undefined ? 'hidden' : 'shown',
    query: event.request.query.q, ip: event.request.ip, logins: event.stats.logins_count,
    geoip: event.request.geoip === undefined ? 'absent' : 'present',
  });
  api.idToken.setCustomClaim(ns + 'id_claim', 'from the action');
  api.accessToken.addScope('added:scope');
  api.accessToken.removeScope('read:sample');
  api.user.setAppMetadata('plan', 'gold');
  api.user.setUserMetadata('theme', 'dark');
};`

// TestActionsManagedAndRunAfterRules creates, deploys and binds an Action
// through the Management API; logins then run the rule, then the Action,
// until the Action is changed (a draft does not run until deployed),
// rolled back, asks for MFA, and is deleted.
func TestActionsManagedAndRunAfterRules(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()

	rule := e.API("POST", "/rules", map[string]any{"name": "first", "script": `function (user, context, callback) {
		context.accessToken['https://example.com/rule'] = 'rule';
		context.accessToken['https://example.com/shared'] = 'rule';
		callback(null, user, context);
	}`}, 201)
	ruleID := rule["id"].(string)

	a := e.API("POST", "/actions/actions", map[string]any{
		"name": "enrich", "code": actionCode, "runtime": "node18",
		"supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}},
		"dependencies":       []map[string]string{{"name": "lodash", "version": "4.17.21"}},
		"secrets":            []map[string]string{{"name": "API_KEY", "value": "s3cret-value"}, {"name": "RULE_ID", "value": ruleID}},
	}, 201)
	id := a["id"].(string)
	if a["status"] != "built" || a["all_changes_deployed"] != false || a["deployed_version"] != nil {
		t.Fatalf("created action = %v", a)
	}
	if strings.Contains(jsonOf(t, a), "s3cret-value") {
		t.Fatalf("a secret value is shown: %v", a)
	}
	if s := a["secrets"].([]any); len(s) != 2 || s[0].(map[string]any)["name"] != "API_KEY" || s[0].(map[string]any)["updated_at"] == nil {
		t.Fatalf("secrets = %v", a["secrets"])
	}
	// Not deployed: it cannot be bound.
	e.API("PATCH", "/actions/triggers/post-login/bindings", map[string]any{"bindings": []any{
		map[string]any{"ref": map[string]string{"type": "action_id", "value": id}}}}, 400)

	v1 := e.API("POST", "/actions/actions/"+id+"/deploy", nil, 200)
	if v1["number"] != float64(1) || v1["deployed"] != true || v1["status"] != "built" || v1["action_id"] != id {
		t.Fatalf("deployed version = %v", v1)
	}
	bindings := e.API("PATCH", "/actions/triggers/post-login/bindings", map[string]any{"bindings": []any{
		map[string]any{"ref": map[string]string{"type": "action_name", "value": "enrich"}, "display_name": "Enrich"}}}, 200)
	if b := bindings["bindings"].([]any); len(b) != 1 || b[0].(map[string]any)["display_name"] != "Enrich" ||
		b[0].(map[string]any)["action"].(map[string]any)["id"] != id {
		t.Fatalf("bindings = %v", bindings)
	}
	if got := e.API("GET", "/actions/triggers/post-login/bindings", nil, 200); got["total"] != float64(1) {
		t.Fatalf("listed bindings = %v", got)
	}
	if got := e.API("GET", "/actions/triggers", nil, 200); !strings.Contains(jsonOf(t, got), `"id":"post-login"`) {
		t.Fatalf("triggers = %v", got)
	}

	status, body := grantWithUA(e, tn, "ActionsTest/1.0")
	if status != 200 {
		t.Fatalf("grant: %d %v", status, body)
	}
	at := claimsOf(t, body["access_token"].(string))
	ev, _ := at["https://example.com/event"].(map[string]any)
	for k, want := range map[string]any{
		"client": tn.ClientID, "connection": tn.Connection, "strategy": "auth0", "email": tn.Username,
		"protocol": "oauth2-password", "ua": "ActionsTest/1.0", "hostname": "127.0.0.1", "body_username": tn.Username,
		"body_password": "hidden", "query": "hello", "ip": "127.0.0.1", "logins": float64(1), "geoip": "absent",
	} {
		if ev[k] != want {
			t.Errorf("event %s = %v, want %v", k, ev[k], want)
		}
	}
	if at["https://example.com/secret"] != "s3cret-value" || at["https://example.com/rule"] != "rule" || at["https://example.com/rule_ran_first"] != true {
		t.Errorf("access token claims = %v", at)
	}
	scope := strings.Fields(body["scope"].(string))
	if !slices.Contains(scope, "added:scope") || slices.Contains(scope, "read:sample") {
		t.Errorf("scope = %v", scope)
	}
	if id := claimsOf(t, body["id_token"].(string)); id["https://example.com/id_claim"] != "from the action" {
		t.Errorf("ID token claims = %v", id)
	}
	user := e.API("GET", "/users/"+url.PathEscape(tn.UserID), nil, 200)
	if user["app_metadata"].(map[string]any)["plan"] != "gold" || user["user_metadata"].(map[string]any)["theme"] != "dark" {
		t.Errorf("metadata = %v %v", user["app_metadata"], user["user_metadata"])
	}

	// A changed draft does not run until it is deployed.
	e.API("PATCH", "/actions/actions/"+id, map[string]any{"code": `exports.onExecutePostLogin = async (event, api) => {
		api.accessToken.setCustomClaim('https://example.com/shared', 'action');
		if (event.user.email === '` + tn.Username + `') api.access.deny('No entry for ' + event.user.email);
	};`, "secrets": []map[string]string{{"name": "API_KEY"}}}, 200)
	if status, body := grantWithUA(e, tn, "x"); status != 200 {
		t.Fatalf("grant with an undeployed draft: %d %v", status, body)
	}
	v2 := e.API("POST", "/actions/actions/"+id+"/deploy", nil, 200)
	if v2["number"] != float64(2) {
		t.Fatalf("second version = %v", v2)
	}
	status, body = grantWithUA(e, tn, "x")
	if status != 403 || body["error"] != "access_denied" || body["error_description"] != "No entry for "+tn.Username {
		t.Fatalf("denying action: %d %v", status, body)
	}

	versions := e.API("GET", "/actions/actions/"+id+"/versions", nil, 200)
	if versions["total"] != float64(2) || versions["versions"].([]any)[0].(map[string]any)["number"] != float64(2) {
		t.Fatalf("versions = %v", versions)
	}
	if got := e.API("GET", "/actions/actions/"+id+"/versions/"+v1["id"].(string), nil, 200); got["deployed"] != false || got["code"] != actionCode {
		t.Fatalf("version 1 = %v", got)
	}
	// Roll back: a third version, a copy of the first, is what runs.
	v3 := e.API("POST", "/actions/actions/"+id+"/versions/"+v1["id"].(string)+"/deploy", nil, 200)
	if v3["number"] != float64(3) || v3["code"] != actionCode {
		t.Fatalf("rolled back version = %v", v3)
	}
	if status, body := grantWithUA(e, tn, "x"); status != 200 || claimsOf(t, body["access_token"].(string))["https://example.com/secret"] != "s3cret-value" {
		t.Fatalf("grant after the roll-back: %d %v", status, body)
	}
	got := e.API("GET", "/actions/actions/"+id, nil, 200)
	if got["deployed_version"].(map[string]any)["number"] != float64(3) || got["all_changes_deployed"] != false {
		t.Fatalf("action after roll-back = %v", got)
	}

	// api.multifactor.enable sends the login to the MFA gate.
	e.API("PATCH", "/actions/actions/"+id, map[string]any{"deploy": true, "code": `exports.onExecutePostLogin = async (event, api) => {
		api.multifactor.enable('any');
	};`}, 200)
	if status, body := grantWithUA(e, tn, "x"); status != 403 || body["error"] != "mfa_required" || body["mfa_token"] == nil {
		t.Fatalf("action asking for MFA: %d %v", status, body)
	}

	// Bound: deleting needs force, which unbinds it.
	e.API("DELETE", "/actions/actions/"+id, nil, 400)
	e.API("DELETE", "/actions/actions/"+id+"?force=true", nil, 204)
	e.API("GET", "/actions/actions/"+id, nil, 404)
	if got := e.API("GET", "/actions/triggers/post-login/bindings", nil, 200); got["total"] != float64(0) {
		t.Fatalf("bindings after delete = %v", got)
	}
	if status, body := grantWithUA(e, tn, "x"); status != 200 {
		t.Fatalf("grant after delete: %d %v", status, body)
	}

	// Refusals in Auth0's shape.
	e.API("POST", "/actions/actions", map[string]any{"name": "no triggers"}, 400)
	e.API("POST", "/actions/actions", map[string]any{"name": "x", "supported_triggers": []map[string]string{{"id": "nope", "version": "v1"}}}, 400)
	e.API("POST", "/actions/actions", map[string]any{"name": "x", "runtime": "python", "supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}}}, 400)
	e.API("POST", "/actions/actions", map[string]any{"name": "x", "secrets": []map[string]string{{"name": "NO_VALUE"}}, "supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}}}, 400)
	broken := e.API("POST", "/actions/actions", map[string]any{"name": "broken", "code": "exports.onExecutePostLogin = async (", "supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}}}, 201)
	e.API("POST", "/actions/actions/"+broken["id"].(string)+"/deploy", nil, 400)
	e.API("POST", "/actions/actions/nope/deploy", nil, 404)
	e.API("GET", "/actions/triggers/pre-user-registration/bindings", nil, 404)
	if list := e.API("GET", "/actions/actions?actionName=broken", nil, 200); list["total"] != float64(1) {
		t.Fatalf("filtered list = %v", list)
	}
}

// TestRulesContextAndGroups: a rule sees the request (user agent, IP,
// query, body without the password, hostname, no geoip), the login count
// including this login, and an AD user's groups; context.multifactor
// sends the login to the MFA gate.
func TestRulesContextAndGroups(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	if _, err := e.App.Store.UpdateUser(context.Background(), tn.UserID, func(u *store.User) error {
		u.Groups, u.LoginsCount = []string{"staff", "admins"}, 4
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rule := e.API("POST", "/rules", map[string]any{"name": "context", "script": `function (user, context, callback) {
		var r = context.request;
		context.idToken['https://example.com/ctx'] = {
			ua: r.userAgent, ip: r.ip, q: r.query.q, hostname: r.hostname,
			username: r.body.username, password: r.body.password === undefined ? 'hidden' : 'shown',
			secret: r.body.client_secret === undefined ? 'hidden' : 'shown', geoip: r.geoip === undefined ? 'absent' : 'present',
			logins: context.stats.loginsCount, groups: user.groups
		};
		if ((user.groups || []).indexOf('admins') >= 0 && context.request.query.mfa === 'yes') {
			context.multifactor = { provider: 'any', allowRememberBrowser: false };
		}
		callback(null, user, context);
	}`}, 201)
	_ = rule
	status, body := grantWithUA(e, tn, "RulesTest/2.0")
	if status != 200 {
		t.Fatalf("grant: %d %v", status, body)
	}
	ctx := claimsOf(t, body["id_token"].(string))["https://example.com/ctx"].(map[string]any)
	want := map[string]any{"ua": "RulesTest/2.0", "ip": "127.0.0.1", "q": "hello", "hostname": "127.0.0.1", "username": tn.Username,
		"password": "hidden", "secret": "hidden", "geoip": "absent", "logins": float64(5)}
	for k, v := range want {
		if ctx[k] != v {
			t.Errorf("context %s = %v, want %v", k, ctx[k], v)
		}
	}
	if g, _ := ctx["groups"].([]any); len(g) != 2 || g[0] != "staff" || g[1] != "admins" {
		t.Errorf("user.groups = %v", ctx["groups"])
	}
	status, body = e.PostForm("/oauth/token?mfa=yes", url.Values{
		"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password},
		"scope": {"openid"}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	})
	if status != 403 || body["error"] != "mfa_required" {
		t.Fatalf("context.multifactor: %d %v", status, body)
	}
}

// grantWithUA is the seed's password grant with a user agent and a query.
func grantWithUA(e *testenv.Env, tn *testenv.Tenant, ua string) (int, map[string]any) {
	v := url.Values{
		"grant_type": {"password"}, "username": {tn.Username}, "password": {tn.Password},
		"audience": {tn.API}, "scope": {"openid profile email offline_access read:sample"},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	}
	req, _ := http.NewRequest("POST", e.URL+"/oauth/token?q=hello", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", ua)
	status, body, _ := e.Do(req)
	return status, body
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
