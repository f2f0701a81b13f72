package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestGoAuth0ManagesRulesAndActions: go-auth0's management package creates
// a rule, creates, deploys and binds an Action, reads them back, and the
// next login carries what both set.
func TestGoAuth0ManagesRulesAndActions(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	ctx := context.Background()
	m, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt)) // WithInsecure sets a token of its own: the real one goes after it
	if err != nil {
		t.Fatal(err)
	}

	rule := &management.Rule{Name: auth0.String("go rule"), Script: auth0.String(`function (user, context, callback) {
		context.accessToken['https://example.com/go_rule'] = 'yes'; callback(null, user, context);
	}`)}
	if err := m.Rule.Create(ctx, rule); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rule.GetID(), "rul_") || !rule.GetEnabled() {
		t.Fatalf("rule = %+v", rule)
	}

	action := &management.Action{
		Name:              auth0.String("go action"),
		Code:              auth0.String(`exports.onExecutePostLogin = async (event, api) => { api.accessToken.setCustomClaim('https://example.com/go_action', event.secrets.WORD); };`),
		Runtime:           auth0.String("node18"),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(management.ActionTriggerPostLogin), Version: auth0.String("v3")}},
		Secrets:           &[]management.ActionSecret{{Name: auth0.String("WORD"), Value: auth0.String("hush")}},
	}
	if err := m.Action.Create(ctx, action); err != nil {
		t.Fatal(err)
	}
	read, err := m.Action.Read(ctx, action.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if read.GetStatus() != management.ActionStatusBuilt || len(read.GetSecrets()) != 1 || read.GetSecrets()[0].GetValue() != "" {
		t.Fatalf("read action = %+v", read)
	}
	version, err := m.Action.Deploy(ctx, action.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if !version.Deployed || version.Number != 1 {
		t.Fatalf("deployed version = %+v", version)
	}
	if err := m.Action.UpdateBindings(ctx, management.ActionTriggerPostLogin, []*management.ActionBinding{{
		Ref:         &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByID), Value: auth0.String(action.GetID())},
		DisplayName: auth0.String("go binding"),
	}}); err != nil {
		t.Fatal(err)
	}
	bindings, err := m.Action.Bindings(ctx, management.ActionTriggerPostLogin)
	if err != nil {
		t.Fatal(err)
	}
	if len(bindings.Bindings) != 1 || bindings.Bindings[0].GetAction().GetID() != action.GetID() {
		t.Fatalf("bindings = %+v", bindings)
	}
	versions, err := m.Action.Versions(ctx, action.GetID())
	if err != nil || len(versions.Versions) != 1 {
		t.Fatalf("versions = %+v, %v", versions, err)
	}
	triggers, err := m.Action.Triggers(ctx)
	if err != nil || len(triggers.Triggers) == 0 || triggers.Triggers[0].GetID() != management.ActionTriggerPostLogin {
		t.Fatalf("triggers = %+v, %v", triggers, err)
	}
	list, err := m.Action.List(ctx, management.Parameter("triggerId", management.ActionTriggerPostLogin))
	if err != nil || len(list.Actions) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}

	status, body := e.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("grant: %d %v", status, body)
	}
	at := claimsOf(t, body["access_token"].(string))
	if at["https://example.com/go_rule"] != "yes" || at["https://example.com/go_action"] != "hush" {
		t.Fatalf("access token claims = %v", at)
	}

	// Update, redeploy, roll back, and delete with force.
	if err := m.Action.Update(ctx, action.GetID(), &management.Action{
		Name:              auth0.String("go action"),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(management.ActionTriggerPostLogin), Version: auth0.String("v3")}},
		Code:              auth0.String(`exports.onExecutePostLogin = async (event, api) => { api.access.deny('go says no'); };`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Action.Deploy(ctx, action.GetID()); err != nil {
		t.Fatal(err)
	}
	if status, body := e.PasswordGrant(tn, nil); status != 403 || body["error_description"] != "go says no" {
		t.Fatalf("denied grant: %d %v", status, body)
	}
	if _, err := m.Action.DeployVersion(ctx, action.GetID(), version.GetID()); err != nil {
		t.Fatal(err)
	}
	if status, body := e.PasswordGrant(tn, nil); status != 200 {
		t.Fatalf("grant after roll-back: %d %v", status, body)
	}
	if err := m.Action.Delete(ctx, action.GetID(), management.Parameter("force", "true")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Action.Read(ctx, action.GetID()); err == nil {
		t.Fatal("the deleted Action is still there")
	} else if me, ok := err.(management.Error); !ok || me.Status() != 404 {
		t.Fatalf("read deleted: %v", err)
	}
	_ = testenv.BootstrapID
}
