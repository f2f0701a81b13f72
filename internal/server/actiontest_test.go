package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestActionTestRunsTheDraft tests an Action through go-auth0's
// Action.Test: the undeployed draft runs with the given event and its
// secrets, reaches an allowed host, and the answer lists the commands it
// issued in order and what it logged; nothing is applied to any user. A
// throwing draft answers its error; a malformed body Auth0's 400.
func TestActionTestRunsTheDraft(t *testing.T) {
	t.Parallel()
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"tier":"gold"}`))
	}))
	defer store.Close()
	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.ScriptAllowedHosts = []string{hostOf(t, store.URL)} }))
	tn := e.SeedTenant()
	ctx := t.Context()
	m, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt))
	if err != nil {
		t.Fatal(err)
	}
	action := &management.Action{
		Name:              auth0.String("tested"),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(management.ActionTriggerPostLogin), Version: auth0.String("v3")}},
		Code: auth0.String(`exports.onExecutePostLogin = async (event, api) => {
			if (event.user.email === 'boom@example.com') throw new TypeError('no ' + event.secrets.KEY);
			const res = await fetch('` + store.URL + `/tier?user=' + encodeURIComponent(event.user.user_id));
			const { tier } = await res.json();
			console.log('tier for', event.user.email, tier);
			api.accessToken.setCustomClaim('https://example.com/tier', tier);
			api.idToken.setCustomClaim('https://example.com/key', event.secrets.KEY);
			api.accessToken.addScope('read:sample');
			api.user.setAppMetadata('tier', tier);
			if (event.request.ip === '203.0.113.9') api.access.deny('blocked network');
		};`),
		Secrets: &[]management.ActionSecret{{Name: auth0.String("KEY"), Value: auth0.String("s3cret")}},
	}
	if err := m.Action.Create(ctx, action); err != nil {
		t.Fatal(err)
	}

	payload := management.ActionTestPayload{"event": map[string]any{
		"user":    map[string]any{"user_id": tn.UserID, "email": tn.Username},
		"request": map[string]any{"ip": "203.0.113.9"},
	}}
	if err := m.Action.Test(ctx, action.GetID(), &payload); err != nil {
		t.Fatalf("Action.Test: %v", err)
	}
	// go-auth0 decodes the answer's payload into the map it sent.
	want := []any{
		map[string]any{"name": "SetCustomClaim", "target": "accessToken", "key": "https://example.com/tier", "value": "gold"},
		map[string]any{"name": "SetCustomClaim", "target": "idToken", "key": "https://example.com/key", "value": "s3cret"},
		map[string]any{"name": "AddScope", "target": "accessToken", "scope": "read:sample"},
		map[string]any{"name": "SetAppMetadata", "key": "tier", "value": "gold"},
		map[string]any{"name": "Deny", "reason": "blocked network"},
	}
	if got := payload["commands"]; !reflect.DeepEqual(got, want) {
		b, _ := json.Marshal(got)
		t.Errorf("commands = %s", b)
	}
	if payload["logs"] != "log tier for "+tn.Username+" gold" || payload["error"] != nil {
		t.Errorf("logs = %q, error = %v", payload["logs"], payload["error"])
	}
	if user := e.API("GET", "/users/"+tn.UserID, nil, 200); user["app_metadata"] != nil {
		t.Errorf("a test changed the user: app_metadata = %v", user["app_metadata"])
	}

	boom := management.ActionTestPayload{"event": map[string]any{"user": map[string]any{"email": "boom@example.com"}}}
	if err := m.Action.Test(ctx, action.GetID(), &boom); err != nil {
		t.Fatalf("Action.Test of a throwing event: %v", err)
	}
	if got, _ := boom["error"].(map[string]any); got["name"] != "TypeError" || got["message"] != "no s3cret" {
		t.Errorf("error = %v", boom["error"])
	}

	// An event that is not an object, a missing payload, an unknown Action.
	e.API("POST", "/actions/actions/"+action.GetID()+"/test", map[string]any{"payload": map[string]any{"event": "x"}}, 400)
	e.API("POST", "/actions/actions/"+action.GetID()+"/test", map[string]any{}, 400)
	e.API("POST", "/actions/actions/nope/test", map[string]any{"payload": map[string]any{}}, 404)
}
