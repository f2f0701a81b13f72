package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// typicalRules are three rules of the kind tenants run on every login:
// claims for both tokens, roles and plan from the profile, and an email
// domain allow-list.
var typicalRules = []map[string]any{
	{"name": "Customize tokens", "script": `function (user, context, callback) {
  context.accessToken['http://foo/bar'] = 'value';
  context.idToken['http://fiz/baz'] = 'some other value';
  callback(null, user, context);
}`},
	{"name": "Add roles and plan", "script": `function (user, context, callback) {
  const namespace = 'https://example.com/';
  const assignedRoles = (context.authorization || {}).roles || [];
  context.idToken[namespace + 'roles'] = assignedRoles;
  context.accessToken[namespace + 'roles'] = assignedRoles;
  context.accessToken[namespace + 'plan'] = (user.app_metadata || {}).plan || 'free';
  callback(null, user, context);
}`},
	{"name": "Email domain allow-list", "script": `function (user, context, callback) {
  const whitelist = ['example.com', 'example.org'];
  const userHasAccess = whitelist.some(function (domain) {
    const emailSplit = user.email.split('@');
    return emailSplit[emailSplit.length - 1].toLowerCase() === domain;
  });
  if (!userHasAccess) return callback(new UnauthorizedError('Access denied.'));
  return callback(null, user, context);
}`},
}

const typicalAction = `exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://example.com';
  api.idToken.setCustomClaim(namespace + '/email', event.user.email);
  api.accessToken.setCustomClaim(namespace + '/client', event.client.name);
};`

// BenchmarkPostLoginScripts measures what three typical rules and one
// post-login Action add to a password grant (bcrypt at MinCost, so the
// hash does not drown the difference). Two gatehouses run in this
// process, one without scripts and one with them; each iteration sends
// one grant to each, alternately first, so both see the same machine
// load. It reports each side's median and their difference
// (ms-median-diff; the goal is under 1 ms).
func BenchmarkPostLoginScripts(b *testing.B) {
	plain, scripted := newEnv(b), newEnv(b)
	ctx := context.Background()
	m := scripted.local.Mgmt
	for _, r := range typicalRules {
		if err := m.Call(ctx, "POST", "/rules", r, nil, 201); err != nil {
			b.Fatal(err)
		}
	}
	var action struct {
		ID string `json:"id"`
	}
	if err := m.Call(ctx, "POST", "/actions/actions", map[string]any{
		"name": "Add claims", "code": typicalAction,
		"supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}},
	}, &action, 201); err != nil {
		b.Fatal(err)
	}
	if err := m.Call(ctx, "POST", "/actions/actions/"+action.ID+"/deploy", nil, nil, 200); err != nil {
		b.Fatal(err)
	}
	if err := m.Call(ctx, "PATCH", "/actions/triggers/post-login/bindings", map[string]any{"bindings": []any{
		map[string]any{"ref": map[string]string{"type": "action_id", "value": action.ID}}}}, nil, 200); err != nil {
		b.Fatal(err)
	}
	// The scripts ran: their claims are in the token.
	rec := scripted.post(scripted.tn.PasswordForm())
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		b.Fatalf("scripted grant: %d %s", rec.Code, rec.Body)
	}
	if !containsClaim(body.AccessToken, "https://example.com/client") || !containsClaim(body.AccessToken, "http://foo/bar") {
		b.Fatal("the scripts' claims are missing from the access token")
	}
	plain.grant(b, plain.tn.PasswordForm()) // warm both alike

	var without, with []time.Duration
	timed := func(e *env) time.Duration {
		start := time.Now()
		e.grant(b, e.tn.PasswordForm())
		return time.Since(start)
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			without = append(without, timed(plain))
			with = append(with, timed(scripted))
		} else {
			with = append(with, timed(scripted))
			without = append(without, timed(plain))
		}
		i++
	}
	mw, ms := median(without), median(with)
	b.ReportMetric(float64(mw)/1e6, "ms-median-none")
	b.ReportMetric(float64(ms)/1e6, "ms-median-scripts")
	b.ReportMetric(float64(ms-mw)/1e6, "ms-median-diff")
}

// containsClaim says whether a JWT's payload names claim.
func containsClaim(jwt, claim string) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var m map[string]any
	if json.Unmarshal(payload, &m) != nil {
		return false
	}
	_, ok := m[claim]
	return ok
}
